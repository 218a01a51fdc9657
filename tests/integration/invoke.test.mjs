// The invoke route (issue 9, SPEC §5 and §8, docs/agent-runtime-contract.md) with the real binary
// and the example agent: sync, stream and async modes; what the runtime receives (and never
// receives); sessions bound to tenant, principal and agent (another principal's or another
// tenant's session → 404, the latter counted as a tenant-access violation); a stream the client
// cancels, and a runtime killed mid-stream (an error event, a failed record, nothing hangs);
// Idempotency-Key end to end (another body → 422, still running → 409, scoped to tenant and principal).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, request, postJson, bearer,
  demoToken, demoCredentials, adminToken, clientToken, decodeJwt, errorOf, waitFor, sleep, getMetrics, closedPort,
} from './harness.mjs';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

// A runtime written here: keeps what it is sent, answers what the test asks (input.reply).
async function spyRuntime() {
  const seen = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.url === '/ping') { res.writeHead(200).end('{}'); return; }
      let parsed;
      try { parsed = JSON.parse(body); } catch { parsed = undefined; }
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: parsed });
      const reply = parsed?.input?.reply;
      res.writeHead(reply?.status ?? 200, { 'content-type': reply?.contentType ?? 'application/json' });
      res.end(reply?.raw ?? JSON.stringify(reply?.json ?? { output: { ok: true } }));
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    seen,
    url: `http://127.0.0.1:${srv.address().port}`,
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); }),
  };
}

// An SSE request: resolves {status, headers, text, events} when the stream ends, or after
// `onEvent` returns 'stop' (the client hangs up). Bounded by timeoutMs.
function sse(port, path, body, headers, { onEvent, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), accept: 'text/event-stream', ...headers } }, (res) => {
      let text = '';
      const events = [];
      let pending = '';
      const timer = setTimeout(() => { req.destroy(); reject(new Error(`stream not over after ${timeoutMs} ms: ${text.slice(-500)}`)); }, timeoutMs);
      const finish = (how) => { clearTimeout(timer); resolve({ status: res.statusCode, headers: res.headers, text, events, how }); };
      res.setEncoding('utf8');
      res.on('data', (d) => {
        text += d;
        pending += d;
        let i;
        while ((i = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, i);
          pending = pending.slice(i + 2);
          const ev = { event: 'message', data: '' };
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) ev.event = line.slice(6).trim();
            else if (line.startsWith('data:')) ev.data += line.slice(5).trim();
            else if (line.startsWith(':')) ev.comment = line.slice(1).trim();
          }
          events.push(ev);
          if (onEvent && onEvent(ev, events) === 'stop') { req.destroy(); finish('stopped'); return; }
        }
      });
      res.on('end', () => finish('ended'));
      res.on('error', () => finish('error'));
      res.on('aborted', () => finish('aborted'));
    });
    req.on('error', (e) => { if (!String(e.message).includes('socket hang up')) reject(e); });
    req.end(data);
  });
}

describe('invoke: modes, the runtime request, sessions, records', { timeout: 180000 }, () => {
  let dir;
  let gw;
  let spy;
  let dying;
  let demoAuth;
  let otherAuth;  // a second principal of tenant demo
  let acmeAuth;   // tenant acme
  let adm;
  let demoClient;

  before(async () => {
    dir = makeTempDir('portcullis-invoke-');
    spy = await spyRuntime();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 20000, max_connections: 100 },
        upstream: { response_timeout_ms: 5000, sse_heartbeat_ms: 300, health_check_interval_ms: 300 },
        extraServer: { threads: 2 },
      }),
      args: ['--demo'],
    });
    const creds = await demoCredentials(gw);
    demoClient = creds.tenants.demo.client_id;
    demoAuth = bearer(await demoToken(gw, 'demo'));
    acmeAuth = bearer(await demoToken(gw, 'acme'));
    adm = bearer(await adminToken(gw));
    const write = async (path, body) => {
      const r = await postJson(gw.port, path, body, { headers: adm });
      assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.body}`);
      return r.json;
    };
    const second = await write('/v1/tenants/demo/clients', { name: 'invoke-second', roles: ['Machine.Invoke'] });
    otherAuth = bearer(await clientToken(gw, second.clientId, second.clientSecret));
    dying = await startAgent({ args: ['--name', 'dying', '--gateway', gw.baseUrl] });
    const gone = await closedPort();
    for (const [name, url] of [['spy', spy.url], ['dying', dying.url], ['gone', `http://127.0.0.1:${gone}`]]) {
      await write('/v1/platform/agents', { name, protocol: 'http' });
      await write(`/v1/platform/agents/${name}/versions`, { version: 'v1', endpoint: url });
      await write(`/v1/platform/agents/${name}/versions/v1/promote`, {});
    }
    await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      const seen = (r.json?.agents ?? []).map((a) => a.name);
      return ['echo', 'spy', 'dying', 'gone'].every((n) => seen.includes(n));
    }, 10000, { what: 'agents visible to tenant demo' });
  });

  after(async () => {
    if (gw) await gw.stop();
    if (dying) await dying.stop().catch(() => {});
    if (spy) await spy.close();
    removeDir(dir);
  });

  const invoke = (name, body, headers = demoAuth, extra = {}) =>
    postJson(gw.port, `/v1/agents/${name}/invoke`, body, { headers: { ...headers, ...extra }, timeoutMs: 15000 });
  // The record of one invocation (admin API, metadata only), once the log has written it.
  const recordOf = (tenant, id) => waitFor(async () => {
    const r = await request(gw.port, { path: `/v1/tenants/${tenant}/invocations?limit=1000`, headers: adm });
    return (r.json?.invocations ?? r.json?.items ?? []).find((i) => i.invocationId === id);
  }, 10000, { what: `invocation record ${id}` });
  const latestRecord = (tenant, pred) => waitFor(async () => {
    const r = await request(gw.port, { path: `/v1/tenants/${tenant}/invocations?limit=1000`, headers: adm });
    return (r.json?.invocations ?? r.json?.items ?? []).filter(pred).at(-1);
  }, 10000, { what: 'invocation record' });

  // ---- sync

  it('sync: the SPEC answer, the runtime\'s output and usage, a new session, the verified identity', async () => {
    const r = await invoke('echo', { input: { text: 'hi' } });
    assert.equal(r.status, 200, r.body);
    const a = r.json;
    assert.match(a.invocationId, /^inv_/);
    assert.equal(a.agentName, 'echo');
    assert.equal(typeof a.agentVersion, 'string');
    assert.equal(a.mode, 'sync');
    assert.equal(a.status, 'succeeded');
    assert.deepEqual(a.output.echo, { text: 'hi' });
    assert.match(a.sessionId, UUID_V4);
    assert.equal(typeof a.usage.inputTokens, 'number');
    assert.equal(typeof a.usage.outputTokens, 'number');
    assert.equal(typeof a.usage.latencyMs, 'number');
    assert.match(a.timestamp, RFC3339);
    // What the runtime saw: the session, and the caller as the gateway states it.
    assert.equal(a.output.sessionId, a.sessionId);
    assert.equal(a.output.identity.sub, demoClient);
    assert.equal(a.output.identity.tenantid, 'demo');
    assert.equal(a.output.headers.authorization, undefined, 'the caller\'s credentials reached the runtime');
    const rec = await recordOf('demo', a.invocationId);
    assert.equal(rec.mode, 'sync');
    assert.equal(rec.status, 'succeeded');
    assert.equal(rec.sessionId, a.sessionId);
    assert.equal(rec.usage.inputTokens, a.usage.inputTokens);
  });

  it('the runtime request: contract body and headers; the caller\'s Authorization and forged X-Portcullis-* never cross', async () => {
    spy.seen.length = 0;
    const r = await invoke('spy', { input: { q: 1 }, context: { locale: 'fr' }, metadata: { m: 'x' } }, demoAuth, {
      'x-portcullis-identity': 'forged', 'x-portcullis-session-id': 'forged-session', cookie: 'c=1',
    });
    assert.equal(r.status, 200, r.body);
    const got = spy.seen.at(-1);
    assert.equal(got.method, 'POST');
    assert.equal(got.url, '/invocations');
    assert.deepEqual(Object.keys(got.body).sort(), ['context', 'input', 'invocationId', 'metadata', 'mode', 'sessionId']);
    assert.deepEqual(got.body.input, { q: 1 });
    assert.deepEqual(got.body.context, { locale: 'fr' });
    assert.deepEqual(got.body.metadata, { m: 'x' });
    assert.equal(got.body.mode, 'sync');
    assert.equal(got.body.sessionId, r.json.sessionId);
    assert.equal(got.body.invocationId, r.json.invocationId);
    assert.equal(got.headers['x-portcullis-session-id'], r.json.sessionId);
    assert.equal(got.headers.authorization, undefined);
    assert.equal(got.headers.cookie, undefined);
    const { header, payload } = decodeJwt(got.headers['x-portcullis-identity']);
    assert.equal(header.alg, 'ES256');
    assert.equal(payload.aud, 'agent:spy');
    assert.equal(payload.sub, demoClient);
    assert.equal(payload.tenantid, 'demo');
    // Cached per (caller, agent): the session is in X-Portcullis-Session-Id, not in the token.
    assert.ok(!payload.session_id, 'the identity token is not per session');
    assert.ok(got.headers['x-request-id']);
    // The runtime reported no usage: null, never 0.
    assert.deepEqual(r.json.output, { ok: true });
    assert.equal(r.json.usage.inputTokens, null);
    assert.equal(r.json.usage.outputTokens, null);
    const rec = await recordOf('demo', r.json.invocationId);
    assert.equal(rec.usage.inputTokens, null);
  });

  it('a runtime answer that is JSON but not {output} is the output as a whole; non-JSON is 502', async () => {
    let r = await invoke('spy', { input: { reply: { json: { answer: 42 } } } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.output, { answer: 42 });
    r = await invoke('spy', { input: { reply: { raw: 'plain text', contentType: 'text/plain' } } });
    assert.equal(r.status, 502, r.body);
    assert.equal(errorOf(r).code, 'agent_bad_response');
  });

  it('a runtime failure is 502 agent_error with its status, never its body, and a failed record', async () => {
    const r = await invoke('spy', { input: { reply: { status: 500, json: { trace: 'secret internals' } } } });
    assert.equal(r.status, 502, r.body);
    const e = errorOf(r);
    assert.equal(e.code, 'agent_error');
    assert.deepEqual(e.details, [{ runtimeStatus: 500 }]);
    assert.ok(!r.body.includes('secret internals'));
    assert.ok(e.requestId);
    // Waits for this call's record itself: the previous test's failed spy record (agent_bad_response)
    // may be the latest one until this one is written.
    const rec = await latestRecord('demo', (i) => i.agentName === 'spy' && i.status === 'failed' && i.error === 'agent_error');
    assert.equal(rec.httpStatus, 502);
  });

  it('bad bodies are 400 invalid_request and never reach the runtime', async () => {
    spy.seen.length = 0;
    for (const body of [{}, { input: null }, { input: 1, mode: 'batch' }, { input: 1, sesionId: 'x' },
      { input: 1, context: 'x' }, { input: 1, webhookId: 'w' }, { input: 1, sessionId: 'a\r\nb' }]) {
      const r = await invoke('spy', body);
      assert.equal(r.status, 400, `${JSON.stringify(body)} → ${r.status} ${r.body}`);
      assert.equal(errorOf(r).code, 'invalid_request');
    }
    const r = await request(gw.port, { method: 'POST', path: '/v1/agents/spy/invoke', headers: { ...demoAuth, 'content-type': 'application/json' }, body: '{"input":' });
    assert.equal(r.status, 400);
    assert.equal(spy.seen.length, 0);
  });

  // ---- sessions

  it('sessions: reused by their owner; GET shows them; another principal, agent or tenant gets 404', async () => {
    const first = await invoke('echo', { input: 'one' });
    assert.equal(first.status, 200, first.body);
    const sid = first.json.sessionId;
    const again = await invoke('echo', { input: 'two', sessionId: sid });
    assert.equal(again.status, 200, again.body);
    assert.equal(again.json.sessionId, sid);
    assert.equal(again.json.output.sessionId, sid, 'the runtime got the session in X-Portcullis-Session-Id');

    const got = await request(gw.port, { path: `/v1/sessions/${sid}`, headers: demoAuth });
    assert.equal(got.status, 200, got.body);
    assert.equal(got.json.sessionId, sid);
    assert.equal(got.json.agentName, 'echo');
    assert.equal(got.json.status, 'active');
    for (const k of ['createdAt', 'lastSeenAt', 'expiresAt']) assert.match(got.json[k], RFC3339, k);
    // retention.sessions_hours defaults to 24.
    assert.equal(Date.parse(got.json.expiresAt) - Date.parse(got.json.lastSeenAt), 24 * 3600 * 1000);

    const violations = async () => (await getMetrics(gw.port)).samples
      .filter((x) => x.name === 'portcullis_tenant_access_violations_total').reduce((a, x) => a + x.value, 0);
    const before = await violations();
    for (const [who, auth, agent] of [['another principal', otherAuth, 'echo'], ['another tenant', acmeAuth, 'echo'],
      ['another agent', demoAuth, 'spy']]) {
      const r = await invoke(agent, { input: 'x', sessionId: sid }, auth);
      assert.equal(r.status, 404, `${who}: ${r.status} ${r.body}`);
      assert.equal(errorOf(r).code, 'not_found');
    }
    for (const auth of [otherAuth, acmeAuth]) {
      const g = await request(gw.port, { path: `/v1/sessions/${sid}`, headers: auth });
      assert.equal(g.status, 404, g.body);
      const d = await request(gw.port, { method: 'DELETE', path: `/v1/sessions/${sid}`, headers: auth });
      assert.equal(d.status, 404, d.body);
    }
    // The same answer for an id that does not exist, or cannot exist.
    for (const id of ['0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162', 'not-a-session']) {
      const r = await invoke('echo', { input: 'x', sessionId: id });
      assert.equal(r.status, 404, r.body);
      const g = await request(gw.port, { path: `/v1/sessions/${id}`, headers: demoAuth });
      assert.equal(g.status, 404, g.body);
    }
    // Another tenant's real session id: a tenant-access violation, counted and audited (3 tries).
    const after = await waitFor(async () => {
      const v = await violations();
      return v >= before + 3 ? v : 0;
    }, 5000, { what: 'violations counted' });
    await sleep(300);
    assert.equal(await violations(), before + 3, 'only the other tenant\'s three tries count (not the other principal\'s)');
    assert.equal(after, before + 3);
    const events = await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/platform/security-events?limit=1000', headers: adm });
      const hits = (r.json?.events ?? []).filter((e) => e.action === 'security.tenant_access_violation' && e.tenantId === 'acme');
      return hits.length >= 3 ? hits : null;
    }, 5000, { what: 'violation audited' });
    assert.ok(events.length >= 3);

    // Still the owner's: the refusals changed nothing.
    const still = await invoke('echo', { input: 'three', sessionId: sid });
    assert.equal(still.status, 200, still.body);

    // DELETE ends it: 204, then it is unknown everywhere.
    const del = await request(gw.port, { method: 'DELETE', path: `/v1/sessions/${sid}`, headers: demoAuth });
    assert.equal(del.status, 204, del.body);
    assert.equal((await request(gw.port, { path: `/v1/sessions/${sid}`, headers: demoAuth })).status, 404);
    assert.equal((await request(gw.port, { method: 'DELETE', path: `/v1/sessions/${sid}`, headers: demoAuth })).status, 404);
    const ended = await invoke('echo', { input: 'four', sessionId: sid });
    assert.equal(ended.status, 404, ended.body);
  });

  it('sessions routes need a tenant principal\'s token', async () => {
    const r = await request(gw.port, { path: '/v1/sessions/0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162' });
    assert.equal(r.status, 401, r.body);
  });

  // ---- stream

  it('stream (Accept or mode): events relayed as produced, usage from done, a succeeded record', async () => {
    const s = await sse(gw.port, '/v1/agents/echo/invoke', { input: { stream_events: 3, stream_interval_ms: 20 } }, demoAuth);
    assert.equal(s.status, 200, s.text);
    assert.match(s.headers['content-type'], /^text\/event-stream/);
    const names = s.events.filter((e) => !e.comment).map((e) => e.event);
    assert.deepEqual(names, ['token', 'token', 'token', 'done'], s.text);
    const done = JSON.parse(s.events.find((e) => e.event === 'done').data);
    assert.ok(done.output.identity, 'the streaming runtime verified the identity');
    const sid = done.output.sessionId;
    assert.match(sid, UUID_V4);
    const rec = await latestRecord('demo', (i) => i.mode === 'stream' && i.sessionId === sid);
    assert.equal(rec.status, 'succeeded');
    assert.equal(rec.usage.outputTokens, 3);
    const viaMode = await sse(gw.port, '/v1/agents/echo/invoke', { input: { stream_events: 1 }, mode: 'stream' }, { ...demoAuth, accept: 'application/json' });
    assert.deepEqual(viaMode.events.map((e) => e.event), ['token', 'done']);
  });

  it('stream: heartbeats while the runtime is idle', async () => {
    const s = await sse(gw.port, '/v1/agents/echo/invoke', { input: { stream_events: 2, stream_interval_ms: 1200 } }, demoAuth);
    assert.equal(s.status, 200);
    assert.match(s.text, /^: keep-alive$/m, s.text);
    assert.deepEqual(s.events.filter((e) => !e.comment).map((e) => e.event), ['token', 'token', 'done']);
  });

  it('stream with an Idempotency-Key is refused (a stream cannot be replayed)', async () => {
    const r = await invoke('echo', { input: 1, mode: 'stream' }, demoAuth, { 'idempotency-key': 'k-stream' });
    assert.equal(r.status, 400, r.body);
    assert.equal(errorOf(r).code, 'invalid_request');
  });

  it('stream cancel: the client hanging up ends the call and the record says cancelled', async () => {
    const s = await sse(gw.port, '/v1/agents/echo/invoke', { input: { stream_events: 200, stream_interval_ms: 50, tag: 'cancel-me' } }, demoAuth,
      { onEvent: (e, all) => (all.filter((x) => x.event === 'token').length >= 2 ? 'stop' : undefined) });
    assert.equal(s.how, 'stopped');
    const rec = await latestRecord('demo', (i) => i.mode === 'stream' && i.status === 'cancelled');
    assert.equal(rec.httpStatus, 499);
    // Nothing hangs: the gateway still answers at once.
    const r = await invoke('echo', { input: 'after cancel' });
    assert.equal(r.status, 200);
  });

  it('a runtime dying mid-stream (socket closed): an error event, a clean end, a failed record', async () => {
    const s = await sse(gw.port, '/v1/agents/echo/invoke', { input: { stream_events: 5, stream_interval_ms: 20, die_after_events: 2 } }, demoAuth);
    assert.equal(s.status, 200);
    const last = s.events.filter((e) => !e.comment).at(-1);
    assert.equal(last.event, 'error', s.text);
    assert.equal(JSON.parse(last.data).error.code, 'upstream_broken');
    const rec = await latestRecord('demo', (i) => i.mode === 'stream' && i.error === 'upstream_broken');
    assert.equal(rec.status, 'failed');
  });

  it('the runtime process killed (SIGKILL) mid-stream: error event, failed record, nothing hangs', async () => {
    const s = await sse(gw.port, '/v1/agents/dying/invoke', { input: { stream_events: 500, stream_interval_ms: 50 } }, demoAuth, {
      onEvent: (e, all) => {
        if (all.filter((x) => x.event === 'token').length === 2) dying.proc.kill('SIGKILL');
      },
      timeoutMs: 10000,
    });
    assert.equal(s.status, 200);
    const last = s.events.filter((e) => !e.comment).at(-1);
    assert.equal(last.event, 'error', s.text.slice(-400));
    assert.equal(JSON.parse(last.data).error.code, 'upstream_broken');
    const rec = await latestRecord('demo', (i) => i.agentName === 'dying' && i.mode === 'stream');
    assert.equal(rec.status, 'failed');
    assert.equal(rec.error, 'upstream_broken');
    // With the runtime gone, a sync call fails fast with a clear error.
    const r = await invoke('dying', { input: 1 });
    assert.ok([502, 503].includes(r.status), r.body);
  });

  // ---- availability

  it('a runtime that is down: reported in GET /v1/agents, and 503 agent_unavailable with Retry-After', async () => {
    const listed = await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      const a = (r.json?.agents ?? []).find((x) => x.name === 'gone');
      return a?.status === 'unavailable' ? a : null;
    }, 10000, { what: 'agent gone reported unavailable' });
    assert.equal(listed.status, 'unavailable');
    const r = await invoke('gone', { input: 1 });
    assert.equal(r.status, 503, r.body);
    assert.equal(errorOf(r).code, 'agent_unavailable');
    assert.match(r.headers['retry-after'] ?? '', /^\d+$/);
  });

  // ---- idempotency and async (records' run_idempotent, jobs' JobService)

  it('sync with Idempotency-Key: the runtime gets the key; a replay does not call it again', async () => {
    spy.seen.length = 0;
    const key = `k-${Date.now()}`;
    const a = await invoke('spy', { input: { n: 1 } }, demoAuth, { 'idempotency-key': key });
    assert.equal(a.status, 200, a.body);
    assert.equal(spy.seen.at(-1).headers['idempotency-key'], key);
    const b = await invoke('spy', { input: { n: 1 } }, demoAuth, { 'idempotency-key': key });
    assert.equal(b.status, 200, b.body);
    assert.equal(b.headers['idempotent-replayed'], 'true');
    assert.equal(b.json.invocationId, a.json.invocationId);
    assert.equal(spy.seen.length, 1);
  });

  it('async: 202 once durable, then the job succeeds with the sync answer\'s shape', async () => {
    const r = await invoke('echo', { input: { text: 'later' }, mode: 'async' });
    assert.equal(r.status, 202, r.body);
    assert.equal(r.json.status, 'accepted');
    assert.equal(r.json.mode, 'async');
    assert.match(r.json.jobId, /^job_/);
    assert.equal(r.json.pollUrl, `/v1/jobs/${r.json.jobId}`);
    assert.match(r.json.sessionId, UUID_V4);
    const job = await waitFor(async () => {
      const j = await request(gw.port, { path: r.json.pollUrl, headers: demoAuth });
      return j.json?.status === 'succeeded' ? j.json : null;
    }, 15000, { what: 'job succeeded' });
    assert.deepEqual(job.result.output.echo, { text: 'later' });
    assert.equal(job.result.sessionId, r.json.sessionId);
    // Another tenant: 404.
    const foreign = await request(gw.port, { path: r.json.pollUrl, headers: acmeAuth });
    assert.equal(foreign.status, 404);
  });

  // ---- Idempotency-Key end to end (api/idempotent.h): a key is bound to its request body, is
  // held while its first request runs, and is scoped to (tenant, principal).

  it('Idempotency-Key reused with another body: 422 idempotency_key_reused, the runtime not called again', async () => {
    spy.seen.length = 0;
    const key = `k-reuse-${Date.now()}`;
    const first = await invoke('spy', { input: { n: 'a' } }, demoAuth, { 'idempotency-key': key });
    assert.equal(first.status, 200, first.body);
    const other = await invoke('spy', { input: { n: 'b' } }, demoAuth, { 'idempotency-key': key });
    assert.equal(other.status, 422, other.body);
    assert.equal(errorOf(other).code, 'idempotency_key_reused');
    assert.equal(other.headers['idempotent-replayed'], undefined);
    assert.equal(spy.seen.filter((c) => c.headers['idempotency-key'] === key).length, 1, 'the other body reached the runtime');
    // The refusal left the key as it was: the first body still replays its answer.
    const again = await invoke('spy', { input: { n: 'a' } }, demoAuth, { 'idempotency-key': key });
    assert.equal(again.status, 200, again.body);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json.invocationId, first.json.invocationId);
    assert.equal(spy.seen.length, 1);
  });

  it('Idempotency-Key while the first request still runs: 409 idempotency_in_flight, then the replay', async () => {
    const key = `k-flight-${Date.now()}`;
    const body = { input: { delay_ms: 2500, tag: key } };
    const t0 = Date.now();
    // The demo's example agent counts the calls carrying a key (GET /calls?key=): the first
    // request holds the key once it is at the runtime.
    const agent = await request(gw.port, { path: '/v1/platform/agents/echo', headers: adm });
    const endpoint = agent.json?.versions?.find((v) => v.version === agent.json.promotedVersion)?.endpoint;
    assert.ok(endpoint, agent.body);
    const callsAtRuntime = async () => (await request(endpoint, { path: `/calls?key=${encodeURIComponent(key)}` })).json.count;
    const firstP = invoke('echo', body, demoAuth, { 'idempotency-key': key });
    await waitFor(async () => (await callsAtRuntime()) === 1, 2000, { interval: 20, what: 'the first request at the runtime' });
    const second = await invoke('echo', body, demoAuth, { 'idempotency-key': key });
    assert.ok(Date.now() - t0 < 2500, 'the second request waited for the first instead of being refused');
    assert.equal(second.status, 409, second.body);
    assert.equal(errorOf(second).code, 'idempotency_in_flight');
    assert.equal(second.headers['retry-after'], '1');
    const first = await firstP;
    assert.equal(first.status, 200, first.body);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    assert.equal(first.json.output.idempotencyKey, key, 'the runtime got the key');
    // Once the first is done, the same request is its replay (the 409 was not remembered).
    const third = await invoke('echo', body, demoAuth, { 'idempotency-key': key });
    assert.equal(third.status, 200, third.body);
    assert.equal(third.headers['idempotent-replayed'], 'true');
    assert.equal(third.json.invocationId, first.json.invocationId);
    assert.deepEqual(third.json.output, first.json.output);
    assert.equal(await callsAtRuntime(), 1, 'the runtime was called more than once for one key');
  });

  it('the same Idempotency-Key from another principal or another tenant is independent: it runs, no replay', async () => {
    const key = `k-scope-${Date.now()}`;
    const body = { input: { text: 'scoped' } };
    const mine = await invoke('echo', body, demoAuth, { 'idempotency-key': key });
    assert.equal(mine.status, 200, mine.body);
    const ids = new Set([mine.json.invocationId]);
    for (const [who, auth, tenant] of [['another principal of demo', otherAuth, 'demo'], ['tenant acme', acmeAuth, 'acme']]) {
      const r = await invoke('echo', body, auth, { 'idempotency-key': key });
      assert.equal(r.status, 200, `${who}: ${r.body}`);
      assert.equal(r.headers['idempotent-replayed'], undefined, `${who} got demo's remembered answer`);
      assert.ok(!ids.has(r.json.invocationId), `${who} got another caller's invocation`);
      ids.add(r.json.invocationId);
      // The runtime ran it for this caller (a replay would carry demo's identity).
      assert.equal(r.json.output.identity.tenantid, tenant, who);
      assert.notEqual(r.json.output.identity.sub, demoClient, who);
      assert.equal(r.json.output.idempotencyKey, key, who);
      // … and a second try by the same caller replays its own answer.
      const again = await invoke('echo', body, auth, { 'idempotency-key': key });
      assert.equal(again.headers['idempotent-replayed'], 'true', who);
      assert.equal(again.json.invocationId, r.json.invocationId, who);
    }
    // The first caller's key still replays the first caller's answer.
    const back = await invoke('echo', body, demoAuth, { 'idempotency-key': key });
    assert.equal(back.headers['idempotent-replayed'], 'true');
    assert.equal(back.json.invocationId, mine.json.invocationId);
    assert.equal(back.json.output.identity.sub, demoClient);
  });
});
