#!/usr/bin/env bash
# Benchmarks the JSON API (issue 3): a mixed open-loop workload (20% submit, 40% list, 40% read)
# at constant request rates against `waiver serve` on SQLite and then on PostgreSQL.
#
# Usage: bench/api.sh
# Env:   RATES="200 400 800"   offered rates in requests/s (the first is the goal rate)
#        DURATION=30 WARMUP=5  seconds measured / seconds of warm-up before each rate
#        MIX=20,40,40          submit,list,read weights
#        BACKENDS="sqlite postgres"
#        PG=postgres://postgres@127.0.0.1:5432   server for the fresh database (trust auth)
#        OUT=bench/out/api     where the SQLite file, logs, JSON results and results.md go
#        SKIP_BUILD=1          use target/release/waiver as it is
#        STRICT=1              exit 2 if the goal-rate run had any error
#
# Each backend gets a fresh database, seeded once (accounts use argon2) before anything is timed;
# the server is started on a free port, stopped afterwards, and the PostgreSQL database dropped.
# The binary is copied to $OUT first so that a concurrent `cargo build` cannot swap it mid-run.
set -euo pipefail

RATES=${RATES:-200 400 800}
DURATION=${DURATION:-30}
WARMUP=${WARMUP:-5}
MIX=${MIX:-20,40,40}
BACKENDS=${BACKENDS:-sqlite postgres}
PG=${PG:-postgres://postgres@127.0.0.1:5432}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
OUT=${OUT:-bench/out/api}
mkdir -p "$OUT"
RATES_CSV=$(echo $RATES | tr ' ' ',')
SUBMIT_PCT=$(python3 -c "import sys; w=[float(x) for x in sys.argv[1].split(',')]; print(100*w[0]/sum(w))" "$MIX")

die() { echo "api.sh: $*" >&2; exit 1; }
command -v curl >/dev/null || die "curl is needed"
python3 -c 'import aiohttp' 2>/dev/null || python3 -m pip install --quiet aiohttp || die "cannot install aiohttp"

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

LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)
RESULTS=()
for backend in $BACKENDS; do
    case $backend in
        sqlite)
            DB=$OUT/bench.db
            rm -f "$DB" "$DB-wal" "$DB-shm"
            JOBS=1    # one writer; parallel CLI processes would only contend for the lock
            ;;
        postgres)
            command -v psql >/dev/null || die "psql is needed for the PostgreSQL run"
            PG_DB=waiver_apibench_$$
            psql "$PG/postgres" -qc "CREATE DATABASE $PG_DB" || die "cannot create $PG_DB on $PG"
            DB=$PG/$PG_DB
            JOBS=2
            ;;
        *) die "unknown backend $backend" ;;
    esac

    echo "== $backend: seeding accounts" >&2
    python3 bench/api_load.py seed --waiver "$WAIVER" --database "$DB" --jobs "$JOBS" \
        --rates "$RATES_CSV" --duration "$DURATION" --warmup "$WARMUP" --submit-pct "$SUBMIT_PCT" \
        --out "$OUT/accounts-$backend.json"

    PORT=$(free_port)
    "$WAIVER" serve --database "$DB" --listen "127.0.0.1:$PORT" > "$OUT/server-$backend.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$OUT/server-$backend.log" >&2; die "server exited"; }
        sleep 0.1
    done
    curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null || die "server did not answer on port $PORT"

    echo "== $backend: server pid $SERVER_PID on port $PORT" >&2
    python3 bench/api_load.py bench --url "http://127.0.0.1:$PORT" --accounts "$OUT/accounts-$backend.json" \
        --label "$backend" --rates "$RATES_CSV" --duration "$DURATION" --warmup "$WARMUP" --mix "$MIX" \
        --server-pid "$SERVER_PID" --out "$OUT/api-$backend.json"
    curl -sf "http://127.0.0.1:$PORT/metrics" > "$OUT/metrics-$backend.txt" || true
    RESULTS+=("$OUT/api-$backend.json")
    cleanup
done

{
    echo "Run of $(date -u '+%Y-%m-%d %H:%M') UTC, $(nproc) CPUs (load average at start: $LOAD_AT_START), rates: $RATES req/s, ${WARMUP} s warm-up + ${DURATION} s each, mix submit,list,read = $MIX"
    echo
    python3 bench/api_load.py table "${RESULTS[@]}" --goal-rate "${RATES%% *}" ${STRICT:+--strict}
} | tee "$OUT/results.md"
