// Webhooks end to end (SPEC §5, docs/webhooks.md) with the real binary: a receiver written here
// with node:http verifies each delivery's signature with node:crypto exactly as docs/webhooks.md
// tells receivers to (HMAC-SHA256 over "<timestamp>.<body>", constant-time compare, a 5-minute
// window); failing deliveries are retried, become dead letters, and are redelivered; SSRF
// targets are refused at registration with the allow switch off, and at connect time (a target
// registered while private targets were allowed is refused once they no longer are, without a
// connection); another tenant's webhook and delivery ids are 404 and counted and audited as
// tenant-access violations; only SelfService.Admin reaches the routes.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, errorOf, waitFor, getMetrics, closedPort,
  demoToken, adminToken, clientToken, bearer, writeConfig,
} from './harness.mjs';
import { verify, startReceiver, TOLERANCE_S } from './support/webhooks.mjs';

const VIOLATION = 'security.tenant_access_violation';
const METRIC = 'portcullis_tenant_access_violations_total';

function api(gw, method, p, { token, body, raw } = {}) {
  const headers = {};
  if (token) Object.assign(headers, bearer(token));
  let text = raw;
  if (body !== undefined) text = JSON.stringify(body);
  if (text !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(text);
  }
  return request(gw.port, { method, path: p, headers, body: text });
}

const violations = async (gw) => {
  const s = (await getMetrics(gw.port)).samples.filter((x) => x.name === METRIC);
  return s.length ? s[0].value : 0;
};

const webhookConfig = (dir, webhooks) => gatewayConfig(dir, {
  limits: { max_body_bytes: 65536, header_timeout_ms: 5000, idle_timeout_ms: 5000 },
  extraServer: { webhooks },
});

const LENIENT = { allow_private_targets: true, allow_http: true, max_attempts: 3, backoff_initial_ms: 50, backoff_max_ms: 200, timeout_ms: 2000, poll_interval_ms: 100 };

describe('webhooks', () => {
  let dir; let gw; let rx; let demoTok; let acmeTok; let adminTok;

  before(async () => {
    dir = makeTempDir('pc-webhooks-');
    rx = await startReceiver();
    gw = await startGateway({ dir, config: webhookConfig(dir, LENIENT), args: ['--demo'] });
    demoTok = await demoToken(gw, 'demo');
    acmeTok = await demoToken(gw, 'acme');
    adminTok = await adminToken(gw);
  });
  after(async () => {
    await gw?.stop();
    await rx?.close();
    removeDir(dir);
  });

  const create = async (token, url, description) => {
    const r = await api(gw, 'POST', '/v1/webhooks', { token, body: { url, ...(description ? { description } : {}) } });
    assert.equal(r.status, 201, r.body);
    return r.json;
  };
  const deliveryOf = async (token, wid, did) => {
    const r = await api(gw, 'GET', `/v1/webhooks/${wid}/deliveries/${did}`, { token });
    assert.equal(r.status, 200, r.body);
    return r.json;
  };

  it('creates a webhook with a secret shown once, and lists it without the secret', async () => {
    const r = await api(gw, 'POST', '/v1/webhooks', { token: demoTok, body: { url: `http://127.0.0.1:${rx.port}/created`, description: 'ci' } });
    assert.equal(r.status, 201, r.body);
    assert.match(r.json.webhookId, /^wh_[0-9a-f]{24}$/);
    assert.match(r.json.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    assert.equal(r.headers['cache-control'], 'no-store');
    assert.equal(r.json.description, 'ci');
    assert.match(r.json.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);

    const list = await api(gw, 'GET', '/v1/webhooks', { token: demoTok });
    assert.equal(list.status, 200, list.body);
    const mine = list.json.webhooks.find((w) => w.webhookId === r.json.webhookId);
    assert.ok(mine, list.body);
    assert.equal(mine.secret, undefined);
    assert.ok(!list.body.includes(r.json.secret));
    const one = await api(gw, 'GET', `/v1/webhooks/${r.json.webhookId}`, { token: demoTok });
    assert.equal(one.status, 200);
    assert.ok(!one.body.includes(r.json.secret));
    assert.equal(list.json.nextCursor, null);
  });

  it('refuses bad bodies with a clear 400', async () => {
    for (const [raw, why] of [['{', 'invalid JSON'], ['[]', 'not an object'], ['{"url":5}', 'wrong type'],
      ['{"url":"https://example.com","extra":1}', 'unknown field'], ['{}', 'missing url'],
      [JSON.stringify({ url: 'https://example.com/', description: 'x'.repeat(257) }), 'long description'],
      [JSON.stringify({ url: 'not a url' }), 'not a URL'], [JSON.stringify({ url: 'ftp://example.com/' }), 'scheme']]) {
      const r = await api(gw, 'POST', '/v1/webhooks', { token: demoTok, raw });
      assert.equal(r.status, 400, `${why}: ${r.body}`);
      assert.equal(errorOf(r).code, 'invalid_request', why);
    }
    const page = await api(gw, 'GET', '/v1/webhooks?limit=0', { token: demoTok });
    assert.equal(page.status, 400);
  });

  it('delivers a signed ping the receiver verifies with node:crypto, and a forged or replayed one fails', async () => {
    const w = await create(demoTok, `http://127.0.0.1:${rx.port}/ping`);
    const r = await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/ping`, { token: demoTok });
    assert.equal(r.status, 202, r.body);
    const did = r.json.deliveryId;
    assert.match(did, /^dlv_[0-9a-f]{24}$/);
    const got = await waitFor(() => rx.on('/ping')[0], 10000, { what: 'ping delivered' });
    assert.equal(got.method, 'POST');
    assert.equal(got.headers['x-portcullis-delivery-id'], did);
    assert.equal(got.headers['x-portcullis-event'], 'ping');
    assert.match(got.headers['content-type'], /^application\/json/);
    const seen = new Set();
    assert.equal(verify(w.secret, got.headers, got.body, seen), null);
    const body = JSON.parse(got.body.toString('utf8'));
    assert.equal(body.id, did);
    assert.equal(body.type, 'ping');
    assert.equal(body.webhookId, w.webhookId);
    assert.equal(body.data.webhookId, w.webhookId);
    // What the checks refuse: the same delivery again, another secret, a changed body, an old timestamp.
    assert.equal(verify(w.secret, got.headers, got.body, seen), 'replay');
    assert.equal(verify('whsec_someone_else', got.headers, got.body), 'bad signature');
    assert.equal(verify(w.secret, got.headers, Buffer.concat([got.body, Buffer.from(' ')])), 'bad signature');
    const old = String(Number(got.headers['x-portcullis-timestamp']) - TOLERANCE_S - 5);
    const forgedOld = 'sha256=' + crypto.createHmac('sha256', 'whsec_guess').update(`${old}.`).update(got.body).digest('hex');
    assert.equal(verify(w.secret, { ...got.headers, 'x-portcullis-timestamp': old, 'x-portcullis-signature': forgedOld }, got.body), 'stale timestamp');
    const d = await waitFor(async () => { const x = await deliveryOf(demoTok, w.webhookId, did); return x.status === 'delivered' && x; }, 5000, { what: 'delivered' });
    assert.equal(d.attempts, 1);
    assert.equal(d.lastStatus, 200);
  });

  it('retries a failing receiver with backoff, dead-letters after the last attempt, and redelivers', async () => {
    rx.plan['/flaky'] = [500, 503, 502];
    const w = await create(demoTok, `http://127.0.0.1:${rx.port}/flaky`);
    const r = await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/ping`, { token: demoTok });
    assert.equal(r.status, 202, r.body);
    const did = r.json.deliveryId;
    const dead = await waitFor(async () => {
      const x = await api(gw, 'GET', `/v1/webhooks/${w.webhookId}/dead-letters`, { token: demoTok });
      return x.status === 200 && x.json.deadLetters.length === 1 && x.json;
    }, 15000, { what: 'dead letter' });
    const letter = dead.deadLetters[0];
    assert.equal(letter.deliveryId, did);
    assert.equal(letter.status, 'dead');
    assert.equal(letter.attempts, 3);
    assert.equal(letter.lastStatus, 502);
    assert.match(letter.lastError, /HTTP 502/);
    assert.equal(letter.payload, undefined);
    const attempts = rx.on('/flaky');
    assert.equal(attempts.length, 3);
    for (const a of attempts) {
      assert.equal(a.headers['x-portcullis-delivery-id'], did, 'the same delivery id on every attempt');
      assert.equal(verify(w.secret, a.headers, a.body), null, 'every attempt is signed');
    }
    // Backoff: the attempts are not back to back forever; each signed with its own timestamp.
    // Redelivery: the dead letter becomes pending, is delivered (200 now), and leaves the list.
    const again = await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/dead-letters/${did}/redeliver`, { token: demoTok });
    assert.equal(again.status, 202, again.body);
    assert.equal(again.json.status, 'pending');
    await waitFor(() => rx.on('/flaky').length === 4, 10000, { what: 'redelivered' });
    const d = await waitFor(async () => { const x = await deliveryOf(demoTok, w.webhookId, did); return x.status === 'delivered' && x; }, 5000, { what: 'delivered' });
    assert.equal(d.attempts, 1);
    const list = await api(gw, 'GET', `/v1/webhooks/${w.webhookId}/dead-letters`, { token: demoTok });
    assert.deepEqual(list.json.deadLetters, []);
    // A delivery that is not dead cannot be redelivered.
    const twice = await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/dead-letters/${did}/redeliver`, { token: demoTok });
    assert.equal(twice.status, 409, twice.body);
    assert.equal(errorOf(twice).code, 'conflict');
  });

  it('a receiver that is down dead-letters with the network error', async () => {
    const port = await closedPort();
    const w = await create(demoTok, `http://127.0.0.1:${port}/down`);
    const did = (await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/ping`, { token: demoTok })).json.deliveryId;
    const d = await waitFor(async () => { const x = await deliveryOf(demoTok, w.webhookId, did); return x.status === 'dead' && x; }, 15000, { what: 'dead' });
    assert.equal(d.lastStatus, null);
    assert.match(d.lastError, /connect/i);
  });

  it('another tenant\'s webhook and delivery ids are 404, counted and audited as violations', async () => {
    rx.plan['/victim'] = [500, 500, 500];
    const victim = await create(demoTok, `http://127.0.0.1:${rx.port}/victim`);
    const did = (await api(gw, 'POST', `/v1/webhooks/${victim.webhookId}/ping`, { token: demoTok })).json.deliveryId;
    await waitFor(async () => (await api(gw, 'GET', `/v1/webhooks/${victim.webhookId}/dead-letters`, { token: demoTok })).json.deadLetters.length === 1, 15000, { what: 'victim dead letter' });
    const own = await create(acmeTok, `http://127.0.0.1:${rx.port}/acme`);
    const vid = victim.webhookId;
    const attempts = [
      ['GET', `/v1/webhooks/${vid}`],
      ['DELETE', `/v1/webhooks/${vid}`],
      ['POST', `/v1/webhooks/${vid}/ping`],
      ['GET', `/v1/webhooks/${vid}/dead-letters`],
      ['GET', `/v1/webhooks/${vid}/deliveries/${did}`],
      ['POST', `/v1/webhooks/${vid}/dead-letters/${did}/redeliver`],
      ['POST', `/v1/webhooks/${own.webhookId}/dead-letters/${did}/redeliver`],  // their delivery under my webhook
      ['GET', `/v1/webhooks/${own.webhookId}/deliveries/${did}`],
    ];
    for (const [method, p] of attempts) {
      const before = await violations(gw);
      const r = await api(gw, method, p, { token: acmeTok });
      assert.equal(r.status, 404, `${method} ${p}: ${r.body}`);
      assert.equal(errorOf(r).code, 'not_found');
      assert.ok(!r.body.includes('demo'), 'nothing about the owner');
      assert.equal(await violations(gw), before + 1, `${method} ${p} counted once`);
      const events = await waitFor(async () => {
        const e = await api(gw, 'GET', '/v1/platform/security-events?tenant=acme&limit=1000', { token: adminTok });
        return e.json?.events?.find((x) => x.action === VIOLATION && x.requestId === r.headers['x-request-id']);
      }, 5000, { what: `audit event of ${method} ${p}` });
      assert.ok(events);
    }
    // Unknown ids: 404 without a violation.
    const before = await violations(gw);
    for (const p of ['/v1/webhooks/wh_000000000000000000000000', `/v1/webhooks/${own.webhookId}/deliveries/dlv_000000000000000000000000`]) {
      const r = await api(gw, 'GET', p, { token: acmeTok });
      assert.equal(r.status, 404, r.body);
    }
    assert.equal(await violations(gw), before);
    // acme's list holds only its own; the victim is intact.
    const list = await api(gw, 'GET', '/v1/webhooks', { token: acmeTok });
    assert.deepEqual(list.json.webhooks.map((w) => w.webhookId), [own.webhookId]);
    const still = await api(gw, 'GET', `/v1/webhooks/${vid}/dead-letters`, { token: demoTok });
    assert.equal(still.json.deadLetters.length, 1);
    assert.equal(still.json.deadLetters[0].status, 'dead');
  });

  it('only SelfService.Admin of a tenant reaches the routes', async () => {
    assert.equal((await api(gw, 'GET', '/v1/webhooks')).status, 401);
    const c = await api(gw, 'POST', '/v1/tenants/demo/clients', { token: adminTok, body: { name: 'invoker', roles: ['Agent.Invoke'] } });
    assert.equal(c.status, 201, c.body);
    const tok = await clientToken(gw, c.json.clientId, c.json.clientSecret);
    for (const [method, p, body] of [['GET', '/v1/webhooks'], ['POST', '/v1/webhooks', { url: `http://127.0.0.1:${rx.port}/x` }]]) {
      const r = await api(gw, method, p, { token: tok, body });
      assert.equal(r.status, 403, r.body);
    }
    // Platform principals are not a tenant's SelfService.Admin either.
    assert.equal((await api(gw, 'GET', '/v1/webhooks', { token: adminTok })).status, 403);
  });

  it('deleting a webhook drops it and its dead letters', async () => {
    rx.plan['/gone'] = [500, 500, 500];
    const w = await create(demoTok, `http://127.0.0.1:${rx.port}/gone`);
    await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/ping`, { token: demoTok });
    await waitFor(async () => (await api(gw, 'GET', `/v1/webhooks/${w.webhookId}/dead-letters`, { token: demoTok })).json.deadLetters.length === 1, 15000, { what: 'dead letter' });
    const del = await api(gw, 'DELETE', `/v1/webhooks/${w.webhookId}`, { token: demoTok });
    assert.equal(del.status, 204, del.body);
    assert.equal((await api(gw, 'GET', `/v1/webhooks/${w.webhookId}`, { token: demoTok })).status, 404);
    assert.equal((await api(gw, 'GET', `/v1/webhooks/${w.webhookId}/dead-letters`, { token: demoTok })).status, 404);
    assert.equal((await api(gw, 'DELETE', `/v1/webhooks/${w.webhookId}`, { token: demoTok })).status, 404);
  });

  it('a delivery in flight when the gateway is killed (-9) is delivered after the restart', async () => {
    // The receiver holds the first request without answering; the gateway dies during it.
    const held = [];
    rx.hold['/stall'] = 1;
    rx.onHold = (res) => held.push(res);
    const w = await create(demoTok, `http://127.0.0.1:${rx.port}/stall`);
    const did = (await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/ping`, { token: demoTok })).json.deliveryId;
    await waitFor(() => rx.on('/stall').length === 1, 10000, { what: 'first attempt in flight' });
    gw.signal('SIGKILL');
    await gw.waitExit(5000);
    for (const res of held) res.destroy();
    gw = await startGateway({ dir, config: webhookConfig(dir, LENIENT) });
    demoTok = await demoToken(gw, 'demo');
    // Taken over once the dead node's lease (2 × timeout + 5 s) ends.
    await waitFor(() => rx.on('/stall').length === 2, 20000, { what: 'delivery resumed after the restart' });
    const again = rx.on('/stall')[1];
    assert.equal(again.headers['x-portcullis-delivery-id'], did);
    assert.equal(verify(w.secret, again.headers, again.body), null);
    const d = await waitFor(async () => { const x = await deliveryOf(demoTok, w.webhookId, did); return x.status === 'delivered' && x; }, 5000, { what: 'delivered' });
    assert.equal(d.attempts, 2, 'the interrupted attempt counts');
  });

  it('with private targets no longer allowed, a registered loopback target is refused at connect time', async () => {
    const w = await create(demoTok, `http://localhost:${rx.port}/rebound`);
    await gw.stop();
    gw = await startGateway({ dir, config: webhookConfig(dir, { ...LENIENT, allow_private_targets: false, max_attempts: 1 }) });
    const tok = await demoToken(gw, 'demo');
    const r = await api(gw, 'POST', `/v1/webhooks/${w.webhookId}/ping`, { token: tok });
    assert.equal(r.status, 202, r.body);
    const d = await waitFor(async () => { const x = await deliveryOf(tok, w.webhookId, r.json.deliveryId); return x.status === 'dead' && x; }, 10000, { what: 'refused' });
    assert.match(d.lastError, /is not allowed/);
    assert.equal(rx.on('/rebound').length, 0, 'never connected');
    demoTok = tok;
  });
});

describe('webhooks: SSRF targets are refused at registration (allow switches off)', () => {
  let dir; let gw; let tok;
  before(async () => {
    dir = makeTempDir('pc-webhooks-ssrf-');
    gw = await startGateway({ dir, config: webhookConfig(dir, {}), args: ['--demo'] });
    tok = await demoToken(gw, 'demo');
  });
  after(async () => {
    await gw?.stop();
    removeDir(dir);
  });

  it('refuses plain http, loopback, private, link-local (metadata), CGNAT, ULA, multicast and unspecified targets', async () => {
    const cases = [
      ['http://example.com/hook', /https/],
      ['https://127.0.0.1/hook', /loopback/],
      ['https://localhost/hook', /loopback/],
      ['https://2130706433/hook', /loopback/],     // 127.0.0.1 spelled as one number
      ['https://0x7f.0.0.1/hook', /loopback/],     // … and in hex
      ['https://127.1/hook', /loopback/],          // … and shortened
      ['https://[::1]/hook', /loopback/],
      ['https://[::ffff:127.0.0.1]/hook', /loopback/],
      ['https://169.254.169.254/latest/meta-data/', /link-local/],
      ['https://[fe80::1]/hook', /link-local/],
      ['https://10.1.2.3/hook', /private/],
      ['https://172.16.0.1/hook', /private/],
      ['https://192.168.1.1/hook', /private/],
      ['https://[fd12::1]/hook', /private/],
      ['https://100.64.0.1/hook', /shared address space/],
      ['https://224.0.0.1/hook', /multicast/],
      ['https://0.0.0.0/hook', /unspecified/],
      ['https://user:pass@example.com/hook', /credentials/],
    ];
    for (const [url, why] of cases) {
      const r = await api(gw, 'POST', '/v1/webhooks', { token: tok, body: { url } });
      assert.equal(r.status, 400, `${url}: ${r.body}`);
      assert.equal(errorOf(r).code, 'invalid_request');
      assert.match(errorOf(r).message, why, url);
    }
    const list = await api(gw, 'GET', '/v1/webhooks', { token: tok });
    assert.deepEqual(list.json.webhooks, []);
  });
});
