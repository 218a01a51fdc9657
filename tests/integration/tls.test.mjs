// TLS on the client side: a certificate from the config, TLS 1.2 as the floor (1.3 when asked),
// plain HTTP on a TLS port gets no HTTP answer.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';

import { makeTempDir, removeDir, spawnBinary, waitFor, toYaml, writeConfig } from './harness.mjs';

function makeCert(dir) {
  const key = path.join(dir, 'tls.key');
  const cert = path.join(dir, 'tls.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
    '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
  return { key, cert };
}

async function startTlsGateway(dir, tls) {
  const cfg = toYaml({ data_dir: path.join(dir, 'var'), server: { listen: '127.0.0.1:0', tls }, log: { level: 'info' } });
  const h = spawnBinary(['serve', '--config', writeConfig(dir, cfg)]);
  const port = await waitFor(() => {
    if (h.exitInfo()) throw Object.assign(new Error(`gateway exited: ${h.output()}`), { fatal: true });
    const m = h.stdout().match(/"msg":"listening","address":"127\.0\.0\.1:(\d+)"/);
    return m ? Number(m[1]) : null;
  }, 15000, { what: 'TLS gateway listening' });
  return { h, port, stop: async () => { h.proc.kill('SIGTERM'); await h.waitExit(10000); } };
}

function get(port, ca, opts = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path: '/healthz', ca, servername: 'localhost',
      agent: false, timeout: 5000, ...opts }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode, body, protocol: res.socket?.getProtocol?.() }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

describe('TLS', { timeout: 60000 }, () => {
  let dir;
  let cert;
  let ca;
  let gw12;
  let gw13;

  before(async () => {
    dir = makeTempDir('portcullis-tls-');
    cert = makeCert(dir);
    ca = fs.readFileSync(cert.cert);
    fs.mkdirSync(path.join(dir, 'a'));
    fs.mkdirSync(path.join(dir, 'b'));
    gw12 = await startTlsGateway(path.join(dir, 'a'), { cert_file: cert.cert, key_file: cert.key });
    gw13 = await startTlsGateway(path.join(dir, 'b'), { cert_file: cert.cert, key_file: cert.key, min_version: '1.3' });
  });

  after(async () => {
    await gw12?.stop();
    await gw13?.stop();
    removeDir(dir);
  });

  it('serves HTTPS with the configured certificate', async () => {
    const r = await get(gw12.port, ca);
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { status: 'ok' });
  });

  it('TLS 1.2 clients are served when the floor is 1.2', async () => {
    const r = await get(gw12.port, ca, { maxVersion: 'TLSv1.2' });
    assert.equal(r.status, 200);
    assert.equal(r.protocol, 'TLSv1.2');
  });

  it('TLS 1.2 clients are refused when min_version is 1.3', async () => {
    await assert.rejects(get(gw13.port, ca, { maxVersion: 'TLSv1.2' }), (e) => /protocol version|alert|EPROTO|ECONNRESET/i.test(`${e.code} ${e.message}`));
    const ok = await get(gw13.port, ca);  // a 1.3 client is fine
    assert.equal(ok.protocol, 'TLSv1.3');
  });

  it('a client that does not trust the certificate fails the handshake', async () => {
    await assert.rejects(get(gw12.port, undefined), (e) => /self[- ]signed|certificate/i.test(e.message));
  });

  it('plain HTTP on the TLS port gets no HTTP response and the server stays up', async () => {
    const answer = await new Promise((resolve) => {
      const s = net.connect(gw12.port, '127.0.0.1', () => s.write('GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n'));
      let data = '';
      s.on('data', (d) => { data += d.toString('latin1'); });
      s.on('close', () => resolve(data));
      s.on('error', () => {});
      setTimeout(() => s.destroy(), 3000);
    });
    assert.ok(!answer.startsWith('HTTP/1.1 200'), `unexpected plain answer: ${answer.slice(0, 60)}`);
    const r = await get(gw12.port, ca);
    assert.equal(r.status, 200);
  });
});
