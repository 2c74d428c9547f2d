#!/usr/bin/env python3
"""Builds data/landed/soybeans-monthly.csv, the demo input of `waiver landed-series`.

Monthly U.S. Gulf and Brazil (Paranaguá/Santos) soybean quotes for 2017-01..2026-12. Rows carry a
`source` column: `sourced: <file> (...)` where a figure comes from ../shared/data (the parts not
sourced are named), `illustrative` otherwise. Illustrative values are linear interpolations between
the rough anchor levels below: approximate market levels chosen to give the chart a realistic
shape, NOT sourced figures. Exchange rate: empty (the schedule's customs table) except where a
source gives one, and 2026-12, past the end of the table. Insurance: empty (0.3% of price plus
freight). Port charges: CNY 80/t, the figure of the Cofeed import-cost table.

Run from the repository root: python3 tools/build_landed_demo.py
"""
import csv
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

DST = Path("data/landed/soybeans-monthly.csv")
CODE = "12019010"
PORT = "80"


def m(s):
    y, mo = s.split("-")
    return int(y) * 12 + int(mo) - 1


def mstr(i):
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


MONTHS = range(m("2017-01"), m("2026-12") + 1)

# Illustrative anchors (month, value); values between anchors are interpolated linearly.
CBOT_C_BU = [("2017-01", 1030), ("2017-06", 930), ("2017-12", 970), ("2018-03", 1040), ("2018-05", 1010),
             ("2018-07", 860), ("2018-09", 830), ("2018-12", 900), ("2019-05", 830), ("2019-08", 870),
             ("2019-12", 920), ("2020-04", 840), ("2020-07", 890), ("2020-10", 1060), ("2021-01", 1370),
             ("2021-05", 1550), ("2021-09", 1280), ("2021-12", 1280), ("2022-06", 1680), ("2022-09", 1450),
             ("2022-12", 1480), ("2023-06", 1350), ("2023-12", 1300), ("2024-06", 1180), ("2024-09", 1000),
             ("2024-12", 990), ("2025-06", 1050), ("2025-09", 1020), ("2025-12", 1080), ("2026-12", 1080)]
US_PREMIUM_C_BU = [("2017-01", 50), ("2018-06", 50), ("2018-07", 40), ("2019-12", 40), ("2020-10", 70),
                   ("2021-01", 110), ("2022-06", 90), ("2024-06", 60), ("2025-03", 50), ("2025-04", 40),
                   ("2025-10", 40), ("2025-11", 60), ("2026-12", 60)]
BR_PREMIUM_C_BU = [("2017-01", 30), ("2018-01", 40), ("2018-06", 150), ("2018-09", 200), ("2018-12", 100),
                   ("2019-06", 60), ("2019-12", 80), ("2020-06", 100), ("2020-12", 150), ("2022-06", 130),
                   ("2023-03", -20), ("2023-09", 100), ("2024-03", -10), ("2024-09", 80), ("2025-04", 100),
                   ("2025-09", 200), ("2025-12", 80), ("2026-12", 60)]
US_FREIGHT_USD_T = [("2017-01", 40), ("2020-12", 40), ("2021-10", 75), ("2022-06", 65), ("2023-06", 50),
                    ("2024-06", 48), ("2026-12", 48)]
BR_FREIGHT_USD_T = [("2017-01", 32), ("2020-12", 30), ("2021-10", 65), ("2022-06", 55), ("2023-06", 40),
                    ("2024-06", 38), ("2026-12", 38)]


def num(v, step):
    q = round(F(v) / F(step)) * F(step)
    return str(Decimal(q.numerator) / Decimal(q.denominator)) if q.denominator != 1 else str(q.numerator)


rows = {}
for i in MONTHS:
    for origin, label, prem, freight in (("US", "US Gulf", US_PREMIUM_C_BU, US_FREIGHT_USD_T),
                                         ("BR", "Brazil", BR_PREMIUM_C_BU, BR_FREIGHT_USD_T)):
        rows[(i, origin)] = {
            "month": mstr(i), "origin": origin, "label": label, "code": CODE,
            "cbot_c_bu": None, "premium_c_bu": None, "fob_usd_t": "",
            "freight_usd_t": None, "insurance_usd_t": "", "fx_cny_usd": "",
            "port_charge_cny_t": PORT, "source": "illustrative",
            "_anchors": (prem, freight),
        }


def value(anchors, i, step):
    pts = [(m(a), F(v)) for a, v in anchors]
    for (m0, v0), (m1, v1) in zip(pts, pts[1:]):
        if m0 <= i <= m1:
            return num(v0 + (v1 - v0) * F(i - m0, m1 - m0), step)
    raise ValueError(mstr(i))


for (i, origin), r in rows.items():
    prem, freight = r.pop("_anchors")
    r["cbot_c_bu"] = value(CBOT_C_BU, i, F(1, 4))
    r["premium_c_bu"] = value(prem, i, 1)
    r["freight_usd_t"] = value(freight, i, F(1, 2))

MARKET = "sourced: soybean-market-2019.csv"
COST = "sourced: soybean-import-cost-2020-12-23.csv"
# Sourced figures (../shared/data). Each note names what in the row is sourced.
# 2019-08: FOB quotes for October shipment (agricensus, date inferred 2019-08-23).
rows[(m("2019-08"), "US")].update(cbot_c_bu="", premium_c_bu="", fob_usd_t="327.50",
                                   source=f"{MARKET} (U.S. Gulf FOB Oct shipment, 2019-08-23); freight illustrative")
rows[(m("2019-08"), "BR")].update(cbot_c_bu="", premium_c_bu="", fob_usd_t="374.50",
                                   source=f"{MARKET} (Santos FOB Oct shipment, 2019-08-23); freight illustrative")
# 2019-09: CBOT November futures settlement 2019-09-12; Paranaguá premium end of August.
rows[(m("2019-09"), "US")].update(cbot_c_bu="895.5",
                                   source=f"{MARKET} (CBOT 2019-09-12); premium and freight illustrative")
rows[(m("2019-09"), "BR")].update(cbot_c_bu="895.5", premium_c_bu="140",
                                   source=f"{MARKET} (CBOT 2019-09-12, Paranaguá premium end Aug); freight illustrative")
# 2019-10: CBOT settlement 2019-10-09.
for o in ("US", "BR"):
    rows[(m("2019-10"), o)].update(cbot_c_bu="923.75",
                                   source=f"{MARKET} (CBOT 2019-10-09); premium and freight illustrative")
# 2020-12..2021-07: the Cofeed table quoted 2020-12-23, by delivery month (its FX with it).
for r in csv.DictReader(open("../shared/data/soybean-import-cost-2020-12-23.csv")):
    origin = {"US Gulf": "US", "Brazil": "BR"}.get(r["origin"])
    if origin is None:
        continue
    mon = {"Dec": "2020-12", "Jan": "2021-01", "Feb": "2021-02", "Mar": "2021-03", "Apr": "2021-04",
           "May": "2021-05", "Jun": "2021-06", "Jul": "2021-07"}[r["delivery_month"]]
    rows[(m(mon), origin)].update(
        cbot_c_bu=r["cbot_c_bu"], premium_c_bu=r["premium_c_bu"], freight_usd_t=r["freight_usd_t"],
        fx_cny_usd=r["fx_cny_usd"],
        source=f"{COST} ({r['origin']} {r['delivery_month']} delivery, quoted 2020-12-23)")
# 2026-12 is past the customs rate table: carry the 2026-11 rate, illustratively.
for o in ("US", "BR"):
    r = rows[(m("2026-12"), o)]
    r["fx_cny_usd"] = "6.6761"
    r["source"] += " (fx: the 2026-11 customs-table rate carried forward)"

cols = ["month", "origin", "label", "code", "cbot_c_bu", "premium_c_bu", "fob_usd_t", "freight_usd_t",
        "insurance_usd_t", "fx_cny_usd", "port_charge_cny_t", "source"]
DST.parent.mkdir(parents=True, exist_ok=True)
with open(DST, "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(cols)
    for key in sorted(rows):
        w.writerow([rows[key][c] for c in cols])
print(f"wrote {len(rows)} rows to {DST}")
