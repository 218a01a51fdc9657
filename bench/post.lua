-- wrk script for the invoke scenarios: POST a small JSON body on every request.
-- Used for the gateway (/v1/agents/echo/invoke), nginx (same path) and the agent
-- itself (/invocations); the path comes from the URL given to wrk.
wrk.method = "POST"
wrk.body = '{"input":"hello"}'
wrk.headers["Content-Type"] = "application/json"
