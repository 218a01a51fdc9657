// Durable async jobs end to end (issue 9): the real binary, a runtime written here (a real HTTP
// server with knobs inside `input`: fail_times per Idempotency-Key, delay_ms, status), and
// `kill -9` of the gateway with jobs accepted and in flight. Checks the 202 shape, polling, the
// same Idempotency-Key on every attempt, retries, timeouts, a 4xx failing at once, exactly one
// result per job after a crash, and the cross-tenant rule (another tenant's job → 404, counted
// as a violation when the id is real).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, postJson, errorOf, waitFor, sleep,
  getMetrics, demoToken, bearer, startAgent, closedPort,
} from './harness.mjs';

const INVOKE = '/v1/agents/echo/invoke';

// The runtime: POST /invocations answers {output:{echo:input, call:n}, usage} unless a knob says
// otherwise; every call is remembered with its Idempotency-Key.
function startRuntime() {
  const calls = [];
  const failures = new Map();  // key -> failures served
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/ping') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end('{"status":"Healthy"}');
    }
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body = {};
      try { body = JSON.parse(text); } catch { /* answered below */ }
      const key = req.headers['idempotency-key'] ?? '';
      const call = { key, jobId: req.headers['x-portcullis-job-id'] ?? '', at: Date.now(), body, authorization: req.headers.authorization };
      calls.push(call);
      const input = body.input ?? {};
      if (input.delay_ms) await sleep(input.delay_ms);
      if (res.destroyed) return;
      const failed = failures.get(key) ?? 0;
      if (input.fail_times && failed < input.fail_times) {
        failures.set(key, failed + 1);
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"error":"try again"}');
      }
      if (input.status) {
        res.writeHead(input.status, { 'content-type': 'application/json' });
        return res.end('{"error":"as asked"}');
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ output: { echo: input, call: calls.filter((c) => c.key === key).length }, usage: { inputTokens: 4, outputTokens: 2 } }));
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `http://127.0.0.1:${port}`,
        calls,
        callsFor: (key) => calls.filter((c) => c.key === key),
        close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }),
      });
    });
  });
}

const JOBS = { workers: 2, timeout_ms: 1000, max_attempts: 3, backoff_initial_ms: 50, backoff_max_ms: 200, lease_ms: 2000, poll_interval_ms: 50 };

function config(dir) {
  return gatewayConfig(dir, {
    limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 },
    extraServer: { jobs: JOBS },
  });
}

async function submit(gw, token, input, headers = {}) {
  const r = await postJson(gw.port, INVOKE, { input, mode: 'async' }, { headers: { ...bearer(token), ...headers } });
  assert.equal(r.status, 202, r.body);
  return r;
}

async function poll(gw, token, jobId, { until = ['succeeded', 'failed'], ms = 15000 } = {}) {
  return waitFor(async () => {
    const r = await request(gw.port, { path: `/v1/jobs/${jobId}`, headers: bearer(token) });
    assert.equal(r.status, 200, r.body);
    return until.includes(r.json.status) ? r.json : null;
  }, ms, { interval: 50, what: `job ${jobId} to reach ${until.join('|')}` });
}

function violations(samples) {
  return samples.filter((s) => s.name === 'portcullis_tenant_access_violations_total').reduce((a, s) => a + s.value, 0);
}

describe('durable async jobs', { timeout: 120000 }, () => {
  let dir;
  let runtime;
  let gw;
  let demo;
  let acme;

  before(async () => {
    dir = makeTempDir('portcullis-jobs-');
    runtime = await startRuntime();
    gw = await startGateway({ dir, config: config(dir), args: ['--demo', '--demo-agent', runtime.url] });
    demo = await demoToken(gw, 'demo');
    acme = await demoToken(gw, 'acme');
  });

  after(async () => {
    if (gw) await gw.stop();
    if (runtime) await runtime.close();
    removeDir(dir);
  });

  it('accepts with 202 {jobId, status, mode, pollUrl} and the job succeeds with the sync answer as its result', async () => {
    const r = await submit(gw, demo, { q: 'hello' });
    assert.match(r.json.jobId, /^job_[0-9a-f]{28}$/);
    assert.equal(r.json.status, 'accepted');
    assert.equal(r.json.mode, 'async');
    assert.equal(r.json.pollUrl, `/v1/jobs/${r.json.jobId}`);
    const job = await poll(gw, demo, r.json.jobId);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.jobId, r.json.jobId);
    assert.equal(job.agentName, 'echo');
    assert.match(job.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.match(job.updatedAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(job.error, undefined);
    const res = job.result;
    assert.match(res.invocationId, /^inv_/);
    assert.equal(res.agentName, 'echo');
    assert.equal(res.mode, 'async');
    assert.equal(res.status, 'succeeded');
    assert.deepEqual(res.output, { echo: { q: 'hello' }, call: 1 });
    assert.equal(res.usage.inputTokens, 4);
    assert.equal(res.usage.outputTokens, 2);
    assert.equal(typeof res.usage.latencyMs, 'number');
    const calls = runtime.callsFor(r.json.jobId);
    assert.equal(calls.length, 1, 'the default Idempotency-Key is the job id');
    assert.equal(calls[0].jobId, r.json.jobId);
    assert.equal(calls[0].authorization, undefined, "the caller's token reached the runtime");
  });

  it('retries transient failures with the same Idempotency-Key, then succeeds', async () => {
    const key = `retry-${Date.now()}`;
    const r = await submit(gw, demo, { fail_times: 2 }, { 'idempotency-key': key });
    const job = await poll(gw, demo, r.json.jobId);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.attempts, 3);
    assert.equal(job.result.output.call, 3);
    const calls = runtime.callsFor(key);
    assert.equal(calls.length, 3);
    for (const c of calls) assert.equal(c.jobId, r.json.jobId);
    assert.ok(calls[2].at - calls[1].at >= 25, 'no backoff between attempts');
  });

  it('a runtime slower than the timeout fails the job after its attempts (upstream_timeout)', async () => {
    const r = await submit(gw, demo, { delay_ms: 2500 });
    const job = await poll(gw, demo, r.json.jobId, { ms: 20000 });
    assert.equal(job.status, 'failed', JSON.stringify(job));
    assert.equal(job.error.code, 'upstream_timeout');
    assert.equal(job.attempts, 3);
    assert.equal(job.result, undefined);
  });

  it('a 4xx from the runtime fails the job at once', async () => {
    const r = await submit(gw, demo, { status: 422 });
    const job = await poll(gw, demo, r.json.jobId);
    assert.equal(job.status, 'failed');
    assert.equal(job.attempts, 1);
    assert.equal(job.error.code, 'agent_error');
    assert.equal(job.error.agentStatus, 422);
    assert.equal(runtime.callsFor(r.json.jobId).length, 1);
  });

  it('a bad Idempotency-Key is refused with 400 and no job', async () => {
    const before = runtime.calls.length;
    const r = await postJson(gw.port, INVOKE, { input: {}, mode: 'async' }, { headers: { ...bearer(demo), 'idempotency-key': 'x'.repeat(256) } });
    assert.equal(r.status, 400, r.body);
    assert.equal(errorOf(r).code, 'invalid_request');
    await sleep(200);
    assert.equal(runtime.calls.length, before);
  });

  it("another tenant's job is 404 like an unknown id, and counted as a violation only when real", async () => {
    const r = await submit(gw, demo, { secret: 'demo-only' });
    await poll(gw, demo, r.json.jobId);
    const m0 = violations((await getMetrics(gw.port)).samples);

    const unknown = await request(gw.port, { path: '/v1/jobs/job_0000000000000000000000000000', headers: bearer(acme) });
    assert.equal(unknown.status, 404);
    assert.equal(errorOf(unknown).code, 'not_found');
    const m1 = violations((await getMetrics(gw.port)).samples);
    assert.equal(m1, m0, 'an unknown id was counted as a violation');

    const foreign = await request(gw.port, { path: `/v1/jobs/${r.json.jobId}`, headers: bearer(acme) });
    assert.equal(foreign.status, 404, foreign.body);
    assert.equal(errorOf(foreign).code, 'not_found');
    assert.equal(errorOf(foreign).message, errorOf(unknown).message, 'the answers differ: a foreign id is recognisable');
    assert.ok(!foreign.body.includes('demo-only'));
    assert.ok(!foreign.body.includes('demo'), 'the answer names the other tenant');
    const m2 = violations((await getMetrics(gw.port)).samples);
    assert.equal(m2, m1 + 1, 'the real foreign id was not counted');

    const own = await request(gw.port, { path: `/v1/jobs/${r.json.jobId}`, headers: bearer(demo) });
    assert.equal(own.status, 200);
  });

  it('polling needs a token; junk ids are 404', async () => {
    const r = await request(gw.port, { path: '/v1/jobs/job_0000000000000000000000000000' });
    assert.equal(r.status, 401);
    const junk = await request(gw.port, { path: `/v1/jobs/${'%27%22'.repeat(10)}`, headers: bearer(demo) });
    assert.equal(junk.status, 404);
  });
});

describe('jobs survive kill -9 of the gateway', { timeout: 120000 }, () => {
  let dir;
  let runtime;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-jobs-kill-');
    runtime = await startRuntime();
  });

  after(async () => {
    if (gw) await gw.stop();
    if (runtime) await runtime.close();
    removeDir(dir);
  });

  it('jobs accepted before the crash run after the restart, once to the client, with their key at the runtime', async () => {
    const cfg = config(dir);
    gw = await startGateway({ dir, config: cfg, args: ['--demo', '--demo-agent', runtime.url] });
    let token = await demoToken(gw, 'demo');
    // Two workers: the first two jobs are in flight (slow runtime) when the gateway dies, the
    // other three were only accepted.
    const ids = [];
    for (let i = 0; i < 5; i++) {
      const r = await submit(gw, token, { n: i, delay_ms: 800 }, { 'idempotency-key': `crash-${i}-${Date.now()}` });
      ids.push({ jobId: r.json.jobId });
    }
    await waitFor(() => ids.some(({ jobId }) => runtime.calls.some((c) => c.jobId === jobId)), 5000, { what: 'an attempt in flight' });
    gw.signal('SIGKILL');
    await gw.waitExit(5000);

    gw = await startGateway({ configPath: gw.configPath, dir, args: ['--demo', '--demo-agent', runtime.url] });
    token = await demoToken(gw, 'demo');
    for (const { jobId } of ids) {
      const job = await poll(gw, token, jobId, { ms: 30000 });
      assert.equal(job.status, 'succeeded', JSON.stringify(job));
      // One result, whatever the number of attempts: the call count it reports is the attempt
      // that won, and polling again gives the same one.
      const again = await request(gw.port, { path: `/v1/jobs/${jobId}`, headers: bearer(token) });
      assert.deepEqual(again.json.result, job.result);
    }
    for (const { jobId } of ids) {
      const calls = runtime.calls.filter((c) => c.jobId === jobId);
      assert.ok(calls.length >= 1, `job ${jobId} never reached the runtime`);
      const keysSeen = new Set(calls.map((c) => c.key));
      assert.equal(keysSeen.size, 1, `job ${jobId} reached the runtime under different keys: ${[...keysSeen]}`);
    }
    const retried = ids.filter(({ jobId }) => runtime.calls.filter((c) => c.jobId === jobId).length >= 2);
    assert.ok(retried.length >= 1, 'no job was in flight at the crash (the test did not test a take-over)');
  });
});

// The runtime process dies (SIGKILL) while an attempt is in flight: a real `portcullis
// example-agent` at a fixed address the gateway knows (`--demo-agent`), verifying the identity
// token of every attempt against the gateway. Restarted, it gets the retry under the same
// Idempotency-Key (its GET /calls?key= counts them) and the job succeeds; kept down, the job
// fails after its attempts with a clear error, within the bound the config sets.
describe('jobs: the runtime killed mid-attempt', { timeout: 120000 }, () => {
  const KILL_JOBS = { workers: 2, timeout_ms: 4000, max_attempts: 4, backoff_initial_ms: 400, backoff_max_ms: 800, lease_ms: 3000, poll_interval_ms: 50 };
  let dir;
  let gw;
  let agent;
  let port;
  let token;

  const startRuntime = () => startAgent({ listen: `127.0.0.1:${port}`, args: ['--gateway', gw.baseUrl] });
  const callsAt = async (a, key) => {
    const r = await request(a.port, { path: `/calls?key=${encodeURIComponent(key)}` });
    assert.equal(r.status, 200, r.body);
    return r.json.count;
  };
  // The gateway pings the runtime (health_check_interval_ms) and refuses invocations — async
  // ones included — of a runtime it last found down: wait until it is seen up.
  const untilAvailable = () => waitFor(async () => {
    const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: bearer(token) });
    const echo = (r.json?.agents ?? []).find((a) => a.name === 'echo');
    return echo && echo.status !== 'unavailable';
  }, 10000, { what: 'the runtime seen up by the gateway' });
  const kill = async (a) => {
    a.proc.kill('SIGKILL');
    const info = await a.waitExit(5000);
    assert.equal(info.signal, 'SIGKILL');
  };

  before(async () => {
    dir = makeTempDir('portcullis-jobs-runtime-kill-');
    port = await closedPort();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 },
        upstream: { health_check_interval_ms: 300 },
        extraServer: { jobs: KILL_JOBS },
      }),
      args: ['--demo', '--demo-agent', `http://127.0.0.1:${port}`],
    });
    agent = await startRuntime();
    token = await demoToken(gw, 'demo');
  });

  after(async () => {
    if (gw) await gw.stop();
    if (agent) await agent.stop().catch(() => {});
    removeDir(dir);
  });

  it('restarted, the runtime gets the retry with the same Idempotency-Key and the job succeeds', async () => {
    const key = `runtime-kill-${Date.now()}`;
    const input = { n: 1, delay_ms: 1500 };
    await untilAvailable();
    const r = await submit(gw, token, input, { 'idempotency-key': key });
    const jobId = r.json.jobId;
    // The first attempt reached the runtime (counted on arrival) and is running there.
    await waitFor(async () => (await callsAt(agent, key)) === 1, 5000, { what: 'the first attempt at the runtime' });
    const running = await request(gw.port, { path: `/v1/jobs/${jobId}`, headers: bearer(token) });
    assert.equal(running.json.status, 'running', running.body);
    assert.equal(running.json.attempts, 1);
    await kill(agent);
    agent = await startRuntime();

    const job = await poll(gw, token, jobId, { ms: 20000 });
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.ok(job.attempts >= 2 && job.attempts <= KILL_JOBS.max_attempts, `attempts ${job.attempts}`);
    assert.equal(job.error, undefined);
    assert.deepEqual(job.result.output.echo, input);
    assert.equal(job.result.output.idempotencyKey, key, 'the retry reached the runtime under another key');
    assert.ok(job.result.output.identity, 'the retry carried no identity the runtime could verify');
    assert.equal(job.result.output.identity.tenantid, 'demo');
    // The restarted runtime saw the key exactly once: the one retry that reached it succeeded.
    assert.equal(await callsAt(agent, key), 1);
  });

  it('kept down, the job fails after its attempts with a clear error, and nothing hangs', async () => {
    const key = `runtime-down-${Date.now()}`;
    await untilAvailable();
    const r = await submit(gw, token, { n: 2, delay_ms: 3000 }, { 'idempotency-key': key });
    await waitFor(async () => (await callsAt(agent, key)) === 1, 5000, { what: 'the first attempt at the runtime' });
    const t0 = Date.now();
    await kill(agent);
    agent = null;

    const job = await poll(gw, token, r.json.jobId, { ms: 20000 });
    const took = Date.now() - t0;
    assert.equal(job.status, 'failed', JSON.stringify(job));
    assert.equal(job.attempts, KILL_JOBS.max_attempts);
    assert.equal(job.error.code, 'upstream_unavailable');
    assert.match(job.error.message, /could not be reached/);
    assert.equal(job.result, undefined);
    // Bounded by the config: max_attempts − 1 pauses of at most backoff_max_ms, and refused
    // connections fail at once (generous margin for a busy machine).
    assert.ok(took < (KILL_JOBS.max_attempts - 1) * KILL_JOBS.backoff_max_ms + 5000, `failed only after ${took} ms`);
    // The gateway still answers at once: a sync call to the dead runtime is a clear 502/503.
    const t1 = Date.now();
    const sync = await postJson(gw.port, INVOKE, { input: 1 }, { headers: bearer(token), timeoutMs: 5000 });
    assert.ok([502, 503].includes(sync.status), sync.body);
    assert.ok(['agent_unavailable', 'upstream_unavailable'].includes(errorOf(sync).code), sync.body);
    assert.ok(Date.now() - t1 < 3000, 'the sync call waited on the dead runtime');
  });
});

// review M3 — async jobs answer 202 at once, so the limit stage's slot
// does not cover them; the claim does. acme (basic, max_concurrent 1) queues slow jobs on a node
// with two workers: it runs one at a time, and demo's job takes the other worker at once instead
// of waiting behind acme's backlog (FIFO claiming gave acme both workers for 3 s each).
describe('jobs: one tenant\'s backlog does not hold every worker', { timeout: 120000 }, () => {
  let dir;
  let runtime;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-jobs-fair-');
    runtime = await startRuntime();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 },
        extraServer: { jobs: { ...JOBS, timeout_ms: 5000 } },
        extra: {
          tiers: {
            basic: { rps: 1000, burst: 1000, daily_quota: 100000, max_concurrent: 1 },
            standard: { rps: 1000, burst: 1000, daily_quota: 100000, max_concurrent: 100 },
          },
        },
      }),
      args: ['--demo', '--demo-agent', runtime.url],
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (runtime) await runtime.close();
    removeDir(dir);
  });

  it('a tenant at its max_concurrent runs its jobs one by one; another tenant\'s job runs meanwhile', async () => {
    const acme = await demoToken(gw, 'acme');
    const demo = await demoToken(gw, 'demo');
    const SLOW = 3000;
    const hog = [];
    for (let i = 0; i < 4; i++) hog.push((await submit(gw, acme, { hog: i, delay_ms: SLOW })).json.jobId);
    assert.equal(new Set(hog).size, 4);
    await waitFor(() => runtime.calls.some((c) => c.body?.input?.hog !== undefined), 5000, { what: 'acme\'s first job at the runtime' });
    const t0 = Date.now();
    const quick = await submit(gw, demo, { quick: true });
    const done = await poll(gw, demo, quick.json.jobId, { ms: 10000 });
    const took = Date.now() - t0;
    assert.equal(done.status, 'succeeded', JSON.stringify(done));
    const hogCalls = runtime.calls.filter((c) => c.body?.input?.hog !== undefined);
    const quickCall = runtime.calls.find((c) => c.body?.input?.quick);
    console.log(`[ measure ] demo's job ran ${took} ms after it was accepted, with ${hogCalls.length} of acme's 4 slow jobs started`);
    // Ran while acme's first job still held its worker (it answers after SLOW ms) ...
    assert.ok(took < SLOW - 500, `demo's job waited ${took} ms behind acme's`);
    // ... and acme, at max_concurrent 1, never ran two at once: its second job started only after
    // the first answered.
    assert.equal(hogCalls.filter((c) => c.at <= quickCall.at).length, 1, 'acme had more than one job running');
    await waitFor(() => runtime.calls.filter((c) => c.body?.input?.hog !== undefined).length >= 2, 10000, { what: 'acme\'s second job' });
    const starts = runtime.calls.filter((c) => c.body?.input?.hog !== undefined).map((c) => c.at).sort((a, b) => a - b);
    assert.ok(starts[1] - starts[0] >= SLOW - 100, `acme's jobs overlapped: started ${starts[1] - starts[0]} ms apart`);
  });
});
