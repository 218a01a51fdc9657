// Edge protection (issue 12, docs/edge.md): per-address connection and request caps, the trusted
// proxy list for X-Forwarded-For, WAF-lite rules, a bounded address table under a spray, and the
// token endpoint's and admin API's own budgets under a flood of refused requests.
//
// Every client here is on loopback: 127.0.0.1 is the configured trusted proxy (it names clients
// in X-Forwarded-For), 127.0.0.2 … 127.0.0.9 are distinct untrusted peers (Linux routes all of
// 127/8 to lo, so a socket bound to 127.0.0.5 really is a different peer address).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import http from 'node:http';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, RawConn, getMetrics, demoToken, adminToken,
  demoCredentials, tokenRequest, sleep, waitFor, runBinary, writeConfig,
} from './harness.mjs';

function connectFrom(port, localAddress, { timeoutMs = 3000 } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('connect timed out')); }, timeoutMs);
    sock.once('connect', () => { clearTimeout(timer); resolve(new RawConn(sock)); });
    sock.once('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

// One request on a fresh connection from `from`; resolves the parsed response (or null).
async function rawFrom(port, from, { method = 'GET', path = '/healthz', headers = {}, body = '' } = {}) {
  const c = await connectFrom(port, from);
  try {
    let head = `${method} ${path} HTTP/1.1\r\nHost: gw\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    if (body || method === 'POST') head += `Content-Length: ${Buffer.byteLength(body)}\r\n`;
    await c.write(`${head}\r\n${body}`);
    return await c.readResponse({ timeoutMs: 5000 });
  } finally {
    c.destroy();
  }
}

function assertError(r, status, code) {
  assert.ok(r, 'no response');
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${String(r.body).slice(0, 200)}`);
  assert.ok(r.headers['x-request-id']);
  assert.equal(r.json?.error?.code, code);
  assert.equal(r.json.error.requestId, r.headers['x-request-id']);
}

function metric(samples, name, labels = {}) {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : 0;
}

function percentile(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

describe('edge: caps, trusted proxies, WAF, bounded table', { timeout: 120000 }, () => {
  let dir;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-edge-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_connections: 500, header_timeout_ms: 5000, idle_timeout_ms: 5000, max_body_bytes: 65536 },
        log: { access: true },
        extraServer: {
          trusted_proxies: ['127.0.0.1'],
          edge: {
            max_connections_per_ip: 4,
            requests_per_ip: { rps: 2, burst: 20 },
            max_tracked_ips: 256,
            waf: [
              { name: 'dotdot', action: 'block', path: '\\.\\./' },
              { name: 'shell-in-body', action: 'block', methods: ['POST'], body: '/bin/(ba)?sh' },
              { name: 'scanner', action: 'log', header: { name: 'User-Agent', pattern: 'sqlmap' }, caseless: true },
            ],
          },
        },
      }),
      args: ['--demo'],
    });
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('caps open connections per peer address; other peers and closed slots are unaffected', async () => {
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await connectFrom(gw.port, '127.0.0.2'));
    await sleep(100);  // the accepts have run
    const fifth = await connectFrom(gw.port, '127.0.0.2');
    const refused = await fifth.readResponse({ timeoutMs: 3000 });
    assertError(refused, 503, 'overloaded');
    assert.match(refused.json.error.message, /this address/);
    assert.ok(await fifth.waitClose(2000), 'the refused connection is closed');
    // A different peer is served while 127.0.0.2 is at its cap.
    const other = await rawFrom(gw.port, '127.0.0.3');
    assert.equal(other.status, 200);
    // Closing one frees one slot.
    held.pop().destroy();
    await sleep(200);
    const again = await rawFrom(gw.port, '127.0.0.2');
    assert.equal(again.status, 200);
    for (const c of held) c.destroy();
    const m = await getMetrics(gw.port);
    assert.ok(metric(m.samples, 'portcullis_edge_refusals_total', { reason: 'connections_per_ip' }) >= 1);
  });

  it('a raw-socket flood from one peer gets exactly its burst, then 429 with Retry-After', async () => {
    const started = Date.now();
    const results = await Promise.all(Array.from({ length: 60 }, () => rawFrom(gw.port, '127.0.0.4').catch(() => null)));
    // At most 4 connections at once from this peer: the rest were refused at accept (503).
    const ok = results.filter((r) => r?.status === 200).length;
    const limited = results.filter((r) => r?.status === 429);
    const elapsed = (Date.now() - started) / 1000;
    assert.ok(ok >= 1, 'some requests were served');
    assert.ok(ok <= 20 + Math.ceil(elapsed * 2) + 1, `${ok} served: more than the burst of 20 plus 2/s`);
    // Sequential now, on fresh connections: the budget is spent.
    let r;
    for (let i = 0; i < 25; i++) {
      r = await rawFrom(gw.port, '127.0.0.4');
      if (r.status === 429) break;
    }
    assertError(r, 429, 'rate_limited');
    const wait = Number(r.headers['retry-after']);
    assert.ok(wait >= 1 && wait <= 2, `Retry-After ${r.headers['retry-after']}`);
    assert.ok(limited.every((x) => x.headers['retry-after']));
    // Waiting it out lets the next request through.
    await sleep(wait * 1000 + 50);
    assert.equal((await rawFrom(gw.port, '127.0.0.4')).status, 200);
    // The refusal was logged with its request id and the client address.
    const id = r.headers['x-request-id'];
    await waitFor(() => gw.logLines().some((l) => l.msg === 'request rejected' && l.request_id === id && l.remote === '127.0.0.4'),
      3000, { what: 'rejection log line' });
  });

  it('X-Forwarded-For from an untrusted peer is ignored: rotating it buys no budget', async () => {
    let served = 0;
    let last;
    for (let i = 0; i < 30; i++) {
      last = await rawFrom(gw.port, '127.0.0.5', { headers: { 'X-Forwarded-For': `203.0.113.${i + 1}` } });
      if (last.status === 200) served++;
    }
    assert.ok(served >= 20 && served <= 22, `served ${served}; the budget is the peer's, not the forged addresses'`);
    assertError(last, 429, 'rate_limited');
    // The log writer runs below the I/O thread: its lines can trail the answers.
    await waitFor(() => gw.logLines().filter((l) => l.msg === 'access' && l.remote === '127.0.0.5').length >= 20,
      3000, { what: 'access lines naming the peer' });
    assert.ok(!gw.logLines().some((l) => l.msg === 'access' && /^203\.0\.113\./.test(l.remote ?? '')));
  });

  it('a trusted proxy names the client: per-client budgets, forged left-most hops ignored', async () => {
    const via = (xff) => rawFrom(gw.port, '127.0.0.1', { headers: { 'X-Forwarded-For': xff } });
    let served = 0;
    let last;
    // The client forges a left-most hop on every request; the proxy appends the real address.
    for (let i = 0; i < 25; i++) {
      last = await via(`6.6.6.${i}, 198.51.100.10`);
      if (last.status === 200) served++;
    }
    assert.ok(served >= 20 && served <= 22, `served ${served}`);
    assertError(last, 429, 'rate_limited');
    // Another client behind the same proxy has a budget of its own.
    assert.equal((await via('198.51.100.11')).status, 200);
    const r = await via('198.51.100.12');
    const id = r.headers['x-request-id'];
    await waitFor(() => gw.logLines().some((l) => l.msg === 'access' && l.request_id === id && l.remote === '198.51.100.12'),
      3000, { what: 'access line with the forwarded client' });
    // The proxy itself is exempt from the connection cap: more than 4 at once are accepted.
    const held = [];
    for (let i = 0; i < 8; i++) held.push(await connectFrom(gw.port, '127.0.0.1'));
    await sleep(100);
    await held[7].write('GET /healthz HTTP/1.1\r\nHost: gw\r\nX-Forwarded-For: 198.51.100.13\r\n\r\n');
    assert.equal((await held[7].readResponse({ timeoutMs: 3000 }))?.status, 200);
    for (const c of held) c.destroy();
  });

  it('WAF rules: block on path (also percent-encoded) and body with 403, log without blocking', async () => {
    const client = (n) => ({ 'X-Forwarded-For': `192.0.2.${n}` });  // fresh budgets per request
    const m0 = (await getMetrics(gw.port)).samples;
    const dot = await rawFrom(gw.port, '127.0.0.1', { path: '/static/../etc/passwd', headers: client(1) });
    assertError(dot, 403, 'request_blocked');
    const enc = await rawFrom(gw.port, '127.0.0.1', { path: '/v1/agents/%2e%2e/%2e%2e/x', headers: client(2) });
    assertError(enc, 403, 'request_blocked');
    const body = JSON.stringify({ input: 'please run /bin/bash -c id' });
    const shell = await rawFrom(gw.port, '127.0.0.1', {
      method: 'POST', path: '/v1/agents/echo/invoke', body, headers: { ...client(3), 'Content-Type': 'application/json' },
    });
    assertError(shell, 403, 'request_blocked');
    // The same body with GET, and a clean POST: not blocked by the WAF (401: no token).
    const clean = await rawFrom(gw.port, '127.0.0.1', {
      method: 'POST', path: '/v1/agents/echo/invoke', body: '{"input":"hi"}', headers: { ...client(4), 'Content-Type': 'application/json' },
    });
    assert.equal(clean.status, 401);
    // A log rule lets the request through, counts and logs it.
    const scan = await rawFrom(gw.port, '127.0.0.1', { headers: { ...client(5), 'User-Agent': 'SQLMap/1.7' } });
    assert.equal(scan.status, 200);
    const id = scan.headers['x-request-id'];
    await waitFor(() => gw.logLines().some((l) => l.msg === 'waf rule matched' && l.rule === 'scanner' && l.request_id === id),
      3000, { what: 'waf log line' });
    const blockedId = dot.headers['x-request-id'];
    assert.ok(gw.logLines().some((l) => l.msg === 'request rejected' && l.request_id === blockedId && l.reason === 'request_blocked'));
    const m1 = (await getMetrics(gw.port)).samples;
    const d = (name, labels) => metric(m1, name, labels) - metric(m0, name, labels);
    assert.equal(d('portcullis_edge_waf_matches_total', { rule: 'dotdot', action: 'block' }), 2);
    assert.equal(d('portcullis_edge_waf_matches_total', { rule: 'shell-in-body', action: 'block' }), 1);
    assert.equal(d('portcullis_edge_waf_matches_total', { rule: 'scanner', action: 'log' }), 1);
    assert.equal(d('portcullis_edge_refusals_total', { reason: 'waf' }), 3);
  });

  it('WAF body patterns see JSON strings decoded and form bodies percent-decoded (review12 M5)', async () => {
    const client = (n) => ({ 'X-Forwarded-For': `192.0.2.${n}` });
    const m0 = (await getMetrics(gw.port)).samples;
    const post = (n, p, body, type) => rawFrom(gw.port, '127.0.0.1', {
      method: 'POST', path: p, body, headers: { ...client(n), 'Content-Type': type },
    });
    const escaped = [
      String.raw`{"input":"\/bin\/sh"}`,
      String.raw`{"input":"/bin/\u0073h"}`,
      String.raw`{"a":[{"b":"x"},{"c":"\u002fbin\u002fbash -c id"}]}`,
      String.raw`{"\/bin\/sh":1}`,  // keys too
    ];
    let n = 20;
    for (const body of escaped) {
      // Every handler parses JSON whatever the Content-Type says: the bytes decide.
      for (const type of ['application/json', 'text/plain']) assertError(await post(n++, '/v1/agents/echo/invoke', body, type), 403, 'request_blocked');
    }
    const form = await post(n++, '/oauth2/token', 'grant_type=client_credentials&scope=%2Fbin%2Fsh', 'application/x-www-form-urlencoded');
    assertError(form, 403, 'request_blocked');
    // Escapes that decode to something harmless, and malformed JSON, pass the WAF (401: no token).
    for (const body of [String.raw`{"input":"\/usr\/bin\/env"}`, String.raw`{"input":"\/bin\/s`]) {
      const r = await post(n++, '/v1/agents/echo/invoke', body, 'application/json');
      assert.notEqual(r.status, 403, `${body}: ${r.status} ${r.body}`);
    }
    const m1 = (await getMetrics(gw.port)).samples;
    assert.equal(metric(m1, 'portcullis_edge_waf_matches_total', { rule: 'shell-in-body', action: 'block' })
      - metric(m0, 'portcullis_edge_waf_matches_total', { rule: 'shell-in-body', action: 'block' }), escaped.length * 2 + 1);
  });

  it('an address spray keeps the table at its bound and the memory flat', async () => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    const send = (i) => new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: gw.port, path: '/healthz', agent,
        headers: { 'X-Forwarded-For': `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode));
      });
      req.on('error', reject);
      req.end();
    });
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${gw.proc.pid}/status`, 'utf8'))[1]);
    const spray = async (from, n) => {
      for (let i = from; i < from + n; i += 64) {
        const codes = await Promise.all(Array.from({ length: 64 }, (_, k) => send(i + k)));
        assert.ok(codes.every((c) => c === 200), `a sprayed address was refused: ${codes.find((c) => c !== 200)}`);
      }
    };
    await spray(0, 2048);
    const rss1 = rss();
    const m1 = (await getMetrics(gw.port)).samples;
    await spray(100000, 8192);
    const rss2 = rss();
    agent.destroy();
    const m2 = (await getMetrics(gw.port)).samples;
    const tracked = metric(m2, 'portcullis_edge_tracked_addresses', { budget: 'requests' });
    assert.ok(tracked <= 256, `tracked ${tracked} > 256`);
    const evicted = metric(m2, 'portcullis_edge_evictions_total', { budget: 'requests' }) -
      metric(m1, 'portcullis_edge_evictions_total', { budget: 'requests' });
    assert.ok(evicted >= 8192 - 256, `evicted ${evicted}`);
    // 8,192 more addresses after the table filled: memory does not follow them.
    assert.ok(rss2 - rss1 < 4096, `RSS grew by ${rss2 - rss1} KiB over 8192 new addresses`);
    console.log(`# spray: 10240 addresses, table ${tracked}/256, evicted ${evicted}, RSS ${rss1} → ${rss2} KiB`);
  });
});

describe('edge: a refusal flood does not starve served calls', { timeout: 120000 }, () => {
  let dir;
  let gw;
  let token;
  let creds;

  before(async () => {
    dir = makeTempDir('portcullis-edge-flood-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_connections: 2000, header_timeout_ms: 5000, idle_timeout_ms: 5000 },
        log: { access: false },
        extraServer: {
          trusted_proxies: ['127.0.0.1'],
          edge: { token_endpoint: { rps: 2, burst: 5 }, admin_api: { rps: 2, burst: 3 }, a2a_push: { rps: 1, burst: 3 } },
        },
      }),
      args: ['--demo'],
    });
    creds = (await demoCredentials(gw)).tenants.demo;
    token = await demoToken(gw, 'demo', {});
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  const get = (path, headers) => new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.request({ host: '127.0.0.1', port: gw.port, path, headers, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Number(process.hrtime.bigint() - t0) / 1e6 }));
    });
    req.on('error', reject);
    req.end();
  });

  async function servedLatencies(n) {
    const ms = [];
    for (let i = 0; i < n; i++) {
      const r = await get('/v1/agents', { authorization: `Bearer ${token}`, 'X-Forwarded-For': '198.51.100.77' });
      assert.equal(r.status, 200);
      ms.push(r.ms);
    }
    return ms;
  }

  it('token-endpoint flood with bad secrets: the attacker is held to its budget, others are served', async () => {
    const base = await servedLatencies(100);
    let stop = false;
    const attacker = { sent: 0, limited: 0, other: 0 };
    const flood = async () => {
      while (!stop) {
        const r = await tokenRequest(gw, { grant_type: 'client_credentials' }, {
          basic: [creds.client_id, 'wrong-secret'], headers: { 'X-Forwarded-For': '203.0.113.66' },
        }).catch(() => null);
        attacker.sent++;
        if (r?.status === 429) attacker.limited++;
        else attacker.other++;
      }
    };
    const floods = Array.from({ length: 16 }, flood);
    await sleep(300);
    const during = await servedLatencies(100);
    // A legitimate client of the token endpoint (another address) still gets its token.
    const r = await tokenRequest(gw, { grant_type: 'client_credentials' }, {
      basic: [creds.client_id, creds.client_secret], headers: { 'X-Forwarded-For': '198.51.100.78' },
    });
    stop = true;
    await Promise.all(floods);
    assert.equal(r.status, 200, `legitimate token request answered ${r.status}`);
    // The attacker's address: at most its burst plus 2/s reached the token service.
    assert.ok(attacker.sent > 100, `flood too small (${attacker.sent})`);
    assert.ok(attacker.other <= 5 + 2 * 5 + 1, `${attacker.other} of ${attacker.sent} flood requests reached the token service`);
    const b50 = percentile(base, 50), b99 = percentile(base, 99), d50 = percentile(during, 50), d99 = percentile(during, 99);
    console.log(`# GET /v1/agents ms: baseline p50 ${b50.toFixed(2)} p99 ${b99.toFixed(2)}; during a ${attacker.sent}-request token flood p50 ${d50.toFixed(2)} p99 ${d99.toFixed(2)}`);
    // The stated bound (docs/edge.md): served calls' p99 stays under 250 ms during the flood
    assert.ok(d99 < 250, `p99 ${d99} ms during the flood`);
    const m = (await getMetrics(gw.port)).samples;
    assert.ok(metric(m, 'portcullis_edge_refusals_total', { reason: 'token_endpoint' }) >= attacker.limited);
  });

  it('the admin API has its own budget, apart from served calls and the token endpoint', async () => {
    const admin = await adminToken(gw);
    const h = { authorization: `Bearer ${admin}`, 'X-Forwarded-For': '198.51.100.90' };
    const codes = [];
    for (let i = 0; i < 5; i++) codes.push((await get('/v1/tenants', h)).status);
    assert.deepEqual(codes.slice(0, 3), [200, 200, 200]);
    assert.equal(codes[4], 429);
    // The same address's served calls are not on the admin budget.
    const r = await get('/v1/agents', { authorization: `Bearer ${token}`, 'X-Forwarded-For': '198.51.100.90' });
    assert.equal(r.status, 200);
  });

  it('the A2A push receiver (/a2a-push/{relayId}) has its own per-address budget', async () => {
    const push = (addr) => new Promise((resolve, reject) => {
      const body = JSON.stringify({ id: 't1', status: { state: 'completed' } });
      const req = http.request({ host: '127.0.0.1', port: gw.port, method: 'POST', path: '/a2a-push/no-such-relay', agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'X-Forwarded-For': addr } }, (res) => {
        let text = '';
        res.on('data', (d) => { text += d; });
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
      });
      req.on('error', reject);
      req.end(body);
    });
    const codes = [];
    let refusal;
    for (let i = 0; i < 6; i++) {
      const r = await push('198.51.100.95');
      codes.push(r.status);
      if (r.status === 429) refusal ??= r;
    }
    assert.ok(codes.slice(0, 3).every((c) => c !== 429), codes.join());
    assert.deepEqual(codes.slice(4), [429, 429], codes.join());
    assert.ok(Number(refusal.headers['retry-after']) >= 1);
    assert.equal(JSON.parse(refusal.text).error.code, 'rate_limited');
    assert.notEqual((await push('198.51.100.96')).status, 429, 'another address has its own budget');
    const r = await get('/v1/agents', { authorization: `Bearer ${token}`, 'X-Forwarded-For': '198.51.100.95' });
    assert.equal(r.status, 200, 'served calls of the same address are not on the push budget');
    const m = (await getMetrics(gw.port)).samples;
    assert.ok(metric(m, 'portcullis_edge_refusals_total', { reason: 'a2a_push' }) >= 2);
  });
});

describe('edge: configuration', { timeout: 30000 }, () => {
  it('SIGHUP applies new WAF rules and budgets live; a bad pattern is rejected and the running rules stay', async () => {
    const dir = makeTempDir('portcullis-edge-reload-');
    const cfg = (edge) => gatewayConfig(dir, { extraServer: { trusted_proxies: ['127.0.0.1'], edge } });
    const gw = await startGateway({ dir, config: cfg({ waf: [{ name: 'old', path: '^/old' }] }) });
    try {
      const get = (path, n) => rawFrom(gw.port, '127.0.0.1', { path, headers: { 'X-Forwarded-For': `192.0.2.${n}` } });
      assert.equal((await get('/old', 1)).status, 403);
      assert.equal((await get('/healthz?x=../', 2)).status, 200);
      writeConfig(dir, cfg({ requests_per_ip: { rps: 1, burst: 2 }, waf: [{ name: 'new', query: '\\.\\./' }] }));
      gw.signal('SIGHUP');
      await waitFor(() => gw.logLines().some((l) => l.msg === 'reload applied'), 5000, { what: 'reload applied' });
      assertError(await get('/healthz?x=../', 3), 403, 'request_blocked');
      assert.equal((await get('/old', 4)).status, 404);  // the old rule is gone: routed, no such resource
      const codes = [];
      for (let i = 0; i < 3; i++) codes.push((await get('/healthz', 5)).status);
      assert.deepEqual(codes, [200, 200, 429]);
      // A pattern Hyperscan refuses: the reload is rejected, the running rules stay.
      writeConfig(dir, cfg({ waf: [{ name: 'bad', body: '(a)\\1' }] }));
      gw.signal('SIGHUP');
      await waitFor(() => gw.logLines().some((l) => l.msg?.startsWith('reload rejected') && /server\.edge\.waf\[0\]\.body/.test(l.error ?? '')),
        5000, { what: 'reload rejected' });
      assertError(await get('/healthz?x=../', 6), 403, 'request_blocked');
    } finally {
      await gw.stop();
      removeDir(dir);
    }
  });

  it('a WAF pattern Hyperscan refuses fails check-config and serve, naming the rule', async () => {
    const dir = makeTempDir('portcullis-edge-cfg-');
    try {
      const cfg = writeConfig(dir, gatewayConfig(dir, {
        extraServer: { edge: { waf: [{ name: 'ok', path: 'x' }, { name: 'backref', body: '(a)\\1' }] } },
      }));
      const check = await runBinary(['check-config', '--config', cfg]);
      assert.equal(check.code, 1);
      assert.match(check.stdout, /^server\.edge\.waf\[1\]\.body: /m);
      const serve = await runBinary(['serve', '--config', cfg]);
      assert.equal(serve.code, 2);
      assert.match(serve.stderr, /server\.edge\.waf\[1\]\.body/);
    } finally {
      removeDir(dir);
    }
  });
});
