#!/usr/bin/env python3
"""Checks that two assessment outputs agree: `waiver assess` and `bench/duckdb_assess.py`.

Usage: python3 bench/compare.py A.csv B.csv [--limit N] [--threads 2] [--show 5]

Rows are matched by (declaration, line) — the output order may differ — and compared on the
numeric columns (as exact decimals) and on `measures`. Prints the number of rows present on one
side only, the number of matched rows that differ, a few examples, and the total_cny sums.
With --limit N only the first N rows of A (by file order) are checked. Exit status 1 on any difference.
"""
import argparse
import sys

import duckdb

NUMERIC = [
    "customs_value_cny", "base_rate_pct", "base_duty_cny", "additional_rate_pct", "additional_duty_cny",
    "vat_rate_pct", "vat_cny", "total_cny", "exclusion_saving_cny",
]
TEXT = ["measures"]


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--limit", type=int, default=0, help="check only the first N rows of A (0 = all)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--show", type=int, default=5)
    x = ap.parse_args()

    con = duckdb.connect()
    con.execute(f"SET threads = {x.threads}")
    cols = ", ".join(["declaration", "line"] + NUMERIC + TEXT)
    limit = f"LIMIT {x.limit}" if x.limit > 0 else ""

    def src(path, lim=""):
        casts = ", ".join(f"TRY_CAST({c} AS DECIMAL(38,6)) AS {c}" for c in NUMERIC)
        return (f"(SELECT declaration, line, {casts}, coalesce(measures, '') AS measures "
                f"FROM read_csv({lit(path)}, all_varchar = true, header = true) {lim})")

    con.execute(f"CREATE TEMP TABLE a AS SELECT {cols} FROM {src(x.a, limit)}")
    b_filter = "WHERE (declaration, line) IN (SELECT declaration, line FROM a)" if x.limit > 0 else ""
    con.execute(f"CREATE TEMP TABLE b AS SELECT {cols} FROM {src(x.b)} {b_filter}")
    na, nb = con.execute("SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM b)").fetchone()
    dup = con.execute("SELECT (SELECT count(*) - count(DISTINCT (declaration, line)) FROM a) + "
                      "(SELECT count(*) - count(DISTINCT (declaration, line)) FROM b)").fetchone()[0]
    only_a, only_b = con.execute("""
        SELECT count(*) FILTER (WHERE b.declaration IS NULL), count(*) FILTER (WHERE a.declaration IS NULL)
        FROM a FULL OUTER JOIN b USING (declaration, line)""").fetchone()
    diff_cond = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in NUMERIC + TEXT)
    mism = con.execute(f"SELECT count(*) FROM a JOIN b USING (declaration, line) WHERE {diff_cond}").fetchone()[0]
    per_col = con.execute("SELECT " + ", ".join(
        f"count(*) FILTER (WHERE a.{c} IS DISTINCT FROM b.{c}) AS {c}" for c in NUMERIC + TEXT
    ) + " FROM a JOIN b USING (declaration, line)").fetchone()
    sums = con.execute("SELECT (SELECT sum(total_cny) FROM a), (SELECT sum(total_cny) FROM b)").fetchone()

    print(f"rows: {na} in A, {nb} in B; only in A: {only_a}; only in B: {only_b}; duplicate keys: {dup}")
    print(f"mismatching rows: {mism}")
    if mism:
        print("  by column: " + ", ".join(f"{c}={n}" for c, n in zip(NUMERIC + TEXT, per_col) if n))
        ex = con.execute(f"""SELECT declaration, line, {', '.join(f'a.{c}, b.{c}' for c in NUMERIC + TEXT)}
            FROM a JOIN b USING (declaration, line) WHERE {diff_cond} LIMIT {x.show}""").fetchall()
        for r in ex:
            print("  ", r)
    print(f"sum(total_cny): A {sums[0]}, B {sums[1]}")
    sys.exit(1 if (mism or only_a or only_b or dup) else 0)


if __name__ == "__main__":
    main()
