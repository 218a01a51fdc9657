// Process lifecycle: first start files, SIGHUP reload (good and bad configs), graceful shutdown,
// signal bursts and signals during the drain, a second gateway on a taken port, readiness while
// the token endpoint's pool is saturated.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import crypto from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, writeConfig, request, rawRequest,
  RawConn, waitFor, sleep, toYaml, DEFAULT_LIMITS, demoToken, runBinary, demoCredentials, tokenRequest,
  TOKEN_EXCHANGE, ACCESS_TOKEN_TYPE,
} from './harness.mjs';

const INVOKE = '/v1/agents/echo/invoke';

function jsonBodyOfSize(n) {
  const skeleton = JSON.stringify({ input: '' });
  return JSON.stringify({ input: 'a'.repeat(n - skeleton.length) });
}

// `token`: a bearer token of the demo tenant (the invoke route requires one).
function postRaw(port, body, token) {
  return rawRequest(
    port,
    `POST ${INVOKE} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function mode(file) {
  return fs.statSync(file).mode & 0o777;
}

// Cleanup registry shared by the tests in this file.
const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) {
    try { await fn(); } catch { /* keep cleaning */ }
  }
});

function track(handle) {
  cleanups.push(() => handle.stop({ signal: 'SIGKILL', timeoutMs: 3000 }));
  return handle;
}

function tmp(prefix) {
  const d = makeTempDir(prefix);
  cleanups.push(() => removeDir(d));
  return d;
}

describe('first start', { timeout: 40000 }, () => {
  it('creates bootstrap-admin.json and master.key (0600) and never rewrites them', async () => {
    const dir = tmp('portcullis-first-');
    const cfg = writeConfig(dir, gatewayConfig(dir));
    const boot = path.join(dir, 'bootstrap-admin.json');
    const mkey = path.join(dir, 'master.key');
    assert.equal(fs.existsSync(boot), false);

    const gw1 = track(await startGateway({ configPath: cfg }));
    await waitFor(() => fs.existsSync(boot) && fs.existsSync(mkey), 3000, { what: 'first-start files' });

    assert.equal(mode(boot), 0o600, `bootstrap-admin.json mode ${mode(boot).toString(8)}`);
    const creds = JSON.parse(fs.readFileSync(boot, 'utf8'));
    for (const k of ['client_id', 'client_secret', 'token_url']) {
      assert.equal(typeof creds[k], 'string', `${k} missing in ${JSON.stringify(Object.keys(creds))}`);
      assert.ok(creds[k].length > 0, `${k} empty`);
    }
    assert.match(creds.token_url, /^https?:\/\//);

    assert.equal(mode(mkey), 0o600, `master.key mode ${mode(mkey).toString(8)}`);
    assert.equal(fs.statSync(mkey).size, 32, 'master.key must be 32 bytes');

    const bootBytes = fs.readFileSync(boot);
    const keyBytes = fs.readFileSync(mkey);
    const ex = await gw1.stop();
    assert.equal(ex.code, 0, `first gateway exit: ${JSON.stringify(ex)}`);

    const gw2 = track(await startGateway({ configPath: cfg }));
    const h = await request(gw2.port, { path: '/healthz' });
    assert.equal(h.status, 200);
    await sleep(300);
    assert.ok(fs.readFileSync(boot).equals(bootBytes), 'bootstrap-admin.json changed on restart');
    assert.equal(mode(boot), 0o600);
    assert.ok(fs.readFileSync(mkey).equals(keyBytes), 'master.key changed on restart');
    const r = await request(gw2.port, { path: '/readyz' });
    assert.equal(r.status, 200);
    const ex2 = await gw2.stop();
    assert.equal(ex2.code, 0);
  });
});

describe('reload on SIGHUP', { timeout: 40000 }, () => {
  it('applies a valid new config; rejects an invalid one and keeps the old settings', async () => {
    const dir = tmp('portcullis-reload-');
    const agent = track(await startAgent());
    const cfg = writeConfig(dir, gatewayConfig(dir, { limits: { max_body_bytes: 1024 } }));
    const gw = track(await startGateway({ configPath: cfg, args: ['--demo', '--demo-agent', agent.url] }));
    const token = await demoToken(gw);

    const body2000 = jsonBodyOfSize(2000);
    const body5000 = jsonBodyOfSize(5000);
    const before = await postRaw(gw.port, body2000, token);
    assert.equal(before.status, 413, `before reload: ${before.status} ${before.body}`);

    // 1) valid change: max_body_bytes 1024 → 4096
    writeConfig(dir, gatewayConfig(dir, { limits: { max_body_bytes: 4096 } }));
    gw.signal('SIGHUP');
    const ok = await waitFor(async () => {
      const r = await postRaw(gw.port, body2000, token);
      return r.status === 200 ? r : null;
    }, 3000, { interval: 100, what: '2000-byte body accepted after reload' });
    assert.equal(ok.json?.output?.echo, JSON.parse(body2000).input);

    // 2) invalid value: rejected, process keeps running with the previous settings
    let mark = gw.mark();
    writeConfig(dir, toYaml({
      data_dir: dir,
      server: {
        listen: '127.0.0.1:0',
        limits: { ...DEFAULT_LIMITS, max_body_bytes: -5 },
        upstream: { connect_timeout_ms: 500, response_timeout_ms: 1000 },
        drain_timeout_ms: 3000,
      },
      log: { level: 'info', format: 'json' },
    }));
    gw.signal('SIGHUP');
    await waitFor(
      () => gw.logsSince(mark).split('\n').some((l) => /reload/i.test(l) && l.includes('server.limits.max_body_bytes')),
      3000,
      { what: 'reload rejection log naming server.limits.max_body_bytes' },
    );
    await sleep(200);
    assert.equal(gw.exitInfo(), null, 'gateway exited after a bad reload');
    assert.equal((await request(gw.port, { path: '/healthz' })).status, 200);
    assert.equal((await postRaw(gw.port, body2000, token)).status, 200, 'previous max_body_bytes (4096) no longer in force');
    assert.equal((await postRaw(gw.port, body5000, token)).status, 413, 'limit must still be 4096');

    // 3) unknown key next to an otherwise different valid value: nothing of it is applied
    mark = gw.mark();
    writeConfig(dir, toYaml({
      data_dir: dir,
      server: {
        listen: '127.0.0.1:0',
        limits: { ...DEFAULT_LIMITS, max_body_bytes: 1024, bogus_limit: 7 },
        upstream: { connect_timeout_ms: 500, response_timeout_ms: 1000 },
        drain_timeout_ms: 3000,
      },
      log: { level: 'info', format: 'json' },
    }));
    gw.signal('SIGHUP');
    await waitFor(
      () => gw.logsSince(mark).split('\n').some((l) => /reload/i.test(l) && l.includes('server.limits.bogus_limit')),
      3000,
      { what: 'reload rejection log naming server.limits.bogus_limit' },
    );
    await sleep(200);
    assert.equal(gw.exitInfo(), null, 'gateway exited after a bad reload');
    assert.equal((await postRaw(gw.port, body2000, token)).status, 200, 'a rejected config was partially applied');

    const ex = await gw.stop();
    assert.equal(ex.code, 0);
  });
});

// Opens a connection and tries one request; classifies the outcome.
async function probeNewConnection(port) {
  let c;
  try {
    c = await RawConn.connect(port, { timeoutMs: 500 });
  } catch (e) {
    return { refused: true, how: e.code || e.message };
  }
  try {
    await c.write('GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    const r = await c.readResponse({ timeoutMs: 1000 });
    if (!r) return { refused: true, how: c.closed ? 'closed without response' : 'no response' };
    return { refused: false, status: r.status };
  } finally {
    c.destroy();
  }
}

function slowCall(port, delayMs, token) {
  const body = JSON.stringify({ input: { text: 'inflight', delay_ms: delayMs } });
  return new Promise((resolve) => {
    const req = http.request({
      host: '127.0.0.1', port, method: 'POST', path: INVOKE, agent: false,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), authorization: `Bearer ${token}` },
    }, (res) => {
      const chunks = [];
      res.on('data', (d) => chunks.push(d));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let json;
        try { json = JSON.parse(text); } catch { /* not JSON */ }
        resolve({ status: res.statusCode, body: text, json, at: Date.now() });
      });
      res.on('error', (e) => resolve({ error: e.message, at: Date.now() }));
    });
    req.on('error', (e) => resolve({ error: e.message, at: Date.now() }));
    req.setTimeout(20000, () => req.destroy(new Error('client timeout')));
    req.end(body);
  });
}

describe('graceful shutdown', { timeout: 40000 }, () => {
  it('SIGTERM: in-flight request completes, new connections refused, exit 0 within drain_timeout_ms + 2 s', async () => {
    const dir = tmp('portcullis-drain-');
    const agent = track(await startAgent());
    const cfg = writeConfig(dir, gatewayConfig(dir, { drainTimeoutMs: 3000, upstream: { response_timeout_ms: 10000 } }));
    const gw = track(await startGateway({ configPath: cfg, args: ['--demo', '--demo-agent', agent.url] }));

    const inflight = slowCall(gw.port, 1500, await demoToken(gw));
    await sleep(300);
    const tSig = Date.now();
    gw.signal('SIGTERM');

    // New connections are refused soon after SIGTERM.
    let probe;
    const refusedBy = await (async () => {
      while (Date.now() - tSig < 1000) {
        probe = await probeNewConnection(gw.port);
        if (probe.refused) return Date.now() - tSig;
        await sleep(50);
      }
      return null;
    })();
    assert.notEqual(refusedBy, null, `new connections still served 1 s after SIGTERM (last: ${JSON.stringify(probe)})`);

    const res = await inflight;
    assert.equal(res.status, 200, `in-flight request: ${JSON.stringify(res)}`);
    assert.equal(res.json?.output?.echo?.text, 'inflight');

    const ex = await gw.waitExit(3000 + 2000 + 1000).catch(() => null);
    assert.ok(ex, 'gateway did not exit');
    const took = ex.at - tSig;
    assert.equal(ex.code, 0, `exit: ${JSON.stringify(ex)}`);
    assert.ok(took <= 3000 + 2000, `exit ${took} ms after SIGTERM`);
    assert.ok(ex.at >= res.at - 50, 'exited before the in-flight response was delivered');
  });

  it('SIGTERM with a request slower than drain_timeout_ms: exits with 0 around the deadline', async () => {
    const dir = tmp('portcullis-drain2-');
    const agent = track(await startAgent());
    const drain = 1500;
    const cfg = writeConfig(dir, gatewayConfig(dir, { drainTimeoutMs: drain, upstream: { response_timeout_ms: 20000 } }));
    const gw = track(await startGateway({ configPath: cfg, args: ['--demo', '--demo-agent', agent.url] }));

    const inflight = slowCall(gw.port, 10000, await demoToken(gw));
    await sleep(300);
    const tSig = Date.now();
    gw.signal('SIGTERM');
    const ex = await gw.waitExit(drain + 2000 + 1000).catch(() => null);
    assert.ok(ex, `gateway did not exit within ${drain + 3000} ms of SIGTERM`);
    const took = ex.at - tSig;
    assert.equal(ex.code, 0, `exit: ${JSON.stringify(ex)}`);
    assert.ok(took <= drain + 2000, `exit ${took} ms after SIGTERM (drain_timeout_ms ${drain})`);
    assert.ok(took >= drain - 500, `exited after ${took} ms, before the drain deadline (${drain} ms) with a request in flight`);
    const res = await inflight; // settles: the connection is gone with the process
    assert.notEqual(res.status, 200, `the 10 s request cannot have completed: ${JSON.stringify(res)}`);
  });
});

describe('signals', { timeout: 60000 }, () => {
  // Every thread must have the signals blocked: one that does not (a thread started before they
  // were blocked) receives the SIGHUPs that arrive while the main thread is busy reloading, and
  // SIGHUP's default action ends the process.
  it('a burst of 200 SIGHUPs while serving: the gateway stays up and answers', async () => {
    const dir = tmp('portcullis-hupburst-');
    const cfg = writeConfig(dir, gatewayConfig(dir));
    const gw = track(await startGateway({ configPath: cfg }));
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 200; i++) gw.signal('SIGHUP');
      await sleep(300);
      assert.equal(gw.exitInfo(), null, `gateway died in SIGHUP burst ${round + 1}: ${JSON.stringify(gw.exitInfo())}\n${gw.logs().slice(-1500)}`);
      const h = await request(gw.port, { path: '/healthz' });
      assert.equal(h.status, 200);
    }
    assert.ok(/reload applied/.test(gw.logs()), 'no reload was applied');
    const ex = await gw.stop();
    assert.equal(ex.code, 0, `exit: ${JSON.stringify(ex)}`);
  });

  it('SIGTERM then SIGHUPs: the drain is not cut short, the in-flight request completes, exit 0', async () => {
    const dir = tmp('portcullis-termhup-');
    const agent = track(await startAgent());
    const cfg = writeConfig(dir, gatewayConfig(dir, { drainTimeoutMs: 4000, upstream: { response_timeout_ms: 10000 } }));
    const gw = track(await startGateway({ configPath: cfg, args: ['--demo', '--demo-agent', agent.url] }));
    const inflight = slowCall(gw.port, 1500, await demoToken(gw));
    await sleep(300);
    gw.signal('SIGTERM');
    await sleep(50);
    for (let i = 0; i < 50; i++) gw.proc.kill('SIGHUP');
    const res = await inflight;
    assert.equal(res.status, 200, `in-flight request: ${JSON.stringify(res)}\n${gw.logs().slice(-1500)}`);
    assert.equal(res.json?.output?.echo?.text, 'inflight');
    const ex = await gw.waitExit(8000).catch(() => null);
    assert.ok(ex, 'gateway did not exit');
    assert.equal(ex.code, 0, `exit: ${JSON.stringify(ex)}`);
    assert.equal(ex.signal, null);
    assert.ok(ex.at >= res.at - 50, 'exited before the in-flight response was delivered');
    assert.ok(!/reload/.test(gw.logs().split('shutting down')[1] ?? ''), 'a SIGHUP during the drain reloaded');
  });
});

describe('a taken port', { timeout: 40000 }, () => {
  function listDir(d) {
    return fs.existsSync(d) ? fs.readdirSync(d).sort() : [];
  }

  async function expectRefused(port, what) {
    const dir = tmp('portcullis-second-');
    const data = path.join(dir, 'data');
    const cfg = writeConfig(dir, gatewayConfig(data, { extraServer: { listen: `127.0.0.1:${port}` } }));
    const r = await runBinary(['serve', '--config', cfg], { timeoutMs: 10000 });
    assert.equal(r.code, 1, `${what}: exit ${r.code}\n${r.output}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${what}: one line expected on stderr, got:\n${r.stderr}`);
    assert.equal(lines[0], `portcullis: listen 127.0.0.1:${port}: address already in use`, what);
    assert.ok(!/boost|\.hpp|system:\d/i.test(r.output), `${what}: Boost internals printed:\n${r.output}`);
    assert.deepEqual(listDir(data), [], `${what}: files created before the bind failed`);
  }

  it('a second serve on the port of a running gateway fails at start with one line and creates no file', async () => {
    const dir = tmp('portcullis-first-owner-');
    const gw = track(await startGateway({ configPath: writeConfig(dir, gatewayConfig(dir)) }));
    const before = (await request(gw.port, { path: '/.well-known/jwks.json' })).body;
    await expectRefused(gw.port, 'port of a running gateway');
    // The first gateway still owns the port alone: every connection reaches it (same keys).
    for (let i = 0; i < 20; i++) {
      const r = await request(gw.port, { path: '/.well-known/jwks.json' });
      assert.equal(r.status, 200);
      assert.equal(r.body, before, 'a connection reached another process');
    }
    const ex = await gw.stop();
    assert.equal(ex.code, 0);
  });

  it('a port held by another program (no SO_REUSEPORT) fails the same way', async () => {
    const server = net.createServer();
    await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    await expectRefused(server.address().port, 'port of another program');
  });
});

// A gateway trusting an external issuer whose JWKS endpoint can be made to hang, and a way to
// send token exchanges that wait on the token pool's threads for a refetch from it: the subject
// token names a kid the issuer has not published.
async function gatewayWithHangingIdp(prefix, { drainTimeoutMs = 3000 } = {}) {
  const dir = tmp(prefix);
  const signKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const knownKey = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const knownJwk = { ...knownKey.publicKey.export({ format: 'jwk' }), kid: 'known', alg: 'ES256', use: 'sig' };
  const state = { hang: false, stalled: [] };
  const idp = http.createServer((req, res) => {
    if (state.hang) { state.stalled.push(res); return; }  // never answered: the fetch waits for its timeout
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=600' });
    res.end(JSON.stringify({ keys: [knownJwk] }));
  });
  await new Promise((resolve) => idp.listen(0, '127.0.0.1', resolve));
  const release = () => { state.hang = false; for (const r of state.stalled.splice(0)) r.destroy(); };
  cleanups.push(() => new Promise((resolve) => { release(); idp.close(resolve); }));
  const idpUrl = `http://127.0.0.1:${idp.address().port}`;
  const AUD = 'api://portcullis-lifecycle';
  const issuers = [{
    name: 'slowidp',
    issuer: idpUrl,
    discovery: false,
    jwks_uri: `${idpUrl}/jwks`,
    audiences: [AUD],
    tenants: ['demo'],
    algorithms: ['ES256'],
    claims: { tenant: 'tenantid', app: 'appid', roles: 'roles' },
    jwks_cache: { min_seconds: 60, refetch_interval_seconds: 1 },
  }];
  const agent = track(await startAgent());
  const cfg = writeConfig(dir, gatewayConfig(dir, { drainTimeoutMs, extra: { issuers } }));
  const gw = track(await startGateway({ configPath: cfg, args: ['--demo', '--demo-agent', agent.url] }));
  const creds = (await demoCredentials(gw)).tenants.demo;

  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const input = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'rotated-in' })}.${b64({
    iss: idpUrl, aud: AUD, sub: 'user-1', tenantid: 'demo', appid: 'app', roles: ['Agent.Invoke'], iat: now, exp: now + 300,
  })}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: signKey.privateKey, dsaEncoding: 'ieee-p1363' });
  const subject = `${input}.${sig.toString('base64url')}`;
  // Starts `n` exchanges that hang on the token pool; resolves to their outcomes.
  const stuckExchanges = (n) => {
    state.hang = true;
    const all = [];
    for (let i = 0; i < n; i++) {
      all.push(tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE },
        { basic: [creds.client_id, creds.client_secret], timeoutMs: 20000 }).catch((e) => ({ error: e.message })));
    }
    return all;
  };
  return { gw, stuckExchanges, release };
}

// The token endpoint, the admin API and the probes each have a bounded pool of their own: token
// exchanges stuck waiting for an issuer's keys (its JWKS endpoint hangs) fill the token pool's
// threads, and /readyz still answers at once.
describe('work pools and shutdown', { timeout: 60000 }, () => {
  it('/readyz answers within a second while every token worker waits on a hanging JWKS endpoint', async () => {
    const { gw, stuckExchanges, release } = await gatewayWithHangingIdp('portcullis-readyz-');
    assert.equal((await request(gw.port, { path: '/readyz' })).status, 200);
    const exchanges = stuckExchanges(4);
    await sleep(500);  // the exchanges are now waiting on the token pool's threads
    for (let i = 0; i < 3; i++) {
      const t0 = Date.now();
      const r = await request(gw.port, { path: '/readyz', timeoutMs: 1000 }).catch((e) => ({ error: e.message }));
      assert.equal(r.status, 200, `/readyz while the token pool is busy: ${r.error ?? `${r.status} ${r.body}`} after ${Date.now() - t0} ms`);
    }
    release();  // let the stuck fetches end, so the exchanges answer soon
    const results = await Promise.all(exchanges);
    for (const r of results) assert.ok(r.error || r.status >= 400, `the exchange of an unknown kid succeeded: ${r.status} ${r.body}`);
    const ex = await gw.stop();
    assert.equal(ex.code, 0);
  });

  // Work pool jobs still running when the drain deadline passes answer through their
  // connection's event loop: shutdown must stop them before the event loops go away (under
  // `make asan` an answer posted to a destroyed io_context is a heap-use-after-free). The
  // refresher's thread may still be in the hanging fetch (5 s timeout), which bounds the exit.
  it('SIGTERM while token jobs wait for a hanging issuer: they finish before the event loops stop; exit 0', async () => {
    const { gw, stuckExchanges } = await gatewayWithHangingIdp('portcullis-stuckjobs-', { drainTimeoutMs: 500 });
    const exchanges = stuckExchanges(3);
    await sleep(500);
    const tSig = Date.now();
    gw.signal('SIGTERM');
    const ex = await gw.waitExit(10000).catch(() => null);
    assert.ok(ex, 'gateway did not exit within 10 s of SIGTERM');
    assert.equal(ex.signal, null, `killed by a signal: ${JSON.stringify(ex)}\n${gw.logs().slice(-2000)}`);
    assert.equal(ex.code, 0, `exit: ${JSON.stringify(ex)}\n${gw.logs().slice(-2000)}`);
    assert.ok(ex.at - tSig < 500 + 5000 + 2000, `exit ${ex.at - tSig} ms after SIGTERM (drain_timeout_ms 500; the fetch timeout is 5 s)`);
    await Promise.all(exchanges);
  });
});
