// The A2A push relay (docs/a2a-push.md) with the real binary: POST /a2a-push/{relayId} is
// reachable without a bearer token and refuses every notification that does not carry the relay
// token of a config the gateway registered — an unknown relay id, a missing or forged token, a
// tenant's bearer token instead of the relay token — with the same 401, a JSON error body naming
// the request id, a log line with that id, and the refusal counted in
// portcullis_a2a_push_deliveries_total{outcome="refused"}; an oversized notification is 413.
// The relay's acceptance path (token, task check, delivery to the client, retries, dead letter)
// is covered by tests/unit/a2a/push_relay_test.cpp against a real store and receiver; the
// SDK-runtime end-to-end test lands with the A2A proxy route (it registers the configs).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, errorOf, getMetrics, demoToken, bearer, waitFor,
} from './harness.mjs';

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
      await waitFor(() => gw.logLines().some((l) => l.msg === 'a2a push relay: unknown relay or wrong token'
        && l.request_id === r.headers['x-request-id']), 3000, { what: 'a log line with the request id' });
    }
    assert.equal(await refusedCount(gw), before + cases.length);
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
