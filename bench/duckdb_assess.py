#!/usr/bin/env python3
"""The `waiver assess` computation as DuckDB SQL: the baseline that `bench/run.sh` compares with.

Usage: python3 bench/duckdb_assess.py IN.csv OUT.csv [--threads N] [--schedule DIR] [--ordered]

Reads the schedule from DIR/{lines,measures,exchange_rates}.csv (default data/schedule next to
this script's parent), assesses every declaration line of IN.csv and writes OUT.csv with the input
columns (as text, unchanged) followed by
  customs_value_cny, base_rate_pct, base_duty_cny, additional_rate_pct, additional_duty_cny,
  vat_rate_pct, vat_cny, total_cny, exclusion_saving_cny, measures, warnings
with exact DECIMAL arithmetic and half-up rounding to the fen (DuckDB's ROUND on DECIMAL rounds
half away from zero; every amount here is positive).

How it works: the schedule is piecewise constant in time. In SQL, it is first turned into a small
table of segments keyed by (code, origin group, grace category, in_quota, month) with a validity
interval [t_from, t_to) inside that month, and per segment the base rate, the summed charged
additional rates (all, and the non-excludable ones), the VAT rate, the USD rate of the month and
the `measures` string. Each input row then takes one hash join (equality on the key, the interval as
a residual condition) and a few DECIMAL multiplications. A few thousand segments; the time is in
reading, joining and writing the 10M rows.

Rules implemented (those of the Waiver engine, crates/waiver-domain/src/engine.rs):
- declared_at: YYYY-MM-DD (= 00:00), YYYY-MM-DDTHH:MM[:SS] (Beijing), or RFC 3339 with Z/offset;
- customs value CNY = round(customs_value x USD rate of the Beijing month of declared_at, 2);
- base: out_of_quota (unless in_quota) > provisional > mfn, in force at declared_at;
- additional: every additional/anti-dumping/countervailing/safeguard layer in force for the code and
  origin (safeguard_over_quota is conditional: not applied); a layer with a grace window is not
  charged when the goods were shipped before its cut-off (a date-only shipped_on counts as the
  whole day: the day must end by the cut-off) and declared before grace_imported_until;
- VAT on value + rounded duties; saving = total - total with every excludable layer lifted;
- rows are dropped (not written) when the code is unknown or not in force, origin is empty, the
  base or VAT rate is missing, the currency is not CNY/USD or has no rate, or a number is invalid.
Only ad valorem duties (`25%`) are supported; the script stops on anything else.
`warnings` is left empty.
"""
import argparse
import csv
import os
import sys
import time

import duckdb

OUT_COLS = [
    "customs_value_cny", "base_rate_pct", "base_duty_cny", "additional_rate_pct", "additional_duty_cny",
    "vat_rate_pct", "vat_cny", "total_cny", "exclusion_saving_cny", "measures", "warnings",
]
REQUIRED = ["declaration", "line", "importer", "code", "origin", "declared_at", "quantity", "unit", "customs_value", "currency"]
ADDITIONAL_KINDS = ("additional", "anti_dumping_deposit", "anti_dumping", "countervailing", "safeguard")
BASE_KINDS = ("mfn", "provisional", "out_of_quota")


def q(name):
    return '"' + name.replace('"', '""') + '"'


def lit(s):
    return "'" + s.replace("'", "''") + "'"


def ts_expr(col):
    """SQL turning a text column into a Beijing-time TIMESTAMP (NULL when empty)."""
    return f"""(CASE
        WHEN length({col}) = 16 THEN CAST({col} AS TIMESTAMP)
        WHEN length({col}) = 10 THEN CAST(CAST({col} AS DATE) AS TIMESTAMP)
        WHEN {col} IS NULL OR {col} = '' THEN NULL
        WHEN regexp_matches({col}, '([Zz]|[+-][0-9][0-9]:[0-9][0-9])$')
            THEN make_timestamp(epoch_us(CAST({col} AS TIMESTAMPTZ)) + 28800000000)
        ELSE CAST({col} AS TIMESTAMP) END)"""


def build_schedule(con, sched):
    p = lambda f: lit(os.path.join(sched, f))
    rd = "all_varchar = true, header = true, quote = '\"', escape = '\"'"
    con.execute(f"""
    CREATE MACRO bj(s) AS {ts_expr('s')};

    CREATE TABLE lines AS
    SELECT trim(code) AS code, trim(vat_class) AS vat_class, bj(trim(valid_from)) AS valid_from,
           coalesce(bj(nullif(trim(valid_to), '')), TIMESTAMP 'infinity') AS valid_to
    FROM read_csv({p('lines.csv')}, {rd});

    CREATE TABLE measures AS
    SELECT row_number() OVER () AS ord, * FROM read_csv({p('measures.csv')}, {rd});

    CREATE TABLE fx AS
    SELECT CAST(substr(month, 1, 4) AS INTEGER) * 12 + CAST(substr(month, 6, 2) AS INTEGER) - 1 AS mon,
           CAST(cny_per_unit AS DECIMAL(18,4)) AS rate
    FROM read_csv({p('exchange_rates.csv')}, {rd}) WHERE trim(currency) = 'USD';
    """)
    bad = con.execute(r"""SELECT id, duty FROM measures WHERE NOT regexp_matches(trim(duty), '^[0-9]+(\.[0-9]+)?%$')""").fetchall()
    if bad:
        sys.exit(f"only ad valorem duties are supported; not: {bad}")

    con.execute(f"""
    CREATE TABLE m AS
    SELECT ord, trim(id) AS id, trim(kind) AS kind, trim(origin) AS origin,
           CAST(rtrim(trim(duty), '%') AS DECIMAL(18,4)) AS pct,
           CAST(rtrim(trim(duty), '%') AS DECIMAL(18,4)) * CAST(0.01 AS DECIMAL(3,2)) AS rate,
           bj(trim(start)) AS start_t,
           coalesce(bj(nullif(trim("end"), '')), TIMESTAMP 'infinity') AS end_t,
           lower(trim(excludable)) IN ('yes', 'true') AS excludable,
           bj(nullif(trim(grace_shipped_before), '')) AS grace_sb,
           bj(nullif(trim(grace_imported_until), '')) AS grace_iu,
           trim(goods) AS goods
    FROM measures;

    -- one row per (measure, tariff line it covers)
    CREATE TABLE ml AS
    WITH tok AS (SELECT ord, trim(unnest(string_split(goods, ';'))) AS tok FROM m)
    SELECT DISTINCT m.*, l.code
    FROM m JOIN tok USING (ord) JOIN lines l
      ON tok.tok = '*'
      OR (starts_with(tok.tok, 'class:') AND l.vat_class = trim(substr(tok.tok, 7)))
      OR (NOT starts_with(tok.tok, 'class:') AND starts_with(l.code, tok.tok));
    """)

    cutoffs = [r[0] for r in con.execute("SELECT DISTINCT grace_sb FROM m WHERE grace_sb IS NOT NULL ORDER BY 1").fetchall()]
    origins = [r[0] for r in con.execute("SELECT DISTINCT origin FROM m WHERE origin <> '*' ORDER BY 1").fetchall()]
    con.execute("CREATE TABLE cutoffs AS SELECT unnest($1::TIMESTAMP[]) AS c, generate_subscripts($1::TIMESTAMP[], 1) - 1 AS gidx", [cutoffs])
    okeys = ", ".join(f"({lit(o)})" for o in origins + [""])
    cats = len(cutoffs)

    con.execute(f"""
    CREATE TABLE seg AS
    WITH bp AS (
        SELECT DISTINCT t FROM (
            SELECT start_t AS t FROM m UNION ALL SELECT end_t FROM m
            UNION ALL SELECT grace_iu FROM m UNION ALL SELECT valid_from FROM lines UNION ALL SELECT valid_to FROM lines
            UNION ALL SELECT make_timestamp(mon // 12, mon % 12 + 1, 1, 0, 0, 0) FROM fx
            UNION ALL SELECT make_timestamp((mon + 1) // 12, (mon + 1) % 12 + 1, 1, 0, 0, 0) FROM fx
        ) WHERE t IS NOT NULL AND t <> TIMESTAMP 'infinity'),
    iv AS (SELECT t AS t_from, coalesce(lead(t) OVER (ORDER BY t), TIMESTAMP 'infinity') AS t_to FROM bp),
    keys AS (
        SELECT l.code, o.okey, c.cat, qt.quota, iv.t_from, iv.t_to
        FROM lines l
        JOIN iv ON iv.t_from >= l.valid_from AND iv.t_from < l.valid_to
        CROSS JOIN (VALUES {okeys}) o(okey)
        CROSS JOIN range(0, {cats} + 1) c(cat)
        CROSS JOIN (VALUES (false), (true)) qt(quota)),
    hit AS (   -- measures in force in each segment, for its code and origin group
        SELECT k.*, ml.*,
            CASE WHEN ml.kind IN {ADDITIONAL_KINDS} AND NOT (ml.grace_sb IS NOT NULL
                      AND (SELECT gidx FROM cutoffs WHERE c = ml.grace_sb) >= k.cat
                      AND k.t_from < ml.grace_iu) THEN true ELSE false END AS charged_add,
            CASE ml.kind WHEN 'out_of_quota' THEN (CASE WHEN k.quota THEN NULL ELSE 3 END)
                         WHEN 'provisional' THEN 2 WHEN 'mfn' THEN 1 END AS base_prio
        FROM keys k JOIN ml ON ml.code = k.code
         AND (ml.origin = '*' OR ml.origin = k.okey)
         AND ml.start_t <= k.t_from AND k.t_from < ml.end_t),
    agg AS (
        SELECT code, okey, cat, quota, t_from, t_to,
            arg_max(rate, base_prio) FILTER (WHERE base_prio IS NOT NULL) AS base_rate,
            arg_max(pct, base_prio) FILTER (WHERE base_prio IS NOT NULL) AS base_pct,
            arg_max(id, base_prio) FILTER (WHERE base_prio IS NOT NULL) AS base_id,
            coalesce(sum(rate) FILTER (WHERE charged_add), 0) AS add_rate,
            coalesce(sum(pct) FILTER (WHERE charged_add), 0) AS add_pct,
            coalesce(sum(rate) FILTER (WHERE charged_add AND NOT excludable), 0) AS add_rate_kept,
            string_agg(id, ';' ORDER BY ord) FILTER (WHERE charged_add) AS add_ids,
            arg_max(rate, ord) FILTER (WHERE kind = 'vat') AS vat_rate,
            arg_max(pct, ord) FILTER (WHERE kind = 'vat') AS vat_pct,
            arg_max(id, ord) FILTER (WHERE kind = 'vat') AS vat_id
        FROM hit GROUP BY ALL)
    SELECT code, okey, cat::INTEGER AS cat, quota,
        CAST(year(t_from) * 12 + month(t_from) - 1 AS INTEGER) AS mon, t_from, t_to,
        CAST(base_rate AS DECIMAL(18,6)) AS base_rate,
        CAST(add_rate AS DECIMAL(18,6)) AS add_rate,
        CAST(add_rate_kept AS DECIMAL(18,6)) AS add_rate_kept,
        CAST(vat_rate AS DECIMAL(18,6)) AS vat_rate,
        fx.rate AS usd_rate,
        -- percentages as short decimals: 3, 2.5, 30.5
        regexp_replace(CAST(base_pct AS VARCHAR), '\\.?0+$', '') AS base_pct,
        regexp_replace(CAST(CAST(add_pct AS DECIMAL(18,4)) AS VARCHAR), '\\.?0+$', '') AS add_pct,
        regexp_replace(CAST(vat_pct AS VARCHAR), '\\.?0+$', '') AS vat_pct,
        concat_ws(';', base_id, add_ids, vat_id) AS measures
    FROM agg LEFT JOIN fx ON fx.mon = year(t_from) * 12 + month(t_from) - 1
    WHERE base_id IS NOT NULL AND vat_id IS NOT NULL;
    """)
    return cutoffs, origins


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description="waiver assess, as DuckDB SQL")
    ap.add_argument("input")
    ap.add_argument("output")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--schedule", default=os.path.join(here, "..", "data", "schedule"))
    ap.add_argument("--ordered", action="store_true", help="force output in input order (adds a sort)")
    ap.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 2GB")
    ap.add_argument("--profile", action="store_true", help="print DuckDB's EXPLAIN ANALYZE of the main query to stderr")
    a = ap.parse_args()

    t0 = time.time()
    with open(a.input, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f))
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        sys.exit(f"{a.input}: missing required column(s): {', '.join(missing)}")
    clash = [c for c in header if c in OUT_COLS or c.startswith("_w_")]
    if clash:
        sys.exit(f"{a.input}: input columns clash with output columns: {clash}")

    con = duckdb.connect()
    con.execute(f"SET threads = {int(a.threads)}")
    if a.memory_limit:
        con.execute(f"SET memory_limit = {lit(a.memory_limit)}")
    cutoffs, origins = build_schedule(con, a.schedule)
    nseg = con.execute("SELECT count(*) FROM seg").fetchone()[0]

    def col(c):
        return f"i.{q(c)}"

    # Grace category: how many grace cut-offs the shipment does NOT beat (no shipped_on: all).
    # A date-only shipped_on beats a cut-off when the whole day ends by it.
    if "shipped_on" in header:
        ship = col("shipped_on")
        ship_key = f"""(CASE WHEN {ship} IS NULL OR {ship} = '' THEN NULL
            WHEN length({ship}) = 10 THEN CAST(CAST({ship} AS DATE) AS TIMESTAMP) + INTERVAL 1 DAY
            ELSE {ts_expr(ship)} + INTERVAL 1 MICROSECOND END)"""
        terms = " + ".join(f"(_ship <= TIMESTAMP {lit(str(c))} IS NOT TRUE)::INTEGER" for c in cutoffs) or "0"
        cat = f"CAST({terms} AS INTEGER)" if cutoffs else "0"
    else:
        ship_key = "NULL::TIMESTAMP"
        cat = f"{len(cutoffs)}"
    if "in_quota" in header:
        quota = f"coalesce(lower(trim({col('in_quota')})) IN ('true', 'yes', 'y', '1'), false)"
    else:
        quota = "false"
    okey = "CASE " + " ".join(f"WHEN {col('origin')} = {lit(o)} THEN {lit(o)}" for o in origins) + " ELSE '' END" if origins else "''"

    carried = ", ".join(f"i.{q(c)}" for c in header)
    order = "ORDER BY _row" if a.ordered else ""
    rowid = ", row_number() OVER () AS _row" if a.ordered else ""
    sql = f"""
    COPY (
    WITH i AS (
        SELECT *, {ts_expr(col('declared_at'))} AS _t, {ship_key} AS _ship{rowid}
        FROM read_csv({lit(a.input)}, all_varchar = true, header = true, quote = '"', escape = '"') i),
    k AS (
        SELECT i.*, {okey} AS _okey, {cat} AS _cat, {quota} AS _quota,
            CAST(year(_t) * 12 + month(_t) - 1 AS INTEGER) AS _mon,
            CAST({col('customs_value')} AS DECIMAL(18,2)) AS _cv
        FROM i
        WHERE {col('origin')} <> '' AND {col('currency')} IN ('CNY', 'USD') AND {col('unit')} IN ('kg', 't')
          AND TRY_CAST({col('quantity')} AS DECIMAL(18,6)) > 0),
    v AS (
        SELECT k.*, s.base_rate AS _br, s.add_rate AS _ar, s.add_rate_kept AS _ak, s.vat_rate AS _vr,
            s.base_pct AS _bp, s.add_pct AS _ap, s.vat_pct AS _vp, s.measures AS _ms,
            CASE WHEN k.{q('currency')} = 'CNY' THEN _cv ELSE round(_cv * s.usd_rate, 2) END AS _v
        FROM k JOIN seg s
          ON s.code = k.{q('code')} AND s.okey = k._okey AND s.cat = k._cat AND s.quota = k._quota AND s.mon = k._mon
         AND k._t >= s.t_from AND k._t < s.t_to
        WHERE _cv > 0 AND (k.{q('currency')} = 'CNY' OR s.usd_rate IS NOT NULL)),
    d AS (
        SELECT v.*, round(_v * _br, 2) AS _bd, round(_v * _ar, 2) AS _ad, round(_v * _ak, 2) AS _adk FROM v),
    w AS (
        -- sums cast back to 18 digits: exact for these amounts, and keeps DuckDB on 64-bit decimals
        SELECT d.*, round(CAST(_v + _bd + _ad AS DECIMAL(18,2)) * _vr, 2) AS _vat,
            round(CAST(_v + _bd + _adk AS DECIMAL(18,2)) * _vr, 2) AS _vatk FROM d)
    SELECT {carried},
        _v AS customs_value_cny, _bp AS base_rate_pct, _bd AS base_duty_cny,
        _ap AS additional_rate_pct, _ad AS additional_duty_cny, _vp AS vat_rate_pct, _vat AS vat_cny,
        CAST(_bd + _ad + _vat AS DECIMAL(18,2)) AS total_cny,
        CAST((_ad + _vat) - (_adk + _vatk) AS DECIMAL(18,2)) AS exclusion_saving_cny,
        _ms AS measures, NULL::VARCHAR AS warnings
    FROM w i {order}
    ) TO {lit(a.output)} (FORMAT csv, HEADER true, DELIMITER ',')
    """
    if a.profile:
        for row in con.execute("EXPLAIN ANALYZE " + sql).fetchall():
            print(row[-1], file=sys.stderr)
        return
    n = con.execute(sql).fetchone()[0]
    print(f"duckdb: {n} rows assessed into {a.output} ({nseg} schedule segments, {a.threads} threads) in {time.time() - t0:.2f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
