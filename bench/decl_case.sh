#!/usr/bin/env bash
# One case-(a) measurement of declarations through the HTTP API, for quick A/B runs of two
# builds (bench/declarations.sh is the full benchmark with its limits). Seeds a fresh database
# with 1,000 allowances, serves it, warms up 3 s, then runs wrk (64 clients, bench/declarations.lua)
# and prints the WRK_JSON line. With `perf` as the third argument it also records
# `perf record -a -g` into /tmp/dp/perf.data during the run.
# Usage: WBIN=path/to/waiver bench/decl_case.sh sqlite|postgres [SECONDS] [perf]
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=$1; SECS=${2:-10}
OUT=/tmp/dp; mkdir -p $OUT
W=${WBIN:-target/release/waiver}
if [ $B = sqlite ]; then DB=$OUT/bench.db; rm -f $DB $DB-wal $DB-shm; else
  psql postgres://postgres@127.0.0.1:5432/postgres -qc "DROP DATABASE IF EXISTS dp WITH (FORCE)"; psql postgres://postgres@127.0.0.1:5432/postgres -qc "CREATE DATABASE dp"; DB=postgres://postgres@127.0.0.1:5432/dp; fi
$W seed-bench --database $DB --allowances 1000 --tonnes 5000 > $OUT/seed.json
TOKEN=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["customs_token"])' $OUT/seed.json)
HOLDER=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["holder"])' $OUT/seed.json)
LINE=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["line"])' $OUT/seed.json)
python3 -c 'import json,sys; print("\n".join(json.load(open(sys.argv[1]))["allowances"]))' $OUT/seed.json > $OUT/many.txt
$W serve --database $DB --listen 127.0.0.1:18080 > $OUT/server.log 2>&1 &
SP=$!
sleep 1
TOKEN=$TOKEN ALLOWANCES=$OUT/many.txt HOLDER=$HOLDER LINE=$LINE QTY=0.01 VALUE=4 RUN=W$$ wrk -t2 -c64 -d3s -s bench/declarations.lua http://127.0.0.1:18080 >/dev/null
cat /proc/stat | head -1 > $OUT/stat0
if [ "$3" = perf ]; then perf record -a -g -o $OUT/perf.data -- sleep $SECS >/dev/null 2>&1 & PP=$!; fi
cat /proc/$SP/io > $OUT/io0; TOKEN=$TOKEN ALLOWANCES=$OUT/many.txt HOLDER=$HOLDER LINE=$LINE QTY=0.01 VALUE=4 RUN=M$$ wrk -t2 -c64 -d${SECS}s --latency -s bench/declarations.lua http://127.0.0.1:18080 | grep -E "Requests/sec|WRK_JSON"
cat /proc/stat | head -1 > $OUT/stat1; cat /proc/$SP/io > $OUT/io1
[ -n "$PP" ] && wait $PP
kill $SP; wait $SP 2>/dev/null || true
