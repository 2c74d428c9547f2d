#!/usr/bin/env bash
# Where a PostgreSQL case-(a) declaration's time goes (issue 5, item 9). Builds HEAD with
# bench/patches/pg-write-breakdown.diff applied, in a temporary worktree: the patch adds an
# experiment switch, WAIVER_EXP, that cuts PostgreSQL's batch write statement down step by step.
# It is never on main (one value of it writes nothing). Then, in alternating rounds, it runs
# bench/decl_case.sh postgres with each cut and pgbench's single conditional UPDATE (the limit
# bench/declarations.sh measures), and prints the median rate of each and its ratio to pgbench:
#   full        the write statement as on main
#   strip       without the audit append
#   strip-e     ... and without the ledger entries
#   strip-el    ... and without the declaration lines
#   onlyupdate  only the conditional UPDATE of the allowances (pgbench's own work)
#   nowrite     no write statement: the HTTP request, the assessment, the locking read, the commit
# Usage: bench/decl_breakdown.sh     Env: ROUNDS=3 SECS=10 WT=/tmp/waiver-breakdown
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD; ROUNDS=${ROUNDS:-3}; SECS=${SECS:-10}; WT=${WT:-/tmp/waiver-breakdown}
PG=postgres://postgres@127.0.0.1:5432
OUT=/tmp/dp; mkdir -p $OUT
git worktree remove --force "$WT" 2>/dev/null || rm -rf "$WT"
git worktree add -q --detach "$WT" HEAD
trap 'git -C "$ROOT" worktree remove --force "$WT" 2>/dev/null || true' EXIT
(cd "$WT" && git apply "$ROOT/bench/patches/pg-write-breakdown.diff" \
    && CARGO_TARGET_DIR="$ROOT/target/breakdown" cargo build --release -q -p waiver)
BIN="$ROOT/target/breakdown/release/waiver"
psql $PG/postgres -qc "DROP DATABASE IF EXISTS dp_pgbench WITH (FORCE)" -c "CREATE DATABASE dp_pgbench"
psql $PG/dp_pgbench -q <<'SQL'
CREATE TABLE bench_allowance (id INT PRIMARY KEY, ceiling_g BIGINT NOT NULL, used_g BIGINT NOT NULL);
INSERT INTO bench_allowance SELECT g, 5500000000, 0 FROM generate_series(1, 1000) g;
SQL
printf '\\set id random(1, 1000)\nUPDATE bench_allowance SET used_g = used_g + 10000 WHERE id = :id AND used_g + 10000 <= ceiling_g;\n' > $OUT/pgbench-many.sql
: > $OUT/breakdown.txt
for r in $(seq "$ROUNDS"); do
  for v in full strip strip-e strip-el onlyupdate nowrite; do
    rps=$(WAIVER_EXP=$v WBIN="$BIN" bench/decl_case.sh postgres "$SECS" 2>/dev/null | sed -n 's/^Requests\/sec: *//p')
    echo "$r $v $rps" | tee -a $OUT/breakdown.txt
  done
  tps=$(pgbench -n -M prepared -c 64 -j 2 -T "$SECS" -f $OUT/pgbench-many.sql $PG/dp_pgbench 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
  echo "$r pgbench $tps" | tee -a $OUT/breakdown.txt
done
psql $PG/postgres -qc "DROP DATABASE IF EXISTS dp_pgbench WITH (FORCE)" -c "DROP DATABASE IF EXISTS dp WITH (FORCE)"
python3 - $OUT/breakdown.txt <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    _, v, x = line.split()
    runs.setdefault(v, []).append(float(x))
pg = statistics.median(runs.pop("pgbench"))
print(f"\n| write statement | median declarations/s | µs per declaration | ratio to pgbench ({pg:,.0f} tps) |")
print("|---|---:|---:|---:|")
for v, xs in runs.items():
    m = statistics.median(xs)
    print(f"| {v} | {m:,.0f} | {1e6 / m:.0f} | {m / pg:.2f} |")
PY
