// Health, readiness, metrics, request ids, error shape, routing errors, keep-alive, access logs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, errorOf, waitFor, parseMetrics,
  rawRequest, sleep,
} from './harness.mjs';

const HEX32 = /^[0-9a-f]{32}$/;

describe('server basics', { timeout: 60000 }, () => {
  let dir;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-basics-');
    // idle_timeout_ms above Node's keep-alive hint margin (1 s), so http.Agent reuses sockets.
    gw = await startGateway({ dir, config: gatewayConfig(dir, { limits: { idle_timeout_ms: 5000, header_timeout_ms: 2000 } }) });
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('GET /healthz → 200 {"status":"ok"} with an X-Request-Id', async () => {
    const r = await request(gw.port, { path: '/healthz' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json, { status: 'ok' });
    assert.ok(r.headers['x-request-id'], 'X-Request-Id header missing');
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  });

  it('GET /readyz → 200 {"status":"ready"} when the store is reachable', async () => {
    const r = await request(gw.port, { path: '/readyz' });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json?.status, 'ready', r.body);
    assert.ok(r.headers['x-request-id']);
  });

  it('GET /metrics → Prometheus text with request, latency and connection metrics', async () => {
    // Make sure at least one request was counted before scraping.
    await request(gw.port, { path: '/healthz' });
    const r = await request(gw.port, { path: '/metrics' });
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type'] ?? '', /^text\/plain; ?version=0\.0\.4/);
    assert.ok(r.headers['x-request-id']);
    const samples = parseMetrics(r.body);
    const reqs = samples.filter((s) => s.name === 'portcullis_http_requests_total');
    assert.ok(reqs.length > 0, 'no portcullis_http_requests_total samples');
    assert.ok(r.body.includes('portcullis_http_requests_total{'));
    for (const s of reqs) {
      for (const l of ['route', 'method', 'status']) assert.ok(l in s.labels, `label ${l} missing in ${JSON.stringify(s)}`);
    }
    assert.ok(
      reqs.some((s) => s.labels.method === 'GET' && s.labels.status === '200' && s.value >= 1),
      `no GET/200 sample among ${JSON.stringify(reqs)}`,
    );
    assert.ok(samples.some((s) => s.name === 'portcullis_http_request_duration_seconds_bucket'), 'duration histogram missing');
    const open = samples.find((s) => s.name === 'portcullis_http_connections_open');
    assert.ok(open, 'portcullis_http_connections_open missing');
    assert.ok(open.value >= 1, 'the scraping connection itself is open');
  });

  it('echoes a well-formed X-Request-Id unchanged', async () => {
    for (const id of ['abc-123', 'Tr4ce.id:part_2-x', 'a', 'x'.repeat(128)]) {
      const r = await request(gw.port, { path: '/healthz', headers: { 'x-request-id': id } });
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-request-id'], id);
    }
  });

  it('replaces a malformed X-Request-Id by a generated one (32 hex chars)', async () => {
    for (const id of ['has space', 'y'.repeat(200), 'x'.repeat(129), 'bad/slash', 'semi;colon']) {
      const r = await request(gw.port, { path: '/healthz', headers: { 'x-request-id': id } });
      assert.equal(r.status, 200);
      const got = r.headers['x-request-id'];
      assert.notEqual(got, id);
      assert.match(got ?? '', HEX32, `generated id for ${JSON.stringify(id)}: ${got}`);
    }
  });

  it('generates distinct request ids when none is sent', async () => {
    const a = await request(gw.port, { path: '/healthz' });
    const b = await request(gw.port, { path: '/healthz' });
    assert.ok(a.headers['x-request-id']);
    assert.notEqual(a.headers['x-request-id'], b.headers['x-request-id']);
  });

  it('unknown path → 404 not_found in the SPEC error shape', async () => {
    const r = await request(gw.port, { path: '/no/such/path', headers: { 'x-request-id': 'nf-1' } });
    assert.equal(r.status, 404);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    const e = errorOf(r);
    assert.equal(e.code, 'not_found');
    assert.equal(typeof e.message, 'string');
    assert.ok(e.message.length > 0);
    assert.equal(e.requestId, 'nf-1');
    assert.equal(e.requestId, r.headers['x-request-id']);
    assert.ok(Array.isArray(e.details), 'details must be an array');
  });

  it('error requestId equals the generated X-Request-Id', async () => {
    const r = await request(gw.port, { path: '/nope' });
    assert.equal(r.status, 404);
    assert.equal(errorOf(r).requestId, r.headers['x-request-id']);
  });

  it('known path, wrong method → 405 method_not_allowed with Allow', async () => {
    const r = await request(gw.port, { method: 'DELETE', path: '/healthz' });
    assert.equal(r.status, 405);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    const e = errorOf(r);
    assert.equal(e.code, 'method_not_allowed');
    assert.equal(e.requestId, r.headers['x-request-id']);
    assert.ok(Array.isArray(e.details));
    assert.ok(r.headers.allow, 'Allow header missing');
    assert.match(r.headers.allow, /\bGET\b/);

    const p = await request(gw.port, { method: 'POST', path: '/metrics', body: '{}', headers: { 'content-type': 'application/json' } });
    assert.equal(p.status, 405);
    assert.equal(errorOf(p).code, 'method_not_allowed');
    assert.ok(p.headers.allow);
  });

  it('keeps a connection alive across several requests', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const sockets = new Set();
      for (let i = 0; i < 5; i++) {
        const r = await request(gw.port, { path: i % 2 ? '/readyz' : '/healthz', agent });
        assert.equal(r.status, 200);
        sockets.add(r.socket);
        if (i > 0) assert.equal(r.reusedSocket, true, `request ${i} did not reuse the socket`);
        await sleep(20); // let the agent put the socket back into its free pool
      }
      assert.equal(sockets.size, 1, 'all requests should share one socket');
    } finally {
      agent.destroy();
    }
  });

  it('keep-alive on a raw socket: pipelined-free sequential requests', async () => {
    const { RawConn } = await import('./harness.mjs');
    const c = await RawConn.connect(gw.port);
    try {
      for (let i = 0; i < 3; i++) {
        await c.write(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: ka-${i}\r\n\r\n`);
        const r = await c.readResponse({ timeoutMs: 3000 });
        assert.ok(r, `no response to request ${i}`);
        assert.equal(r.status, 200);
        assert.equal(r.headers['x-request-id'], `ka-${i}`);
      }
      assert.equal(c.closed, false);
    } finally {
      c.destroy();
    }
  });

  it('HTTP/1.0 request without keep-alive gets a response and a close', async () => {
    const r = await rawRequest(gw.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    assert.equal(r.status, 200);
    assert.equal(r.closed, true);
  });

  // Issue 8 item 17 (RFC 9112 §3.2).
  for (const [what, head] of [
    ['missing', 'GET /healthz HTTP/1.1\r\n'],
    ['doubled', 'GET /healthz HTTP/1.1\r\nHost: a\r\nHost: a\r\n'],
    ['malformed', 'GET /healthz HTTP/1.1\r\nHost: a b/c@d\r\n'],
    ['a bad port', 'GET /healthz HTTP/1.1\r\nHost: gw:http\r\n'],
  ]) {
    it(`HTTP/1.1 with a ${what} Host → 400 bad_request and close`, async () => {
      const r = await rawRequest(gw.port, `${head}\r\n`);
      assert.equal(r.status, 400, r.body);
      assert.equal(errorOf(r).code, 'bad_request');
      assert.equal(errorOf(r).requestId, r.headers['x-request-id']);
      assert.equal(r.closed, true);
    });
  }

  // Issue 8 item 5: 20,000 made-up methods made 20,000 series and a 78 MiB /metrics.
  it('2,000 made-up methods add no metric series and are not echoed', async () => {
    const before = await request(gw.port, { path: '/metrics' });
    const { RawConn } = await import('./harness.mjs');
    const conns = await Promise.all([0, 1, 2, 3].map(() => RawConn.connect(gw.port)));
    try {
      await Promise.all(conns.map(async (c, k) => {
        for (let i = 0; i < 500; i++) {
          const m = `JUNK${k}X${i}${'Q'.repeat(200)}`;
          await c.write(`${m} ${i % 2 ? '/healthz' : '/nowhere'} HTTP/1.1\r\nHost: x\r\n\r\n`);
          const r = await c.readResponse({ timeoutMs: 3000 });
          assert.ok(r, `no answer to ${m}`);
          assert.equal(r.status, i % 2 ? 405 : 404);
          assert.ok(!r.body.includes('JUNK'), `the answer echoes the method: ${r.body}`);
        }
      }));
    } finally {
      for (const c of conns) c.destroy();
    }
    const after = await request(gw.port, { path: '/metrics' });
    assert.ok(!after.body.includes('JUNK'), 'a made-up method became a label');
    const methods = new Set(parseMetrics(after.body).filter((x) => x.labels.method).map((x) => x.labels.method));
    for (const m of methods) {
      assert.ok(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'TRACE', 'CONNECT', 'other', '-'].includes(m), m);
    }
    const grown = after.body.length - before.body.length;
    assert.ok(grown < 4096, `/metrics grew by ${grown} bytes`);
  });

  it('writes an access log line per request with the request id', async () => {
    const ids = ['access-ok-1', 'access-404-1', 'access-405-1'];
    await request(gw.port, { path: '/healthz', headers: { 'x-request-id': ids[0] } });
    await request(gw.port, { path: '/missing', headers: { 'x-request-id': ids[1] } });
    await request(gw.port, { method: 'DELETE', path: '/healthz', headers: { 'x-request-id': ids[2] } });
    for (const id of ids) {
      await waitFor(
        () => gw.logLines().some((l) => l.msg === 'access' && l.request_id === id),
        3000,
        { what: `access log for ${id}` },
      );
    }
  });

  it('never logs Authorization or Cookie values', async () => {
    const headers = {
      authorization: 'Bearer SECRET-TOKEN-123',
      cookie: 'session=SECRET-COOKIE-456',
      'x-request-id': 'secret-check-1',
    };
    await request(gw.port, { path: '/healthz', headers: { ...headers, 'x-request-id': 'secret-check-1' } });
    await request(gw.port, { path: '/missing', headers: { ...headers, 'x-request-id': 'secret-check-2' } });
    await request(gw.port, { method: 'DELETE', path: '/healthz', headers: { ...headers, 'x-request-id': 'secret-check-3' } });
    await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer SECRET-TOKEN-123\r\nCookie: session=SECRET-COOKIE-456\r\nX-Request-Id: secret-check-4\r\nConnection: close\r\n\r\n');
    await waitFor(
      () => gw.logLines().some((l) => l.msg === 'access' && l.request_id === 'secret-check-4'),
      3000,
      { what: 'access log for secret-check-4' },
    );
    const out = gw.logs();
    assert.ok(!out.includes('SECRET-TOKEN-123'), 'Authorization value leaked into logs');
    assert.ok(!out.includes('SECRET-COOKIE-456'), 'Cookie value leaked into logs');
  });
});
