-- SPDX-License-Identifier: Apache-2.0
-- wrk script for bench/gateway (LOADGEN=wrk): POST the body in BODY_FILE with the extra
-- headers in GW_HEADERS ("Name: value|Name: value") and print one "WRKJSON {...}" line.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
local body = f:read("*a")
f:close()

wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
for h in string.gmatch(os.getenv("GW_HEADERS") or "", "[^|]+") do
  local k, v = string.match(h, "^%s*([^:]+):%s*(.*)$")
  if k then wrk.headers[k] = v end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"durationSec":%.6f,"p50Ms":%.3f,"p99Ms":%.3f,"errors":%d}\n',
    summary.requests - e.status, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
