#!/usr/bin/env bash
# Compares two builds of `waiver assess` side by side: runs them in turn on the same input,
# pinned to the same CPUs, and prints each one's median wall and CPU (user + system) seconds,
# then the MD5 of each one's output (they should be equal).
#
# Usage: bench/ab.sh OLD_BINARY NEW_BINARY [RUNS] [INPUT]
#        (defaults: 5 runs, bench/data/declarations-10000000.csv; bench/run.sh generates it)
# Env:   OUT=/dev/shm/waiver-ab (outputs, removed afterwards), CPUS=0,1, THREADS=2
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: bench/ab.sh OLD_BINARY NEW_BINARY [RUNS] [INPUT]" >&2; exit 2; }
A=$(realpath "$1") B=$(realpath "$2") RUNS=${3:-5}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
IN=${4:-bench/data/declarations-10000000.csv}
OUT=${OUT:-/dev/shm/waiver-ab}
CPUS=${CPUS:-0,1}
THREADS=${THREADS:-2}
[ -s "$IN" ] || { echo "ab.sh: $IN is missing (bench/run.sh generates it)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "ab.sh: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
mkdir -p "$OUT"
cat "$IN" > /dev/null
for i in $(seq "$RUNS"); do
    # The order alternates (a b, b a, ...): the first of a pair tends to run a little faster.
    order="a b"; [ $((i % 2)) -eq 0 ] && order="b a"
    for n in $order; do
        bin=$A; [ "$n" = b ] && bin=$B
        rm -f "$OUT/$n.csv"
        /usr/bin/time -f "$n %e %U %S" -o "$OUT/$n.time" taskset -c "$CPUS" "$bin" assess "$IN" \
            -o "$OUT/$n.csv" --rejects "$OUT/$n.rejects.csv" --threads "$THREADS" --schedule data/schedule \
            2>/dev/null || true
        cat "$OUT/$n.time"
    done
done | awk -v a="$A" -v b="$B" '
    { w[$1][++n[$1]] = $2; c[$1][n[$1]] = $3 + $4 }
    END {
        name["a"] = a; name["b"] = b
        for (k in w) {
            m = asort(w[k]); asort(c[k])
            printf "%s  wall median %.3f s  cpu median %.3f s  (%d runs)\n", name[k], w[k][int((m + 1) / 2)], c[k][int((m + 1) / 2)], m
        }
    }'
md5sum "$OUT/a.csv" "$OUT/b.csv"
rm -rf "$OUT"
