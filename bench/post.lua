-- wrk script for the invoke scenarios: POST a small JSON body on every request.
-- Used for the gateway (/v1/agents/echo/invoke), nginx (same path) and the agent
-- itself (/invocations); the path comes from the URL given to wrk.
-- With BENCH_BEARER set (bench/run.sh sets it to a token of the gateway under test), every
-- request carries "Authorization: Bearer <token>", to every peer, so the bytes are the same.
wrk.method = "POST"
wrk.body = '{"input":"hello"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_BEARER")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end
