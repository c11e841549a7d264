-- wrk script for Allot benchmarks: 1-unit holds (POST) or GETs, with per-status counts.
-- Environment: ALLOT_KEY, ALLOT_MODE (hold|get), ALLOT_PATH (get), ALLOT_SKU_PREFIX,
-- ALLOT_SKU_COUNT (holds spread over PREFIX1..PREFIXn; 0 = the single SKU PREFIX),
-- ALLOT_DELAY_MS (mean pause per connection between requests, for a steady rate).
local key = os.getenv("ALLOT_KEY")
local mode = os.getenv("ALLOT_MODE") or "hold"
local path = os.getenv("ALLOT_PATH") or "/v1/holds"
local prefix = os.getenv("ALLOT_SKU_PREFIX") or "HOT"
local count = tonumber(os.getenv("ALLOT_SKU_COUNT") or "0")
local pause = tonumber(os.getenv("ALLOT_DELAY_MS") or "0")
local headers = {["Authorization"] = "Bearer " .. key, ["Content-Type"] = "application/json"}
local threads = {}
accepted, refused, failed = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16) % 100000)
end

function request()
  if mode == "get" then
    return wrk.format("GET", path, headers)
  end
  local sku = prefix
  if count > 0 then sku = prefix .. math.random(count) end
  local body = '{"sku":"' .. sku .. '","qty":1,"channel":"web","ttl_seconds":3600}'
  return wrk.format("POST", "/v1/holds", headers, body)
end

-- A random pause around the mean, not a fixed one: fixed pauses keep connections that started
-- together firing together, a pulse every `pause` ms instead of a steady rate.
if pause > 0 then
  function delay() return math.random(0, 2 * pause) end
end

function response(status, hdrs, body)
  if status == 200 or status == 201 then accepted = accepted + 1
  elseif status == 409 then refused = refused + 1
  else failed = failed + 1 end
end

function done(summary, latency, requests)
  local a, r, f = 0, 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("accepted"); r = r + t:get("refused"); f = f + t:get("failed")
  end
  local e = summary.errors
  io.write(string.format(
    'JSON {"requests":%d,"duration_us":%d,"accepted":%d,"refused":%d,"failed":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n', summary.requests, summary.duration, a, r, f,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99)))
end
