-- wrk script for bench/mcp.sh: POST /mcp tools/call of the `echo` tool with a ~4 KiB text, in an
-- MCP session opened beforehand, to the gateway or straight to the upstream (same bytes but for
-- the bearer token and the session id).
-- Environment: BENCH_BEARER (token, optional), BENCH_MCP_SESSION (Mcp-Session-Id),
-- BENCH_MCP_ID_BASE (first JSON-RPC id; each run of a session needs its own range).
-- Every request gets a new JSON-RPC id: the gateway answers a repeated id in a session from its
-- idempotency cache without calling the upstream, which would measure the cache, not the call.
-- response() counts answers that are not a tool result (a JSON-RPC error in a 200, an isError
-- result); done() prints "Not a result: N", which bench/mcp.sh reads (wrk counts only statuses).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2025-11-25"
local token = os.getenv("BENCH_BEARER")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
local session = os.getenv("BENCH_MCP_SESSION")
if not session or session == "" then error("BENCH_MCP_SESSION is not set") end
wrk.headers["Mcp-Session-Id"] = session

-- Plain prose (no personal data): the redaction scan runs over it and finds nothing.
local sentence = "The quick brown fox jumps over the lazy dog while the gateway relays every word. "
local text = string.rep(sentence, math.ceil(4096 / #sentence)):sub(1, 4096)
local head = '{"jsonrpc":"2.0","id":'
local tail = ',"method":"tools/call","params":{"name":"echo","arguments":{"text":"' .. text .. '"}}}'
local id = tonumber(os.getenv("BENCH_MCP_ID_BASE") or "1") or 1

request = function()
  id = id + 1
  return wrk.format(nil, nil, nil, head .. id .. tail)
end

bad = 0
response = function(status, headers, body)
  if status == 200 and (not body:find('"result":', 1, true) or body:find('"isError":true', 1, true)) then
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
