#!/usr/bin/env python3
"""Checks and tabulates bench/declarations.sh.

check (default): reads every allowance through the API and prints one JSON line:
  overdrawn (used > granted + tolerance), mismatched (used != sum of draw/reversal entries),
  the grams drawn in all, and the grams the acknowledged (2xx) declarations of this backend
  account for; `lost` is true when fewer grams were drawn than were acknowledged.
table: prints the Markdown table from results.jsonl and the fsync probe.
"""
import argparse
import json
import sys
import urllib.request


def get(url, token):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.load(r)


def check(a):
    results = [json.loads(l) for l in open(a.results) if l.strip()]
    acked = sum(
        r["wrk"]["requests"] - r["wrk"]["errors_status"]
        for r in results
        if r.get("backend") == a.backend and "wrk" in r
    )
    overdrawn, mismatched, drawn_g, checked = [], [], 0, 0
    for number in (l.strip() for l in open(a.allowances)):
        if not number:
            continue
        al = get(f"{a.url}/api/v1/allowances/{number}", a.token)
        checked += 1
        used = al["used_g"]
        entries = sum(e["quantity_g"] for e in al["entries"] if e["kind"] in ("draw", "reversal"))
        if used > al["ceiling_g"]:
            overdrawn.append(number)
        if used != entries:
            mismatched.append(number)
        drawn_g += used
    qty_g = round(float(a.qty_t) * 1_000_000)
    print(json.dumps({
        "backend": a.backend, "check": True, "allowances": checked,
        "overdrawn": overdrawn, "mismatched": mismatched, "drawn_g": drawn_g,
        "acknowledged": acked, "acknowledged_g": acked * qty_g,
        "lost": drawn_g < acked * qty_g,
    }))


def table(a):
    rows = [json.loads(l) for l in open(a.results) if l.strip()]
    fsync = json.loads(a.fsync)["fsyncs_per_s"]
    pg = {r["case"]: r["tps"] for r in rows if r.get("backend") == "pgbench"}
    checks = {r["backend"]: r for r in rows if r.get("check")}
    names = {"many": "(a) 1,000 allowances", "one": "(b) one allowance"}
    print("| backend | case | declarations/s | p50 ms | p99 ms | non-2xx | limit | ratio to limit | goal |")
    print("|---|---|---:|---:|---:|---:|---|---:|---|")
    ok_all = True
    for r in rows:
        if "wrk" not in r:
            continue
        w = r["wrk"]
        if r["backend"] == "sqlite":
            limit, label, goal = fsync, f"fsync {fsync:.0f}/s", 1.0
        else:
            limit = pg.get(r["case"])
            label, goal = (f"pgbench {limit:.0f} tps" if limit else "pgbench n/a"), 0.7
        ratio = w["rps"] / limit if limit else float("nan")
        met = ratio >= goal and w["p99_ms"] < 50 and w["errors_status"] == 0
        ok_all &= met
        print(f"| {r['backend']} | {names[r['case']]} | {w['rps']:.0f} | {w['p50_ms']:.1f} | {w['p99_ms']:.1f} "
              f"| {w['errors_status']} | {label} | {ratio:.2f} | {'met' if met else 'not met'} (≥{goal:g}×, p99 < 50 ms) |")
    print()
    for b, c in checks.items():
        print(f"- {b}: {c['allowances']} allowances checked; overdrawn {len(c['overdrawn'])}, "
              f"balance ≠ entries {len(c['mismatched'])}; drawn {c['drawn_g']} g for "
              f"{c['acknowledged']} acknowledged declarations ({c['acknowledged_g']} g)"
              f"{' — ACKNOWLEDGED DRAWS MISSING' if c['lost'] else ''}")
    if any(c["overdrawn"] or c["mismatched"] or c["lost"] for c in checks.values()):
        sys.exit(3)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", nargs="?", default="check", choices=["check", "table"])
    p.add_argument("--url")
    p.add_argument("--token")
    p.add_argument("--allowances")
    p.add_argument("--backend")
    p.add_argument("--results", required=True)
    p.add_argument("--qty-t", default="0.01")
    p.add_argument("--fsync", default='{"fsyncs_per_s": 0}')
    a = p.parse_args()
    check(a) if a.mode == "check" else table(a)


if __name__ == "__main__":
    main()
