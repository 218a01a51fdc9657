// bench/a2a.sh, part 2: one A2A SendStreamingMessage ("stream N [gap]") to the SDK runtime, through
// the gateway or straight to it, read as SSE as it arrives. The runtime stamps every artifact
// update with when it was produced (metadata.producedAt, wall-clock ms with sub-ms precision); the
// client notes when each arrives. Both are on this machine, so arrival − production is the time an
// event spends between the runtime's write and the client's read (through the gateway: the relay).
//
// usage: node a2a-stream.mjs URL EVENTS GAP_MS RUNS
// env:   BENCH_BEARER (Authorization: Bearer …), BENCH_IDENTITY (X-Portcullis-Identity)
// prints one JSON object: per run {events, total_ms, p50_ms, p99_ms, max_ms, mean_ms}, and the
// run with the median total. Exits 1 when a run does not end with every event and a completed task.
const [url, eventsArg, gapArg, runsArg] = process.argv.slice(2);
const EVENTS = Number(eventsArg ?? 1000);
const GAP = Number(gapArg ?? 0);
const RUNS = Number(runsArg ?? 5);
if (!url || !(EVENTS > 0) || !(GAP >= 0) || !(RUNS > 0)) {
  console.error('usage: node a2a-stream.mjs URL EVENTS GAP_MS RUNS');
  process.exit(2);
}
const headers = { 'content-type': 'application/json', accept: 'text/event-stream', 'A2A-Version': '1.0' };
if (process.env.BENCH_BEARER) headers.authorization = `Bearer ${process.env.BENCH_BEARER}`;
if (process.env.BENCH_IDENTITY) headers['x-portcullis-identity'] = process.env.BENCH_IDENTITY;
const clock = () => performance.timeOrigin + performance.now();
const pct = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function run(n) {
  const body = JSON.stringify({
    jsonrpc: '2.0', id: n, method: 'SendStreamingMessage',
    params: { message: { messageId: `bench-stream-${process.pid}-${n}`, role: 'ROLE_USER', parts: [{ text: `stream ${EVENTS} ${GAP}` }] } },
  });
  const t0 = clock();
  const res = await fetch(url, { method: 'POST', headers, body });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
  const lat = [];
  let buf = '';
  let final = null;
  let errors = 0;
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    const now = clock();
    buf += decoder.decode(chunk, { stream: true });
    let at;
    while ((at = buf.search(/\r?\n\r?\n/)) >= 0) {
      const block = buf.slice(0, at);
      buf = buf.slice(at + (buf[at] === '\r' ? 4 : 2));
      const data = block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      const msg = JSON.parse(data);
      if (msg.error) { errors++; continue; }
      const r = msg.result ?? {};
      if (r.artifactUpdate) {
        const produced = r.artifactUpdate.metadata?.producedAt;
        if (typeof produced === 'number') lat.push(now - produced);
      } else if (r.statusUpdate && /COMPLETED|FAILED|CANCELED/.test(String(r.statusUpdate.status?.state))) {
        final = r.statusUpdate.status.state;
      }
    }
  }
  const total = clock() - t0;
  if (errors || final !== 'TASK_STATE_COMPLETED' || lat.length !== EVENTS) {
    throw new Error(`run ${n}: ${lat.length} of ${EVENTS} events, final ${final}, ${errors} error events`);
  }
  lat.sort((a, b) => a - b);
  const r3 = (x) => Math.round(x * 1000) / 1000;
  return {
    events: lat.length, total_ms: r3(total), p50_ms: r3(pct(lat, 50)), p99_ms: r3(pct(lat, 99)),
    max_ms: r3(lat.at(-1)), mean_ms: r3(lat.reduce((a, b) => a + b, 0) / lat.length),
  };
}

try {
  await run(0); // warm-up (JIT, connections), not counted
  const runs = [];
  for (let i = 1; i <= RUNS; i++) runs.push(await run(i));
  const byTotal = [...runs].sort((a, b) => a.total_ms - b.total_ms);
  console.log(JSON.stringify({ url, events: EVENTS, gap_ms: GAP, runs, median: byTotal[Math.floor(byTotal.length / 2)] }));
} catch (e) {
  console.error(`a2a-stream: ${e.message}`);
  process.exit(1);
}
