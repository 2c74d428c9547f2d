#!/usr/bin/env bash
# Page weight and first render of the web interface (issue 6: no page over 200 KB, first render
# under 100 ms locally). Starts `waiver serve --demo` on a fresh SQLite file and measures every
# page per role in headless Chromium with tests/browser/perf.mjs (median of RUNS loads).
#
# Usage: bench/ui.sh            (WAIVER=path/to/waiver, RUNS=7; needs /usr/bin/chromium and
#                                `npm ci --prefix tests/browser`)
set -euo pipefail
cd "$(dirname "$0")/.."
WAIVER=${WAIVER:-target/release/waiver}
[ -x "$WAIVER" ] || WAIVER=target/debug/waiver
RUNS=${RUNS:-7}
dir=$(mktemp -d)
log="$dir/serve.log"
"$WAIVER" serve --demo --database "$dir/ui.db" --listen 127.0.0.1:0 >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 1 100); do
  grep -q "Waiver is running at http://" "$log" && break
  sleep 0.1
done
url=$(grep -o "http://[0-9.:]*" "$log" | head -1)
echo "binary: $WAIVER; server: $url; runs per page: $RUNS"
echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo '?'); $(nproc) CPUs; $(/usr/bin/chromium --version 2>/dev/null || echo 'chromium ?'); node $(node --version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
node tests/browser/perf.mjs "$url" "$RUNS"
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
