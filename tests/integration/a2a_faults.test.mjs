// Faults on both sides of the A2A proxy (issue 11, docs/a2a.md): the runtime (@a2a-js/sdk server,
// support/a2a_runtime.mjs) dies mid-stream — the client gets a final A2A error event and a clean
// end, the record says failed; the runtime stops answering card fetches — the last card is served
// for at most a2a.card_max_stale_seconds, then a clear card_stale error; bodies over
// server.limits.max_body_bytes are 413 before anything is parsed; malformed JSON-RPC gets the
// JSON-RPC error codes and never reaches the runtime; raw-socket clients that trickle, lie about
// their length or hang up mid-stream are cut off within the configured timeouts while everyone
// else is served.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, bearer, demoToken, adminToken, waitFor, sleep,
  RawConn, rawRequest,
} from './harness.mjs';
import { userMessage, rpc, rpcStream, streamPayload, registerAgent, waitAgentsVisible, waitCard } from './support/a2a_raw.mjs';
import { startA2aRuntime } from './support/a2a_runtime.mjs';

const MAX_BODY = 65536;
const CARD_REFRESH_S = 1;
const CARD_MAX_STALE_S = 3;

describe('A2A faults: runtime death, stale cards, oversized and malformed requests, abusive clients', { timeout: 120000 }, () => {
  let dir;
  let gw;
  let tok;
  let adm;
  const rt = {};

  before(async () => {
    dir = makeTempDir('portcullis-a2a-faults-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: MAX_BODY, header_timeout_ms: 1000, idle_timeout_ms: 2000, body_timeout_ms: 3000, max_connections: 64 },
        upstream: { response_timeout_ms: 10000 },
        extra: { a2a: { card_refresh_seconds: CARD_REFRESH_S, card_max_stale_seconds: CARD_MAX_STALE_S } },
      }),
      args: ['--demo'],
    });
    tok = await demoToken(gw);
    adm = await adminToken(gw);
    for (const name of ['faulty', 'mortal']) {
      rt[name] = await startA2aRuntime({ agent: name, gateway: gw.baseUrl });
      await registerAgent(gw, adm, name, rt[name].url);
    }
    await waitAgentsVisible(gw, tok, Object.keys(rt));
    // The cards are not awaited here: a missing /a2a route fails each test, not the whole suite.
  });

  after(async () => {
    if (gw) await gw.stop();
    for (const r of Object.values(rt)) await r.stop();
    removeDir(dir);
  });

  const healthy = async () => {
    const r = await rpc(gw, 'faulty', 'SendMessage', { message: userMessage('echo still here') }, { token: tok });
    assert.equal(r.status, 200, r.body);
    assert.ok(r.json?.result?.task, `the gateway no longer serves: ${r.body.slice(0, 300)}`);
  };

  it('the runtime dies mid-stream: the client gets the events so far, a final A2A error and a clean end; the record says failed', async () => {
    const s = await rpcStream(gw, 'faulty', 'SendStreamingMessage', { message: userMessage('crash 2') }, { token: tok, timeoutMs: 10000, id: 41 });
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'] ?? '', /^text\/event-stream/);
    assert.equal(s.ended, 'end', `the stream did not end cleanly (${s.ended}); events: ${JSON.stringify(s.events).slice(0, 400)}`);
    const payloads = s.events.map(streamPayload);
    assert.equal(payloads[0]?.kind, 'task', `first event: ${JSON.stringify(s.events[0])}`);
    assert.ok(payloads.filter((p) => p?.kind === 'artifact').length >= 1, 'no event before the crash was relayed');
    const last = s.events.at(-1);
    assert.ok(last.json?.error, `the stream ended without a final error event: ${JSON.stringify(last)}`);
    assert.equal(last.json.id, 41, 'the error answers the request id');
    assert.equal(typeof last.json.error.code, 'number');
    assert.ok(!payloads.some((p) => p?.state === 'TASK_STATE_COMPLETED'), 'a crashed task reported completed');
    const taskId = payloads[0].id;
    // The invocation record of that message says it failed (operators' metadata, no content).
    const rec = await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/tenants/demo/invocations?agent=faulty&limit=100', headers: bearer(adm) });
      const rows = (r.json?.invocations ?? []).filter((x) => x.mode === 'a2a' || x.agent === 'faulty');
      // This is the first message to `faulty`: its only record, if the row names neither id.
      return rows.find((x) => x.requestId === s.headers['x-request-id'] || JSON.stringify(x).includes(taskId))
        ?? (rows.length === 1 ? rows[0] : null);
    }, 5000, { interval: 100, what: 'the crashed stream\'s record' });
    assert.match(String(rec.status), /fail|broken|error/i, `the record of a crashed stream: ${JSON.stringify(rec)}`);
    await healthy();
  });

  it('oversized body: 413 before the runtime is called; the connection stays usable or closes cleanly', async () => {
    const calls = rt.faulty.requests.length;
    const big = 'x'.repeat(MAX_BODY + 1024);
    const r = await rpc(gw, 'faulty', 'SendMessage', { message: userMessage(`echo ${big}`) }, { token: tok });
    assert.equal(r.status, 413, `${r.status}: ${r.body.slice(0, 300)}`);
    // A lying chunked body is cut at the limit as well.
    const raw = await rawRequest(gw.port, `POST /a2a/faulty HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/json\r\n`
      + `Transfer-Encoding: chunked\r\nA2A-Version: 1.0\r\n\r\n${(MAX_BODY + 10).toString(16)}\r\n${'y'.repeat(MAX_BODY + 10)}\r\n0\r\n\r\n`);
    assert.equal(raw.status, 413, `chunked: ${raw.status} ${String(raw.body).slice(0, 200)}`);
    assert.equal(rt.faulty.requests.length, calls, 'an oversized body reached the runtime');
    await healthy();
  });

  it('malformed JSON-RPC: parse error, invalid request, unknown method, bad params, unsupported A2A-Version; the runtime never sees them', async () => {
    const calls = rt.faulty.requests.length;
    const send = (body, headers = {}) => request(gw.port, { method: 'POST', path: '/a2a/faulty', body,
      headers: { ...bearer(tok), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'a2a-version': '1.0', ...headers } });
    const cases = [
      ['not JSON', '{"jsonrpc":"2.0","id":1,"method":', -32700],
      ['trailing garbage', '{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}} trailing', -32700],
      ['an array (batch)', '[{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{"id":"x"}}]', -32600],
      ['jsonrpc 1.0', '{"jsonrpc":"1.0","id":1,"method":"GetTask","params":{"id":"x"}}', -32600],
      ['no method', '{"jsonrpc":"2.0","id":1,"params":{}}', -32600],
      ['method not a string', '{"jsonrpc":"2.0","id":1,"method":7}', -32600],
      ['an object id', '{"jsonrpc":"2.0","id":{"a":1},"method":"GetTask","params":{"id":"x"}}', -32600],
      ['unknown method', '{"jsonrpc":"2.0","id":1,"method":"tasks/steal","params":{}}', -32601],
      ['GetTask without an id', '{"jsonrpc":"2.0","id":1,"method":"GetTask","params":{}}', -32602],
      ['params not an object', '{"jsonrpc":"2.0","id":1,"method":"SendMessage","params":"hi"}', -32602],
      ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]).toString('latin1'), -32700],
    ];
    for (const [what, body, code] of cases) {
      const r = await send(body);
      assert.ok(r.status === 200 || r.status === 400, `${what}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
      assert.equal(r.json?.jsonrpc, '2.0', `${what}: not a JSON-RPC answer: ${r.body.slice(0, 300)}`);
      assert.equal(r.json?.error?.code, code, `${what}: ${r.body.slice(0, 300)}`);
      assert.equal(r.json?.result, undefined);
      assert.ok(r.headers['x-request-id'], `${what}: no request id`);
    }
    const v = await send('{"jsonrpc":"2.0","id":5,"method":"GetTask","params":{"id":"x"}}', { 'a2a-version': '9.9' });
    assert.equal(v.json?.error?.code, -32009, `A2A-Version 9.9 → VersionNotSupportedError: ${v.body.slice(0, 300)}`);
    assert.equal(v.json?.id, 5);
    // A log line names each refusal's request id (bad input is logged, not only answered).
    const last = await send('{"jsonrpc":"2.0","id":1,"method":"tasks/steal"}');
    await waitFor(() => gw.logs().includes(last.headers['x-request-id']), 3000, { what: 'a log line with the request id' });
    assert.equal(rt.faulty.requests.length, calls, 'a malformed request reached the runtime');
    await healthy();
  });

  it('raw-socket abusers: a body trickled forever, a short body, a stream reader that hangs up — cut off in bounded time; others served meanwhile', async () => {
    // 1. Headers promise 2000 bytes, the body trickles a byte a while: body_timeout_ms (3 s) ends it with 408.
    const slow = await RawConn.connect(gw.port);
    await slow.write(`POST /a2a/faulty HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/json\r\nContent-Length: 2000\r\nA2A-Version: 1.0\r\n\r\n{`);
    const trickle = setInterval(() => { slow.write(' '); }, 300);
    // 2. A body shorter than its Content-Length, then silence.
    const short = await RawConn.connect(gw.port);
    await short.write(`POST /a2a/faulty HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tok}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"jsonrpc":"2.0"`);
    // 3. Half a request head, never finished.
    const half = await RawConn.connect(gw.port);
    await half.write('POST /a2a/faulty HTTP/1.1\r\nHost: x\r\nContent-Le');
    try {
      await healthy(); // served while the abusers hold their connections
      assert.ok(await short.waitClose(6000), 'a short body held its connection past the idle timeout');
      assert.ok(await half.waitClose(4000), 'half a head held its connection past the header timeout');
      const cut = await slow.readResponse({ timeoutMs: 8000 });
      assert.equal(cut?.status, 408, `a trickled body past body_timeout_ms: ${cut?.status} ${cut?.body?.slice(0, 200)}`);
      assert.ok(await slow.waitClose(2000), 'a trickled body held its connection past body_timeout_ms');
    } finally {
      clearInterval(trickle);
      slow.destroy(); short.destroy(); half.destroy();
    }
    // 4. A stream client that reads the first event and hangs up: the gateway lets go of it.
    const s = await rpcStream(gw, 'faulty', 'SendStreamingMessage', { message: userMessage('stream 200 20') }, { token: tok, until: (evs) => evs.length >= 2, timeoutMs: 10000 });
    assert.equal(s.status, 200);
    assert.equal(s.ended, 'until');
    s.destroy();
    // 5. Many clients hang up at once.
    const many = await Promise.all(Array.from({ length: 10 }, () => rpcStream(gw, 'faulty', 'SendStreamingMessage',
      { message: userMessage('stream 100 10') }, { token: tok, until: (evs) => evs.length >= 1, timeoutMs: 10000 })));
    for (const m of many) m.destroy();
    await sleep(200);
    await healthy();
    assert.equal(gw.exitInfo(), null, 'the gateway died');
  });

  it('card fetch fails: the last card is served while younger than card_max_stale_seconds, then a clear card_stale error; messages fail clearly', async () => {
    const before = await waitCard(gw, 'mortal', tok);
    const name = before.json.name;
    await rt.mortal.stop();
    const stoppedAt = Date.now();
    // Within the bound: the cached card (stale) still answers.
    const stale = await request(gw.port, { path: '/a2a/mortal/.well-known/agent-card.json', headers: bearer(tok) });
    assert.equal(stale.status, 200, `a stale card within ${CARD_MAX_STALE_S} s: ${stale.status} ${stale.body.slice(0, 300)}`);
    assert.equal(stale.json?.name, name);
    // Past the bound (refresh + max stale, with slack): a clear error, never the old card.
    const err = await waitFor(async () => {
      const r = await request(gw.port, { path: '/a2a/mortal/.well-known/agent-card.json', headers: bearer(tok) });
      return r.status !== 200 ? r : null;
    }, (CARD_REFRESH_S + CARD_MAX_STALE_S + 5) * 1000, { interval: 200, what: 'the stale card refused' });
    const age = (Date.now() - stoppedAt) / 1000;
    assert.ok(age <= CARD_REFRESH_S + CARD_MAX_STALE_S + 2, `the stale card was served for ${age} s`);
    assert.ok([502, 503].includes(err.status), `card past max stale: ${err.status} ${err.body.slice(0, 300)}`);
    assert.match(err.body, /card_stale|card_unavailable/, `not a clear card error: ${err.body.slice(0, 300)}`);
    const msg = await rpc(gw, 'mortal', 'SendMessage', { message: userMessage('echo anyone?') }, { token: tok });
    assert.ok(msg.status >= 500 || msg.json?.error, `a message to a dead runtime: ${msg.status} ${msg.body.slice(0, 300)}`);
    assert.equal(msg.json?.result, undefined);
    await healthy();
  });
});

