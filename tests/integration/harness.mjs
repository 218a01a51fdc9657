// Black-box integration harness for the `portcullis` binary.
// Only Node 20 built-ins: every process started here is killed by its test's `after` hook and,
// as a last resort, by the 'exit' handler below. Every wait is bounded.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(HERE, '..', '..');

function resolveBinary() {
  if (process.env.PORTCULLIS_BIN) return path.resolve(process.env.PORTCULLIS_BIN);
  const preferred = path.join(REPO_ROOT, 'build', 'portcullis');
  if (fs.existsSync(preferred)) return preferred;
  for (const p of ['release', 'debug', 'asan']) {
    const alt = path.join(REPO_ROOT, 'build', p, 'portcullis');
    if (fs.existsSync(alt)) return alt;
  }
  return preferred;
}
export const BIN = resolveBinary();

// ---------------------------------------------------------------------------------------------
// process bookkeeping

const live = new Set();
process.on('exit', () => {
  for (const child of live) {
    try { child.kill('SIGKILL'); } catch { /* already gone */ }
  }
});
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => { process.exit(130); });
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function withTimeout(promise, ms, what = 'operation') {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

// Polls `predicate` (sync or async) until it returns a truthy value; returns that value.
// Throws after `ms` milliseconds.
export async function waitFor(predicate, ms = 5000, { interval = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + ms;
  let lastErr;
  for (;;) {
    try {
      const v = await predicate();
      if (v) return v;
    } catch (e) {
      if (e && e.fatal) throw e;
      lastErr = e;
    }
    if (Date.now() >= deadline) {
      throw new Error(`waitFor(${what}) timed out after ${ms} ms${lastErr ? `; last error: ${lastErr.message}` : ''}`);
    }
    await sleep(interval);
  }
}

export function makeTempDir(prefix = 'portcullis-it-') {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir) {
  try { fs.rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
}

// A port on 127.0.0.1 with nothing listening (bound, then closed).
export async function closedPort() {
  const srv = net.createServer();
  await new Promise((res, rej) => { srv.once('error', rej); srv.listen(0, '127.0.0.1', res); });
  const { port } = srv.address();
  await new Promise((res) => srv.close(res));
  return port;
}

// ---------------------------------------------------------------------------------------------
// configuration

function yamlScalar(v) {
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  return JSON.stringify(String(v)); // a JSON string is a valid YAML double-quoted scalar
}

function yamlFlow(v) {
  if (Array.isArray(v)) return `[${v.map(yamlFlow).join(', ')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.entries(v).map(([k, x]) => `${k}: ${yamlFlow(x)}`).join(', ')}}`;
  }
  return yamlScalar(v);
}

// Renders a nested object as block YAML whose second level uses flow maps, like the brief's
// example config.
export function toYaml(obj, indent = '') {
  let out = '';
  for (const [k, v] of Object.entries(obj)) {
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      out += `${indent}${k}:\n`;
      for (const [k2, v2] of Object.entries(v)) out += `${indent}  ${k2}: ${yamlFlow(v2)}\n`;
    } else {
      out += `${indent}${k}: ${yamlFlow(v)}\n`;
    }
  }
  return out;
}

export const DEFAULT_LIMITS = Object.freeze({
  max_header_bytes: 4096,
  max_body_bytes: 1024,
  max_connections: 20,
  header_timeout_ms: 500,
  idle_timeout_ms: 1000,
});

// The brief's example config with overrides. `dataDir` is required.
// `extra`: further top-level sections (e.g. issuers: [...], tokens: {...}).
export function gatewayConfig(dataDir, { limits = {}, upstream = {}, drainTimeoutMs = 3000, log = {}, extraServer = {}, extra = {} } = {}) {
  return toYaml({
    data_dir: dataDir,
    server: {
      listen: '127.0.0.1:0',
      limits: { ...DEFAULT_LIMITS, ...limits },
      upstream: { connect_timeout_ms: 500, response_timeout_ms: 1000, ...upstream },
      drain_timeout_ms: drainTimeoutMs,
      ...extraServer,
    },
    log: { level: 'info', format: 'json', ...log },
    ...extra,
  });
}

export function writeConfig(dir, yamlText, name = 'config.yaml') {
  const file = path.join(dir, name);
  fs.writeFileSync(file, yamlText);
  return file;
}

// ---------------------------------------------------------------------------------------------
// processes

// Spawns the binary and collects its output. Returns a handle with output accessors.
export function spawnBinary(args, { env = {}, cwd } = {}) {
  if (!fs.existsSync(BIN)) throw new Error(`portcullis binary not found at ${BIN} (set PORTCULLIS_BIN)`);
  const proc = spawn(BIN, args, {
    cwd: cwd ?? os.tmpdir(),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(proc);
  let stdout = '';
  let stderr = '';
  const lineListeners = new Set();
  let partial = '';
  proc.stdout.setEncoding('utf8');
  proc.stderr.setEncoding('utf8');
  proc.stdout.on('data', (d) => {
    stdout += d;
    partial += d;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, i);
      partial = partial.slice(i + 1);
      for (const l of lineListeners) l(line);
    }
  });
  proc.stderr.on('data', (d) => { stderr += d; });
  let exitInfo = null;
  const exited = new Promise((resolve) => {
    proc.once('exit', (code, signal) => {
      exitInfo = { code, signal, at: Date.now() };
      live.delete(proc);
      resolve(exitInfo);
    });
    proc.once('error', (err) => {
      exitInfo = { code: null, signal: null, error: err, at: Date.now() };
      live.delete(proc);
      resolve(exitInfo);
    });
  });
  return {
    proc,
    exited,
    exitInfo: () => exitInfo,
    stdout: () => stdout,
    stderr: () => stderr,
    output: () => stdout + stderr,
    onLine: (fn) => { lineListeners.add(fn); return () => lineListeners.delete(fn); },
    // Waits for the process to exit; resolves to {code, signal} or throws after ms.
    waitExit: (ms) => withTimeout(exited, ms, `exit of ${args[0]}`),
  };
}

// Runs a short-lived command to completion (bounded).
export async function runBinary(args, { timeoutMs = 10000, env } = {}) {
  const h = spawnBinary(args, { env });
  try {
    const info = await h.waitExit(timeoutMs);
    return { code: info.code, signal: info.signal, stdout: h.stdout(), stderr: h.stderr(), output: h.output() };
  } finally {
    if (!h.exitInfo()) h.proc.kill('SIGKILL');
  }
}

export function parseJsonLines(text) {
  const out = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    try { out.push(JSON.parse(t)); } catch { /* not JSON */ }
  }
  return out;
}

function listeningAddresses(text) {
  const addrs = [];
  for (const line of text.split('\n')) {
    if (!line.includes('"msg":"listening"') && !/"msg"\s*:\s*"listening"/.test(line)) continue;
    const m = line.match(/"address"\s*:\s*"127\.0\.0\.1:(\d+)"/);
    if (m) addrs.push(Number(m[1]));
  }
  return addrs;
}

async function isGateway(port) {
  try {
    const r = await request(port, { path: '/healthz', timeoutMs: 1000 });
    return r.status === 200 && !!r.headers['x-request-id'] && r.json && r.json.status === 'ok';
  } catch {
    return false;
  }
}

async function stopHandle(h, { signal = 'SIGTERM', timeoutMs = 8000 } = {}) {
  if (h.exitInfo()) return h.exitInfo();
  try { h.proc.kill(signal); } catch { /* gone */ }
  try {
    return await h.waitExit(timeoutMs);
  } catch {
    try { h.proc.kill('SIGKILL'); } catch { /* gone */ }
    return await h.waitExit(3000).catch(() => ({ code: null, signal: 'SIGKILL' }));
  }
}

// The data_dir a config file names; a relative one resolves against the directory the harness runs
// the binary in (os.tmpdir()). null when the file names none (the built-in default ./var).
export function dataDirOf(configPath) {
  let text;
  try { text = fs.readFileSync(configPath, 'utf8'); } catch { return null; }
  const m = text.match(/^data_dir:[ \t]*(.+?)[ \t]*$/m);
  if (!m) return null;
  let v = m[1];
  if (v.startsWith('"')) {
    try { v = JSON.parse(v); } catch { /* keep as written */ }
  } else if (v.startsWith("'") && v.endsWith("'")) {
    v = v.slice(1, -1).replace(/''/g, "'");
  }
  return path.isAbsolute(v) ? v : path.resolve(os.tmpdir(), v);
}

// Starts `portcullis serve`. Pass `config` (YAML text, written to `dir`) or `configPath`.
// Resolves once the gateway's "listening" line appeared and its /healthz answers.
export async function startGateway({ config, configPath, dir, args = [], env, startTimeoutMs = 15000 } = {}) {
  if (!configPath) {
    if (config == null) throw new Error('startGateway: config or configPath required');
    dir ??= makeTempDir();
    configPath = writeConfig(dir, config);
  }
  const h = spawnBinary(['serve', '--config', configPath, ...args], { env });
  let port;
  try {
    port = await waitFor(async () => {
      if (h.exitInfo()) {
        throw Object.assign(new Error(`gateway exited early (${JSON.stringify(h.exitInfo())})`), { fatal: true });
      }
      // With --demo several listeners may announce themselves; the gateway is the one whose
      // /healthz answers {"status":"ok"} with an X-Request-Id.
      for (const p of new Set(listeningAddresses(h.stdout()))) {
        if (await isGateway(p)) return p;
      }
      return 0;
    }, startTimeoutMs, { interval: 50, what: 'gateway listening' });
  } catch (e) {
    await stopHandle(h, { signal: 'SIGKILL', timeoutMs: 2000 });
    throw new Error(`${e.message}\n--- output ---\n${h.output().slice(-4000)}`);
  }
  // A gateway that dies on its own (crash, abort) is reported with its last output, so the
  // failures of the tests that follow are explained.
  let stopping = false;
  h.exited.then((info) => {
    if (stopping || info.error) return;
    process.stderr.write(`\n[harness] gateway on port ${port} exited unexpectedly: code=${info.code} signal=${info.signal}\n` +
      `--- last output ---\n${h.output().slice(-2500)}\n--- end ---\n`);
  });
  return {
    ...h,
    configPath,
    dir,
    dataDir: dataDirOf(configPath),
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    logs: () => h.output(),
    logLines: () => parseJsonLines(h.stdout()),
    // A position in the output, and everything written since it (stdout then stderr).
    mark: () => ({ out: h.stdout().length, err: h.stderr().length }),
    logsSince: (m) => `${h.stdout().slice(m.out)}\n${h.stderr().slice(m.err)}`,
    signal: (sig) => {
      if (sig === 'SIGTERM' || sig === 'SIGINT' || sig === 'SIGKILL') stopping = true;
      return h.proc.kill(sig);
    },
    stop: (opts) => { stopping = true; return stopHandle(h, opts); },
  };
}

// Starts `portcullis example-agent --listen <listen>` (default 127.0.0.1:0; a fixed port lets a
// test restart a runtime it killed at the address the gateway knows).
export async function startAgent({ args = [], listen = '127.0.0.1:0', startTimeoutMs = 10000 } = {}) {
  const h = spawnBinary(['example-agent', '--listen', listen, ...args]);
  let port;
  try {
    port = await waitFor(() => {
      if (h.exitInfo()) throw Object.assign(new Error(`example-agent exited early (${JSON.stringify(h.exitInfo())})`), { fatal: true });
      const a = listeningAddresses(h.stdout());
      return a.length ? a[0] : 0;
    }, startTimeoutMs, { what: 'example-agent listening' });
  } catch (e) {
    await stopHandle(h, { signal: 'SIGKILL', timeoutMs: 2000 });
    throw new Error(`${e.message}\n--- output ---\n${h.output().slice(-4000)}`);
  }
  return {
    ...h,
    port,
    url: `http://127.0.0.1:${port}`,
    logs: () => h.output(),
    stop: (opts) => stopHandle(h, opts),
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP helpers

// One HTTP request with node:http. `target` is a port number or base URL.
// Resolves {status, headers, body, json, socket}; rejects on error or timeout.
export function request(target, { method = 'GET', path: p = '/', headers = {}, body, timeoutMs = 5000, agent = false } = {}) {
  const base = typeof target === 'number' ? `http://127.0.0.1:${target}` : target;
  const url = new URL(p, base);
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (fn, v) => { if (!settled) { settled = true; clearTimeout(timer); fn(v); } };
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        done(resolve, { status: res.statusCode, headers: res.headers, body: text, json, socket: req.socket, reusedSocket: req.reusedSocket });
      });
      res.on('error', (e) => done(reject, e));
    });
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${p} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => done(reject, e));
    if (body !== undefined) req.write(typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    req.end();
  });
}

export function postJson(target, p, obj, { headers = {}, timeoutMs = 5000, agent } = {}) {
  const body = JSON.stringify(obj);
  return request(target, {
    method: 'POST',
    path: p,
    body,
    timeoutMs,
    agent,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers },
  });
}

// Asserts the SPEC §5 error shape; returns the parsed error object.
export function errorOf(res) {
  if (!res.json || typeof res.json !== 'object' || !res.json.error) {
    throw new Error(`expected a JSON error body, got status ${res.status}: ${String(res.body).slice(0, 300)}`);
  }
  return res.json.error;
}

// ---------------------------------------------------------------------------------------------
// raw sockets

function parseHead(buf) {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = buf.subarray(0, end).toString('latin1');
  const lines = head.split('\r\n');
  const m = lines[0].match(/^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/);
  if (!m) return { bad: true, headEnd: end + 4, statusLine: lines[0] };
  const headers = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i < 0) continue;
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = k in headers ? `${headers[k]}, ${v}` : v;
  }
  return { version: m[1], status: Number(m[2]), reason: m[3] ?? '', headers, headEnd: end + 4 };
}

// Tries to parse one complete response at the start of buf. Returns
// {response, consumed} or null when more bytes are needed. `eof`: the peer closed.
function parseResponse(buf, eof, { headRequest = false } = {}) {
  const h = parseHead(buf);
  if (!h) return null;
  if (h.bad) return { response: { status: null, headers: {}, body: buf.toString('latin1'), malformed: true }, consumed: buf.length };
  const rest = buf.subarray(h.headEnd);
  const mk = (bodyBuf, consumed) => {
    const body = bodyBuf.toString('utf8');
    let json;
    try { json = JSON.parse(body); } catch { json = undefined; }
    return { response: { status: h.status, reason: h.reason, headers: h.headers, body, json }, consumed };
  };
  if (headRequest || h.status === 204 || h.status === 304 || (h.status >= 100 && h.status < 200)) return mk(Buffer.alloc(0), h.headEnd);
  const te = (h.headers['transfer-encoding'] || '').toLowerCase();
  if (te.includes('chunked')) {
    let off = 0;
    const parts = [];
    for (;;) {
      const le = rest.indexOf('\r\n', off);
      if (le < 0) return eof ? mk(Buffer.concat(parts), buf.length) : null;
      const size = parseInt(rest.subarray(off, le).toString('latin1').split(';')[0], 16);
      if (Number.isNaN(size)) return mk(Buffer.concat(parts), buf.length);
      if (size === 0) {
        // skip trailers up to the empty line
        const tEnd = rest.indexOf('\r\n\r\n', le);
        if (tEnd >= 0 && tEnd === le) return mk(Buffer.concat(parts), h.headEnd + le + 4);
        const t2 = rest.indexOf('\r\n', le + 2);
        if (t2 === le + 2) return mk(Buffer.concat(parts), h.headEnd + le + 4);
        if (tEnd >= 0) return mk(Buffer.concat(parts), h.headEnd + tEnd + 4);
        return eof ? mk(Buffer.concat(parts), buf.length) : null;
      }
      if (rest.length < le + 2 + size + 2) return eof ? mk(Buffer.concat([...parts, rest.subarray(le + 2)]), buf.length) : null;
      parts.push(rest.subarray(le + 2, le + 2 + size));
      off = le + 2 + size + 2;
    }
  }
  if (h.headers['content-length'] !== undefined) {
    const n = Number(h.headers['content-length'].split(',')[0]);
    if (rest.length < n) return eof ? mk(rest, buf.length) : null;
    return mk(rest.subarray(0, n), h.headEnd + n);
  }
  // No framing: body runs until close.
  return eof ? mk(rest, buf.length) : null;
}

// A raw TCP connection to 127.0.0.1:port with helpers to read HTTP responses.
export class RawConn {
  static connect(port, { timeoutMs = 3000 } = {}) {
    return new Promise((resolve, reject) => {
      const sock = net.connect({ host: '127.0.0.1', port });
      const timer = setTimeout(() => { sock.destroy(); reject(new Error(`connect to ${port} timed out`)); }, timeoutMs);
      sock.once('connect', () => { clearTimeout(timer); resolve(new RawConn(sock)); });
      sock.once('error', (e) => { clearTimeout(timer); reject(e); });
    });
  }

  constructor(sock) {
    this.sock = sock;
    this.buf = Buffer.alloc(0);
    this.closed = false;
    this.closedAt = null;
    this.error = null;
    this.waiters = new Set();
    sock.on('data', (d) => { this.buf = Buffer.concat([this.buf, d]); this._wake(); });
    sock.on('error', (e) => { this.error = e; this._wake(); });
    sock.on('end', () => { this._markClosed(); });
    sock.on('close', () => { this._markClosed(); });
  }

  _markClosed() {
    if (!this.closed) { this.closed = true; this.closedAt = Date.now(); }
    this._wake();
  }

  _wake() { for (const w of [...this.waiters]) w(); }

  _waitEvent(ms) {
    return new Promise((resolve) => {
      const w = () => { clearTimeout(t); this.waiters.delete(w); resolve(true); };
      const t = setTimeout(() => { this.waiters.delete(w); resolve(false); }, ms);
      this.waiters.add(w);
    });
  }

  write(bytes) {
    return new Promise((resolve) => {
      if (this.closed || this.sock.destroyed) return resolve(false);
      this.sock.write(bytes, (err) => resolve(!err));
    });
  }

  // Reads the next complete response; null if the connection closed (or timed out) first.
  async readResponse({ timeoutMs = 5000, headRequest = false } = {}) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const eof = this.closed;
      const r = parseResponse(this.buf, eof, { headRequest });
      if (r) {
        this.buf = this.buf.subarray(r.consumed);
        return r.response;
      }
      if (eof) return null;
      const left = deadline - Date.now();
      if (left <= 0) return null;
      await this._waitEvent(left);
    }
  }

  // Waits until the peer closes; resolves true if closed within ms.
  async waitClose(ms) {
    const deadline = Date.now() + ms;
    while (!this.closed) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await this._waitEvent(left);
    }
    return true;
  }

  destroy() { try { this.sock.destroy(); } catch { /* gone */ } }
}

// Sends raw bytes on a fresh connection and reads one response.
// Resolves {status, headers, body, json, closed, raw, error}. With waitClose (default true) it
// then waits up to closeWaitMs for the server to close the connection; `closed` reports it.
export async function rawRequest(port, bytes, { timeoutMs = 5000, waitClose = true, closeWaitMs = 1500 } = {}) {
  const conn = await RawConn.connect(port, { timeoutMs });
  try {
    await conn.write(bytes);
    const res = await conn.readResponse({ timeoutMs });
    if (res && waitClose) await conn.waitClose(closeWaitMs);
    return {
      status: res ? res.status : null,
      headers: res ? res.headers : {},
      body: res ? res.body : conn.buf.toString('latin1'),
      json: res ? res.json : undefined,
      closed: conn.closed,
      error: conn.error,
      raw: conn.buf,
    };
  } finally {
    conn.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// metrics

// Parses Prometheus text format into [{name, labels, value}].
export function parseMetrics(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)/);
    if (!m) continue;
    const labels = {};
    if (m[3]) {
      for (const lm of m[3].matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[lm[1]] = lm[2];
    }
    out.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return out;
}

export async function getMetrics(port) {
  const r = await request(port, { path: '/metrics' });
  return { ...r, samples: parseMetrics(r.body) };
}

// ---------------------------------------------------------------------------------------------
// identity: the built-in issuer's credentials files and tokens

export const TOKEN_PATH = '/oauth2/token';
export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

export const bearer = (token) => ({ authorization: `Bearer ${token}` });

function readJsonFile(file) {
  return JSON.parse(fs.readFileSync(file, 'utf8'));
}

function dataDirOrThrow(gw) {
  if (!gw.dataDir) throw new Error('the gateway handle has no dataDir (config without data_dir?)');
  return gw.dataDir;
}

// <data_dir>/demo-credentials.json of a gateway started with --demo (waits for it, bounded):
// {token_url, tenants: {demo: {client_id, client_secret}, acme: {…}}}.
export async function demoCredentials(gw, { timeoutMs = 3000 } = {}) {
  const file = path.join(dataDirOrThrow(gw), 'demo-credentials.json');
  return waitFor(() => readJsonFile(file), timeoutMs, { what: `${file} readable` });
}

// <data_dir>/bootstrap-admin.json: {client_id, client_secret, token_url}.
// Runs `portcullis ops …` to completion (bounded) with no client secret from the environment, so
// the CLI reads the credentials --config points it at. Resolves {code, stdout, stderr}.
export function runOps(args, { timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['ops', ...args], { cwd: os.tmpdir(), env: { ...process.env, PORTCULLIS_CLIENT_SECRET: '' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ops ${args.join(' ')} timed out`)); }, timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('exit', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

export async function bootstrapAdmin(gw, { timeoutMs = 3000 } = {}) {
  const file = path.join(dataDirOrThrow(gw), 'bootstrap-admin.json');
  return waitFor(() => readJsonFile(file), timeoutMs, { what: `${file} readable` });
}

// POST /oauth2/token on the gateway. `params`: form fields (an array of [k, v] pairs allows
// repeated names; undefined values are left out). `basic`: [client_id, client_secret] for client_secret_basic (RFC 6749 §2.3.1
// form-encodes both before base64). Resolves the harness response.
export function tokenRequest(gw, params, { basic, headers = {}, body, contentType = 'application/x-www-form-urlencoded', timeoutMs = 5000 } = {}) {
  const pairs = Array.isArray(params) ? params : Object.entries(params ?? {});
  const form = body ?? new URLSearchParams(pairs.filter(([, v]) => v !== undefined)).toString();
  const h = { 'content-type': contentType, 'content-length': Buffer.byteLength(form), ...headers };
  if (basic) {
    const enc = (x) => encodeURIComponent(x).replace(/%20/g, '+');
    h.authorization = `Basic ${Buffer.from(`${enc(basic[0])}:${enc(basic[1])}`).toString('base64')}`;
  }
  return request(gw.port ?? gw, { method: 'POST', path: TOKEN_PATH, headers: h, body: form, timeoutMs });
}

// An access token for a client (client_credentials, client_secret_basic); throws unless 200.
export async function clientToken(gw, clientId, clientSecret, params = {}) {
  const r = await tokenRequest(gw, { grant_type: 'client_credentials', ...params }, { basic: [clientId, clientSecret] });
  if (r.status !== 200 || !r.json?.access_token) {
    throw new Error(`token request for ${clientId} answered ${r.status}: ${r.body.slice(0, 300)}`);
  }
  return r.json.access_token;
}

// An access token of the demo machine client of `tenant` ('demo' or 'acme'); the gateway must run
// with --demo.
export async function demoToken(gw, tenant = 'demo', params = {}) {
  const creds = await demoCredentials(gw);
  const c = creds.tenants?.[tenant];
  if (!c) throw new Error(`demo-credentials.json has no tenant ${tenant}: ${JSON.stringify(Object.keys(creds.tenants ?? {}))}`);
  return clientToken(gw, c.client_id, c.client_secret, params);
}

// An access token of the bootstrap platform admin.
export async function adminToken(gw, params = {}) {
  const c = await bootstrapAdmin(gw);
  return clientToken(gw, c.client_id, c.client_secret, params);
}

// The decoded (not verified) header and payload of a compact JWT.
export function decodeJwt(jwt) {
  const [h, p] = String(jwt).split('.');
  const dec = (x) => JSON.parse(Buffer.from(x, 'base64url').toString('utf8'));
  return { header: dec(h), payload: dec(p) };
}
