#!/usr/bin/env bash
# One case-(a) measurement of declarations through the HTTP API, for quick A/B runs of two
# builds (bench/declarations.sh is the full benchmark with its limits). Serves a fresh copy of a
# database seeded with 1,000 allowances, warms up 3 s, then runs wrk (64 clients,
# bench/declarations.lua) and prints the WRK_JSON line and the group-commit counters. With `perf`
# as the third argument it also records `perf record -a -g` into /tmp/dp/perf.data during the run.
# The seeded template stays for the next run (/tmp/dp/seed-sqlite.db, or the PostgreSQL databases
# dp_seed and dp): drop them when done. Seed again (RESEED=1) after a migration changes the schema.
# Usage: WBIN=path/to/waiver bench/decl_case.sh sqlite|postgres [SECONDS] [perf]
set -e
cd "$(dirname "${BASH_SOURCE[0]}")/.."
B=$1; SECS=${2:-10}
OUT=/tmp/dp; mkdir -p $OUT
W=${WBIN:-target/release/waiver}
# Seeding takes minutes, so the seeded database is kept as a template ($OUT/seed-$B.db, or the
# PostgreSQL database dp_seed) and copied for each run; RESEED=1 seeds afresh.
PG=postgres://postgres@127.0.0.1:5432
if [ $B = sqlite ]; then DB=$OUT/bench.db; rm -f $DB $DB-wal $DB-shm
  if [ -n "$RESEED" ] || [ ! -s $OUT/seed-$B.db ] || [ ! -s $OUT/seed-$B.json ]; then
    rm -f $OUT/seed-$B.db*; $W seed-bench --database $OUT/seed-$B.db --allowances 1000 --tonnes 5000 > $OUT/seed-$B.json
    sqlite3 $OUT/seed-$B.db "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null 2>&1 || true
  fi
  cp $OUT/seed-$B.db $DB; [ -f $OUT/seed-$B.db-wal ] && cp $OUT/seed-$B.db-wal $DB-wal
else
  psql $PG/postgres -qc "DROP DATABASE IF EXISTS dp WITH (FORCE)"
  if [ -n "$RESEED" ] || [ ! -s $OUT/seed-$B.json ] || ! psql $PG/dp_seed -qc "SELECT 1" >/dev/null 2>&1; then
    psql $PG/postgres -qc "DROP DATABASE IF EXISTS dp_seed WITH (FORCE)"; psql $PG/postgres -qc "CREATE DATABASE dp_seed"
    $W seed-bench --database $PG/dp_seed --allowances 1000 --tonnes 5000 > $OUT/seed-$B.json
  fi
  psql $PG/postgres -qc "CREATE DATABASE dp TEMPLATE dp_seed"; DB=$PG/dp
fi
cp $OUT/seed-$B.json $OUT/seed.json
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
curl -s http://127.0.0.1:18080/metrics | grep -E "^waiver_declaration(s_batched_total|_commits_total|_batch_fallbacks_total) " | tr '\n' ' '; echo
kill $SP; wait $SP 2>/dev/null || true
