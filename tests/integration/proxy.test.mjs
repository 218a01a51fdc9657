// The demo proxy route against a real example-agent process: forwarding, header hygiene,
// request ids, SSE relay, upstream failures, client aborts, access logs. Every call carries a
// bearer token of the demo tenant's machine client (the invoke route requires one).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, request, postJson, rawRequest,
  errorOf, waitFor, sleep, closedPort, getMetrics, withTimeout, demoToken, bearer,
} from './harness.mjs';

const INVOKE = '/v1/agents/echo/invoke';

// Streams a POST and records when each SSE event arrives.
// Resolves {status, headers, headersAt, events:[{at, event, data}], endedAt}.
function streamEvents(port, bodyObj, { headers = {}, timeoutMs = 10000, abortAfterEvents } = {}) {
  const body = JSON.stringify(bodyObj);
  return new Promise((resolve, reject) => {
    const out = { status: null, headers: null, headersAt: null, events: [], endedAt: null, aborted: false, framingError: undefined };
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: INVOKE, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
    }, (res) => {
      out.status = res.statusCode;
      out.headers = res.headers;
      out.headersAt = Date.now();
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d) => {
        const now = Date.now();
        buf += d.replace(/\r\n/g, '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const ev = { at: now, event: 'message', data: '' };
          const dataLines = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event:')) ev.event = line.slice(6).trim();
            else if (line.startsWith('data:')) dataLines.push(line.slice(5).replace(/^ /, ''));
          }
          if (!dataLines.length && ev.event === 'message') continue; // comment / keep-alive
          ev.data = dataLines.join('\n');
          out.events.push(ev);
          if (abortAfterEvents && out.events.length >= abortAfterEvents) {
            out.aborted = true;
            req.destroy();
            clearTimeout(timer);
            resolve(out);
            return;
          }
        }
      });
      res.on('end', () => { out.endedAt = Date.now(); clearTimeout(timer); resolve(out); });
      res.on('error', (e) => { if (!out.aborted) { clearTimeout(timer); reject(e); } });
    });
    const timer = setTimeout(() => req.destroy(new Error(`stream timed out after ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      if (out.aborted) return;
      clearTimeout(timer);
      if (String(e.code).startsWith('HPE_') && out.status !== null) {
        // Malformed framing after the head: keep what arrived, let the test assert on it.
        const raw = e.rawPacket ? JSON.stringify(e.rawPacket.toString('latin1').slice(0, 300)) : '';
        out.framingError = `gateway sent malformed HTTP after ${out.events.length} event(s): ${e.code} ${e.message}; bytes: ${raw}`;
        out.endedAt = Date.now();
        resolve(out);
      } else {
        reject(e);
      }
    });
    req.end(body);
  });
}

describe('proxy to the demo agent', { timeout: 90000 }, () => {
  let dir;
  let agent;
  let gw;
  let token;
  let auth;

  before(async () => {
    dir = makeTempDir('portcullis-proxy-');
    agent = await startAgent();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 } }),
      args: ['--demo', '--demo-agent', agent.url],
    });
    token = await demoToken(gw);
    auth = bearer(token);
  });

  after(async () => {
    if (gw) await gw.stop();
    if (agent) await agent.stop();
    removeDir(dir);
  });

  it('without a bearer token the invoke route answers 401', async () => {
    const r = await postJson(gw.port, INVOKE, { input: 'no-token' }, { headers: { 'x-request-id': 'no-token-1' } });
    assert.equal(r.status, 401, r.body);
    assert.equal(errorOf(r).code, 'unauthenticated');
    assert.match(r.headers['www-authenticate'] ?? '', /^Bearer realm="portcullis"/);
    assert.equal(r.json.output, undefined, 'the agent answered a call without a token');
  });

  it('the example agent itself answers /ping and /invocations (sanity)', async () => {
    const p = await request(agent.port, { path: '/ping' });
    assert.equal(p.status, 200);
    assert.deepEqual(p.json, { status: 'Healthy' });
    const r = await postJson(agent.port, '/invocations', { input: 'direct' });
    assert.equal(r.status, 200);
    assert.equal(r.json.output.echo, 'direct');
  });

  it('forwards the body and returns the upstream status and JSON', async () => {
    const input = { text: 'hello', n: [1, 2, 3], nested: { ok: true, s: 'ünïcødé' } };
    const r = await postJson(gw.port, INVOKE, { input }, { headers: auth });
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    assert.deepEqual(r.json.output.echo, input);
    assert.equal(typeof r.json.usage?.inputTokens, 'number');
    assert.equal(typeof r.json.usage?.outputTokens, 'number');
    assert.equal(typeof r.json.output.headers, 'object');
    assert.equal(r.json.status, 'succeeded');  // the SPEC §5 answer (docs/agent-runtime-contract.md)
    assert.ok(r.headers['x-request-id']);
  });

  it('odd spacing and key order: the input reaches the runtime as the same JSON value', async () => {
    // The gateway builds the runtime's body (docs/agent-runtime-contract.md), so the input
    // arrives as the same value, not the same bytes.
    const body = '{ "input" :  { "b": 2,  "a": 1 }   ,  "mode" :"sync"  }';
    const r = await request(gw.port, {
      method: 'POST', path: INVOKE, body,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...auth },
    });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.output.echo, { b: 2, a: 1 });
  });

  it('relays an upstream error status (invalid JSON → 400)', async () => {
    const body = '{"input": nope';
    const r = await request(gw.port, {
      method: 'POST', path: INVOKE, body,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...auth },
    });
    assert.equal(r.status, 400, r.body);
    assert.ok(r.headers['x-request-id']);
  });

  it('forwards X-Request-Id (given and generated) and sets X-Forwarded-For', async () => {
    const a = await postJson(gw.port, INVOKE, { input: 1 }, { headers: { 'x-request-id': 'fwd-req-42', ...auth } });
    assert.equal(a.status, 200);
    assert.equal(a.headers['x-request-id'], 'fwd-req-42');
    assert.equal(a.json.output.headers['x-request-id'], 'fwd-req-42');
    assert.match(a.json.output.headers['x-forwarded-for'] ?? '', /127\.0\.0\.1/);

    const b = await postJson(gw.port, INVOKE, { input: 2 }, { headers: auth });
    assert.equal(b.status, 200);
    assert.match(b.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/);
    assert.equal(b.json.output.headers['x-request-id'], b.headers['x-request-id']);

    const c = await postJson(gw.port, INVOKE, { input: 3 }, { headers: { 'x-request-id': 'bad id with spaces', ...auth } });
    assert.equal(c.status, 200);
    assert.match(c.headers['x-request-id'] ?? '', /^[0-9a-f]{32}$/);
    assert.equal(c.json.output.headers['x-request-id'], c.headers['x-request-id']);
  });

  it('never forwards Authorization, Cookie or hop-by-hop headers', async () => {
    const body = JSON.stringify({ input: 'hop' });
    const req =
      `POST ${INVOKE} HTTP/1.1\r\n` +
      'Host: gateway.test\r\n' +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${body.length}\r\n` +
      `Authorization: Bearer ${token}\r\n` +
      'Cookie: session=SECRET-COOKIE-456\r\n' +
      'Connection: keep-alive, X-Drop-Me\r\n' +
      'Keep-Alive: timeout=5, max=100\r\n' +
      'TE: trailers\r\n' +
      'Upgrade: x-test-proto/1\r\n' +
      'Proxy-Connection: keep-alive\r\n' +
      'X-Drop-Me: must-not-arrive\r\n' +
      'X-Keep-Me: should-arrive\r\n' +
      'X-Request-Id: hop-by-hop-1\r\n' +
      `\r\n${body}`;
    const r = await rawRequest(gw.port, req, { waitClose: false });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json?.output?.echo, 'hop');
    const up = r.json.output.headers;
    for (const h of ['authorization', 'cookie', 'keep-alive', 'te', 'upgrade', 'proxy-connection', 'x-drop-me', 'transfer-encoding']) {
      assert.ok(!(h in up), `${h} reached the upstream: ${JSON.stringify(up[h])}`);
    }
    if ('connection' in up) {
      // The gateway may set its own Connection header for the upstream hop, but not copy ours.
      assert.doesNotMatch(up.connection, /x-drop-me/i, 'inbound Connection header was forwarded');
    }
    assert.equal(up['x-request-id'], 'hop-by-hop-1');
    assert.match(up['x-forwarded-for'] ?? '', /127\.0\.0\.1/);
    const all = JSON.stringify(up);
    assert.ok(!all.includes(token), 'the caller\'s bearer token reached the upstream');
    assert.ok(!all.includes(token.split('.')[2]), 'the caller\'s token signature reached the upstream');
    assert.ok(!all.includes('SECRET-COOKIE-456'));
  });

  it('a chunked request body is forwarded without the inbound Transfer-Encoding', async () => {
    const body = JSON.stringify({ input: { chunked: true } });
    const parts = [body.slice(0, 7), body.slice(7)];
    const chunks = parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
    const r = await rawRequest(
      gw.port,
      `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}`,
    );
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.output.echo, { chunked: true });
  });

  it('SSE: events are relayed as they are produced, not buffered', async () => {
    const s = await streamEvents(gw.port, { input: { text: 'x', stream_events: 5, stream_interval_ms: 300 }, mode: 'stream' }, { headers: auth });
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.ok(s.headers['x-request-id']);
    const data = s.events.filter((e) => e.event !== 'done');
    assert.equal(data.length, 5, `events: ${JSON.stringify(s.events)}`);
    data.forEach((e, i) => {
      const d = JSON.parse(e.data);
      assert.equal(d.index, i);
      assert.equal(d.text, `chunk ${i}`);
    });
    for (let i = 1; i < data.length; i++) assert.ok(data[i].at >= data[i - 1].at);
    const firstDelay = data[0].at - s.headersAt;
    const spread = data[4].at - data[0].at;
    assert.ok(firstDelay <= 250, `first event ${firstDelay} ms after headers (buffered?)`);
    assert.ok(spread >= 900, `events arrived within ${spread} ms of each other (buffered until the end?)`);
    const done = s.events[s.events.length - 1];
    assert.equal(done.event, 'done');
    assert.ok(s.endedAt, 'stream did not end');
    assert.equal(s.framingError, undefined);
  });

  it('SSE: the relayed response is well framed and the connection stays usable', async () => {
    const { RawConn } = await import('./harness.mjs');
    const c = await RawConn.connect(gw.port);
    try {
      const body = JSON.stringify({ input: { text: 'f', stream_events: 2, stream_interval_ms: 10 }, mode: 'stream' });
      await c.write(`POST ${INVOKE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
      const r = await c.readResponse({ timeoutMs: 3000 });
      assert.equal(r?.status, 200);
      assert.match(r.body, /chunk 1/);
      assert.match(r.body, /event: done/);
      await sleep(100);
      assert.equal(c.buf.length, 0, `bytes after the end of the streamed response: ${JSON.stringify(c.buf.toString('latin1'))}`);
      if (!c.closed) {
        await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        const h = await c.readResponse({ timeoutMs: 3000 });
        assert.equal(h?.status, 200, 'keep-alive connection unusable after a streamed response');
      }
    } finally {
      c.destroy();
    }
  });

  it('SSE: Accept: text/event-stream selects streaming too', async () => {
    const s = await streamEvents(
      gw.port,
      { input: { text: 'y', stream_events: 2, stream_interval_ms: 100 } },
      { headers: { accept: 'text/event-stream', ...auth } },
    );
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'] ?? '', /^text\/event-stream/);
    const data = s.events.filter((e) => e.event !== 'done');
    assert.equal(data.length, 2);
    assert.equal(s.events.at(-1).event, 'done');
    assert.equal(s.framingError, undefined);
  });

  it('client abort mid-stream: the gateway stays healthy and keeps serving', async () => {
    const s = await streamEvents(gw.port, { input: { text: 'z', stream_events: 50, stream_interval_ms: 100 }, mode: 'stream' }, { abortAfterEvents: 2, headers: auth });
    assert.equal(s.status, 200);
    assert.equal(s.aborted, true);
    await sleep(200);
    const h = await request(gw.port, { path: '/healthz' });
    assert.equal(h.status, 200);
    const r = await postJson(gw.port, INVOKE, { input: 'after-abort' }, { headers: auth });
    assert.equal(r.status, 200);
    assert.equal(r.json.output.echo, 'after-abort');
  });

  it('client abort while waiting for the upstream: the gateway stays healthy and keeps serving', async () => {
    const body = JSON.stringify({ input: { text: 'w', delay_ms: 800 } });
    await new Promise((resolve) => {
      const req = http.request({
        host: '127.0.0.1', port: gw.port, method: 'POST', path: INVOKE, agent: false,
        headers: { 'content-type': 'application/json', 'content-length': body.length, ...auth },
      });
      req.on('error', () => resolve());
      req.on('response', () => resolve());
      req.end(body);
      setTimeout(() => { req.destroy(); resolve(); }, 200);
    });
    await sleep(100);
    const h = await request(gw.port, { path: '/healthz' });
    assert.equal(h.status, 200);
    const r = await postJson(gw.port, INVOKE, { input: 'after-abort-2' }, { headers: auth });
    assert.equal(r.status, 200);
    assert.equal(r.json.output.echo, 'after-abort-2');
    // After the aborted call has run its course the gateway still serves streams too.
    await sleep(800);
    const s = await streamEvents(gw.port, { input: { text: 'q', stream_events: 2, stream_interval_ms: 50 }, mode: 'stream' }, { headers: auth });
    assert.equal(s.status, 200);
    assert.equal(s.events.filter((e) => e.event !== 'done').length, 2);
  });

  it('many concurrent proxied calls all succeed', async () => {
    const rs = await Promise.all(Array.from({ length: 10 }, (_, i) => postJson(gw.port, INVOKE, { input: { n: i, delay_ms: 100 } }, { headers: auth })));
    rs.forEach((r, i) => {
      assert.equal(r.status, 200);
      assert.deepEqual(r.json.output.echo, { n: i, delay_ms: 100 });
    });
  });

  it('access log line for proxied requests; secrets never logged', async () => {
    const r = await postJson(gw.port, INVOKE, { input: 'logged' }, {
      headers: {
        'x-request-id': 'proxy-access-1',
        authorization: `Bearer ${token}`,
        cookie: 'session=SECRET-COOKIE-456',
      },
    });
    assert.equal(r.status, 200);
    // A refused token must not be logged either.
    const bad = await postJson(gw.port, INVOKE, { input: 'refused' }, {
      headers: { 'x-request-id': 'proxy-access-2', authorization: 'Bearer SECRET-TOKEN-123' },
    });
    assert.equal(bad.status, 401);
    await waitFor(
      () => ['proxy-access-1', 'proxy-access-2'].every((id) => gw.logLines().some((l) => l.msg === 'access' && l.request_id === id)),
      3000,
      { what: 'access logs for proxy-access-1 and -2' },
    );
    const out = gw.logs();
    assert.ok(!out.includes(token.split('.')[2]), 'Authorization value (a valid token) leaked into logs');
    assert.ok(!out.includes('SECRET-TOKEN-123'), 'Authorization value (a refused token) leaked into logs');
    assert.ok(!out.includes('SECRET-COOKIE-456'), 'Cookie value leaked into logs');
  });
});

describe('upstream timeout', { timeout: 30000 }, () => {
  let dir;
  let agent;
  let gw;
  let auth;

  before(async () => {
    dir = makeTempDir('portcullis-uptimeout-');
    agent = await startAgent();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { upstream: { response_timeout_ms: 1000 } }),
      args: ['--demo', '--demo-agent', agent.url],
    });
    auth = bearer(await demoToken(gw));
  });

  after(async () => {
    if (gw) await gw.stop();
    if (agent) await agent.stop();
    removeDir(dir);
  });

  it('upstream slower than response_timeout_ms → 504 upstream_timeout', async () => {
    const t0 = Date.now();
    const r = await postJson(gw.port, INVOKE, { input: { text: 'slow', delay_ms: 3000 } }, { timeoutMs: 6000, headers: { 'x-request-id': 'timeout-1', ...auth } });
    const took = Date.now() - t0;
    assert.equal(r.status, 504, r.body);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    const e = errorOf(r);
    assert.equal(e.code, 'upstream_timeout');
    assert.equal(e.requestId, 'timeout-1');
    assert.ok(took >= 900 && took < 2900, `504 after ${took} ms (response_timeout_ms is 1000)`);

    const m = await getMetrics(gw.port);
    const errs = m.samples.filter((s) => s.name === 'portcullis_upstream_errors_total');
    assert.ok(errs.length > 0 && errs.some((s) => s.value >= 1), 'portcullis_upstream_errors_total missing after a timeout');
  });

  it('the gateway survives the late upstream answer and keeps serving', async () => {
    // The upstream of the timed-out call answers ~3 s after it started.
    await sleep(2500);
    assert.equal(gw.exitInfo(), null, `gateway died: ${JSON.stringify(gw.exitInfo())}\n${gw.logs().slice(-1500)}`);
    const h = await request(gw.port, { path: '/healthz' });
    assert.equal(h.status, 200);
    const r = await postJson(gw.port, INVOKE, { input: 'after-timeout' }, { headers: auth });
    assert.equal(r.status, 200);
    assert.equal(r.json.output.echo, 'after-timeout');
  });

  it('the timed-out request has an access log line', async () => {
    await waitFor(
      () => gw.logLines().some((l) => l.msg === 'access' && l.request_id === 'timeout-1'),
      3000,
      { what: 'access log for the timed-out request' },
    );
  });
});

describe('upstream down', { timeout: 30000 }, () => {
  let dir;
  let gw;
  let auth;

  before(async () => {
    dir = makeTempDir('portcullis-updown-');
    const port = await closedPort();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir),
      args: ['--demo', '--demo-agent', `http://127.0.0.1:${port}`],
    });
    auth = bearer(await demoToken(gw));
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('nothing listening upstream → 502 upstream_unavailable, counted in metrics', async () => {
    const r = await withTimeout(postJson(gw.port, INVOKE, { input: 'x' }, { headers: { 'x-request-id': 'down-1', ...auth } }), 5000, 'proxied call');
    assert.equal(r.status, 502, r.body);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    const e = errorOf(r);
    assert.equal(e.code, 'upstream_unavailable');
    assert.equal(e.requestId, 'down-1');
    assert.equal(r.headers['x-request-id'], 'down-1');
    assert.ok(Array.isArray(e.details));

    const m = await getMetrics(gw.port);
    const errs = m.samples.filter((s) => s.name === 'portcullis_upstream_errors_total');
    assert.ok(errs.some((s) => s.value >= 1), `portcullis_upstream_errors_total missing: ${m.body.split('\n').filter((l) => l.includes('upstream')).join('\n')}`);
    const h = await request(gw.port, { path: '/healthz' });
    assert.equal(h.status, 200);
  });

  it('streaming request to a dead upstream → 502 JSON error as well', async () => {
    const r = await postJson(gw.port, INVOKE, { input: 'x', mode: 'stream' }, { headers: { accept: 'text/event-stream', ...auth } });
    assert.equal(r.status, 502);
    assert.equal(errorOf(r).code, 'upstream_unavailable');
  });
});

// A hand-written upstream, byte by byte, for the relay's handling of what the upstream sends:
// hop-by-hop fields (also those named in Connection), its own X-Request-Id, a known length.
// The gateway pings every promoted agent's runtime (GET /ping on a connection of its own, see
// agents/agent_health.h); raw upstreams here answer it apart from the traffic they script and count.
function answerPing(sock, head) {
  if (!head.startsWith('GET /ping ')) return false;
  sock.end('HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  return true;
}

describe('response relay from a raw upstream', { timeout: 30000 }, () => {
  let dir;
  let gw;
  let auth;
  let upstream;
  let connections = 0;
  let requests = 0;
  const body = '{"ok":true}';

  before(async () => {
    const net = await import('node:net');
    upstream = net.createServer((sock) => {
      // Only the gateway's invocations count: the agent health checker's GET /ping comes on a
      // connection of its own.
      let counted = false;
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const head = buf.slice(0, end);
          const m = head.match(/content-length:\s*(\d+)/i);
          const len = m ? Number(m[1]) : 0;
          if (buf.length < end + 4 + len) return;
          buf = buf.slice(end + 4 + len);
          if (head.startsWith('POST /invocations')) {
            requests++;
            if (!counted) { counted = true; connections++; }
          }
          sock.write('HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n' +
            `Content-Length: ${body.length}\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\n` +
            'Keep-Alive: timeout=5\r\nX-Request-Id: upstream-id\r\nX-Custom: yes\r\n\r\n' + body);
        }
      });
      sock.on('error', () => {});
    });
    await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
    dir = makeTempDir('portcullis-rawup-');
    gw = await startGateway({
      dir,
      // One worker: each worker keeps its own upstream pool, and reuse is what is checked here.
      config: gatewayConfig(dir, { extraServer: { threads: 1 } }),
      args: ['--demo', '--demo-agent', `http://127.0.0.1:${upstream.address().port}`],
    });
    auth = bearer(await demoToken(gw));
  });

  after(async () => {
    if (gw) await gw.stop();
    if (upstream) await new Promise((r) => upstream.close(r));
    removeDir(dir);
  });

  it('relays status, body and end-to-end fields; drops hop-by-hop ones; sets our X-Request-Id and length; pools the connection', async () => {
    for (let i = 0; i < 3; i++) {
      // mode stream: the relay (sync answers are rebuilt in the SPEC shape, docs/agent-runtime-contract.md).
      const r = await postJson(gw.port, INVOKE, { input: i, mode: 'stream' }, { headers: { ...auth, 'x-request-id': `relay-${i}` } });
      assert.equal(r.status, 201);
      assert.equal(r.body, body);
      assert.equal(r.headers['content-length'], String(body.length));
      assert.equal(r.headers['content-type'], 'application/json');
      assert.equal(r.headers['x-custom'], 'yes');
      assert.equal(r.headers['x-request-id'], `relay-${i}`);
      assert.equal(r.headers['x-hop'], undefined, 'a field named in Connection crossed the proxy');
      assert.equal(r.headers['keep-alive'], undefined, 'Keep-Alive crossed the proxy');
    }
    assert.equal(requests, 3);
    assert.equal(connections, 1, `the upstream connection was not reused (${connections} connections)`);
  });
});

// An upstream that answers each request it reads with exactly the scripted bytes, as an agent
// that misbehaves would: interim heads, bodies where none may be, odd statuses, a close instead of
// an answer. One worker thread, so every call shares one upstream pool. Calls alternate between
// the two demo tenants: whatever one tenant's call leaves on a pooled connection, the other
// tenant's next call would read.
describe('scripted upstream: every caller gets its own answer', { timeout: 60000 }, () => {
  let dir;
  let gw;
  let upstream;
  let script = [];
  let seen = [];
  let connections = 0;
  const tenants = {};
  const ok = (body) => `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;

  before(async () => {
    const net = await import('node:net');
    upstream = net.createServer((sock) => {
      // Only the gateway's invocations count: the agent health checker's GET /ping comes on a
      // connection of its own.
      let counted = false;
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString('latin1');
        for (;;) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          const m = buf.slice(0, end).match(/content-length:\s*(\d+)/i);
          const len = m ? Number(m[1]) : 0;
          if (buf.length < end + 4 + len) return;
          // The gateway's health checker must not take a scripted answer.
          if (answerPing(sock, buf.slice(0, end))) { connections--; return; }
          seen.push(buf.slice(0, end + 4 + len));
          buf = buf.slice(end + 4 + len);
          const reply = script.shift() ?? { closeInstead: true };
          if (reply.closeInstead) { sock.destroy(); return; }
          sock.write(reply.bytes);
        }
      });
      sock.on('error', () => {});
    });
    await new Promise((r) => upstream.listen(0, '127.0.0.1', r));
    dir = makeTempDir('portcullis-scripted-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { extraServer: { threads: 1 } }),
      args: ['--demo', '--demo-agent', `http://127.0.0.1:${upstream.address().port}`],
    });
    tenants.demo = bearer(await demoToken(gw, 'demo'));
    tenants.acme = bearer(await demoToken(gw, 'acme'));
  });

  after(async () => {
    if (gw) await gw.stop();
    if (upstream) await new Promise((r) => upstream.close(r));
    removeDir(dir);
  });

  const invoke = (tenant, input, headers = {}) =>
    // mode stream: relayed as the upstream sends it (what these misbehaving upstreams test).
    postJson(gw.port, INVOKE, { input, mode: 'stream' }, { headers: { ...tenants[tenant], ...headers } });

  it('an agent answering 103 Early Hints first: the interim head is skipped, the other tenant gets its own answer', async () => {
    script = [
      { bytes: 'HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n' + ok('{"output":"for demo"}') },
      { bytes: ok('{"output":"for acme"}') },
    ];
    const a = await invoke('demo', 'a');
    assert.equal(a.status, 200, a.body);
    assert.equal(a.json.output, 'for demo');
    const b = await invoke('acme', 'b');
    assert.equal(b.status, 200, b.body);
    assert.equal(b.json.output, 'for acme', 'acme received the answer meant for demo');
  });

  it('204 with body bytes, and 100 Continue before the answer: nothing shifts to the next caller', async () => {
    script = [
      { bytes: 'HTTP/1.1 204 No Content\r\n\r\n' + ok('{"output":"leaked"}') },
      { bytes: 'HTTP/1.1 100 Continue\r\n\r\n' + ok('{"output":"for acme"}') },
      { bytes: ok('{"output":"for demo"}') },
    ];
    const a = await invoke('demo', 'a');
    assert.equal(a.status, 204);
    const b = await invoke('acme', 'b');
    assert.equal(b.json?.output, 'for acme', b.body);
    const c = await invoke('demo', 'c');
    assert.equal(c.json?.output, 'for demo', c.body);
  });

  it('statuses outside 100..599 and 101 are 502 upstream_bad_response, never relayed', async () => {
    for (const status of ['000', '999', '101']) {
      script = [{ bytes: `HTTP/1.1 ${status} Odd\r\nContent-Length: 2\r\n\r\nhi` }];
      const r = await invoke('demo', status, { 'x-request-id': `odd-${status}` });
      assert.equal(r.status, 502, `${status}: ${r.body}`);
      assert.equal(errorOf(r).code, 'upstream_bad_response');
      assert.equal(errorOf(r).requestId, `odd-${status}`);
    }
    script = [{ bytes: ok('{"output":"fine"}') }];
    assert.equal((await invoke('acme', 'after')).json?.output, 'fine');
  });

  it('a POST invoke lost on a reused connection reaches the agent once (502, not a second run)', async () => {
    script = [{ bytes: ok('{"output":"first"}') }];
    assert.equal((await invoke('demo', 'warm')).json?.output, 'first');
    seen = [];
    script = [{ closeInstead: true }, { bytes: ok('{"output":"ran twice"}') }];
    const r = await invoke('demo', 'charge-once', { 'x-request-id': 'post-once' });
    assert.equal(r.status, 502, r.body);
    assert.equal(errorOf(r).code, 'upstream_bad_response');
    assert.equal(seen.filter((s) => s.includes('charge-once')).length, 1, 'the invoke reached the agent twice');
    script = [];
  });

  it('client-address claims (X-Real-IP, True-Client-IP, CF-Connecting-IP, X-Client-IP) never reach the agent', async () => {
    seen = [];
    script = [{ bytes: ok('{"output":"ip"}') }];
    const r = await invoke('demo', 'ip', {
      'x-real-ip': '10.6.6.1', 'true-client-ip': '10.6.6.2', 'cf-connecting-ip': '10.6.6.3', 'x-client-ip': '10.6.6.4',
      'x-forwarded-for': '10.6.6.5',
    });
    assert.equal(r.status, 200, r.body);
    assert.equal(seen.length, 1);
    assert.ok(!seen[0].includes('10.6.6.'), `a client-supplied address reached the agent:\n${seen[0]}`);
    assert.match(seen[0], /\r\nX-Forwarded-For: 127\.0\.0\.1\r\n/);
  });
});
