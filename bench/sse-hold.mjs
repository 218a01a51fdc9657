// bench/sse.sh's client: opens `count` streaming invokes through the gateway at once and holds
// them open, then reports how many were established and the gateway's memory.
//   node bench/sse-hold.mjs URL COUNT HOLD_SECONDS GATEWAY_PID
// The bearer token comes from BENCH_BEARER. Each request asks the example agent for a slow
// stream (one event a second, far more events than the run lasts), so every stream stays open
// until this script closes it. A stream counts as established when its 200 head and first event
// arrived through the gateway. Prints one JSON object on stdout; exits 1 when any request failed.
import http from "node:http";
import fs from "node:fs";

const [url, countArg, holdArg, pidArg] = process.argv.slice(2);
const count = Number(countArg);
const holdSeconds = Number(holdArg);
const token = process.env.BENCH_BEARER || "";
const target = new URL(url);
const body = JSON.stringify({
  input: { text: "hold", stream_events: 100000, stream_interval_ms: 1000 },
  mode: "stream",
});
const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

function rssMb(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const rss = /^VmRSS:\s+(\d+)/m.exec(s);
    const hwm = /^VmHWM:\s+(\d+)/m.exec(s);
    return { rss: rss ? Number(rss[1]) / 1024 : null, hwm: hwm ? Number(hwm[1]) / 1024 : null };
  } catch {
    return { rss: null, hwm: null };
  }
}

let established = 0;
let failed = 0;
let endedEarly = 0;
const failures = new Map();  // reason -> count
const requests = [];
let closing = false;

function fail(reason) {
  failed++;
  failures.set(reason, (failures.get(reason) || 0) + 1);
}

function open() {
  return new Promise((resolve) => {
    let settled = false;
    const settle = () => {
      if (!settled) {
        settled = true;
        resolve();
      }
    };
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent,
        headers: {
          "Content-Type": "application/json",
          Accept: "text/event-stream",
          Authorization: `Bearer ${token}`,
          "Content-Length": Buffer.byteLength(body),
        },
      },
      (res) => {
        if (res.statusCode !== 200 || !String(res.headers["content-type"] || "").startsWith("text/event-stream")) {
          fail(`status ${res.statusCode} ${res.headers["content-type"] || ""}`);
          res.resume();
          settle();
          return;
        }
        let seen = false;
        res.on("data", (chunk) => {
          if (!seen && chunk.toString().includes("event:")) {
            seen = true;
            established++;
            settle();
          }
        });
        res.on("end", () => {
          if (!closing) endedEarly++;
          settle();
        });
        res.on("error", () => settle());
      },
    );
    req.on("error", (e) => {
      if (!closing) fail(e.code || e.message);
      settle();
    });
    req.setTimeout(60000, () => {
      if (!closing) fail("timeout before the first event");
      req.destroy();
    });
    req.end(body);
    requests.push(req);
  });
}

const started = Date.now();
const before = rssMb(pidArg);
const pending = [];
// In waves, so that the listen backlog (SOMAXCONN) never overflows into SYN retries.
const wave = 500;
for (let i = 0; i < count; i += wave) {
  for (let j = i; j < Math.min(count, i + wave); j++) pending.push(open());
  await new Promise((r) => setTimeout(r, 100));
}
await Promise.all(pending);
const rampSeconds = (Date.now() - started) / 1000;
let peak = rssMb(pidArg);
const samples = [];
for (let s = 0; s < holdSeconds; s++) {
  await new Promise((r) => setTimeout(r, 1000));
  const m = rssMb(pidArg);
  samples.push(m.rss);
  if (m.rss !== null && (peak.rss === null || m.rss > peak.rss)) peak = m;
}
const held = established - endedEarly;
closing = true;
for (const r of requests) r.destroy();
const result = {
  requested: count,
  established,
  held_to_the_end: held,
  failed,
  ended_early: endedEarly,
  failures: Object.fromEntries(failures),
  ramp_seconds: rampSeconds,
  hold_seconds: holdSeconds,
  gateway_rss_mb_before: before.rss,
  gateway_rss_mb_max: peak.rss,
  gateway_rss_mb_hwm: rssMb(pidArg).hwm,
  rss_samples_mb: samples,
};
console.log(JSON.stringify(result));
setTimeout(() => process.exit(failed > 0 || held < count ? 1 : 0), 200);
