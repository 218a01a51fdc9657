// A real redis-server for the cluster tests: a loopback port picked at run time, a temp dir of
// its own, optional `requirepass` and TLS (redis-server's tls-port with a throwaway CA and a
// certificate for 127.0.0.1 made here with the openssl CLI). kill() and restart() (same port,
// same password and certificate) let a test take Redis away mid-load and bring it back.
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

async function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function accepts(port) {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

function makeCerts(dir) {
  const run = (args) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], timeout: 30000 });
  run(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=pc-it-redis-ca']);
  run(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1']);
  fs.writeFileSync(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt',
    '-days', '1', '-extfile', 'ext.cnf']);
}

// Starts redis-server; resolves once it accepts connections. `password`: requirepass;
// `tls`: only a TLS port (rediss://), its CA at `caFile`.
export async function startRedis({ password = '', tls = false } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pc-it-redis-'));
  if (tls) makeCerts(dir);
  let proc = null;
  let port = 0;
  let output = '';

  async function launch() {
    const args = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir];
    if (tls) {
      args.push('--port', '0', '--tls-port', String(port), '--tls-cert-file', path.join(dir, 'server.crt'),
        '--tls-key-file', path.join(dir, 'server.key'), '--tls-ca-cert-file', path.join(dir, 'ca.crt'),
        '--tls-auth-clients', 'no');
    } else {
      args.push('--port', String(port));
    }
    if (password) args.push('--requirepass', password);
    const p = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d) => { output += d; });
    p.stderr.on('data', (d) => { output += d; });
    let exited = false;
    p.once('exit', () => { exited = true; });
    proc = p;
    const end = Date.now() + 10000;
    while (Date.now() < end) {
      if (exited) return false;
      if (await accepts(port)) return true;
      await new Promise((r) => setTimeout(r, 25));
    }
    return false;
  }

  let started = false;
  for (let i = 0; i < 5 && !started; ++i) {
    port = await freePort();
    started = await launch();
  }
  if (!started) throw new Error(`redis-server did not start:\n${output.slice(-2000)}`);

  const kill = async () => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const p = proc;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  return {
    port,
    tls,
    caFile: tls ? path.join(dir, 'ca.crt') : '',
    // redis[s]://[:password@]127.0.0.1:port (password overridable, e.g. a wrong one)
    url: ({ pass = password } = {}) => `${tls ? 'rediss' : 'redis'}://${pass ? `:${encodeURIComponent(pass)}@` : ''}127.0.0.1:${port}`,
    output: () => output,
    kill,
    // Same port, a fresh (empty) server.
    restart: async () => {
      await kill();
      if (!(await launch())) throw new Error(`redis-server did not restart:\n${output.slice(-2000)}`);
    },
    stop: async () => {
      await kill();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
