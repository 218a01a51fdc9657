// The A2A push relay (docs/a2a-push.md) with the real binary: POST /a2a-push/{relayId} is
// reachable without a bearer token and refuses every notification that does not carry the relay
// token of a config the gateway registered — an unknown relay id, a missing or forged token, a
// tenant's bearer token instead of the relay token — with the same 401, a JSON error body naming
// the request id, a log line with that id, and the refusal counted in
// portcullis_a2a_push_deliveries_total{outcome="refused"}; an oversized notification is 413.
//
// End to end (second suite): an @a2a-js/sdk 1.3.0 runtime (support/a2a_runtime.mjs, "push"
// executor) behind the gateway, and the SDK's 1.0 JSON-RPC client and 0.3 JSON-RPC transport
// setting a push config for their task through the gateway with a node:http receiver on loopback.
// The runtime only ever holds the gateway's relay (/a2a-push/...), the receiver gets the
// notifications with the client's token and a gateway-signed JWT (checked with jose against the
// gateway's JWKS: iss, aud = the receiver URL, request_body_sha256), Get shows the client's config
// back, a URL with credentials or a token with CR/LF is refused as invalid params before the
// runtime sees it, and a receiver answering 503 gets every attempt then a dead letter.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { createHash, randomUUID } from 'node:crypto';

import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Role, TaskState } from '@a2a-js/sdk';
import {
  ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory,
} from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport } from '@a2a-js/sdk/compat/v0_3/client';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, errorOf, getMetrics, demoToken, bearer, waitFor,
  demoCredentials, adminToken, postJson, withTimeout,
} from './harness.mjs';
import { startA2aRuntime } from './support/a2a_runtime.mjs';

const refusedCount = async (gw) => {
  const s = (await getMetrics(gw.port)).samples.filter(
    (x) => x.name === 'portcullis_a2a_push_deliveries_total' && x.labels.outcome === 'refused');
  return s.length ? s[0].value : 0;
};

const post = (gw, p, { headers = {}, body = '{}' } = {}) => request(gw.port, {
  method: 'POST', path: p, body,
  headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
});

const notification = JSON.stringify({ statusUpdate: { taskId: 't1', contextId: 'c1', status: { state: 'TASK_STATE_COMPLETED' } } });

describe('a2a push relay', () => {
  let dir; let gw; let demoTok;

  before(async () => {
    dir = makeTempDir('pc-a2a-push-');
    gw = await startGateway({ dir, config: gatewayConfig(dir, { limits: { max_body_bytes: 4 << 20 } }), args: ['--demo'] });
    demoTok = await demoToken(gw, 'demo');
  });
  after(async () => {
    await gw?.stop();
    removeDir(dir);
  });

  it('refuses an unknown relay id, a missing token and a forged one alike, counted and logged', async () => {
    const before = await refusedCount(gw);
    const cases = [
      { path: '/a2a-push/a2ap_00000000000000000000000000000000', headers: { 'x-a2a-notification-token': 'forged' } },
      { path: '/a2a-push/a2ap_00000000000000000000000000000000', headers: {} },
      { path: '/a2a-push/wh_123', headers: { 'x-a2a-notification-token': 'x' } },
      // A tenant's bearer token is not a relay token.
      { path: '/a2a-push/a2ap_00000000000000000000000000000000', headers: bearer(demoTok) },
    ];
    for (const c of cases) {
      const r = await post(gw, c.path, { headers: c.headers, body: notification });
      assert.equal(r.status, 401, `${c.path}: ${r.body}`);
      const e = errorOf(r);
      assert.equal(e.code, 'unauthorized');
      assert.ok(r.headers['x-request-id'], 'the answer names its request id');
      // Through the bounded refusal recorder (api/refusals.h): the first few per window one by one.
      await waitFor(() => gw.logLines().some((l) => l.msg === 'authentication failed' && l.reason === 'a2a_push_relay'
        && l.request_id === r.headers['x-request-id']), 3000, { what: 'a log line with the request id' });
    }
    assert.equal(await refusedCount(gw), before + cases.length);
  });

  it('a flood of forged relay ids costs a bounded number of log lines, and the relay still answers', async () => {
    const before = await refusedCount(gw);
    const mark = gw.logLines().length;
    // Under the per-address edge budget (server.edge.a2a_push burst 200): every one reaches the route.
    const ids = [];
    for (let i = 0; i < 60; i++) {
      ids.push(`a2ap_${i.toString(16).padStart(32, '0')}`);  // well formed: looked up, unknown
      ids.push(`a2ap_${'Z'.repeat(32)}${i}`);                  // wrong charset and length: refused before any lookup
      ids.push(`x${i}`);                                        // wrong prefix
    }
    const answers = [];
    for (let i = 0; i < ids.length; i += 8)  // under the test config's connection cap
      answers.push(...await Promise.all(ids.slice(i, i + 8).map((id) =>
        post(gw, `/a2a-push/${id}`, { headers: { 'x-a2a-notification-token': 'forged' }, body: notification }))));
    assert.deepEqual([...new Set(answers.map((r) => r.status))], [401], answers.filter((r) => r.status !== 401).map((r) => r.body).join('\n').slice(0, 400));
    assert.equal(await refusedCount(gw), before + ids.length, 'every refusal is counted');
    const lines = gw.logLines().slice(mark).filter((l) => l.msg === 'a2a push relay: unknown relay or wrong token'
      || (l.msg === 'authentication failed' && l.reason === 'a2a_push_relay'));
    assert.ok(lines.length <= 20, `${lines.length} warn lines for ${ids.length} refused notifications`);
    const ok = await request(gw.port, { path: '/healthz' });
    assert.equal(ok.status, 200);
  });

  it('answers 413 for a notification over 1 MiB and 405 for other methods, and stays up', async () => {
    const big = JSON.stringify({ statusUpdate: { taskId: 't1', pad: 'x'.repeat((1 << 20) + 10) } });
    const r = await post(gw, '/a2a-push/a2ap_00000000000000000000000000000000',
      { headers: { 'x-a2a-notification-token': 'x' }, body: big });
    assert.equal(r.status, 413, r.body);
    const g = await request(gw.port, { method: 'GET', path: '/a2a-push/a2ap_00000000000000000000000000000000' });
    assert.equal(g.status, 405, g.body);
    const ok = await request(gw.port, { path: '/healthz' });
    assert.equal(ok.status, 200);
  });
});

// ---------------------------------------------------------------------------- end to end

const pushCount = async (gw, outcome) => {
  const s = (await getMetrics(gw.port)).samples.filter(
    (x) => x.name === 'portcullis_a2a_push_deliveries_total' && x.labels.outcome === outcome);
  return s.length ? s[0].value : 0;
};

// A push receiver on loopback: records every POST (path, headers, raw body) and answers `status`.
async function startPushReceiver(status = 200) {
  const hits = [];
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      hits.push({ method: req.method, path: req.url, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
      res.writeHead(rx.status, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const rx = {
    status, hits, url: (p) => `http://127.0.0.1:${server.address().port}${p}`,
    close: () => new Promise((resolve) => { server.closeAllConnections?.(); server.close(() => resolve()); }),
  };
  return rx;
}

const AGENT = 'push-agent';
const textPart = (value) => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });

describe('a2a push end to end: SDK runtime → gateway relay → client receiver', { timeout: 120000 }, () => {
  let dir; let gw; let rt; let rx; let token; let agentBase; let jwks;
  const webhooks = { allow_private_targets: true, allow_http: true, max_attempts: 3, backoff_initial_ms: 50, backoff_max_ms: 200, timeout_ms: 2000, poll_interval_ms: 100 };
  const authedFetch = (url, init = {}) => {
    const h = new Headers(init.headers);
    h.set('authorization', `Bearer ${token}`);
    return fetch(url, { ...init, headers: h });
  };

  before(async () => {
    dir = makeTempDir('pc-a2a-push-e2e-');
    rt = await startA2aRuntime({ agent: AGENT });
    rx = await startPushReceiver(200);
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_body_bytes: 1 << 20 }, upstream: { response_timeout_ms: 30000 }, extraServer: { webhooks } }),
      args: ['--demo'],
    });
    rt.trustGateway(gw.baseUrl);
    jwks = createRemoteJWKSet(new URL(`${gw.baseUrl}/.well-known/jwks.json`));
    agentBase = `${gw.baseUrl}/a2a/${AGENT}`;
    const creds = (await demoCredentials(gw)).tenants.demo;
    const tr = await fetch(`${gw.baseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: creds.client_id, client_secret: creds.client_secret }),
    });
    const tb = await tr.json();
    assert.equal(tr.status, 200, JSON.stringify(tb));
    token = tb.access_token;
    const adm = bearer(await adminToken(gw));
    for (const [p, b] of [['/v1/platform/agents', { name: AGENT, protocol: 'a2a' }],
      [`/v1/platform/agents/${AGENT}/versions`, { version: 'v1', endpoint: rt.origin }],
      [`/v1/platform/agents/${AGENT}/versions/v1/promote`, {}]]) {
      const r = await postJson(gw.port, p, b, { headers: adm });
      assert.ok(r.status === 200 || r.status === 201, `${p}: ${r.status} ${r.body}`);
    }
    await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: bearer(token) });
      return (r.json?.agents ?? []).some((a) => a.name === AGENT);
    }, 10000, { what: `${AGENT} visible to tenant demo` });
  });
  after(async () => {
    await gw?.stop();
    await rt?.stop();
    await rx?.close();
    removeDir(dir);
  });

  const client10 = () => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch })],
    preferredTransports: ['JSONRPC'],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl: authedFetch }),
  })).createFromUrl(`${agentBase}/`);
  const client03 = async () => {
    const card = await (await authedFetch(`${agentBase}/.well-known/agent.json`)).json();
    return new LegacyJsonRpcTransport({ endpoint: card.url, fetchImpl: authedFetch });
  };

  // Starts a "push <ms>" task that answers at once (returnImmediately; 0.3 on the wire:
  // blocking false): its id. The 0.3 transport takes the SDK's 1.0 types and speaks 0.3.
  async function startPushTask(client, ms, version) {
    const r = await withTimeout(client.sendMessage({
      message: { messageId: randomUUID(), role: Role.ROLE_USER, parts: [textPart(`push ${ms} via-${version}`)], extensions: [], metadata: {}, referenceTaskIds: [] },
      configuration: { returnImmediately: true, acceptedOutputModes: [] },
    }), 15000, `sendMessage ${version}`);
    const task = r?.payload?.$case === 'task' ? r.payload.value : r;
    assert.ok(task?.id && task.status, `not a task: ${JSON.stringify(r)}`);
    assert.notEqual(task.status.state, TaskState.TASK_STATE_COMPLETED, 'the task finished before a push config could be set');
    return task.id;
  }

  // Every hit on `path`: the client's token, a gateway JWT (signature via JWKS, iss, aud = the
  // receiver's URL, body hash) and a body naming the task.
  async function checkNotifications(hits, { url, clientToken, taskId }) {
    const jtis = new Set();
    for (const h of hits) {
      assert.equal(h.headers['x-a2a-notification-token'], clientToken, 'the client\'s token, not the relay\'s');
      const jwt = h.headers['x-portcullis-push-signature'];
      assert.ok(jwt, `no signature header: ${JSON.stringify(h.headers)}`);
      assert.equal(h.headers.authorization, `Bearer ${jwt}`);
      const { payload, protectedHeader } = await jwtVerify(jwt, jwks, { issuer: gw.baseUrl, audience: url, algorithms: ['ES256'] });
      assert.ok(protectedHeader.kid, 'a kid names the key');
      assert.equal(payload.request_body_sha256, createHash('sha256').update(h.body).digest('hex'), 'body hash');
      assert.ok(payload.exp > payload.iat, 'expires');
      jtis.add(payload.jti);
      assert.ok(h.body.toString().includes(taskId), `notification for another task: ${h.body}`);
    }
    assert.equal(jtis.size, hits.length, 'one jti per delivery');
  }

  for (const version of ['1.0', '0.3']) {
    it(`${version} JSON-RPC client: the runtime holds the relay, the receiver gets signed notifications, Get shows the client's URL`, async () => {
      const client = version === '1.0' ? await client10() : await client03();
      const path = `/push-${version}/${randomUUID()}`;
      const url = rx.url(path);
      const clientToken = `client-token-${randomUUID()}`;
      const delivered0 = await pushCount(gw, 'delivered');
      const taskId = await startPushTask(client, 1500, version);
      const cfgId = `cfg-${version}`;
      const set = await client.createTaskPushNotificationConfig({ tenant: '', taskId, id: cfgId, url, token: clientToken, authentication: undefined });
      assert.equal(set.url, url, `set answers the client's URL: ${JSON.stringify(set)}`);
      assert.equal(set.token, clientToken);
      // The runtime's stored config: the gateway's relay, never the client's URL or token.
      const stored = rt.pushConfigs.filter((p) => p.taskId === taskId);
      assert.equal(stored.length, 1, JSON.stringify(rt.pushConfigs));
      const s = JSON.stringify(stored[0]);
      assert.ok(!s.includes(path) && !s.includes(clientToken), `the client's config reached the runtime: ${s}`);
      const relayUrl = stored[0].config.url ?? stored[0].config.pushNotificationConfig?.url;
      assert.match(relayUrl, new RegExp(`^${gw.baseUrl.replace(/[.]/g, '\\.')}/a2a-push/a2ap_[0-9a-f]{32}$`), s);

      // Get through the gateway: the client's view.
      const got = await client.getTaskPushNotificationConfig({ tenant: '', taskId, id: cfgId });
      assert.equal(got.url, url, JSON.stringify(got));
      assert.equal(got.token, clientToken);
      // The runtime was asked in the client's protocol version.
      assert.equal(stored[0].version, version, s);

      // The task completes; the receiver gets the notifications (the last one: completed).
      await waitFor(() => rx.hits.filter((h) => h.path === path).some((h) => /COMPLETED|"completed"/i.test(h.body.toString())),
        15000, { what: `a completed notification at ${path}` });
      const hits = rx.hits.filter((h) => h.path === path);
      await checkNotifications(hits, { url, clientToken, taskId });
      assert.ok(await pushCount(gw, 'delivered') - delivered0 >= hits.length, 'deliveries counted');
    });
  }

  it('refuses a push URL with credentials and a token with CR/LF as invalid params; the runtime gets nothing', async () => {
    const client = await client10();
    const taskId = await startPushTask(client, 300, '1.0');
    for (const [what, cfg, why] of [
      ['credentials in the URL', { url: rx.url('/x').replace('http://', 'http://user:secret@'), token: 't' }, /credentials/],
      ['CR/LF in the token', { url: rx.url('/y'), token: 'a\r\nX-Injected: 1' }, /token must be printable/],
    ]) {
      await assert.rejects(client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'bad', authentication: undefined, ...cfg }),
        (e) => {
          assert.equal(e.constructor.name, 'JsonRpcRequestMalformedError', `${what}: ${e.constructor.name} ${e.message}`);
          assert.match(String(e.message), why, what);
          assert.ok(!String(e.message).includes('secret'), `${what}: the answer echoes the credentials`);
          return true;
        }, what);
    }
    assert.equal(rt.pushConfigs.filter((p) => p.taskId === taskId).length, 0, 'a refused config reached the runtime');
  });

  it('a receiver that answers 503 gets every attempt (same jti), then a dead letter', async () => {
    const bad = await startPushReceiver(503);
    try {
      const client = await client10();
      const url = bad.url('/down');
      const dead0 = await pushCount(gw, 'dead');
      const retry0 = await pushCount(gw, 'retry');
      const taskId = await startPushTask(client, 800, '1.0');
      await client.createTaskPushNotificationConfig({ tenant: '', taskId, id: 'cfg-down', url, token: 'tok-down', authentication: undefined });
      await waitFor(async () => await pushCount(gw, 'dead') > dead0, 20000, { what: 'a dead push delivery' });
      // Group attempts by delivery (jti): each dead delivery was tried max_attempts times.
      const byJti = new Map();
      for (const h of bad.hits) {
        const { payload } = await jwtVerify(h.headers['x-portcullis-push-signature'], jwks, { issuer: gw.baseUrl, audience: url });
        assert.equal(payload.request_body_sha256, createHash('sha256').update(h.body).digest('hex'));
        byJti.set(payload.jti, [...(byJti.get(payload.jti) ?? []), h]);
      }
      const full = [...byJti.values()].filter((a) => a.length === webhooks.max_attempts);
      assert.ok(full.length >= 1, `attempts per delivery: ${[...byJti.values()].map((a) => a.length)}`);
      for (const a of byJti.values()) {
        assert.ok(a.length <= webhooks.max_attempts, 'never more than max_attempts');
        assert.ok(a.every((h) => h.body.equals(a[0].body)), 'a retry carries the same body');
      }
      assert.ok(await pushCount(gw, 'retry') - retry0 >= (webhooks.max_attempts - 1) * full.length, 'retries counted');
      assert.ok(bad.hits.every((h) => h.headers['x-a2a-notification-token'] === 'tok-down'));
      await waitFor(() => gw.logLines().some((l) => l.msg === 'webhook delivery attempt' && l.outcome === 'dead'
        && l.event === 'a2a.push' && String(l.webhook).startsWith('a2ap_') && Number(l.status) === 503), 5000,
      { what: 'a dead a2a.push delivery logged with the relay id and the 503' });
    } finally {
      await bad.close();
    }
  });
});
