-- wrk script for bench/a2a.sh: POST a JSON-RPC SendMessage (A2A 1.0) with a ~1 KiB text to the
-- gateway's /a2a/{agent} or straight to the SDK runtime's JSON-RPC path (same bytes but for the
-- credential: the gateway gets the caller's bearer token, the runtime the identity token the
-- gateway signed for it, which it verifies either way).
-- Environment: BENCH_BEARER (token, optional), BENCH_IDENTITY (X-Portcullis-Identity, optional),
-- BENCH_ID_BASE (first message number; each run needs its own range: message ids never repeat).
-- response() counts answers that are not a completed task (a JSON-RPC error in a 200, another
-- state); done() prints "Not a result: N", which bench/a2a.sh reads (wrk counts only statuses).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["A2A-Version"] = "1.0"
local token = os.getenv("BENCH_BEARER")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local identity = os.getenv("BENCH_IDENTITY")
if identity and identity ~= "" then wrk.headers["X-Portcullis-Identity"] = identity end

-- Plain prose (no personal data): the gateway's scans find nothing in it.
local sentence = "The quick brown fox jumps over the lazy dog while the gateway relays every word. "
local text = string.rep(sentence, math.ceil(1024 / #sentence)):sub(1, 1024)
local id = tonumber(os.getenv("BENCH_ID_BASE") or "1") or 1
local head = '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":{"message":{"messageId":"bench-'
local tail = '","role":"ROLE_USER","parts":[{"text":"echo ' .. text .. '"}]}}}'

request = function()
  id = id + 1
  return wrk.format(nil, nil, nil, head .. id .. tail)
end

bad = 0
response = function(status, headers, body)
  if status == 200 and (not body:find('"result":', 1, true) or not body:find('TASK_STATE_COMPLETED', 1, true)) then
    bad = bad + 1
  end
end

local threads = {}
setup = function(thread)
  table.insert(threads, thread)
end

done = function(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + (t:get("bad") or 0) end
  io.write(string.format("Not a result: %d\n", n))
end
