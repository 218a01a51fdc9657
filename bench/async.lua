-- wrk script for bench/jobs.sh: POST invoke with mode "async" (a durable job per request).
-- The bearer token comes from BENCH_BEARER, as in post.lua.
wrk.method = "POST"
wrk.body = '{"input":"hello","mode":"async"}'
wrk.headers["Content-Type"] = "application/json"
local token = os.getenv("BENCH_BEARER")
if token and token ~= "" then wrk.headers["Authorization"] = "Bearer " .. token end

-- Anything but 202 is an error here: wrk counts only >= 400 as non-2xx, and a 200 would mean
-- the call ran synchronously instead of being accepted as a job.
local wrong = 0
function response(status, headers, body)
  if status ~= 202 then wrong = wrong + 1 end
end
function done(summary, latency, requests)
  io.write(string.format("Not 202: %d\n", wrong))
end
