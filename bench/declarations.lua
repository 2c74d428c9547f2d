-- wrk script for bench/declarations.sh: every request is a new customs declaration (a unique
-- number) of one line drawing QTY of LINE from one allowance, chosen round-robin from the file
-- ALLOWANCES (one number per line) so that concurrent clients hit all of them evenly.
-- Env: TOKEN (customs bearer token), ALLOWANCES (file), HOLDER, LINE, QTY (tonnes), VALUE (USD),
--      RUN (number prefix),
--      DECLARED_AT (inside the allowances' validity).
local allowances = {}
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  thread_id = tonumber(tid) or 0
  for line in io.lines(os.getenv("ALLOWANCES")) do
    if #line > 0 then table.insert(allowances, line) end
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

local holder = os.getenv("HOLDER") or "3700HS0001"
local code = os.getenv("LINE") or "12019010"
local qty = os.getenv("QTY") or "0.01"
local value = os.getenv("VALUE") or "4"
local run = os.getenv("RUN") or "B"
local declared_at = os.getenv("DECLARED_AT") or "2025-06-02T10:00"

function request()
  counter = counter + 1
  local n = counter * 64 + thread_id
  local allowance = allowances[(n % #allowances) + 1]
  local number = string.format("%s%02d%012d", run, thread_id, counter)
  local body = string.format(
    '{"number":"%s","importer":"%s","declared_at":"%s","lines":[{"line":1,"code":"%s","origin":"US","quantity":"%s","unit":"t","customs_value":"%s","currency":"USD","allowance":"%s"}]}',
    number, holder, declared_at, code, qty, value, allowance)
  return wrk.format(nil, "/api/v1/declarations", nil, body)
end

function done(summary, latency, requests)
  local p = function(q) return latency:percentile(q) / 1000.0 end
  io.write(string.format(
    'WRK_JSON {"requests":%d,"seconds":%.3f,"rps":%.1f,"p50_ms":%.2f,"p90_ms":%.2f,"p99_ms":%.2f,"max_ms":%.2f,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    p(50), p(90), p(99), latency.max / 1000.0,
    summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout))
end
