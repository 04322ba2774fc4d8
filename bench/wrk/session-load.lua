-- wrk script for edge-affinity's benchmark: every request carries one of the cookies given in the
-- COOKIES environment variable (separated by "|"), pre-formatted once; none when it is empty (every
-- request then opens a new session). done() prints one JSON line that bench/wrk.ts reads.
local requests = {}

function init(args)
  local cookies = os.getenv("COOKIES") or ""
  for cookie in string.gmatch(cookies, "[^|]+") do
    requests[#requests + 1] = wrk.format(nil, nil, { ["Cookie"] = cookie })
  end
  if #requests == 0 then requests[1] = wrk.format() end
end

local next_request = 0

function request()
  next_request = next_request % #requests + 1
  return requests[next_request]
end

function done(summary, latency, requests_)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"durationUs":%d,"errors":%d,"p50Us":%d,"p99Us":%d,"meanUs":%f}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
