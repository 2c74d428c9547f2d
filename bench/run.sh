#!/usr/bin/env bash
# Benchmarks `waiver assess` against the same assessment in DuckDB and against the parse-only limit.
#
# Usage: bench/run.sh [N]        (N declaration lines, default 10000000)
# Env:   RUNS=3 (runs per measurement), THREADS=2, CPUS=0,1 (taskset list), SKIP_BUILD=1 (use the
#        binaries already built), KEEP_OUTPUT=1 (keep the output CSVs), OUT=DIR (default bench/out)
#
# Writes inputs to bench/data/ and outputs to bench/out/ (both gitignored); the results table is
# printed and saved to bench/out/results-N.md.
set -euo pipefail

N=${1:-10000000}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
CPUS=${CPUS:-0,1}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
DATA=bench/data
OUT=${OUT:-bench/out}   # e.g. OUT=/dev/shm/waiver-bench to keep output writes off the disk
mkdir -p "$DATA" "$OUT"

N10=$(( N >= 10 ? N / 10 : 1 ))
IN=$DATA/declarations-$N.csv
IN10=$DATA/declarations-$N10.csv
SCHEDULE=data/schedule
WAIVER=target/release/waiver
PARSE=target/release/examples/parse_only

die() { echo "run.sh: $*" >&2; exit 1; }
[ -x /usr/bin/time ] || die "/usr/bin/time is needed (apt-get install time)"
python3 -c 'import duckdb' 2>/dev/null || python3 -m pip install --quiet duckdb || die "cannot install duckdb"

# --- inputs ---------------------------------------------------------------------------------
for pair in "$N:$IN" "$N10:$IN10"; do
    n=${pair%%:*} f=${pair#*:}
    if [ ! -s "$f" ]; then
        echo "generating $f ($n rows)" >&2
        python3 bench/gen_declarations.py "$n" "$f.tmp" --seed 42 && mv "$f.tmp" "$f"
    fi
done

# --- build ----------------------------------------------------------------------------------
if [ -z "${SKIP_BUILD:-}" ]; then
    cargo build --release -p waiver --bin waiver --example parse_only >&2
fi
[ -x "$WAIVER" ] || die "$WAIVER is missing"
[ -x "$PARSE" ] || die "$PARSE is missing"

# Pin to the same CPUs as the thread count, when the machine has them.
PIN=()
if command -v taskset >/dev/null && taskset -c "$CPUS" true 2>/dev/null; then
    PIN=(taskset -c "$CPUS")
fi

# --- measurements ---------------------------------------------------------------------------
# measure NAME ROWS CMD...: runs CMD $RUNS times under /usr/bin/time; records median wall seconds
# and the largest peak RSS (KiB) in $OUT/NAME.times.
measure() {
    local name=$1 rows=$2; shift 2
    local tf=$OUT/$name.times
    : > "$tf"
    local t0 t1 secs rss
    for i in $(seq "$RUNS"); do
        # Every run writes a new file: the previous run's output is removed (and its pages freed)
        # before the clock starts, for every tool alike.
        rm -f "$OUT/$name.csv" "$OUT/$name.rejects.csv"
        sync
        t0=$(date +%s%N)
        /usr/bin/time -f '%e %M' -o "$OUT/$name.time1" "$@" >"$OUT/$name.stdout" 2>"$OUT/$name.stderr" \
            || { cat "$OUT/$name.stderr" >&2; die "$name failed"; }
        t1=$(date +%s%N)
        # wall time to the millisecond (the %e of /usr/bin/time has only 10 ms); peak RSS from %M
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        rss=$(cut -d' ' -f2 "$OUT/$name.time1")
        echo "$secs $rss" >> "$tf"
        echo "  $name run $i: ${secs} s, ${rss} KiB" >&2
    done
    echo "$name $rows $(sort -n -k1,1 "$tf" | awk '{t[NR]=$1} END {print t[int((NR+1)/2)]}') $(sort -n -k2,2 "$tf" | tail -1 | cut -d' ' -f2)" >> "$OUT/summary"
}

cat "$IN" "$IN10" > /dev/null  # page cache: every tool reads a warm file
rm -f "$OUT/summary"
echo "measuring ($RUNS runs each, ${PIN[*]:-no pinning}, $THREADS threads)" >&2

measure "waiver" "$N" "${PIN[@]}" "$WAIVER" assess "$IN" -o "$OUT/waiver.csv" --rejects "$OUT/waiver.rejects.csv" \
    --threads "$THREADS" --schedule "$SCHEDULE"
measure "duckdb" "$N" "${PIN[@]}" python3 bench/duckdb_assess.py "$IN" "$OUT/duckdb.csv" --threads "$THREADS" \
    --schedule "$SCHEDULE"
measure "parse_only" "$N" "${PIN[@]}" "$PARSE" "$IN"
measure "waiver_n10" "$N10" "${PIN[@]}" "$WAIVER" assess "$IN10" -o "$OUT/waiver_n10.csv" \
    --rejects "$OUT/waiver_n10.rejects.csv" --threads "$THREADS" --schedule "$SCHEDULE"

# --- agreement ------------------------------------------------------------------------------
echo "comparing waiver and duckdb outputs" >&2
set +e
CMP=$(python3 bench/compare.py "$OUT/waiver.csv" "$OUT/duckdb.csv" --threads "$THREADS")
CMP_RC=$?
set -e
WAIVER_REJECTS=$(( $(wc -l < "$OUT/waiver.rejects.csv") - 1 ))

# --- report ---------------------------------------------------------------------------------
REPORT=$OUT/results-$N.md
{
    echo "## waiver assess benchmark, $N declaration lines"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%MZ); $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs));" \
         "$THREADS threads, ${PIN[*]:-no pinning}; median of $RUNS runs; input $(du -m "$IN" | cut -f1) MiB;" \
         "duckdb $(python3 -c 'import duckdb; print(duckdb.__version__)'); $(rustc --version 2>/dev/null | cut -d' ' -f1-2)"
    echo
    awk -v threads="$THREADS" '
        BEGIN {
            label["waiver"] = "waiver assess --threads " threads
            label["duckdb"] = "DuckDB SQL (bench/duckdb_assess.py), threads=" threads
            label["parse_only"] = "parse only (csv crate, 1 thread)"
            label["waiver_n10"] = "waiver assess --threads " threads ", N/10"
            print "| tool | rows | median s | rows/s | peak RSS MiB |"
            print "| --- | ---: | ---: | ---: | ---: |"
        }
        {
            rate[$1] = ($3 > 0) ? $2 / $3 : 0; rss[$1] = $4 / 1024
            printf "| %s | %d | %.3f | %.0f | %.1f |\n", label[$1], $2, $3, rate[$1], rss[$1]
        }
        END {
            print ""
            if (rate["duckdb"] > 0) printf "- waiver / DuckDB throughput: **%.2fx**\n", rate["waiver"] / rate["duckdb"]
            if (rss["waiver"] > 0) printf "- DuckDB / waiver peak memory: **%.1fx**\n", rss["duckdb"] / rss["waiver"]
            if (rate["parse_only"] > 0) printf "- waiver rate / parse-only rate: **%.2f**\n", rate["waiver"] / rate["parse_only"]
            if (rss["waiver_n10"] > 0) printf "- waiver peak memory at N vs N/10: %.1f vs %.1f MiB (%.2fx for 10x the input)\n", rss["waiver"], rss["waiver_n10"], rss["waiver"] / rss["waiver_n10"]
        }' "$OUT/summary"
    echo "- waiver rejected $WAIVER_REJECTS lines"
    echo
    echo "Agreement (bench/compare.py, all rows, by declaration+line):"
    echo
    echo '```'
    echo "$CMP"
    echo '```'
    echo
    echo "DuckDB's time includes starting Python and importing duckdb (~0.1-0.2 s) and its RSS the interpreter (~30 MiB)."
} | tee "$REPORT"

if [ -z "${KEEP_OUTPUT:-}" ]; then
    rm -f "$OUT/waiver.csv" "$OUT/duckdb.csv" "$OUT/waiver_n10.csv"
fi
exit $CMP_RC
