#!/usr/bin/env bash
# Benchmarks declarations through the HTTP API (issue 5, item 9): 64 concurrent clients (wrk),
# every request a new declaration drawing from an allowance, (a) spread over 1,000 allowances and
# (b) all on one, on SQLite and PostgreSQL, each acknowledged only after its transaction commits.
# In the same run it measures the limits the goals are stated against: the disk's fsync rate
# (bench/fsync_rate.py, in the directory holding the SQLite file) and pgbench running the
# equivalent single conditional UPDATE against PostgreSQL with the same clients and duration.
# Afterwards it checks every allowance: used <= granted + tolerance, used = sum of its entries,
# and every acknowledged (2xx) draw present.
#
# Usage: bench/declarations.sh
# Env:   DURATION=20 WARMUP=3     seconds measured / warm-up per case
#        CLIENTS=64 THREADS=2      wrk connections / threads (also pgbench -c / -j)
#        ALLOWANCES=1000           allowances for case (a)
#        BACKENDS="sqlite postgres"
#        PG=postgres://postgres@127.0.0.1:5432
#        OUT=bench/out/declarations
#        SKIP_BUILD=1              use target/release/waiver as it is
set -euo pipefail

DURATION=${DURATION:-20}
WARMUP=${WARMUP:-3}
CLIENTS=${CLIENTS:-64}
THREADS=${THREADS:-2}
ALLOWANCES=${ALLOWANCES:-1000}
BACKENDS=${BACKENDS:-sqlite postgres}
PG=${PG:-postgres://postgres@127.0.0.1:5432}
QTY=0.01      # tonnes per declaration (10 kg)
VALUE=4       # USD per declaration
TONNES=5000   # granted per allowance: case (b) never runs dry within a run

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/declarations}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

die() { echo "declarations.sh: $*" >&2; exit 1; }
command -v wrk >/dev/null || die "wrk is needed (apt-get install -y wrk)"
command -v curl >/dev/null || die "curl is needed"

if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p waiver --bin waiver >&2
fi
[ -x target/release/waiver ] || die "target/release/waiver is missing"
WAIVER=$OUT/waiver
cp target/release/waiver "$WAIVER"

SERVER_PID=
PG_DB=
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
        SERVER_PID=
    fi
    if [ -n "$PG_DB" ]; then
        psql "$PG/postgres" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
        PG_DB=
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wrk CASE ALLOWANCE_FILE RUN_PREFIX SECONDS -> prints the WRK_JSON line
run_wrk() {
    local file=$1 run=$2 secs=$3
    TOKEN=$TOKEN ALLOWANCES=$file HOLDER=$HOLDER LINE=$LINE QTY=$QTY VALUE=$VALUE RUN=$run \
        wrk -t"$THREADS" -c"$CLIENTS" -d"${secs}s" --timeout 10s --latency \
        -s bench/declarations.lua "http://127.0.0.1:$PORT" | tee -a "$OUT/wrk.log" | sed -n 's/^WRK_JSON //p'
}

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
echo "== fsync rate in $OUT" >&2
FSYNC_JSON=$(python3 bench/fsync_rate.py "$OUT" 5)
echo "$FSYNC_JSON" >&2

RESULTS=$OUT/results.jsonl
: > "$RESULTS"
: > "$OUT/wrk.log"
for backend in $BACKENDS; do
    case $backend in
        sqlite)
            DB=$OUT/bench.db
            rm -f "$DB" "$DB-wal" "$DB-shm"
            ;;
        postgres)
            command -v psql >/dev/null || die "psql is needed for the PostgreSQL run"
            PG_DB=waiver_declbench_$$
            psql "$PG/postgres" -qc "CREATE DATABASE $PG_DB" || die "cannot create $PG_DB on $PG"
            DB=$PG/$PG_DB
            ;;
        *) die "unknown backend $backend" ;;
    esac
    echo "== $backend: seeding $ALLOWANCES allowances through the workflow" >&2
    "$WAIVER" seed-bench --database "$DB" --allowances "$ALLOWANCES" --tonnes "$TONNES" > "$OUT/seed-$backend.json"
    TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["customs_token"])' "$OUT/seed-$backend.json")
    HOLDER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["holder"])' "$OUT/seed-$backend.json")
    LINE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["line"])' "$OUT/seed-$backend.json")
    python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["allowances"]))' "$OUT/seed-$backend.json" > "$OUT/many-$backend.txt"
    head -1 "$OUT/many-$backend.txt" > "$OUT/one-$backend.txt"

    PORT=$(free_port)
    "$WAIVER" serve --database "$DB" --listen "127.0.0.1:$PORT" > "$OUT/server-$backend.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server-$backend.log" >&2; die "server exited"; }
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || die "server did not answer on port $PORT"

    for case in many one; do
        file=$OUT/$case-$backend.txt
        echo "== $backend/$case: warm-up ${WARMUP}s, then ${DURATION}s with $CLIENTS clients" >&2
        run_wrk "$file" "W${case:0:1}$$" "$WARMUP" > /dev/null
        json=$(run_wrk "$file" "M${case:0:1}$$" "$DURATION")
        [ -n "$json" ] || die "wrk printed no result for $backend/$case"
        echo "{\"backend\":\"$backend\",\"case\":\"$case\",\"wrk\":$json}" >> "$RESULTS"
    done
    echo "== $backend: checking every allowance (no overdraw, balance = entries, acknowledged draws present)" >&2
    python3 bench/decl_check.py --url "http://127.0.0.1:$PORT" --token "$TOKEN" \
        --allowances "$OUT/many-$backend.txt" --backend "$backend" --results "$RESULTS" --qty-t "$QTY" \
        >> "$RESULTS"
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=

    if [ "$backend" = postgres ]; then
        echo "== pgbench: the equivalent single conditional UPDATE, $CLIENTS clients" >&2
        psql "$PG/$PG_DB" -q <<'SQL'
DROP TABLE IF EXISTS bench_allowance;
CREATE TABLE bench_allowance (id INT PRIMARY KEY, ceiling_g BIGINT NOT NULL, used_g BIGINT NOT NULL);
INSERT INTO bench_allowance SELECT g, 5500000000, 0 FROM generate_series(1, 1000) g;
SQL
        for case in many one; do
            n=1000; [ "$case" = one ] && n=1
            cat > "$OUT/pgbench-$case.sql" <<SQL
\set id random(1, $n)
UPDATE bench_allowance SET used_g = used_g + 10000 WHERE id = :id AND used_g + 10000 <= ceiling_g;
SQL
            pgbench -n -M prepared -c "$CLIENTS" -j "$THREADS" -T "$DURATION" -f "$OUT/pgbench-$case.sql" "$PG/$PG_DB" \
                > "$OUT/pgbench-$case.log" 2>&1 || { cat "$OUT/pgbench-$case.log" >&2; die "pgbench failed"; }
            python3 - "$OUT/pgbench-$case.log" "$case" >> "$RESULTS" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
tps = float(re.search(r"tps = ([0-9.]+)", text).group(1))
lat = re.search(r"latency average = ([0-9.]+) ms", text)
print(json.dumps({"backend": "pgbench", "case": sys.argv[2], "tps": tps,
                  "latency_avg_ms": float(lat.group(1)) if lat else None}))
PY
        done
    fi
    cleanup
done

{
    echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs (load average at start: $LOAD_AT_START), $CLIENTS clients, ${WARMUP} s warm-up + ${DURATION} s per case, $QTY t per declaration"
    echo
    python3 bench/decl_check.py table --results "$RESULTS" --fsync "$FSYNC_JSON"
} | tee "$OUT/results.md"
