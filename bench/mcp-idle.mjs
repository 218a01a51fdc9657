// bench/mcp.sh's idle-session client: opens `count` MCP sessions through the gateway, then each
// session's server→client stream (GET /mcp), holds them all open and reports the gateway's memory.
//   node bench/mcp-idle.mjs URL COUNT HOLD_SECONDS GATEWAY_PID CONCURRENCY
// The bearer token comes from BENCH_BEARER. A session is `initialize` (its Mcp-Session-Id taken
// from the answer) then `notifications/initialized` (202), CONCURRENCY sessions at a time over
// keep-alive connections: each is a row written to the gateway's store, so this is also the
// session creation rate. A stream counts as established when its 200 text/event-stream head and
// its priming event arrived. Prints one JSON object on stdout; exits 1 when anything failed.
import http from "node:http";
import fs from "node:fs";

const [url, countArg, holdArg, pidArg, concArg] = process.argv.slice(2);
const count = Number(countArg);
const holdSeconds = Number(holdArg);
const concurrency = Number(concArg || 32);
const token = process.env.BENCH_BEARER || "";
const target = new URL(url);
const PROTO = "2025-11-25";
const initBody = JSON.stringify({
  jsonrpc: "2.0", id: 0, method: "initialize",
  params: { protocolVersion: PROTO, capabilities: {}, clientInfo: { name: "bench-idle", version: "1" } },
});
const initializedBody = JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" });
const postAgent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const streamAgent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

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

let failed = 0;
const failures = new Map(); // reason -> count
function fail(reason) {
  failed++;
  failures.set(reason, (failures.get(reason) || 0) + 1);
}

function post(body, sid) {
  return new Promise((resolve, reject) => {
    const headers = {
      "Content-Type": "application/json",
      Accept: "application/json, text/event-stream",
      Authorization: `Bearer ${token}`,
      "Content-Length": Buffer.byteLength(body),
    };
    if (sid) {
      headers["Mcp-Session-Id"] = sid;
      headers["MCP-Protocol-Version"] = PROTO;
    }
    const req = http.request(
      { host: target.hostname, port: target.port, path: target.pathname, method: "POST", agent: postAgent, headers },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on("error", reject);
      },
    );
    req.setTimeout(30000, () => req.destroy(new Error("timeout")));
    req.on("error", reject);
    req.end(body);
  });
}

async function openSession() {
  try {
    const init = await post(initBody);
    const sid = init.headers["mcp-session-id"];
    if (init.status !== 200 || !sid || !init.body.includes('"result"')) {
      fail(`initialize: status ${init.status} ${init.body.slice(0, 120)}`);
      return null;
    }
    const done = await post(initializedBody, sid);
    if (done.status !== 202) {
      fail(`notifications/initialized: status ${done.status} ${done.body.slice(0, 120)}`);
      return null;
    }
    return sid;
  } catch (e) {
    fail(`session: ${e.code || e.message}`);
    return null;
  }
}

let established = 0;
let endedEarly = 0;
let closing = false;
const streams = [];
function openStream(sid) {
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
        host: target.hostname, port: target.port, path: target.pathname, method: "GET", agent: streamAgent,
        headers: {
          Accept: "text/event-stream",
          Authorization: `Bearer ${token}`,
          "Mcp-Session-Id": sid,
          "MCP-Protocol-Version": PROTO,
        },
      },
      (res) => {
        if (res.statusCode !== 200 || !String(res.headers["content-type"] || "").startsWith("text/event-stream")) {
          fail(`GET stream: status ${res.statusCode} ${res.headers["content-type"] || ""}`);
          res.resume();
          settle();
          return;
        }
        let seen = false;
        res.on("data", () => {
          if (!seen) {
            seen = true; // the priming event (an id, empty data)
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
      if (!closing) fail(`GET stream: ${e.code || e.message}`);
      settle();
    });
    req.setTimeout(60000, () => {
      if (!closing && !req.res) fail("GET stream: timeout before the priming event");
      if (!req.res) req.destroy();
    });
    req.end();
    streams.push(req);
  });
}

const before = rssMb(pidArg);
const t0 = Date.now();
const sids = [];
let next = 0;
async function worker() {
  while (next < count) {
    next++;
    const sid = await openSession();
    if (sid) sids.push(sid);
  }
}
await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
const initSeconds = (Date.now() - t0) / 1000;
postAgent.destroy();

const t1 = Date.now();
const pending = [];
// In waves, so that the listen backlog (SOMAXCONN) never overflows into SYN retries.
const wave = 500;
for (let i = 0; i < sids.length; i += wave) {
  for (const sid of sids.slice(i, i + wave)) pending.push(openStream(sid));
  await new Promise((r) => setTimeout(r, 100));
}
await Promise.all(pending);
const streamsSeconds = (Date.now() - t1) / 1000;
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
for (const r of streams) r.destroy();
console.log(JSON.stringify({
  requested: count,
  concurrency,
  sessions: sids.length,
  streams: established,
  held_to_the_end: held,
  failed,
  ended_early: endedEarly,
  failures: Object.fromEntries(failures),
  init_seconds: initSeconds,
  sessions_per_second: sids.length / Math.max(initSeconds, 0.001),
  streams_seconds: streamsSeconds,
  hold_seconds: holdSeconds,
  gateway_rss_mb_before: before.rss,
  gateway_rss_mb_max: peak.rss,
  gateway_rss_mb_hwm: rssMb(pidArg).hwm,
  rss_samples_mb: samples,
}));
setTimeout(() => process.exit(failed > 0 || held < count ? 1 : 0), 200);
