// https:// and IPv6 agent endpoints (issue 9 "known gaps", SPEC §8, docs/agent-runtime-contract.md)
// with the real binary: runtimes written here with Node's https module, their certificates issued
// at test time by a CA made with `openssl` in a temp dir, which the gateway trusts through
// server.upstream.ca_file. A trusted runtime answers 200 (sync and async); one whose certificate
// is from another CA or names another host is 502 and no request reaches it; an http runtime on
// [::1] answers 200; the health checker pings https runtimes over verified TLS.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, postJson, bearer, demoToken, adminToken, errorOf, waitFor,
  writeConfig,
} from './harness.mjs';

const openssl = (dir, args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });

// A CA (key and certificate) in `dir` under `name`.
function makeCa(dir, name) {
  openssl(dir, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  return { key: `${name}.key`, cert: `${name}.pem` };
}

// A server certificate issued by `ca` for the subjectAltName `san` (e.g. "IP:127.0.0.1").
function issue(dir, ca, name, san) {
  fs.writeFileSync(path.join(dir, `${name}.ext`),
    `subjectAltName=${san}\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n`);
  openssl(dir, ['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial',
    '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  return { key: fs.readFileSync(path.join(dir, `${name}.key`)), cert: fs.readFileSync(path.join(dir, `${name}.pem`)) };
}

// A runtime that keeps every request it is sent (after the TLS handshake, for https) and answers
// the invocation contract; /ping answers 200 and is counted apart.
async function runtime({ tls, host = '127.0.0.1' } = {}) {
  const seen = [];
  let pings = 0;
  const handler = (req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.url === '/ping') { pings += 1; res.writeHead(200).end('{}'); return; }
      let parsed;
      try { parsed = JSON.parse(body); } catch { parsed = undefined; }
      seen.push({ method: req.method, url: req.url, headers: req.headers, body: parsed });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ output: { got: parsed?.input ?? null, host: req.headers.host } }));
    });
  };
  const srv = tls ? https.createServer(tls, handler) : http.createServer(handler);
  await new Promise((r) => srv.listen(0, host, r));
  const port = srv.address().port;
  const h = host.includes(':') ? `[${host}]` : host;
  return {
    seen,
    get pings() { return pings; },
    port,
    url: `${tls ? 'https' : 'http'}://${h}:${port}`,
    close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); }),
  };
}

describe('invoke: https and IPv6 agent endpoints', { timeout: 120000 }, () => {
  let dir;
  let certs;
  let gw;
  let demoAuth;
  let adm;
  const rt = {};

  before(async () => {
    dir = makeTempDir('portcullis-invoke-https-');
    certs = makeTempDir('portcullis-invoke-https-pki-');
    const ca = makeCa(certs, 'trusted-ca');
    const rogue = makeCa(certs, 'rogue-ca');
    rt.trusted = await runtime({ tls: issue(certs, ca, 'loopback', 'IP:127.0.0.1,IP:::1') });
    rt.trusted6 = await runtime({ tls: issue(certs, ca, 'loopback6', 'IP:127.0.0.1,IP:::1'), host: '::1' });
    rt.untrusted = await runtime({ tls: issue(certs, rogue, 'rogue', 'IP:127.0.0.1') });
    rt.otherName = await runtime({ tls: issue(certs, ca, 'other', 'DNS:other.example') });
    rt.plain6 = await runtime({ host: '::1' });
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 20000, max_connections: 100 },
        // The health checker's first round runs before any agent exists and the next one is an
        // hour away: every agent stays "unknown", so a refused certificate shows as the proxy's
        // 502, not as the checker's 503.
        upstream: { response_timeout_ms: 5000, health_check_interval_ms: 3600000, ca_file: path.join(certs, ca.cert) },
        extraServer: { threads: 2 },
      }),
      args: ['--demo'],
    });
    demoAuth = bearer(await demoToken(gw, 'demo'));
    adm = bearer(await adminToken(gw));
    const write = async (p, body) => {
      const r = await postJson(gw.port, p, body, { headers: adm });
      assert.ok(r.status === 200 || r.status === 201, `${p}: ${r.status} ${r.body}`);
      return r.json;
    };
    for (const [name, r] of Object.entries({
      'tls-ok': rt.trusted, 'tls-ok6': rt.trusted6, 'tls-rogue': rt.untrusted, 'tls-other': rt.otherName, 'plain6': rt.plain6,
    })) {
      await write('/v1/platform/agents', { name, protocol: 'http' });
      await write(`/v1/platform/agents/${name}/versions`, { version: 'v1', endpoint: r.url });
      await write(`/v1/platform/agents/${name}/versions/v1/promote`, {});
    }
    await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      const names = (r.json?.agents ?? []).map((a) => a.name);
      return ['tls-ok', 'tls-ok6', 'tls-rogue', 'tls-other', 'plain6'].every((n) => names.includes(n));
    }, 10000, { what: 'agents visible to tenant demo' });
  });

  after(async () => {
    if (gw) await gw.stop();
    for (const r of Object.values(rt)) await r.close();
    removeDir(dir);
    removeDir(certs);
  });

  const invoke = (name, body) =>
    postJson(gw.port, `/v1/agents/${name}/invoke`, body, { headers: demoAuth, timeoutMs: 15000 });

  it('the Admin API takes https:// (port optional) and bracketed IPv6 endpoints, and still refuses the rest', async () => {
    const r = await postJson(gw.port, '/v1/platform/agents', { name: 'shapes', protocol: 'http' }, { headers: adm });
    assert.ok(r.status === 200 || r.status === 201, r.body);
    let n = 0;
    for (const endpoint of ['https://agents.example', 'https://agents.example:8443/', 'http://[::1]:9000', 'https://[2001:db8::1]']) {
      const v = await postJson(gw.port, '/v1/platform/agents/shapes/versions', { version: `ok${n++}`, endpoint }, { headers: adm });
      assert.ok(v.status === 200 || v.status === 201, `${endpoint}: ${v.status} ${v.body}`);
    }
    for (const endpoint of ['ftp://h:21', 'https://user@agents.example', 'https://agents.example/base', 'https://agents.example?x=1',
      'http://[::1]', 'http://::1:80', 'http://[fe80::1%25eth0]:80', 'http://agents.example']) {
      const v = await postJson(gw.port, '/v1/platform/agents/shapes/versions', { version: `bad${n++}`, endpoint }, { headers: adm });
      assert.equal(v.status, 400, `${endpoint} was accepted: ${v.body}`);
      assert.equal(errorOf(v).code, 'invalid_request', v.body);
    }
  });

  it('sync to an https runtime whose certificate the gateway trusts: 200, over TLS', async () => {
    const r = await invoke('tls-ok', { input: { q: 'secure' } });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.status, 'succeeded');
    assert.deepEqual(r.json.output.got, { q: 'secure' });
    assert.equal(rt.trusted.seen.length, 1);
    assert.equal(rt.trusted.seen[0].url, '/invocations');
    assert.ok(rt.trusted.seen[0].headers['x-portcullis-identity'], 'the identity token reached the runtime');
  });

  it('sync to an https runtime on [::1]: 200, the certificate checked against the IPv6 address', async () => {
    const r = await invoke('tls-ok6', { input: { q: 'six' } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.output.got, { q: 'six' });
    assert.equal(r.json.output.host, `[::1]:${rt.trusted6.port}`);
  });

  it('a certificate from a CA the gateway does not trust: 502, and nothing reaches the runtime', async () => {
    const r = await invoke('tls-rogue', { input: { q: 'leak?' } });
    assert.equal(r.status, 502, r.body);
    assert.equal(errorOf(r).code, 'upstream_unavailable', r.body);
    assert.equal(rt.untrusted.seen.length, 0, 'the request reached a runtime whose certificate was refused');
  });

  it('a trusted certificate for another host name: 502, and nothing reaches the runtime', async () => {
    const r = await invoke('tls-other', { input: { q: 'leak?' } });
    assert.equal(r.status, 502, r.body);
    assert.equal(errorOf(r).code, 'upstream_unavailable', r.body);
    assert.equal(rt.otherName.seen.length, 0, 'the request reached a runtime whose certificate names another host');
  });

  it('sync to an http runtime on [::1]: 200, Host in brackets', async () => {
    const r = await invoke('plain6', { input: { q: 'v6' } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.output.got, { q: 'v6' });
    assert.equal(r.json.output.host, `[::1]:${rt.plain6.port}`);
    assert.equal(rt.plain6.seen.length, 1);
  });

  it('async to the trusted https runtime: the job succeeds (the job client trusts server.upstream.ca_file too)', async () => {
    const r = await invoke('tls-ok', { input: { q: 'later' }, mode: 'async' });
    assert.equal(r.status, 202, r.body);
    const job = await waitFor(async () => {
      const j = await request(gw.port, { path: r.json.pollUrl, headers: demoAuth });
      return ['succeeded', 'failed'].includes(j.json?.status) ? j.json : null;
    }, 20000, { what: 'job finished' });
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.deepEqual(job.result.output.got, { q: 'later' });
  });

  it('async to an untrusted https runtime: the job fails and nothing reaches it', async () => {
    const r = await invoke('tls-rogue', { input: { q: 'later' }, mode: 'async' });
    assert.equal(r.status, 202, r.body);
    const job = await waitFor(async () => {
      const j = await request(gw.port, { path: r.json.pollUrl, headers: demoAuth });
      return ['succeeded', 'failed'].includes(j.json?.status) ? j.json : null;
    }, 60000, { what: 'job finished' });
    assert.equal(job.status, 'failed', JSON.stringify(job));
    assert.equal(rt.untrusted.seen.length, 0);
  });
});

describe('agent health: https runtimes are pinged over verified TLS', { timeout: 60000 }, () => {
  let dir;
  let certs;
  let gw;
  const rt = {};

  before(async () => {
    dir = makeTempDir('portcullis-health-https-');
    certs = makeTempDir('portcullis-health-https-pki-');
    const ca = makeCa(certs, 'trusted-ca');
    const rogue = makeCa(certs, 'rogue-ca');
    rt.trusted = await runtime({ tls: issue(certs, ca, 'loopback', 'IP:127.0.0.1') });
    rt.untrusted = await runtime({ tls: issue(certs, rogue, 'rogue', 'IP:127.0.0.1') });
    rt.plain6 = await runtime({ host: '::1' });
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        upstream: { response_timeout_ms: 5000, health_check_interval_ms: 200, ca_file: path.join(certs, ca.cert) },
      }),
      args: ['--demo'],
    });
    const adm = bearer(await adminToken(gw));
    for (const [name, r] of Object.entries({ 'h-ok': rt.trusted, 'h-rogue': rt.untrusted, 'h-six': rt.plain6 })) {
      for (const [p, body] of [['/v1/platform/agents', { name, protocol: 'http' }],
        [`/v1/platform/agents/${name}/versions`, { version: 'v1', endpoint: r.url }],
        [`/v1/platform/agents/${name}/versions/v1/promote`, {}]]) {
        const res = await postJson(gw.port, p, body, { headers: adm });
        assert.ok(res.status === 200 || res.status === 201, `${p}: ${res.status} ${res.body}`);
      }
    }
  });

  after(async () => {
    if (gw) await gw.stop();
    for (const r of Object.values(rt)) await r.close();
    removeDir(dir);
    removeDir(certs);
  });

  it('trusted https and [::1] runtimes are available; an untrusted one is unavailable and never pinged in clear', async () => {
    const demoAuth = bearer(await demoToken(gw, 'demo'));
    const statuses = await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      const s = Object.fromEntries((r.json?.agents ?? []).map((a) => [a.name, a.status]));
      return s['h-ok'] === 'available' && s['h-six'] === 'available' && s['h-rogue'] === 'unavailable' ? s : null;
    }, 15000, { what: 'health statuses' });
    assert.equal(statuses['h-rogue'], 'unavailable');
    assert.ok(rt.trusted.pings > 0, 'the trusted https runtime was never pinged');
    assert.equal(rt.untrusted.pings, 0, 'a ping reached a runtime whose certificate was refused');
    // Its invocations are refused by the checker now, before any connection.
    const r = await postJson(gw.port, '/v1/agents/h-rogue/invoke', { input: 1 }, { headers: demoAuth });
    assert.equal(r.status, 503, r.body);
    assert.equal(rt.untrusted.seen.length, 0);
  });
});

describe('server.upstream.ca_file on reload: invocations, jobs and health pings follow it', { timeout: 60000 }, () => {
  let dir;
  let certs;
  let gw;
  let rt;

  after(async () => {
    if (gw) await gw.stop();
    if (rt) await rt.close();
    if (dir) removeDir(dir);
    if (certs) removeDir(certs);
  });

  it('a runtime unavailable under the old trust anchors is available, invocable and reached by jobs under the new ones', async () => {
    dir = makeTempDir('portcullis-reload-https-');
    certs = makeTempDir('portcullis-reload-https-pki-');
    const ca = makeCa(certs, 'trusted-ca');
    const other = makeCa(certs, 'other-ca');
    rt = await runtime({ tls: issue(certs, ca, 'loopback', 'IP:127.0.0.1') });
    const config = (caFile) => gatewayConfig(dir, {
      upstream: { response_timeout_ms: 5000, health_check_interval_ms: 200, ca_file: path.join(certs, caFile) },
    });
    const configPath = writeConfig(dir, config(other.cert));
    gw = await startGateway({ configPath, args: ['--demo'] });
    const adm = bearer(await adminToken(gw));
    for (const [p, body] of [['/v1/platform/agents', { name: 'reloaded', protocol: 'http' }],
      ['/v1/platform/agents/reloaded/versions', { version: 'v1', endpoint: rt.url }],
      ['/v1/platform/agents/reloaded/versions/v1/promote', {}]]) {
      const res = await postJson(gw.port, p, body, { headers: adm });
      assert.ok(res.status === 200 || res.status === 201, `${p}: ${res.status} ${res.body}`);
    }
    const demoAuth = bearer(await demoToken(gw, 'demo'));
    const statusOf = async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      return (r.json?.agents ?? []).find((a) => a.name === 'reloaded')?.status;
    };
    await waitFor(async () => (await statusOf()) === 'unavailable', 10000, { what: 'unavailable under the other CA' });
    assert.equal(rt.pings, 0);
    assert.equal(rt.seen.length, 0);

    writeConfig(dir, config(ca.cert));
    gw.signal('SIGHUP');
    await waitFor(async () => (await statusOf()) === 'available', 10000, { what: 'available after the reload' });
    assert.ok(rt.pings > 0);
    const sync = await postJson(gw.port, '/v1/agents/reloaded/invoke', { input: 'now' }, { headers: demoAuth, timeoutMs: 15000 });
    assert.equal(sync.status, 200, sync.body);
    const r = await postJson(gw.port, '/v1/agents/reloaded/invoke', { input: 'later', mode: 'async' }, { headers: demoAuth });
    assert.equal(r.status, 202, r.body);
    const job = await waitFor(async () => {
      const j = await request(gw.port, { path: r.json.pollUrl, headers: demoAuth });
      return ['succeeded', 'failed'].includes(j.json?.status) ? j.json : null;
    }, 20000, { what: 'job finished' });
    assert.equal(job.status, 'succeeded', JSON.stringify(job));
    assert.equal(job.result.output.got, 'later');
  });
});
