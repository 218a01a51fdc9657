-- wrk script for the GET scenarios that need a token: every request carries
-- "Authorization: Bearer $BENCH_BEARER" (bench/run.sh sets the variable; the token stays out of
-- the command line and the raw wrk output).
local token = os.getenv("BENCH_BEARER")
if not token or token == "" then error("bench/bearer.lua: BENCH_BEARER is not set") end
wrk.headers["Authorization"] = "Bearer " .. token
