// PostgreSQL for the cluster tests, two ways:
//  - createDatabase(serverUrl): a fresh database on a server someone else runs (under `make test`
//    scripts/with-postgres.sh sets PORTCULLIS_TEST_PG_URL), dropped again by drop();
//  - startPostgres(): a server of the test's own, started like scripts/with-postgres.sh does it
//    (initdb in a temp dir, trust auth, a loopback port picked at run time, the socket in the temp
//    dir, the postmaster a child of this process — never `pg_ctl start`, whose daemon nobody
//    reaps here), so a test can stop() and restart() it mid-load without touching anyone else's.
// Run as root, initdb and the server run as the `postgres` user (PostgreSQL refuses root).
import { spawn, execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { closedPort } from '../harness.mjs';

const BINDIR = process.env.PG_BINDIR || '/usr/lib/postgresql/15/bin';
const asRoot = process.getuid?.() === 0;
// [command, args] run as the postgres user when we are root.
const asPg = (cmd, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args]);

export function psql(url, sql, { timeoutMs = 15000 } = {}) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql],
    { encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
}

// A fresh database on the server `serverUrl` names. Resolves {name, url, drop()}.
export function createDatabase(serverUrl, prefix = 'pc_it') {
  const name = `${prefix}_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
  try {
    psql(serverUrl, `CREATE DATABASE ${name}`);
  } catch (e) {
    throw new Error(`cannot create a database on ${serverUrl} with psql: ${String(e.stderr || e.message).trim().slice(0, 300)}`);
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  return {
    name,
    url: u.toString(),
    drop: () => {
      try { psql(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`); } catch { /* best effort */ }
    },
  };
}

function ready(port) {
  try {
    execFileSync(path.join(BINDIR, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(port)], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

// Starts a throwaway PostgreSQL server. Resolves {port, url (the `postgres` database), stop(),
// restart({mode, downMs}), output()}. Throws, with the reason, when it cannot (no initdb, …).
export async function startPostgres() {
  if (!fs.existsSync(path.join(BINDIR, 'initdb'))) {
    throw new Error(`${BINDIR}/initdb not found: install PostgreSQL 15 (make deps-test) or set PG_BINDIR`);
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pc-it-postgres-'));
  const data = path.join(dir, 'data');
  if (asRoot) execFileSync('chown', ['postgres:', dir]);
  const [c, a] = asPg(path.join(BINDIR, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
  try {
    execFileSync(c, a, { stdio: ['ignore', 'pipe', 'pipe'], timeout: 60000 });
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String(e.stderr || e.message).slice(-1000)}`);
  }

  let proc = null;
  let port = 0;
  let output = '';
  async function launch() {
    const [cmd, args] = asPg(path.join(BINDIR, 'postgres'), ['-D', data, '-c', 'listen_addresses=127.0.0.1', '-p', String(port),
      '-k', dir, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']);
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    p.stdout.on('data', (d) => { output += d; });
    p.stderr.on('data', (d) => { output += d; });
    let exited = false;
    p.once('exit', () => { exited = true; });
    proc = p;
    const end = Date.now() + 30000;
    while (Date.now() < end) {
      if (exited) return false;
      if (ready(port)) return true;
      await new Promise((r) => setTimeout(r, 50));
    }
    return false;
  }

  // The postmaster's own pid (runuser in between when root): first line of postmaster.pid.
  const postmasterPid = () => {
    try { return Number(fs.readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]); } catch { return 0; }
  };
  // smart/fast/immediate shutdown = SIGTERM/SIGINT/SIGQUIT to the postmaster we started.
  const halt = async (mode = 'fast') => {
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const p = proc;
    const gone = new Promise((r) => p.once('exit', r));
    const pid = postmasterPid();
    const sig = { smart: 'SIGTERM', fast: 'SIGINT', immediate: 'SIGQUIT' }[mode];
    try { if (pid) process.kill(pid, sig); else p.kill(sig); } catch { /* gone */ }
    const t = setTimeout(() => { try { if (pid) process.kill(pid, 'SIGKILL'); p.kill('SIGKILL'); } catch { /* gone */ } }, 10000);
    await gone;
    clearTimeout(t);
  };

  let started = false;
  for (let i = 0; i < 5 && !started; ++i) {
    port = await closedPort();
    started = await launch();
    if (!started) await halt('immediate');
  }
  if (!started) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`postgres did not start:\n${output.slice(-2000)}`);
  }
  // The last-resort cleanup when the test process dies without its after hook.
  const onExit = () => { try { const pid = postmasterPid(); if (pid) process.kill(pid, 'SIGQUIT'); } catch { /* gone */ } };
  process.once('exit', onExit);

  return {
    port,
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    output: () => output,
    // Stops the server (`mode` as pg_ctl's -m), waits `downMs`, starts it again on the same port.
    restart: async ({ mode = 'fast', downMs = 0 } = {}) => {
      await halt(mode);
      if (downMs) await new Promise((r) => setTimeout(r, downMs));
      if (!(await launch())) throw new Error(`postgres did not restart:\n${output.slice(-2000)}`);
    },
    halt,
    start: async () => {
      if (!(await launch())) throw new Error(`postgres did not start again:\n${output.slice(-2000)}`);
    },
    stop: async () => {
      await halt('immediate');
      process.removeListener('exit', onExit);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
