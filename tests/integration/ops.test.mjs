// `portcullis ops` end to end (SPEC §2, docs/admin-api.md): the operator CLI against a real
// gateway with a fresh data dir, authenticated with the bootstrap admin's credentials from
// <data_dir>/bootstrap-admin.json. Every command is run as an operator would run it; its effect
// is checked through the output and, where it matters, through the gateway itself (a rotated
// secret really stops working at /oauth2/token). Errors: the one-line message with the API's
// code and request id, exit 1; bad flags exit 2; wrong credentials and an unreachable gateway
// exit 1.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  BIN, startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, postJson, tokenRequest,
  bootstrapAdmin, demoCredentials, demoToken, bearer, closedPort, waitFor, spawnBinary, toYaml, writeConfig,
} from './harness.mjs';

// Runs `portcullis ops …` to completion (bounded), optionally feeding stdin. Resolves
// {code, stdout, stderr}.
function runOps(args, { input, env = {}, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, ['ops', ...args], {
      cwd: os.tmpdir(),
      env: { ...process.env, PORTCULLIS_CLIENT_SECRET: '', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8');
    child.stderr.setEncoding('utf8');
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`ops ${args.join(' ')} timed out`)); }, timeoutMs);
    child.once('error', (e) => { clearTimeout(timer); reject(e); });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const r = { code, signal, stdout, stderr };
      allRuns.push(r);
      resolve(r);
    });
    child.stdin.on('error', () => { /* the CLI may exit before reading */ });
    child.stdin.end(input ?? '');
  });
}
const allRuns = [];

// The SPEC's one-line error: "portcullis ops: <message> (<code>, request <requestId>)".
const API_ERROR = (code) => new RegExp(`^portcullis ops: .+ \\(${code}, request [\\w.:-]+\\)\\n$`);

function ok(r, what) {
  assert.equal(r.code, 0, `${what}: exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

function json(r, what) {
  ok(r, what);
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    throw new Error(`${what}: stdout is not JSON (${e.message}): ${r.stdout.slice(0, 500)}`);
  }
}

// The rows of a human table (header first), split on runs of 2+ blanks.
function tableRows(text) {
  return text.trimEnd().split('\n').map((l) => l.split(/ {2,}/));
}

describe('portcullis ops', { timeout: 180000 }, () => {
  let dir;
  let agent;
  let gw;
  let cfg;  // the gateway's config file: ops finds bootstrap-admin.json through its data_dir
  let admin;
  const O = (...args) => runOps(['--config', cfg, ...args]);

  before(async () => {
    dir = makeTempDir('portcullis-ops-');
    agent = await startAgent();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 } }),
      args: ['--demo', '--demo-agent', agent.url],
    });
    cfg = gw.configPath;
    admin = await bootstrapAdmin(gw);
  });

  after(async () => {
    if (gw) await gw.stop();
    if (agent) await agent.stop();
    removeDir(dir);
  });

  describe('credentials and global flags', () => {
    it('by default reads <data_dir>/bootstrap-admin.json of --config and calls the gateway at token_url\'s origin', async () => {
      const r = ok(await O('tenants', 'list'), 'tenants list');
      const rows = tableRows(r.stdout);
      assert.deepEqual(rows[0], ['TENANT', 'NAME', 'TIER', 'STATUS', 'CREATED']);
      const ids = rows.slice(1).map((x) => x[0]);
      assert.ok(ids.includes('demo') && ids.includes('acme'), r.stdout);
    });

    it('--credentials FILE, and global flags after the command', async () => {
      const file = path.join(dir, 'other-creds.json');
      fs.writeFileSync(file, JSON.stringify(admin), { mode: 0o600 });
      const body = json(await runOps(['tenants', 'list', '--credentials', file, '--json']), 'tenants list --credentials');
      assert.ok(body.tenants.some((t) => t.tenantId === 'demo'));
    });

    it('--client-id with --url; the secret from $PORTCULLIS_CLIENT_SECRET instead of a flag', async () => {
      const viaFlag = json(await runOps(['--client-id', admin.client_id, '--client-secret', admin.client_secret,
        '--url', gw.baseUrl, '--json', 'tenants', 'get', 'demo']), 'get via --client-secret');
      assert.equal(viaFlag.tenantId, 'demo');
      const viaEnv = json(await runOps(['--client-id', admin.client_id, '--url', gw.baseUrl, '--json', 'tenants', 'get', 'acme'],
        { env: { PORTCULLIS_CLIENT_SECRET: admin.client_secret } }), 'get via env');
      assert.equal(viaEnv.tenantId, 'acme');
    });

    it('--token-url alone names the gateway too', async () => {
      const j = json(await runOps(['--client-id', admin.client_id, '--client-secret', admin.client_secret,
        '--token-url', admin.token_url, '--json', 'tenants', 'get', 'demo']), 'get via --token-url');
      assert.equal(j.tenantId, 'demo');
    });

    it('a missing credentials file is a usage error (exit 2) naming the file', async () => {
      const r = await runOps(['--credentials', path.join(dir, 'absent.json'), 'tenants', 'list']);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^portcullis ops: cannot read .*absent\.json/);
      assert.equal(r.stdout, '');
    });
  });

  describe('tenants', () => {
    it('create prints the new tenant; --json is the API\'s 201 answer', async () => {
      const r = ok(await O('tenants', 'create', 'ops-t1', '--tier', 'basic', '--name', 'Ops One'), 'create');
      assert.match(r.stdout, /^tenantId: +ops-t1$/m);
      assert.match(r.stdout, /^tier: +basic$/m);
      assert.match(r.stdout, /^displayName: +Ops One$/m);
      const j = json(await O('--json', 'tenants', 'create', 'ops-t2', '--tier', 'standard'), 'create --json');
      assert.equal(j.tenantId, 'ops-t2');
      assert.equal(j.tier, 'standard');
      assert.equal(j.status, 'active');
    });

    it('create of an existing tenant: exit 1 with the API\'s code', async () => {
      const r = await O('tenants', 'create', 'ops-t1', '--tier', 'basic');
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, API_ERROR('[a-z_]+'));
    });

    it('list shows one row per tenant; --json parses and has nextCursor', async () => {
      const r = ok(await O('tenants', 'list'), 'list');
      const row = tableRows(r.stdout).find((x) => x[0] === 'ops-t1');
      assert.deepEqual(row?.slice(0, 4), ['ops-t1', 'Ops One', 'basic', 'active'], r.stdout);
      const j = json(await O('tenants', 'list', '--json'), 'list --json');
      assert.ok(Array.isArray(j.tenants));
      assert.ok('nextCursor' in j);
      assert.ok(j.tenants.some((t) => t.tenantId === 'ops-t2'));
    });

    it('--limit pages, --cursor continues, --all follows nextCursor to the end', async () => {
      const all = json(await O('tenants', 'list', '--json', '--limit', '1000'), 'all').tenants.map((t) => t.tenantId);
      assert.ok(all.length >= 4, JSON.stringify(all));
      const p1 = json(await O('tenants', 'list', '--json', '--limit', '1'), 'page 1');
      assert.equal(p1.tenants.length, 1);
      assert.equal(typeof p1.nextCursor, 'string');
      const p2 = json(await O('tenants', 'list', '--json', '--limit', '1', '--cursor', p1.nextCursor), 'page 2');
      assert.equal(p2.tenants.length, 1);
      assert.notEqual(p2.tenants[0].tenantId, p1.tenants[0].tenantId);
      const merged = json(await O('tenants', 'list', '--json', '--limit', '1', '--all'), '--all');
      assert.deepEqual(merged.tenants.map((t) => t.tenantId), all);
      assert.equal(merged.nextCursor, null);
      // Human output with more pages says how to get them (on stderr: stdout stays the table).
      const human = ok(await O('tenants', 'list', '--limit', '1'), 'human page');
      assert.equal(tableRows(human.stdout).length, 2);
      assert.match(human.stderr, /--cursor \S+/);
    });

    it('get shows one tenant as key: value lines', async () => {
      const r = ok(await O('tenants', 'get', 'ops-t1'), 'get');
      assert.match(r.stdout, /^tenantId: +ops-t1$/m);
      assert.match(r.stdout, /^status: +active$/m);
      assert.match(r.stdout, /^createdAt: +\d{4}-\d\d-\d\dT/m);
    });

    it('update changes tier and name; nothing to change is a usage error', async () => {
      const j = json(await O('--json', 'tenants', 'update', 'ops-t1', '--tier', 'premium', '--name', 'Ops Uno'), 'update');
      assert.equal(j.tier, 'premium');
      assert.equal(j.displayName, 'Ops Uno');
      const none = await O('tenants', 'update', 'ops-t1');
      assert.equal(none.code, 2, none.stderr);
      const bad = await O('tenants', 'update', 'ops-t1', '--status', 'frozen');
      assert.equal(bad.code, 2, 'status outside active|suspended is refused before any call');
    });

    it('suspend and resume: the status changes at the API and the tenant\'s clients are refused meanwhile', async () => {
      const created = json(await O('--json', 'clients', 'create', 'ops-t1', '--name', 'svc', '--role', 'Machine.Invoke'), 'client');
      const r = ok(await O('tenants', 'suspend', 'ops-t1'), 'suspend');
      assert.equal(r.stdout, 'tenant ops-t1 is suspended\n');
      assert.equal(json(await O('--json', 'tenants', 'get', 'ops-t1'), 'get').status, 'suspended');
      const refused = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [created.clientId, created.clientSecret] });
      assert.notEqual(refused.status, 200, 'a suspended tenant\'s client must not get a token');
      const r2 = ok(await O('tenants', 'resume', 'ops-t1'), 'resume');
      assert.equal(r2.stdout, 'tenant ops-t1 is active\n');
      assert.equal(json(await O('--json', 'tenants', 'get', 'ops-t1'), 'get').status, 'active');
      const again = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [created.clientId, created.clientSecret] });
      assert.equal(again.status, 200, again.body);
    });

    it('delete: 202 answer, purge date printed; the tenant is no longer active', async () => {
      ok(await O('tenants', 'create', 'ops-del', '--tier', 'basic'), 'create');
      const r = ok(await O('tenants', 'delete', 'ops-del'), 'delete');
      assert.match(r.stdout, /^tenant ops-del deleted; its data is purged after \d{4}-\d\d-\d\dT\S+\n$/);
      const after = await O('--json', 'tenants', 'get', 'ops-del');
      if (after.code === 0) assert.equal(JSON.parse(after.stdout).status, 'deleted');
      else assert.match(after.stderr, API_ERROR('not_found'));
    });

    it('delete --json prints the API\'s answer', async () => {
      ok(await O('tenants', 'create', 'ops-del2', '--tier', 'basic'), 'create');
      const j = json(await O('--json', 'tenants', 'delete', 'ops-del2'), 'delete --json');
      assert.equal(j.tenantId, 'ops-del2');
      assert.equal(j.status, 'deleted');
      assert.equal(typeof j.purgeAfter, 'string');
    });
  });

  describe('clients', () => {
    let client;  // {clientId, clientSecret}

    it('create prints the secret once with a warning; the secret works at /oauth2/token', async () => {
      const r = ok(await O('clients', 'create', 'ops-t2', '--name', 'batch', '--role', 'Machine.Invoke', '--role', 'Agent.Invoke',
        '--scope', 'agents:invoke'), 'clients create');
      const id = r.stdout.match(/^clientId: +(\S+)$/m)?.[1];
      const secret = r.stdout.match(/^clientSecret: +(\S+)$/m)?.[1];
      assert.ok(id && secret, r.stdout);
      assert.match(r.stdout, /^roles: +Machine\.Invoke,Agent\.Invoke$/m);
      assert.match(r.stderr, /not shown again/);
      client = { clientId: id, clientSecret: secret };
      const t = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [id, secret] });
      assert.equal(t.status, 200, t.body);
      assert.equal(t.json.scope, 'agents:invoke');
    });

    it('create --json is the API\'s answer (secret included) and still warns on stderr', async () => {
      const r = await O('--json', 'clients', 'create', 'ops-t2', '--name', 'j', '--role', 'Machine.Invoke');
      const j = json(r, 'create --json');
      assert.equal(typeof j.clientId, 'string');
      assert.equal(typeof j.clientSecret, 'string');
      assert.deepEqual(j.roles, ['Machine.Invoke']);
      assert.match(r.stderr, /not shown again/);
    });

    it('create needs --name and at least one --role (exit 2)', async () => {
      assert.equal((await O('clients', 'create', 'ops-t2', '--role', 'Machine.Invoke')).code, 2);
      assert.equal((await O('clients', 'create', 'ops-t2', '--name', 'x')).code, 2);
    });

    it('list shows the clients and never a secret', async () => {
      const r = ok(await O('clients', 'list', 'ops-t2'), 'clients list');
      const rows = tableRows(r.stdout);
      assert.deepEqual(rows[0], ['CLIENT ID', 'NAME', 'ROLES', 'SCOPES', 'STATUS', 'CREATED']);
      const row = rows.find((x) => x[0] === client.clientId);
      assert.equal(row?.[1], 'batch', r.stdout);
      assert.ok(!r.stdout.includes(client.clientSecret), 'a secret in the list');
      const j = json(await O('--json', 'clients', 'list', 'ops-t2'), 'list --json');
      assert.ok(j.clients.every((c) => !('clientSecret' in c)));
    });

    it('rotate: the new secret is printed once; the old one stops working, the new one works', async () => {
      const r = ok(await O('clients', 'rotate', 'ops-t2', client.clientId), 'rotate');
      const secret = r.stdout.match(/^clientSecret: +(\S+)$/m)?.[1];
      assert.ok(secret, r.stdout);
      assert.notEqual(secret, client.clientSecret);
      assert.match(r.stderr, /not shown again/);
      const old = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [client.clientId, client.clientSecret] });
      assert.equal(old.status, 401, old.body);
      const fresh = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [client.clientId, secret] });
      assert.equal(fresh.status, 200, fresh.body);
    });

    it('rotate of an unknown client: exit 1 with the API\'s code', async () => {
      const r = await O('clients', 'rotate', 'ops-t2', 'no-such-client');
      assert.equal(r.code, 1);
      assert.match(r.stderr, API_ERROR('not_found'));
    });

    it('disable refuses the client at /oauth2/token, enable restores it, delete removes it (issue 8 item 20)', async () => {
      const made = json(await O('--json', 'clients', 'create', 'ops-t2', '--name', 'short-lived', '--role', 'Machine.Invoke'), 'create');
      const c = { clientId: made.clientId, clientSecret: made.clientSecret };
      const basic = { basic: [c.clientId, c.clientSecret] };
      const tok = await tokenRequest(gw, { grant_type: 'client_credentials' }, basic);
      assert.equal(tok.status, 200, tok.body);
      const d = json(await O('--json', 'clients', 'disable', 'ops-t2', c.clientId), 'clients disable');
      assert.equal(d.status, 'disabled');
      assert.equal((await tokenRequest(gw, { grant_type: 'client_credentials' }, basic)).json?.error, 'invalid_client');
      assert.match(ok(await O('clients', 'enable', 'ops-t2', c.clientId), 'clients enable').stdout, /^status: +active$/m);
      assert.equal((await tokenRequest(gw, { grant_type: 'client_credentials' }, basic)).status, 200);
      const del = ok(await O('clients', 'delete', 'ops-t2', c.clientId), 'clients delete');
      assert.match(del.stdout, new RegExp(`client ${c.clientId} deleted`));
      assert.equal((await tokenRequest(gw, { grant_type: 'client_credentials' }, basic)).json?.error, 'invalid_client');
      const rows = tableRows(ok(await O('clients', 'list', 'ops-t2'), 'clients list').stdout);
      assert.ok(!rows.some((x) => x[0] === c.clientId), 'a deleted client is listed');
      const again = await O('clients', 'delete', 'ops-t2', c.clientId);
      assert.equal(again.code, 1);
      assert.match(again.stderr, API_ERROR('not_found'));
    });
  });

  describe('errors', () => {
    it('unknown tenant: exit 1, "<message> (not_found, request <id>)" on stderr, nothing on stdout', async () => {
      const r = await O('tenants', 'get', 'no-such-tenant');
      assert.equal(r.code, 1);
      assert.match(r.stderr, API_ERROR('not_found'));
      assert.match(r.stderr, /no-such-tenant/);
      assert.equal(r.stdout, '');
    });

    it('wrong credentials: exit 1 "token request failed", the secret never echoed', async () => {
      const r = await runOps(['--client-id', admin.client_id, '--client-secret', 'wrong-secret-value', '--url', gw.baseUrl, 'tenants', 'list']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^portcullis ops: token request failed: invalid_client/);
      assert.ok(!r.stderr.includes('wrong-secret-value'));
      assert.equal(r.stdout, '');
    });

    it('a client without a platform role: the API\'s 403 (forbidden)', async () => {
      const demo = (await demoCredentials(gw)).tenants.demo;
      const r = await runOps(['--client-id', demo.client_id, '--client-secret', demo.client_secret, '--url', gw.baseUrl, 'tenants', 'list']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, API_ERROR('forbidden'));
    });

    it('bad flags and usage: exit 2, nothing called', async () => {
      for (const args of [
        ['tenants', 'list', '--no-such-flag'],
        ['tenants'],
        ['no-such-command'],
        ['tenants', 'create', 'x'],                          // --tier missing
        ['tenants', 'get'],                                  // ID missing
        ['tenants', 'list', '--limit', '0'],
        ['tenants', 'list', '--all', '--cursor', 'x'],
        ['capabilities', 'set', 'c', '--enabled', '--disabled'],
        ['capabilities', 'set', 'c', '--rollout', '101'],
        ['capabilities', 'set', 'c', '--kill', '--unkill'],
        ['secrets', 'put', 'demo', 'x', '--value', 'in-shell-history'],
        ['invocations', 'list', '--since', 'yesterday'],
      ]) {
        const r = await O(...args);
        assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
        assert.ok(r.stderr.length > 0, `${args.join(' ')}: no message`);
      }
    });

    it('unreachable gateway: exit 1 with a clear message', async () => {
      const port = await closedPort();
      const r = await runOps(['--client-id', 'x', '--client-secret', 'y', '--url', `http://127.0.0.1:${port}`, 'tenants', 'list']);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /^portcullis ops: token request failed: cannot reach the gateway: .*127\.0\.0\.1/);
    });
  });

  describe('tiers and capabilities', () => {
    it('tiers list: the configured tiers with their limits', async () => {
      const r = ok(await O('tiers', 'list'), 'tiers list');
      const rows = tableRows(r.stdout);
      assert.deepEqual(rows[0], ['NAME', 'RPS', 'BURST', 'DAILY QUOTA']);
      assert.deepEqual(rows.find((x) => x[0] === 'basic'), ['basic', '10', '100', '1000']);
      const j = json(await O('--json', 'tiers', 'list'), 'tiers --json');
      assert.deepEqual(j.tiers.map((t) => t.name).sort(), ['basic', 'premium', 'standard']);
    });

    it('capabilities set: a new one needs --enabled or --disabled (exit 2)', async () => {
      const r = await O('capabilities', 'set', 'ops-cap-new');
      assert.equal(r.code, 2, r.stderr);
    });

    it('capabilities set, list, check, kill, delete', async () => {
      const c = json(await O('--json', 'capabilities', 'set', 'ops-cap', '--enabled', '--rollout', '100',
        '--tiers', 'standard,premium', '--description', 'from ops'), 'set');
      assert.equal(c.enabled, true);
      assert.equal(c.rolloutPercentage, 100);
      assert.deepEqual(c.tierAllowList, ['standard', 'premium']);
      assert.equal(c.description, 'from ops');

      // A later set changes only what it names: the allow list and description stay.
      const c2 = json(await O('--json', 'capabilities', 'set', 'ops-cap', '--rollout', '100', '--tenants', 'acme'), 'set again');
      assert.deepEqual(c2.tierAllowList, ['standard', 'premium']);
      assert.deepEqual(c2.tenantAllowList, ['acme']);
      assert.equal(c2.description, 'from ops');

      const list = ok(await O('capabilities', 'list'), 'list');
      const row = tableRows(list.stdout).find((x) => x[0] === 'ops-cap');
      assert.ok(row, list.stdout);
      assert.equal(row[1], 'yes');

      // demo is standard: allowed by tier; evaluated per tenant by the API.
      const check = json(await O('--json', 'capabilities', 'check', 'demo'), 'check');
      const mine = check.capabilities.find((x) => x.name === 'ops-cap');
      assert.ok(mine, JSON.stringify(check));
      assert.equal(typeof mine.allowed, 'boolean');
      const human = ok(await O('capabilities', 'check', 'demo'), 'check human');
      assert.deepEqual(tableRows(human.stdout)[0], ['NAME', 'ALLOWED', 'REASON']);

      const killed = json(await O('--json', 'capabilities', 'set', 'ops-cap', '--kill'), 'kill');
      assert.equal(killed.killed, true);
      const afterKill = json(await O('--json', 'capabilities', 'check', 'demo'), 'check after kill');
      assert.equal(afterKill.capabilities.find((x) => x.name === 'ops-cap')?.allowed, false);

      const del = ok(await O('capabilities', 'delete', 'ops-cap'), 'delete');
      assert.equal(del.stdout, 'capability ops-cap deleted\n');
      const gone = json(await O('--json', 'capabilities', 'list'), 'list after delete');
      assert.ok(!gone.capabilities.some((x) => x.name === 'ops-cap'));
    });
  });

  describe('agents', () => {
    it('list and get: the demo agent echo with its promoted version', async () => {
      const r = ok(await O('agents', 'list'), 'agents list');
      const rows = tableRows(r.stdout);
      assert.deepEqual(rows[0], ['NAME', 'PROTOCOL', 'TIER MINIMUM', 'PROMOTED', 'DESCRIPTION']);
      assert.ok(rows.some((x) => x[0] === 'echo'), r.stdout);
      const g = ok(await O('agents', 'get', 'echo'), 'agents get');
      assert.match(g.stdout, /^name: +echo$/m);
      assert.match(g.stdout, /\nversions:\nVERSION +STATUS +ENDPOINT +CREATED\n/);
      const j = json(await O('--json', 'agents', 'get', 'echo'), 'get --json');
      assert.ok(j.versions.some((v) => v.status === 'promoted'));
    });

    it('create, update, add-version, promote, rollback, delete', async () => {
      const a = json(await O('--json', 'agents', 'create', 'ops-agent', '--description', 'first', '--tier-minimum', 'basic'), 'create');
      assert.equal(a.name, 'ops-agent');
      const u = json(await O('--json', 'agents', 'update', 'ops-agent', '--description', 'second'), 'update');
      assert.equal(u.description, 'second');
      assert.equal((await O('agents', 'update', 'ops-agent')).code, 2, 'nothing to change');

      const v1 = json(await O('--json', 'agents', 'add-version', 'ops-agent', 'v1', '--endpoint', agent.url), 'v1');
      assert.equal(v1.version, 'v1');
      assert.equal(v1.status, 'built');
      ok(await O('agents', 'add-version', 'ops-agent', 'v2', '--endpoint', agent.url), 'v2');
      assert.equal(json(await O('--json', 'agents', 'promote', 'ops-agent', 'v1'), 'promote v1').status, 'promoted');
      const p2 = ok(await O('agents', 'promote', 'ops-agent', 'v2'), 'promote v2');
      assert.match(p2.stdout, /^status: +promoted$/m);
      const mid = json(await O('--json', 'agents', 'get', 'ops-agent'), 'get');
      assert.equal(mid.versions.find((v) => v.version === 'v1')?.status, 'superseded');

      const rb = json(await O('--json', 'agents', 'rollback', 'ops-agent'), 'rollback');
      assert.equal(rb.version, 'v1');
      assert.equal(rb.status, 'promoted');
      const end = json(await O('--json', 'agents', 'get', 'ops-agent'), 'get after rollback');
      assert.equal(end.versions.find((v) => v.version === 'v2')?.status, 'rolled_back');

      const del = ok(await O('agents', 'delete', 'ops-agent'), 'delete');
      assert.equal(del.stdout, 'agent ops-agent deleted\n');
      const gone = await O('agents', 'get', 'ops-agent');
      assert.equal(gone.code, 1);
      assert.match(gone.stderr, API_ERROR('not_found'));
    });
  });

  describe('keys', () => {
    it('list, rotate: the new key is listed', async () => {
      const before = json(await O('--json', 'keys', 'list'), 'keys list').keys;
      assert.ok(before.length >= 1);
      const r = ok(await O('keys', 'rotate'), 'keys rotate');
      const kid = r.stdout.match(/^new signing key (\S+) is active$/m)?.[1];
      assert.ok(kid, r.stdout);
      const after = json(await O('--json', 'keys', 'list'), 'keys list after');
      assert.ok(after.keys.some((k) => k.kid === kid));
      const human = ok(await O('keys', 'list'), 'keys list human');
      assert.deepEqual(tableRows(human.stdout)[0], ['KID', 'ALG', 'STATUS', 'CREATED', 'NOT AFTER']);
    });
  });

  describe('secrets', () => {
    const VALUE1 = 'pa55-from-a-file';
    const VALUE2 = 'pa55-from-stdin';

    it('put from --value-file and from stdin: new versions, values never printed', async () => {
      const file = path.join(dir, 'secret.txt');
      fs.writeFileSync(file, `${VALUE1}\n`, { mode: 0o600 });
      const r1 = ok(await O('secrets', 'put', 'demo', 'db-password', '--value-file', file), 'put file');
      assert.equal(r1.stdout, 'secret db-password of tenant demo stored (version 1)\n');
      const r2 = ok(await runOps(['--config', cfg, 'secrets', 'put', 'demo', 'db-password'], { input: `${VALUE2}\n` }), 'put stdin');
      assert.equal(r2.stdout, 'secret db-password of tenant demo stored (version 2)\n');
      for (const r of [r1, r2]) assert.ok(!(r.stdout + r.stderr).includes('pa55'), 'a value was printed');
    });

    it('delete --json: the API answers 204, the CLI prints {} so stdout stays JSON', async () => {
      const file = path.join(dir, 'tmp-secret.txt');
      fs.writeFileSync(file, 'x', { mode: 0o600 });
      ok(await O('secrets', 'put', 'demo', 'short-lived', '--value-file', file), 'put');
      assert.deepEqual(json(await O('--json', 'secrets', 'delete', 'demo', 'short-lived'), 'delete --json'), {});
    });

    it('put with an empty value is refused (exit 2)', async () => {
      const r = await runOps(['--config', cfg, 'secrets', 'put', 'demo', 'empty'], { input: '' });
      assert.equal(r.code, 2, r.stderr);
    });

    it('list shows names and versions, never values; delete removes it', async () => {
      const r = ok(await O('secrets', 'list', 'demo'), 'list');
      const rows = tableRows(r.stdout);
      assert.deepEqual(rows[0], ['NAME', 'VERSION', 'CREATED', 'CREATED BY']);
      assert.equal(rows.find((x) => x[0] === 'db-password')?.[1], '2', r.stdout);
      const j = json(await O('--json', 'secrets', 'list', 'demo'), 'list --json');
      assert.ok(!JSON.stringify(j).includes('pa55'));
      const d = ok(await O('secrets', 'delete', 'demo', 'db-password'), 'delete');
      assert.equal(d.stdout, 'secret db-password of tenant demo deleted\n');
      const after = json(await O('--json', 'secrets', 'list', 'demo'), 'list after');
      assert.ok(!after.secrets.some((s) => s.name === 'db-password'));
    });
  });

  describe('activity: invocations, audit, security events, quotas, reports', () => {
    before(async () => {
      // One invocation of the demo agent by the demo tenant, so the metadata routes have a row.
      // The demo seeding registers echo in the background: retried until it answers (bounded).
      const auth = bearer(await demoToken(gw));
      await waitFor(async () => {
        const r = await postJson(gw.port, '/v1/agents/echo/invoke', { input: 'ops-test' }, { headers: auth });
        return r.status === 200;
      }, 10000, { interval: 200, what: 'echo invocable' });
    });

    it('invocations list: metadata of the demo tenant\'s call, filtered by tenant, agent and since', async () => {
      // Invocation records are written in batches a few milliseconds after the call.
      let j;
      await waitFor(async () => {
        j = json(await O('--json', 'invocations', 'list', '--tenant', 'demo', '--agent', 'echo', '--since', '1h'), 'invocations');
        return j.invocations.length >= 1;
      }, 5000, { what: 'the demo tenant\'s invocation record' });
      assert.ok(!JSON.stringify(j).includes('ops-test'), 'invocation content in the metadata');
      const none = json(await O('--json', 'invocations', 'list', '--tenant', 'acme'), 'acme');
      assert.equal(none.invocations.length, 0);
      const human = ok(await O('invocations', 'list', '--tenant', 'acme'), 'human');
      assert.equal(human.stdout, '(none)\n');
    });

    it('audit search: events filtered by tenant; a future --since finds none', async () => {
      // The demo tenant's own calls (the invocation above) are audited under its id.
      const j = json(await O('--json', 'audit', 'search', '--tenant', 'demo', '--all'), 'audit search');
      assert.ok(j.events.length >= 1, 'the demo tenant\'s invocation was audited');
      assert.ok(j.events.every((e) => e.tenantId === 'demo'), JSON.stringify(j.events.slice(0, 3)));
      const all = json(await O('--json', 'audit', 'search', '--all'), 'audit search, no filter');
      assert.ok(all.events.some((e) => e.tenantId !== 'demo'), 'the filter must have removed something');
      const human = ok(await O('audit', 'search', '--tenant', 'demo'), 'human');
      assert.deepEqual(tableRows(human.stdout)[0], ['SEQ', 'TIME', 'TENANT', 'ACTOR', 'ACTION', 'RESOURCE', 'OUTCOME', 'REQUEST']);
      const future = ok(await O('audit', 'search', '--since', '2999-01-01T00:00:00Z'), 'future');
      assert.equal(future.stdout, '(none)\n');
    });

    it('audit export: NDJSON lines with seq, prevHash and hash, to stdout or a 0600 file', async () => {
      const r = ok(await O('audit', 'export', 'demo'), 'export');
      const lines = r.stdout.split('\n').filter((l) => l.length > 0);
      assert.ok(lines.length >= 1, r.stdout);
      const events = lines.map((l) => JSON.parse(l));
      for (const e of events) {
        assert.equal(typeof e.seq, 'number');
        assert.equal(typeof e.hash, 'string');
        assert.ok('prevHash' in e);
      }
      const out = path.join(dir, 'demo-audit.ndjson');
      const f = ok(await O('audit', 'export', 'demo', '--out', out), 'export --out');
      assert.equal(f.stdout, '');
      assert.match(f.stderr, /^wrote \d+ audit events to /);
      assert.equal(fs.statSync(out).mode & 0o777, 0o600);
      const fileLines = fs.readFileSync(out, 'utf8').split('\n').filter((l) => l.length > 0);
      assert.ok(fileLines.length >= lines.length);
      assert.deepEqual(JSON.parse(fileLines[0]), events[0]);
    });

    it('security-events: a cross-tenant attempt shows up, and only security.* actions are listed', async () => {
      // demo's SelfService.Admin names acme in the path: 403 and a security event.
      const acmeClient = (await demoCredentials(gw)).tenants.acme.client_id;
      const denied = await postJson(gw.port, `/v1/tenants/acme/clients/${acmeClient}/rotate`, {}, { headers: bearer(await demoToken(gw)) });
      assert.equal(denied.status, 403, denied.body);
      const j = json(await O('--json', 'security-events', '--all'), 'security-events');
      assert.ok(j.events.length >= 1);
      assert.ok(j.events.every((e) => String(e.action).startsWith('security.')), JSON.stringify(j.events.slice(0, 3)));
      assert.ok(j.events.some((e) => e.action === 'security.tenant_access_violation'));
    });

    it('quotas: the tier\'s limits and today\'s usage', async () => {
      const j = json(await O('--json', 'quotas', 'demo'), 'quotas');
      assert.equal(j.tenantId, 'demo');
      assert.equal(j.tier, 'standard');
      assert.equal(j.dailyQuota, 10000);
      assert.ok(j.usedToday >= 1);
      const human = ok(await O('quotas', 'demo'), 'quotas human');
      assert.match(human.stdout, /^dailyQuota: +10000$/m);
    });

    it('top-tenants: the demo tenant, which invoked, is listed', async () => {
      const j = json(await O('--json', 'top-tenants', '--window', '24h', '--limit', '5'), 'top-tenants');
      assert.equal(j.window, '24h');
      assert.ok(j.tenants.some((t) => t.tenantId === 'demo' && t.invocations >= 1), JSON.stringify(j));
      const human = ok(await O('top-tenants'), 'human');
      assert.match(human.stdout, /^window: \S+\nTENANT +INVOCATIONS +ERRORS +INPUT TOKENS +OUTPUT TOKENS\n/);
    });

    it('error-rate: counts and ratio for a window and tenant', async () => {
      const j = json(await O('--json', 'error-rate', '--window', '1h', '--tenant', 'demo'), 'error-rate');
      assert.equal(j.window, '1h');
      assert.ok(j.invocations >= 1);
      assert.equal(typeof j.errorRate, 'number');
      assert.ok(j.errors <= j.invocations);
      const human = ok(await O('error-rate', '--window', '1h'), 'human');
      assert.match(human.stdout, /^errorRate: +\S+$/m);
    });

    it('every time in the answers is RFC 3339 UTC with milliseconds, none unix seconds (issue 8 item 20)', async () => {
      // A secret, so the secrets list has a createdAt; a deleted tenant (purgeAfter) and a
      // retiring key (notAfter) exist from the tenants and keys tests above.
      const put = await runOps(['--config', cfg, 'secrets', 'put', 'demo', 'rfc3339-probe'], { input: 'v' });
      assert.equal(put.code, 0, put.stderr);
      const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
      const TIME_KEY = /(At|After|Time)$|^(timestamp|time)$/;
      const seen = new Set();
      const walk = (v, where) => {
        if (Array.isArray(v)) return v.forEach((x, i) => walk(x, `${where}[${i}]`));
        if (!v || typeof v !== 'object') return;
        for (const [k, x] of Object.entries(v)) {
          if (TIME_KEY.test(k) && x !== null) {
            assert.match(String(x), RFC3339, `${where}.${k} = ${JSON.stringify(x)}`);
            assert.equal(typeof x, 'string', `${where}.${k} = ${JSON.stringify(x)}`);
            seen.add(k);
          }
          walk(x, `${where}.${k}`);
        }
      };
      for (const args of [['tenants', 'list'], ['tenants', 'get', 'demo'], ['clients', 'list', 'demo'], ['agents', 'list'],
        ['agents', 'get', 'echo'], ['keys', 'list'], ['invocations', 'list'], ['secrets', 'list', 'demo'],
        ['audit', 'search', '--tenant', 'demo']]) {
        walk(json(await O('--json', ...args), args.join(' ')), args.join(' '));
      }
      for (const k of ['createdAt', 'updatedAt', 'purgeAfter', 'notAfter', 'timestamp', 'time']) {
        assert.ok(seen.has(k), `no ${k} was checked (seen: ${[...seen]})`);
      }
    });
  });

  it('no access token is ever printed', () => {
    // Access tokens are JWTs (base64url of '{"' starts with eyJ); a leak in any output above
    // would be found here.
    assert.ok(allRuns.length > 20);
    for (const r of allRuns) assert.ok(!/eyJ[\w-]+\.eyJ/.test(r.stdout + r.stderr), `a token in: ${r.stdout}${r.stderr}`);
  });
});

describe('portcullis ops against a TLS gateway', { timeout: 60000 }, () => {
  let dir;
  let gw;
  let cfg;
  let cert;

  before(async () => {
    dir = makeTempDir('portcullis-ops-tls-');
    const key = path.join(dir, 'tls.key');
    cert = path.join(dir, 'tls.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    cfg = writeConfig(dir, toYaml({
      data_dir: path.join(dir, 'var'),
      server: { listen: '127.0.0.1:0', tls: { cert_file: cert, key_file: key } },
      log: { level: 'info' },
    }));
    gw = spawnBinary(['serve', '--config', cfg]);
    await waitFor(() => {
      if (gw.exitInfo()) throw Object.assign(new Error(`gateway exited: ${gw.output()}`), { fatal: true });
      return fs.existsSync(path.join(dir, 'var', 'bootstrap-admin.json')) && /"msg":"listening"/.test(gw.stdout());
    }, 15000, { what: 'TLS gateway listening' });
  });

  after(async () => {
    if (gw && !gw.exitInfo()) {
      gw.proc.kill('SIGTERM');
      await gw.waitExit(10000).catch(() => gw.proc.kill('SIGKILL'));
    }
    removeDir(dir);
  });

  it('--ca-file trusts the gateway\'s certificate: token and calls over https', async () => {
    const creds = JSON.parse(fs.readFileSync(path.join(dir, 'var', 'bootstrap-admin.json'), 'utf8'));
    assert.match(creds.token_url, /^https:\/\//);
    const j = json(await runOps(['--config', cfg, '--ca-file', cert, '--json', 'tenants', 'list']), 'tenants list over TLS');
    assert.ok(Array.isArray(j.tenants));
  });

  it('without --ca-file an untrusted certificate is refused: exit 1, no call made', async () => {
    const r = await runOps(['--config', cfg, 'tenants', 'list']);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^portcullis ops: token request failed: .*certificate/);
    assert.equal(r.stdout, '');
  });
});
