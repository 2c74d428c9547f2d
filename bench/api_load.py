#!/usr/bin/env python3
"""Open-loop load generator for the Waiver JSON API (issue 3), driven by bench/api.sh.

Subcommands:

  seed  --waiver BIN --database DB --out ACCOUNTS.json [--enterprises N | --rates 200,400 ...]
        Creates N applicant enterprises, one applicant user each (argon2, so this is slow-ish and is
        done once per database, before any timing) and one API token each, with the `waiver` CLI.
        With --rates/--duration/--warmup/--submit-pct it computes N so that every submission of
        every run gets its own (enterprise, tariff line) pair (an enterprise may have only one open
        application per line).

  bench --url URL --accounts ACCOUNTS.json --rates 200,400 --label NAME --out RESULT.json
        First files one application per enterprise (untimed, closed loop), so that lists and reads
        have data from the start. Then, for each rate: WARMUP seconds of the mix (not recorded),
        followed without a pause by DURATION seconds that are recorded. Requests are sent on a
        fixed schedule (request i at t0 + i/rate, open loop): a slow answer does not delay the
        next request. Latency is measured from the *scheduled* send time to the end of the
        response body, so time a request spent waiting in the generator (or for a free
        connection) counts against the service, not hidden (no coordinated omission).

  table RESULT.json ... Prints the Markdown tables.

Expected answers: submit 201, list 200, read 200. Anything else (including 409 duplicates, 5xx,
timeouts and connection errors) is an error.
"""

import argparse
import asyncio
import concurrent.futures
import json
import math
import os
import random
import subprocess
import sys
import time

LINES = ["12019010", "12019090", "02032190", "02032200", "02032900",
         "02023000", "10079000", "10019900", "10059000", "52010000"]
PASSWORD = "correct horse battery"
KINDS = ("submit", "list", "read")
EXPECTED = {"submit": 201, "list": 200, "read": 200}


def enterprise_code(i):
    return f"3700BN{i:04d}"


def username(i):
    return f"bench{i:04d}"


def application_body(code, line, i):
    return {
        "programme": "CN-2020-MKT",
        "enterprise": code,
        "line": line,
        "quantity": "60000",
        "unit": "t",
        "value": "24000000",
        "currency": "USD",
        "contract": {"number": f"C-{code}-{line}", "supplier": "Gulf Grain (fictional)",
                     "signed_on": "2020-03-05", "quantity": "60000", "overfill_pct": "10"},
        "monthly_plan": [{"month": "2020-04", "quantity": "30000"},
                         {"month": "2020-05", "quantity": "30000"}],
        "evidence": {"commercial_need": f"crushing plant {i}", "contract_credibility": "signed",
                     "plan_feasibility": "two cargoes"},
        "confidential": [],
        "public_summary": "",
    }


def parse_rates(s):
    return [float(x) for x in s.replace(",", " ").split()]


# ---------------------------------------------------------------------------------------------
# seed

def enterprises_needed(rates, duration, warmup, submit_pct):
    # submissions are drawn at random with probability submit_pct, so allow a margin of 10% + 50
    expected = sum(r * (duration + warmup) for r in rates) * submit_pct / 100.0
    need = expected * 1.10 + 50
    # line 0 of each enterprise is used by the untimed pre-fill; 9 lines are left for the runs
    return max(20, math.ceil(need / (len(LINES) - 1)))


def cmd_seed(a):
    n = a.enterprises or enterprises_needed(parse_rates(a.rates), a.duration, a.warmup,
                                            a.submit_pct)
    env = dict(os.environ, WAIVER_PASSWORD=PASSWORD)

    def run(args):
        p = subprocess.run([a.waiver, *args, "--database", a.database], env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"waiver {' '.join(args)}: {p.stderr.strip()}")
        return p.stdout.strip()

    def one(i):
        code, user = enterprise_code(i), username(i)
        run(["enterprise", "add", code, "--name", f"Bench Crushing {i} (fictional)"])
        run(["user", "add", user, "--role", "applicant", "--enterprise", code,
             "--name", f"Bench Applicant {i}"])
        token = run(["token", "create", user]).splitlines()[-1]
        if not token.startswith("wvr_"):
            raise RuntimeError(f"unexpected token output for {user}: {token!r}")
        return {"enterprise": code, "user": user, "token": token}

    run(["migrate"])  # once, before the parallel part
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=a.jobs) as ex:
        accounts = list(ex.map(one, range(1, n + 1)))
    secs = time.monotonic() - t0
    with open(a.out, "w") as f:
        json.dump({"accounts": accounts, "seed_seconds": round(secs, 1)}, f)
    print(f"seeded {n} enterprises, applicants and tokens in {secs:.1f} s "
          f"({secs / n * 1000:.0f} ms each, {a.jobs} at a time)", file=sys.stderr)


# ---------------------------------------------------------------------------------------------
# bench

class Workload:
    """What the next request is: which kind, whose token, which application, which free slot."""

    def __init__(self, accounts, mix, seed):
        self.accounts = accounts
        self.rng = random.Random(seed)
        self.weights = mix
        # free (enterprise index, line index) pairs, line-major so that consecutive submissions
        # go to different enterprises; line 0 is used by the pre-fill
        self.slots = [(e, l) for l in range(1, len(LINES)) for e in range(len(accounts))]
        self.next_slot = 0
        self.apps = []           # (number, enterprise index): known applications, for reads

    def next(self):
        kind = self.rng.choices(KINDS, weights=self.weights)[0]
        if kind == "submit":
            if self.next_slot >= len(self.slots):
                raise SystemExit("out of free (enterprise, line) pairs: seed more enterprises")
            e, l = self.slots[self.next_slot]
            self.next_slot += 1
            acc = self.accounts[e]
            body = application_body(acc["enterprise"], LINES[l], self.next_slot)
            return kind, e, ("POST", "/api/v1/applications?submit=true", body)
        if kind == "list":
            e = self.rng.randrange(len(self.accounts))
            return kind, e, ("GET", "/api/v1/applications?limit=50", None)
        number, e = self.apps[self.rng.randrange(len(self.apps))]
        return kind, e, ("GET", f"/api/v1/applications/{number}", None)


def cpu_snapshot(server_pid):
    """(machine busy jiffies, machine total jiffies, server jiffies, postgres jiffies)."""
    with open("/proc/stat") as f:
        vals = [int(x) for x in f.readline().split()[1:]]
    total = sum(vals[:8])
    idle = vals[3] + vals[4]

    def proc_jiffies(pid):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parts = f.read().rsplit(")", 1)[1].split()
            return int(parts[11]) + int(parts[12]), parts
        except (OSError, IndexError, ValueError):
            return 0, None

    server = proc_jiffies(server_pid)[0] if server_pid else 0
    pg = 0
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/comm") as f:
                if f.read().strip() != "postgres":
                    continue
        except OSError:
            continue
        pg += proc_jiffies(d)[0]
    return total - idle, total, server, pg


def percentile(sorted_vals, p):
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, math.ceil(p / 100.0 * len(sorted_vals)) - 1))
    return sorted_vals[k]


async def prefill(session, url, accounts, workload, concurrency=8):
    """One submitted application per enterprise on line 0 (untimed)."""
    sem = asyncio.Semaphore(concurrency)

    async def one(e, acc):
        async with sem:
            body = application_body(acc["enterprise"], LINES[0], 0)
            async with session.post(f"{url}/api/v1/applications?submit=true", json=body,
                                    headers={"Authorization": f"Bearer {acc['token']}"}) as r:
                text = await r.text()
                if r.status != 201:
                    raise SystemExit(f"pre-fill for {acc['enterprise']}: {r.status} {text[:300]}")
                workload.apps.append((json.loads(text)["number"], e))

    t0 = time.monotonic()
    await asyncio.gather(*(one(e, acc) for e, acc in enumerate(accounts)))
    return time.monotonic() - t0


async def run_rate(session, url, workload, rate, warmup, duration, server_pid, timeout):
    import aiohttp
    loop = asyncio.get_running_loop()
    total_n = int(round(rate * (warmup + duration)))
    warm_n = int(round(rate * warmup))
    records = []      # (kind, scheduled, started, done, status) for measured requests
    errors = {}       # "kind status" -> [count, first body]
    tasks = set()
    to = aiohttp.ClientTimeout(total=timeout)

    async def fire(i, kind, e, req, sched):
        method, path, body = req
        started = loop.time()
        status = None
        text = ""
        try:
            async with session.request(method, url + path, json=body, timeout=to,
                                       headers={"Authorization":
                                                f"Bearer {workload.accounts[e]['token']}"}) as r:
                raw = await r.read()
                status = r.status
                if kind == "submit" and status == 201:
                    workload.apps.append((json.loads(raw)["number"], e))
                elif status != EXPECTED[kind]:
                    text = raw[:300].decode("utf-8", "replace")
        except asyncio.TimeoutError:
            status, text = "timeout", ""
        except Exception as ex:  # connection refused/reset, etc.
            status, text = type(ex).__name__, str(ex)[:300]
        done = loop.time()
        if i >= warm_n:
            records.append((kind, sched, started, done, status))
            if status != EXPECTED[kind]:
                key = f"{kind} {status}"
                errors.setdefault(key, [0, text])[0] += 1

    t0 = loop.time() + 0.05
    t_measure = t0 + warm_n / rate
    cpu0 = None
    i = 0
    while i < total_n:
        now = loop.time()
        if cpu0 is None and now >= t_measure:
            cpu0 = (cpu_snapshot(server_pid), time.process_time(), now)
        # send every request whose time has come (a burst if the generator fell behind)
        while i < total_n and t0 + i / rate <= now:
            kind, e, req = workload.next()
            t = asyncio.ensure_future(fire(i, kind, e, req, t0 + i / rate))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
            i += 1
        if i < total_n:
            await asyncio.sleep(max(0.0, t0 + i / rate - loop.time()))
    if tasks:
        await asyncio.wait(set(tasks), timeout=timeout + 5)
    end = loop.time()
    if cpu0 is None:
        cpu0 = (cpu_snapshot(server_pid), time.process_time(), t_measure)
    (b0, tot0, s0, pg0), gen0, w0 = cpu0
    b1, tot1, s1, pg1 = cpu_snapshot(server_pid)
    hz = os.sysconf("SC_CLK_TCK")
    wall = end - w0
    cpu = {
        "machine_busy_pct": round(100.0 * (b1 - b0) / max(1, tot1 - tot0), 1),  # of all cores
        "server_cpu_pct": round(100.0 * (s1 - s0) / hz / wall, 1),              # of one core
        "postgres_cpu_pct": round(100.0 * (pg1 - pg0) / hz / wall, 1),
        "generator_cpu_pct": round(100.0 * (time.process_time() - gen0) / wall, 1),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }

    def summarize(recs):
        ok = [r for r in recs if r[4] == EXPECTED[r[0]]]
        lat = sorted((r[3] - r[1]) * 1000.0 for r in recs)          # from the scheduled time
        lag = sorted((r[2] - r[1]) * 1000.0 for r in recs)          # generator lateness
        span = max(duration, max((r[3] for r in recs), default=t_measure) - t_measure)
        return {
            "count": len(recs),
            "errors": len(recs) - len(ok),
            "achieved_rps": round(len(ok) / span, 1),
            "p50_ms": round(percentile(lat, 50), 2),
            "p99_ms": round(percentile(lat, 99), 2),
            "max_ms": round(lat[-1], 2) if lat else float("nan"),
            "send_lag_p99_ms": round(percentile(lag, 99), 2),
        }

    by_kind = {k: summarize([r for r in records if r[0] == k]) for k in KINDS}
    by_kind["all"] = summarize(records)
    # per second of the measured window (by scheduled time): where the slow requests are
    seconds = {}
    for r in records:
        seconds.setdefault(int(r[1] - t_measure), []).append(
            ((r[3] - r[1]) * 1000.0, (r[2] - r[1]) * 1000.0))
    timeline = []
    for sec in sorted(seconds):
        lat = sorted(x[0] for x in seconds[sec])
        lag = sorted(x[1] for x in seconds[sec])
        timeline.append({"second": sec, "count": len(lat), "p50_ms": round(percentile(lat, 50), 2),
                         "p99_ms": round(percentile(lat, 99), 2), "max_ms": round(lat[-1], 2),
                         "send_lag_max_ms": round(lag[-1], 2)})
    return {"rate": rate, "warmup_s": warmup, "duration_s": duration, "by_kind": by_kind,
            "errors": {k: {"count": v[0], "example": v[1]} for k, v in errors.items()},
            "cpu": cpu, "timeline": timeline}


async def bench(a):
    import aiohttp
    with open(a.accounts) as f:
        accounts = json.load(f)["accounts"]
    mix = [float(x) for x in a.mix.split(",")]
    workload = Workload(accounts, mix, a.seed)
    conn = aiohttp.TCPConnector(limit=a.connections, limit_per_host=a.connections,
                                force_close=False, enable_cleanup_closed=True)
    out = {"label": a.label, "url": a.url, "mix": dict(zip(KINDS, mix)),
           "enterprises": len(accounts), "connections": a.connections, "runs": []}
    async with aiohttp.ClientSession(connector=conn) as session:
        secs = await prefill(session, a.url, accounts, workload)
        print(f"[{a.label}] pre-filled {len(accounts)} applications in {secs:.1f} s",
              file=sys.stderr)
        for rate in parse_rates(a.rates):
            print(f"[{a.label}] {rate:g} req/s: {a.warmup:g} s warm-up + {a.duration:g} s",
                  file=sys.stderr)
            res = await run_rate(session, a.url, workload, rate, a.warmup, a.duration,
                                 a.server_pid, a.timeout)
            al = res["by_kind"]["all"]
            print(f"[{a.label}] {rate:g} req/s: {al['count']} requests, {al['errors']} errors, "
                  f"{al['achieved_rps']} req/s, p50 {al['p50_ms']} ms, p99 {al['p99_ms']} ms, "
                  f"max {al['max_ms']} ms; cpu {res['cpu']}", file=sys.stderr)
            worst = sorted(res["timeline"], key=lambda t: -t["max_ms"])[:3]
            print(f"[{a.label}]   slowest seconds: " + ", ".join(
                f"s{t['second']}: p99 {t['p99_ms']} max {t['max_ms']} ms (send lag max "
                f"{t['send_lag_max_ms']} ms)" for t in worst),
                file=sys.stderr)
            for k, v in res["errors"].items():
                print(f"[{a.label}]   error {k}: {v['count']}x {v['example']}", file=sys.stderr)
            out["runs"].append(res)
    out["applications_at_end"] = len(workload.apps)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)


def cmd_bench(a):
    asyncio.run(bench(a))


# ---------------------------------------------------------------------------------------------
# table

def fmt(x):
    if isinstance(x, float) and math.isnan(x):
        return "–"
    return f"{x:,.1f}".replace(",", " ") if isinstance(x, float) else f"{x:,}".replace(",", " ")


def cmd_table(a):
    results = []
    for p in a.results:
        with open(p) as f:
            results.append(json.load(f))
    print("| backend | offered req/s | request | count | errors | achieved req/s "
          "| p50 ms | p99 ms | max ms |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for res in results:
        for run in res["runs"]:
            for k in ("all", *KINDS):
                s = run["by_kind"][k]
                name = "**all**" if k == "all" else k
                print(f"| {res['label']} | {run['rate']:g} | {name} | {fmt(s['count'])} "
                      f"| {fmt(s['errors'])} | {fmt(s['achieved_rps'])} | {fmt(s['p50_ms'])} "
                      f"| {fmt(s['p99_ms'])} | {fmt(s['max_ms'])} |")
    print()
    print("| backend | offered req/s | machine busy % (2 cores) | server CPU % of a core "
          "| postgres CPU % | generator CPU % | generator send lag p99 ms | load avg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for res in results:
        for run in res["runs"]:
            c = run["cpu"]
            pg = fmt(c["postgres_cpu_pct"]) if res["label"].startswith("postgres") else "–"
            print(f"| {res['label']} | {run['rate']:g} | {fmt(c['machine_busy_pct'])} "
                  f"| {fmt(c['server_cpu_pct'])} | {pg} | {fmt(c['generator_cpu_pct'])} "
                  f"| {fmt(run['by_kind']['all']['send_lag_p99_ms'])} | {c['loadavg_1m']} |")
    print()
    goal_rate, goal_p99 = a.goal_rate, a.goal_p99
    print(f"| goal (issue 3): p99 < {goal_p99:g} ms at {goal_rate:g} req/s, no errors "
          "| p99 ms | errors | met? |")
    print("| --- | ---: | ---: | --- |")
    bad = False
    for res in results:
        for run in res["runs"]:
            if run["rate"] != goal_rate:
                continue
            s = run["by_kind"]["all"]
            met = s["p99_ms"] < goal_p99 and s["errors"] == 0
            bad |= s["errors"] > 0
            print(f"| {res['label']} | {fmt(s['p99_ms'])} | {s['errors']} "
                  f"| {'yes' if met else '**no**'} |")
    for res in results:
        for run in res["runs"]:
            for k, v in run["errors"].items():
                print(f"\n{res['label']} at {run['rate']:g} req/s: {v['count']} × {k}"
                      + (f": `{v['example'][:200]}`" if v["example"] else ""))
    sys.exit(2 if bad and a.strict else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    s = sub.add_parser("seed")
    s.add_argument("--waiver", required=True)
    s.add_argument("--database", required=True)
    s.add_argument("--out", required=True)
    s.add_argument("--enterprises", type=int, default=0)
    s.add_argument("--rates", default="200,400")
    s.add_argument("--duration", type=float, default=30)
    s.add_argument("--warmup", type=float, default=5)
    s.add_argument("--submit-pct", type=float, default=20)
    s.add_argument("--jobs", type=int, default=1)
    s.set_defaults(func=cmd_seed)

    b = sub.add_parser("bench")
    b.add_argument("--url", required=True)
    b.add_argument("--accounts", required=True)
    b.add_argument("--label", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--rates", default="200,400")
    b.add_argument("--duration", type=float, default=30)
    b.add_argument("--warmup", type=float, default=5)
    b.add_argument("--mix", default="20,40,40", help="submit,list,read weights")
    b.add_argument("--seed", type=int, default=42)
    b.add_argument("--connections", type=int, default=256)
    b.add_argument("--timeout", type=float, default=10)
    b.add_argument("--server-pid", type=int, default=0)
    b.set_defaults(func=cmd_bench)

    t = sub.add_parser("table")
    t.add_argument("results", nargs="+")
    t.add_argument("--goal-rate", type=float, default=200)
    t.add_argument("--goal-p99", type=float, default=50)
    t.add_argument("--strict", action="store_true", help="exit 2 if the goal run had errors")
    t.set_defaults(func=cmd_table)

    a = ap.parse_args()
    a.func(a)


if __name__ == "__main__":
    main()
