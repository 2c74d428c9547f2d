#!/usr/bin/env python3
"""Builds data/schedule/*.csv (Waiver's schedule format) from the sourced files in ../shared/data.

Run from the repository root: python3 tools/build_demo_schedule.py [SHARED_DATA_DIR]
The output is committed; re-run it when the reference data changes. Every row keeps its
confidence and source.
"""
import csv
import os
import sys

src = sys.argv[1] if len(sys.argv) > 1 else os.path.join("..", "shared", "data")
dst = os.path.join("data", "schedule")
os.makedirs(dst, exist_ok=True)

NOMENCLATURE_FROM = "2017-01-01"
TARIFF_BASIS = "Customs Tariff of the People's Republic of China (import tariff schedule)"


def read(name):
    with open(os.path.join(src, name), newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def write(name, header, rows):
    with open(os.path.join(dst, name), "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


lines = read("cn-tariff-lines.csv")
write(
    "lines.csv",
    ["code", "valid_from", "valid_to", "description_en", "description_zh", "unit", "vat_class", "confidence", "source"],
    [[l["code"], NOMENCLATURE_FROM, "", l["description_en"], l["description_zh"], l["unit"], l["vat_class"], l["confidence"], l["source"]] for l in lines],
)

MEASURE_HEADER = ["id", "goods", "origin", "kind", "duty", "start", "end", "legal_base", "scope", "excludable",
                  "grace_shipped_before", "grace_imported_until", "confidence", "source", "note"]
measures = []
for l in lines:
    for col, kind, prefix, note in (
        ("mfn_pct", "mfn", "MFN", "in-quota rate for tariff-rate-quota goods"),
        ("out_of_quota_pct", "out_of_quota", "OOQ", "applies unless the line is declared in quota"),
        ("general_pct", "general", "GEN", "general (non-MFN) rate; used for unknown origin"),
    ):
        if l[col]:
            measures.append([f"{prefix}-{l['code']}", l["code"], "*", kind, f"{l[col]}%", NOMENCLATURE_FROM, "",
                             TARIFF_BASIS, "base", "no", "", "", l["confidence"], l["source"],
                             note if kind != "mfn" or l["out_of_quota_pct"] else ""])
for m in read("cn-measures-on-us.csv"):
    measures.append([m["id"], m["goods"], m["origin"], m["kind"], f"{m['rate_pct']}%", m["start"], m["end"],
                     m["legal_base"], m["scope"], m["excludable"], m["grace_shipped_before"],
                     m["grace_imported_until"], m["confidence"], m["source"], m["note"]])
vat = read("cn-vat-agri.csv")
# The 13% agricultural VAT before 2017-07-01 is not in the reference data; it is inferred from
# Caishui [2017] No. 37, which abolished the 13% bracket and moved agricultural products to 11%.
# Without it nothing can be assessed (or landed-cost series built) for 2017-01..2017-06.
if vat[0]["start"] == "2017-07-01":
    vat.insert(0, {"start": NOMENCLATURE_FROM, "rate_pct": "13",
                   "legal_base": "Provisional Regulations on VAT Art. 2 (13% bracket), until Caishui [2017] No. 37",
                   "confidence": "inferred", "source": vat[0]["source"]})
for i, v in enumerate(vat):
    end = vat[i + 1]["start"] if i + 1 < len(vat) else ""
    measures.append([f"VAT-agri-{v['start']}", "class:agri", "*", "vat", f"{v['rate_pct']}%", v["start"], end,
                     v["legal_base"], "vat", "no", "", "", v["confidence"], v["source"], ""])
write("measures.csv", MEASURE_HEADER, measures)

write(
    "exchange_rates.csv",
    ["month", "currency", "cny_per_unit", "reference_date", "method", "confidence", "source"],
    [[r["month"], "USD", r["cny_per_usd"], r["reference_date"], r["method"], "approximate",
      "ECB euro reference rates cross rate (not the PBOC central parity); see ../shared/data/README.md"]
     for r in read("usd-cny-customs-monthly-approx.csv")],
)
print(f"wrote {len(lines)} lines, {len(measures)} measures to {dst}")
