// Request limits and timeouts: header size, body size, malformed requests, connection cap,
// slow headers, slow bodies, idle keep-alive connections. Requests to the invoke route carry a
// valid bearer token, so what decides their fate is the limit under test, never authentication.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, request, postJson, rawRequest,
  RawConn, errorOf, sleep, demoToken,
} from './harness.mjs';

const INVOKE = '/v1/agents/echo/invoke';

// The bearer token of the demo tenant's client, set once the gateway runs.
let token = '';
const authLine = () => `Authorization: Bearer ${token}\r\n`;

function postBytes(body, extraHeaders = '') {
  return `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extraHeaders}\r\n${body}`;
}

function jsonBodyOfSize(n) {
  const skeleton = JSON.stringify({ input: '' });
  return JSON.stringify({ input: 'a'.repeat(n - skeleton.length) });
}

function assertErrorResponse(r, status, code) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${String(r.body).slice(0, 200)}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assert.ok(r.headers['x-request-id'], 'X-Request-Id missing');
  const e = errorOf(r);
  assert.equal(e.code, code);
  assert.equal(e.requestId, r.headers['x-request-id']);
  assert.ok(Array.isArray(e.details));
}

// The gateway's resident memory in KiB (Linux).
function rssKiB(pid) {
  const m = fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(/^VmRSS:\s+(\d+) kB/m);
  return Number(m[1]);
}

// Streams `piece` on a raw connection until `totalBytes` are written, the gateway answered
// (stop then: a close with unread bytes resets the connection, which can drop the answer), or it
// stopped reading. Returns the connection and the bytes sent.
async function flood(port, head, piece, totalBytes) {
  const c = await RawConn.connect(port);
  await c.write(head);
  let sent = 0;
  while (sent < totalBytes && !c.closed && !c.error && c.buf.length === 0) {
    // write() resolves once the kernel took the bytes: a server that stops reading stops us.
    const ok = await Promise.race([c.write(piece), sleep(2000).then(() => false)]);
    if (!ok) break;
    sent += piece.length;
    await new Promise((r) => setImmediate(r));  // let the socket's reads run between writes
  }
  return { c, sent };
}

describe('limits', { timeout: 90000 }, () => {
  let dir;
  let agent;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-limits-');
    agent = await startAgent();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { body_timeout_ms: 800 } }),
      args: ['--demo', '--demo-agent', agent.url],
    });
    token = await demoToken(gw);
  });

  after(async () => {
    if (gw) await gw.stop();
    if (agent) await agent.stop();
    removeDir(dir);
  });

  it('a body within max_body_bytes is proxied (control)', async () => {
    const body = jsonBodyOfSize(500);
    const r = await rawRequest(gw.port, postBytes(body, 'Connection: close\r\n'));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json?.output?.echo, JSON.parse(body).input);
  });

  it('headers larger than max_header_bytes → 431 headers_too_large, then close', async () => {
    const big = 'a'.repeat(5000);
    const r = await rawRequest(gw.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${big}\r\n\r\n`);
    assertErrorResponse(r, 431, 'headers_too_large');
    assert.equal(r.closed, true, 'connection should be closed after 431');
  });

  it('many small headers adding up beyond max_header_bytes → 431', async () => {
    let hs = '';
    for (let i = 0; i < 100; i++) hs += `X-H${i}: ${'v'.repeat(50)}\r\n`;
    const r = await rawRequest(gw.port, `GET /healthz HTTP/1.1\r\nHost: x\r\n${hs}\r\n`);
    assertErrorResponse(r, 431, 'headers_too_large');
    assert.equal(r.closed, true);
  });

  it('headers just under max_header_bytes are accepted', async () => {
    const r = await rawRequest(gw.port, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: ${'p'.repeat(3000)}\r\nConnection: close\r\n\r\n`);
    assert.equal(r.status, 200);
  });

  it('body larger than max_body_bytes (Content-Length) → 413 body_too_large, then close', async () => {
    const r = await rawRequest(gw.port, postBytes(jsonBodyOfSize(2000)));
    assertErrorResponse(r, 413, 'body_too_large');
    assert.equal(r.closed, true, 'connection should be closed after 413');
  });

  it('announced Content-Length over the limit → 413 without waiting for the body', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      await c.write(`POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n`);
      const r = await c.readResponse({ timeoutMs: 2000 });
      assert.ok(r, 'no response before the body arrived');
      assertErrorResponse(r, 413, 'body_too_large');
      assert.equal(await c.waitClose(1500), true);
    } finally {
      c.destroy();
    }
  });

  it('chunked body larger than max_body_bytes → 413 body_too_large, then close', async () => {
    const part = 'a'.repeat(600);
    const chunks = `${(part.length).toString(16)}\r\n${part}\r\n`.repeat(3) + '0\r\n\r\n';
    const r = await rawRequest(
      gw.port,
      `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n${chunks}`,
    );
    assertErrorResponse(r, 413, 'body_too_large');
    assert.equal(r.closed, true);
  });

  it('chunked body within the limit is accepted', async () => {
    const body = JSON.stringify({ input: 'chunky' });
    const half = Math.floor(body.length / 2);
    const parts = [body.slice(0, half), body.slice(half)];
    const chunks = parts.map((p) => `${p.length.toString(16)}\r\n${p}\r\n`).join('') + '0\r\n\r\n';
    const r = await rawRequest(
      gw.port,
      `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}`,
    );
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json?.output?.echo, 'chunky');
  });

  // Issue 8 item 2: 150 MB of trailers were buffered whole (four connections: 3.8 GB of RSS).
  it('trailers streamed beyond max_header_bytes → 431 and close, RSS stays bounded', async () => {
    const before = rssKiB(gw.proc.pid);
    const head = `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\n` +
      'Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n';
    const piece = `X-Trailer: ${'t'.repeat(1000)}\r\n`.repeat(64);
    const { c, sent } = await flood(gw.port, head, piece, 64 << 20);
    try {
      const r = await c.readResponse({ timeoutMs: 3000 });
      assert.ok(r, `no answer after ${sent} bytes of trailers`);
      assertErrorResponse(r, 431, 'headers_too_large');
      assert.equal(await c.waitClose(4000), true, 'connection should be closed after 431');
    } finally {
      c.destroy();
    }
    const grown = rssKiB(gw.proc.pid) - before;
    assert.ok(grown < 16 * 1024, `RSS grew by ${grown} KiB while trailers streamed`);
  });

  it('a chunk extension streamed beyond max_header_bytes → 431 and close, RSS stays bounded', async () => {
    const before = rssKiB(gw.proc.pid);
    const head = `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\n` +
      'Transfer-Encoding: chunked\r\n\r\n2;ext=';
    const { c, sent } = await flood(gw.port, head, 'e'.repeat(65536), 64 << 20);
    try {
      const r = await c.readResponse({ timeoutMs: 3000 });
      assert.ok(r, `no answer after ${sent} bytes of chunk extension`);
      assertErrorResponse(r, 431, 'headers_too_large');
      assert.equal(await c.waitClose(4000), true);
    } finally {
      c.destroy();
    }
    const grown = rssKiB(gw.proc.pid) - before;
    assert.ok(grown < 16 * 1024, `RSS grew by ${grown} KiB while a chunk extension streamed`);
  });

  // Issue 8 item 6 (RFC 9112 §6.3): a Transfer-Encoding whose last coding is not chunked made
  // the gateway read no body and parse the body as a second request.
  for (const te of ['chunked, identity', 'gzip', 'xchunked', 'gzip\r\nTransfer-Encoding: chunked',
    'gzip\r\nContent-Length: 49']) {
    it(`Transfer-Encoding: ${JSON.stringify(te)} → 400 and close; the smuggled request is never answered`, async () => {
      const smuggled = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: smuggled\r\n\r\n';
      const c = await RawConn.connect(gw.port);
      try {
        await c.write(`POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\n` +
          `Transfer-Encoding: ${te}\r\n\r\n${smuggled}`);
        const r = await c.readResponse({ timeoutMs: 3000 });
        assert.ok(r, 'no answer');
        assertErrorResponse(r, 400, 'bad_request');
        assert.equal(await c.waitClose(3000), true, 'connection should be closed after the framing error');
        assert.equal(await c.readResponse({ timeoutMs: 200 }), null, 'a second response was sent');
        assert.ok(!c.buf.toString('latin1').includes('smuggled'), 'the smuggled request was answered');
      } finally {
        c.destroy();
      }
    });
  }

  // Issue 8 item 17: Beast waits for a CRLF a bare-LF chunk line never brings.
  it('a chunked body with bare LF line endings → 400 at once, not a hang', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      const t0 = Date.now();
      await c.write(`POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\n` +
        'Transfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n');
      const r = await c.readResponse({ timeoutMs: 3000 });
      const elapsed = Date.now() - t0;
      assert.ok(r, 'no answer');
      assertErrorResponse(r, 400, 'bad_request');
      assert.ok(elapsed < 400, `answered after ${elapsed} ms (body_timeout_ms is 800)`);
      assert.equal(await c.waitClose(3000), true);
    } finally {
      c.destroy();
    }
  });

  it('malformed HTTP → 400 bad_request, then close', async () => {
    const r = await rawRequest(gw.port, 'GARBAGE\r\n\r\n');
    assertErrorResponse(r, 400, 'bad_request');
    assert.equal(r.closed, true);
  });

  it('invalid header syntax → 400 bad_request, then close', async () => {
    const r = await rawRequest(gw.port, 'GET /healthz HTTP/1.1\r\nHost: x\r\nNo colon here\r\n\r\n');
    assertErrorResponse(r, 400, 'bad_request');
    assert.equal(r.closed, true);
  });

  it('the server is still healthy after the rejected requests', async () => {
    const r = await request(gw.port, { path: '/healthz' });
    assert.equal(r.status, 200);
  });

  it('slow headers: connection closed after ~header_timeout_ms (500)', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      const t0 = Date.now();
      await c.write('GET /healthz HTTP/1.1\r\n');
      const closed = await c.waitClose(500 + 1500);
      const elapsed = (c.closedAt ?? Date.now()) - t0;
      assert.equal(closed, true, `not closed within ${500 + 1500} ms`);
      assert.ok(elapsed >= 400, `closed too early: ${elapsed} ms`);
    } finally {
      c.destroy();
    }
  });

  it('slow headers trickled byte by byte are still cut at header_timeout_ms', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      const t0 = Date.now();
      const line = 'GET /healthz HTTP/1.1\r\nX-Slow: ' + 'z'.repeat(100);
      const trickle = (async () => {
        for (const ch of line) {
          if (c.closed) return;
          await c.write(ch);
          await sleep(50);
        }
      })();
      const closed = await c.waitClose(500 + 1500);
      const elapsed = (c.closedAt ?? Date.now()) - t0;
      assert.equal(closed, true, 'a slowloris client must not keep the connection open');
      assert.ok(elapsed >= 400, `closed too early: ${elapsed} ms`);
      await trickle;
    } finally {
      c.destroy();
    }
  });

  // Issue 8 item 17: the 408 was logged but never sent (Beast's stream closes the socket when
  // its expiry fires).
  it('slow body: 408 request_timeout after ~body_timeout_ms (800), then close', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      const t0 = Date.now();
      await c.write(`POST ${INVOKE} HTTP/1.1\r\nHost: x\r\n${authLine()}Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"input":`);
      const r = await c.readResponse({ timeoutMs: 800 + 1500 });
      assert.ok(r, 'the 408 was not sent');
      assertErrorResponse(r, 408, 'request_timeout');
      const closed = await c.waitClose(800 + 1500 + 2500);
      const elapsed = (c.closedAt ?? Date.now()) - t0;
      assert.equal(closed, true, `not closed within ${800 + 1500} ms`);
      assert.ok(elapsed >= 700, `closed too early: ${elapsed} ms`);
    } finally {
      c.destroy();
    }
  });

  // Issue 8 item 17: HTTP/1.0 has no chunked coding. A streamed (length-less) agent answer is
  // relayed to an HTTP/1.0 client delimited by the close. (The relay is src/net/proxy.cpp.)
  it('HTTP/1.0 client of a streamed agent answer: no chunked coding, body ends with the close', async () => {
    const body = JSON.stringify({ input: { text: 'x' }, mode: 'stream' });
    const c = await RawConn.connect(gw.port);
    let raw;
    try {
      await c.write(`POST ${INVOKE} HTTP/1.0\r\n${authLine()}Content-Type: application/json\r\n` +
        `Content-Length: ${body.length}\r\n\r\n${body}`);
      assert.equal(await c.waitClose(5000), true, 'an HTTP/1.0 answer without length must end with the close');
      raw = c.buf.toString('latin1');
    } finally {
      c.destroy();
    }
    assert.match(raw, /^HTTP\/1\.[01] 200 /, raw.slice(0, 200));
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    assert.doesNotMatch(head, /transfer-encoding/i, head);
    assert.match(raw, /chunk 0/);
    assert.doesNotMatch(raw.slice(head.length + 4), /^[0-9a-f]+\r\n/m, 'chunk framing in the body');
  });

  it('HTTP/1.0 client of a local answer: Content-Length, never chunked', async () => {
    for (const conn of ['', 'Connection: keep-alive\r\n']) {
      const r = await rawRequest(gw.port, `GET /healthz HTTP/1.0\r\n${conn}\r\n`, { closeWaitMs: 1500 });
      assert.equal(r.status, 200);
      assert.equal(r.headers['transfer-encoding'], undefined);
      assert.equal(r.headers['content-length'], String(Buffer.byteLength(r.body)));
      assert.equal(r.headers.connection?.toLowerCase(), conn ? 'keep-alive' : 'close');
    }
  });

  it('idle keep-alive connection closed after ~idle_timeout_ms (1000)', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
      const r = await c.readResponse({ timeoutMs: 3000 });
      assert.equal(r?.status, 200);
      const t0 = Date.now();
      const closed = await c.waitClose(1000 + 1500);
      const elapsed = (c.closedAt ?? Date.now()) - t0;
      assert.equal(closed, true, `idle connection not closed within ${1000 + 1500} ms`);
      assert.ok(elapsed >= 900, `idle connection closed too early: ${elapsed} ms (idle_timeout_ms is 1000)`);
    } finally {
      c.destroy();
    }
  });

  it('a keep-alive connection used within idle_timeout_ms stays open', async () => {
    const c = await RawConn.connect(gw.port);
    try {
      for (let i = 0; i < 3; i++) {
        await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        const r = await c.readResponse({ timeoutMs: 3000 });
        assert.equal(r?.status, 200, `request ${i}`);
        await sleep(600);
      }
      assert.equal(c.closed, false);
    } finally {
      c.destroy();
    }
  });
});

describe('connection cap', { timeout: 30000 }, () => {
  let dir;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-conncap-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_connections: 5, header_timeout_ms: 10000, idle_timeout_ms: 10000 } }),
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('connections beyond max_connections get 503 overloaded or are closed; existing ones keep working', async () => {
    const conns = [];
    try {
      // Five connections, each proven open by one request/response.
      for (let i = 0; i < 5; i++) {
        const c = await RawConn.connect(gw.port);
        conns.push(c);
        await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        const r = await c.readResponse({ timeoutMs: 3000 });
        assert.equal(r?.status, 200, `connection ${i} should be served`);
      }
      // Three more: each must be refused (503 overloaded, or closed straight away).
      const extras = [];
      for (let i = 0; i < 3; i++) {
        let c;
        try {
          c = await RawConn.connect(gw.port);
        } catch (e) {
          extras.push({ refused: true, error: e.code });
          continue;
        }
        conns.push(c);
        await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        const r = await c.readResponse({ timeoutMs: 2000 });
        const closed = await c.waitClose(2000);
        extras.push({ status: r?.status ?? null, code: r?.json?.error?.code, closed, response: r });
      }
      for (const [i, x] of extras.entries()) {
        if (x.refused) continue;
        assert.equal(x.closed, true, `extra connection ${i} should be closed: ${JSON.stringify(x)}`);
        assert.notEqual(x.status, 200, `extra connection ${i} was served`);
        if (x.status !== null) {
          assert.equal(x.status, 503, `extra connection ${i}: ${JSON.stringify(x)}`);
          assert.equal(x.code, 'overloaded');
          assert.equal(x.response.json.error.requestId, x.response.headers['x-request-id']);
        }
      }
      // The first five still work.
      for (let i = 0; i < 5; i++) {
        await conns[i].write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n');
        const r = await conns[i].readResponse({ timeoutMs: 3000 });
        assert.equal(r?.status, 200, `existing connection ${i} should keep working`);
      }
    } finally {
      for (const c of conns) c.destroy();
    }
    // Once they are gone, new connections are served again.
    const r = await (async () => {
      const deadline = Date.now() + 3000;
      for (;;) {
        try {
          const x = await request(gw.port, { path: '/healthz', timeoutMs: 1000 });
          if (x.status === 200 || Date.now() > deadline) return x;
        } catch (e) {
          if (Date.now() > deadline) throw e;
        }
        await sleep(100);
      }
    })();
    assert.equal(r.status, 200);
  });
});
