#!/usr/bin/env python3
"""Generates a realistic customs declarations CSV for benchmarking `waiver assess`.

Usage: python3 bench/gen_declarations.py N OUT.csv [--seed S]

N declaration lines (rows), grouped into declarations of 1-5 lines. The same N and seed always
give the same file, byte for byte (plain Python `random`, no other dependency).

What the rows look like:
- code: every line of data/schedule/lines.csv except 10079000 (sorghum has no MFN rate and would
  be rejected); soybeans dominate, then maize, wheat, pork, beef, cotton;
- origin: US, BR, AR, CA, AU, drawn per commodity so that about 40% of rows are US;
- declared_at: 2018-01-01 .. 2026-10-31; ~85% `YYYY-MM-DDTHH:MM` (Beijing), ~14% `YYYY-MM-DD`,
  ~1% RFC 3339 with an offset (`+08:00`, `Z`, `-03:00`);
- quantity in `t` (up to 3 decimals) or `kg`; customs_value (CIF) with 2 decimals, in USD (~90%)
  or CNY, at realistic per-tonne prices (soy 350-550 USD/t, pork 1500-3000, beef 4000-7000, ...);
- shipped_on on ~35% of declarations, 7-50 days before declared_at (exercises grace windows);
- remarks: an extra column to carry through, sometimes with a comma or quotes (so it is quoted).
No `in_quota` column: quota goods (wheat, maize, cotton) pay the out-of-quota rate.
"""
import argparse
from bisect import bisect
import datetime as dt
import os
import random
import sys
import time

HEADER = "declaration,line,importer,declared_at,code,origin,quantity,unit,customs_value,currency,shipped_on,remarks"

# Commodity groups: (weight, [(code, weight)], [(origin, weight)], USD per tonne range,
#                    quantity model, share of lines declared in kg)
GROUPS = [
    (50, [("12019010", 75), ("12019090", 25)], [("US", 40), ("BR", 40), ("AR", 14), ("CA", 6)], (350, 550), "bulk", 0.02),
    (12, [("10059000", 1)], [("US", 55), ("BR", 30), ("AR", 15)], (170, 300), "bulk", 0.03),
    (10, [("10019900", 1)], [("US", 30), ("CA", 35), ("AU", 35)], (200, 350), "bulk", 0.03),
    (13, [("02032900", 45), ("02032200", 35), ("02032190", 20)], [("US", 40), ("CA", 30), ("BR", 25), ("AU", 5)], (1500, 3000), "reefer", 0.5),
    (8, [("02023000", 1)], [("BR", 40), ("AR", 25), ("AU", 22), ("US", 9), ("CA", 4)], (4000, 7000), "reefer", 0.5),
    (7, [("52010000", 1)], [("US", 45), ("BR", 25), ("AU", 30)], (1500, 2200), "bale", 0.2),
]

REGIONS = ["3100", "4403", "1200", "2102", "3702", "4401", "3302", "3205", "2301", "5101", "4600", "3502"]
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"

REMARKS = [
    ("", 40),
    ("bulk", 8),
    ("non-GMO", 3),
    ("GMO, non-seed", 4),
    ("Panamax, partial cargo", 3),
    ("FOB Santos", 3),
    ("FOB New Orleans", 3),
    ("CIF Dalian", 3),
    ("reefer container", 5),
    ("contract 2019-123, lot 4", 2),
    ("frozen, -18C", 3),
    ("quality cert. attached", 3),
    ('grade "No. 2 Yellow"', 1),
    ("re-export: no", 1),
    ("state reserve", 1),
    ("transhipment via Singapore, bill of lading split", 1),
]

START = dt.date(2018, 1, 1)
END = dt.date(2026, 10, 31)  # inclusive


def csv_field(s):
    if any(c in s for c in ',"\n\r'):
        return '"' + s.replace('"', '""') + '"'
    return s


def cum(ws):
    out, t = [], 0
    for w in ws:
        t += w
        out.append(t)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("n", type=int, help="number of declaration lines (rows)")
    ap.add_argument("out", help="output CSV path")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    if a.n < 0:
        sys.exit("N must be >= 0")

    rng = random.Random(a.seed)
    rnd = rng.random

    def pick(xs, cw):
        return xs[bisect(cw, rnd() * cw[-1])]

    def rint(lo, hi):  # lo <= n < hi
        return lo + int(rnd() * (hi - lo))

    # Days and times, formatted once.
    ndays = (END - START).days + 1
    days = [START + dt.timedelta(d) for d in range(ndays)]
    day_str = [d.isoformat() for d in days]
    years = [d.year for d in days]
    minute_str = [f"T{h:02d}:{m:02d}" for h in range(24) for m in range(60)]
    # Customs offices work mostly in the day: hours weighted.
    hour_w = [1] * 7 + [4] * 12 + [2] * 5
    minute_cw = cum([hour_w[i // 60] for i in range(1440)])

    importers = [
        f"{rng.choice(REGIONS)}{''.join(rng.choice(LETTERS) for _ in range(3))}{rng.randrange(1000):03d}" for _ in range(20000)
    ]
    importer_cw = cum([1.0 / (i + 1) ** 0.8 for i in range(len(importers))])

    remark_vals = [csv_field(r) for r, _ in REMARKS]
    remark_cw = cum([w for _, w in REMARKS])

    groups = []
    for w, codes, origins, price, model, kg_share in GROUPS:
        groups.append((
            [c for c, _ in codes], cum([x for _, x in codes]),
            [o for o, _ in origins], cum([x for _, x in origins]),
            price, model, kg_share,
        ))
    group_cw = cum([g[0] for g in GROUPS])
    lines_cw = cum([40, 25, 15, 12, 8])
    line_counts = [1, 2, 3, 4, 5]

    seq = {}
    t0 = time.time()
    written = 0
    chunk = []
    with open(a.out, "w", encoding="utf-8", newline="", buffering=1 << 22) as f:
        f.write(HEADER + "\n")
        while written < a.n:
            nl = pick(line_counts, lines_cw)
            if nl > a.n - written:
                nl = a.n - written
            (codes, codes_cw, origins, origins_cw, (plo, phi), model, kg_share) = pick(groups, group_cw)
            origin = pick(origins, origins_cw)
            di = rint(0, ndays)
            year = years[di]
            s = seq.get(year, 0) + 1
            seq[year] = s
            decl = f"DEC{year}{s:06d}"
            importer = pick(importers, importer_cw)

            r = rnd()
            if r < 0.85:
                declared = day_str[di] + pick(minute_str, minute_cw)
            elif r < 0.99:
                declared = day_str[di]
            else:
                tail = ("+08:00", "+08:00", "Z", "-03:00")[rint(0, 4)]
                declared = f"{day_str[di]}{pick(minute_str, minute_cw)}:{rint(0, 60):02d}{tail}"

            if rnd() < 0.35:
                shipped = day_str[di - rint(7, 51)] if di >= 50 else (days[di] - dt.timedelta(rint(7, 51))).isoformat()
            else:
                shipped = ""
            cny = rnd() < 0.10
            currency = "CNY" if cny else "USD"
            remark = pick(remark_vals, remark_cw)

            for ln in range(1, nl + 1):
                code = codes[0] if len(codes) == 1 else pick(codes, codes_cw)
                # Quantity in grams.
                if model == "bulk":
                    if rnd() < 0.15:
                        grams = rint(1_000_000, 500_000_000)  # 1-500 t, containerised
                    else:
                        grams = int(500e6 * (120.0 ** rnd()))  # 500-60000 t, log-uniform
                elif model == "reefer":
                    grams = rint(20, 600) * 1_000_000 + rint(0, 1_000_000)
                else:
                    grams = int(20e6 * (150.0 ** rnd()))  # 20-3000 t
                if grams < 1000:
                    grams = 1000
                if rnd() < kg_share:
                    unit = "kg"
                    if rnd() < 0.5:
                        kg = grams // 1000
                        qty = f"{kg}"
                        grams = kg * 1000
                    else:
                        kg10 = grams // 100  # tenths of a kg
                        qty = f"{kg10 // 10}.{kg10 % 10}"
                        grams = kg10 * 100
                else:
                    unit = "t"
                    if rnd() < 0.2:
                        t = max(1, grams // 1_000_000)
                        qty = f"{t}"
                        grams = t * 1_000_000
                    else:
                        grams = grams // 1000 * 1000
                        qty = f"{grams // 1_000_000}.{grams // 1000 % 1000:03d}"
                # Price in cents per tonne.
                price = rint(plo * 100, phi * 100)
                if cny:
                    price = price * rint(63, 73) // 10
                cents = grams * price // 1_000_000
                if cents < 1:
                    cents = 1
                value = f"{cents // 100}.{cents % 100:02d}"
                chunk.append(f"{decl},{ln},{importer},{declared},{code},{origin},{qty},{unit},{value},{currency},{shipped},{remark}")
            written += nl
            if len(chunk) >= 200_000:
                f.write("\n".join(chunk))
                f.write("\n")
                chunk.clear()
        if chunk:
            f.write("\n".join(chunk))
            f.write("\n")
    print(f"wrote {written} rows to {a.out} in {time.time() - t0:.1f}s ({os.path.getsize(a.out) / 1e6:.1f} MB)", file=sys.stderr)


if __name__ == "__main__":
    main()
