// The registry of upstream MCP servers through the Admin API and `portcullis ops mcp-servers`
// (SPEC §7, docs/admin-api.md "MCP servers"; issue 10, area "servers"), against the real binary:
// global and tenant servers created, listed (paged), read, changed and deleted; name clashes
// (409) within and across scopes; strict bodies (400 with a message naming the field); roles
// (Platform.Operator reads only, tenant principals are refused); another tenant's server id
// through a tenant's own path is a tenant-access violation (403, audited, counted) that changes
// nothing; the capability tools.<name> exists once a server is registered; a vault secret is
// referenced by name and its value never appears in an answer or the audit log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, bearer, adminToken, demoToken,
  clientToken, getMetrics, runOps,
} from './harness.mjs';

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const VIOLATION = 'security.tenant_access_violation';
const METRIC = 'portcullis_tenant_access_violations_total';
const CANARY = 'canary-secret-value-7f3a9c';

function api(gw, method, p, token, body) {
  const headers = token ? bearer(token) : {};
  let text;
  if (body !== undefined) {
    text = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(text);
  }
  return request(gw.port, { method, path: p, headers, body: text });
}

function expectError(r, status, code, messagePart) {
  assert.equal(r.status, status, `expected ${status}, got ${r.status}: ${r.body}`);
  assert.equal(r.json?.error?.code, code, r.body);
  if (messagePart) assert.ok(r.json.error.message.includes(messagePart), `message "${r.json.error.message}" lacks "${messagePart}"`);
}

async function violations(gw) {
  const s = (await getMetrics(gw.port)).samples.filter((x) => x.name === METRIC);
  return s.length ? s[0].value : 0;
}


describe('mcp servers: the Admin API and ops', { timeout: 180000 }, () => {
  let dir;
  let gw;
  let admin;
  let operator;
  let demo;

  before(async () => {
    dir = makeTempDir('portcullis-mcp-servers-');
    gw = await startGateway({ dir, config: gatewayConfig(dir, { limits: { max_body_bytes: 65536 } }), args: ['--demo'] });
    admin = await adminToken(gw);
    demo = await demoToken(gw, 'demo');
    const op = await api(gw, 'POST', '/v1/tenants/platform/clients', admin, { name: 'mcp-operator', roles: ['Platform.Operator'] });
    assert.equal(op.status, 201, op.body);
    operator = await clientToken(gw, op.json.clientId, op.json.clientSecret);
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  describe('global servers', () => {
    it('POST creates one (201) with the full shape and its capability tools.<name>, enabled', async () => {
      const r = await api(gw, 'POST', '/v1/platform/mcp-servers', admin, {
        name: 'search', url: 'https://tools.example.com/mcp', auth: { mode: 'act_on_behalf' }, tierMinimum: 'standard',
        disabledTools: ['drop_index'], timeoutMs: 5000,
      });
      assert.equal(r.status, 201, r.body);
      const s = r.json;
      assert.match(s.id, /^mcps_[0-9a-f]+$/);
      assert.equal(s.name, 'search');
      assert.equal(s.scope, 'platform');
      assert.equal(s.url, 'https://tools.example.com/mcp');
      assert.deepEqual(s.auth, { mode: 'act_on_behalf' });
      assert.equal(s.tierMinimum, 'standard');
      assert.equal(s.enabled, true);
      assert.deepEqual(s.disabledTools, ['drop_index']);
      assert.equal(s.timeoutMs, 5000);
      assert.equal(s.status, 'unknown');
      assert.equal(s.checkedAt, null);
      assert.equal(s.lastError, null);
      assert.deepEqual(s.tools, []);
      assert.match(s.createdAt, RFC3339);
      assert.match(s.updatedAt, RFC3339);
      const caps = await api(gw, 'GET', '/v1/platform/capabilities?limit=1000', admin);
      assert.equal(caps.status, 200, caps.body);
      const cap = caps.json.capabilities.find((c) => c.name === 'tools.search');
      assert.ok(cap, `no tools.search in ${caps.body.slice(0, 500)}`);
      assert.equal(cap.enabled, true);
      // The tenant sees it allowed too (basic demo tenant: the capability itself has no tier rule).
      const check = await api(gw, 'GET', '/v1/tenants/demo/capabilities', admin);
      assert.equal(check.json.capabilities.find((c) => c.name === 'tools.search')?.allowed, true, check.body);
    });

    it('defaults: auth none, tier basic, enabled, no disabled tools, timeout 0', async () => {
      const r = await api(gw, 'POST', '/v1/platform/mcp-servers', admin, { name: 'weather', url: 'http://127.0.0.1:9/mcp' });
      assert.equal(r.status, 201, r.body);
      assert.deepEqual(r.json.auth, { mode: 'none' });
      assert.equal(r.json.tierMinimum, 'basic');
      assert.equal(r.json.enabled, true);
      assert.deepEqual(r.json.disabledTools, []);
      assert.equal(r.json.timeoutMs, 0);
    });

    it('GET lists by name with ?limit= and nextCursor; GET by name and by id', async () => {
      // Page by page, one server a page (the demo may have seeded servers of its own).
      const names = [];
      let cursor = '';
      for (let i = 0; i < 100; i++) {
        const page = await api(gw, 'GET', `/v1/platform/mcp-servers?limit=1${cursor ? `&cursor=${cursor}` : ''}`, admin);
        assert.equal(page.status, 200, page.body);
        assert.ok(page.json.servers.length <= 1, page.body);
        names.push(...page.json.servers.map((s) => s.name));
        if (page.json.nextCursor === null) break;
        assert.equal(page.json.nextCursor, page.json.servers[0].name);
        cursor = page.json.nextCursor;
      }
      assert.ok(names.includes('search') && names.includes('weather'), names.join());
      assert.deepEqual(names, [...names].sort());
      expectError(await api(gw, 'GET', '/v1/platform/mcp-servers?limit=0', admin), 400, 'invalid_request', 'limit');
      const byName = await api(gw, 'GET', '/v1/platform/mcp-servers/search', admin);
      assert.equal(byName.status, 200, byName.body);
      const byId = await api(gw, 'GET', `/v1/platform/mcp-servers/${byName.json.id}`, admin);
      assert.equal(byId.status, 200, byId.body);
      assert.equal(byId.json.name, 'search');
      expectError(await api(gw, 'GET', '/v1/platform/mcp-servers/nope', admin), 404, 'not_found', "'nope'");
    });

    it('PATCH changes only what it names; auth is replaced whole', async () => {
      const r = await api(gw, 'PATCH', '/v1/platform/mcp-servers/search', admin, { enabled: false, disabledTools: ['a', 'b'] });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.enabled, false);
      assert.deepEqual(r.json.disabledTools, ['a', 'b']);
      assert.equal(r.json.tierMinimum, 'standard');
      assert.deepEqual(r.json.auth, { mode: 'act_on_behalf' });
      assert.ok(r.json.updatedAt >= r.json.createdAt);
      const a = await api(gw, 'PATCH', '/v1/platform/mcp-servers/search', admin, { auth: { mode: 'none' }, enabled: true });
      assert.equal(a.status, 200, a.body);
      assert.deepEqual(a.json.auth, { mode: 'none' });
      expectError(await api(gw, 'PATCH', '/v1/platform/mcp-servers/search', admin, { name: 'renamed' }), 400, 'invalid_request', 'name');
      expectError(await api(gw, 'PATCH', '/v1/platform/mcp-servers/nope', admin, { enabled: true }), 404, 'not_found');
    });
  });

  describe('bad bodies are 400 invalid_request with a message naming what is wrong', () => {
    const cases = [
      ['an unknown field', { name: 'x1x', url: 'http://h/mcp', colour: 'red' }, 'colour'],
      ['an unknown field inside auth', { name: 'x1x', url: 'http://h/mcp', auth: { mode: 'none', token: 't' } }, 'token'],
      ['auth without mode', { name: 'x1x', url: 'http://h/mcp', auth: {} }, 'auth.mode'],
      ['an unknown auth mode', { name: 'x1x', url: 'http://h/mcp', auth: { mode: 'basic' } }, 'auth.mode'],
      ['vault_secret without a secret', { name: 'x1x', url: 'http://h/mcp', auth: { mode: 'vault_secret' } }, 'auth.secret'],
      ['a secret name that is not one', { name: 'x1x', url: 'http://h/mcp', auth: { mode: 'vault_secret', secret: 'a b' } }, 'auth.secret'],
      ['a header that frames the request', { name: 'x1x', url: 'http://h/mcp', auth: { mode: 'vault_secret', secret: 'k', header: 'Host' } }, 'auth.header'],
      ['a secret for mode none', { name: 'x1x', url: 'http://h/mcp', auth: { mode: 'none', secret: 'k' } }, 'auth.secret'],
      ['no name', { url: 'http://h/mcp' }, 'name'],
      ['a name against the tenant-id rule', { name: 'Web_Search', url: 'http://h/mcp' }, 'name'],
      ['no url', { name: 'x1x' }, 'url'],
      ['a url of another scheme', { name: 'x1x', url: 'ftp://h/mcp' }, 'url'],
      ['a url with user info', { name: 'x1x', url: 'https://user:pw@h/mcp' }, 'url'],
      ['a url with a fragment', { name: 'x1x', url: 'https://h/mcp#x' }, 'url'],
      ['a tier that is not configured', { name: 'x1x', url: 'http://h/mcp', tierMinimum: 'gold' }, 'tierMinimum'],
      ['a timeout out of range', { name: 'x1x', url: 'http://h/mcp', timeoutMs: 10 }, 'timeoutMs'],
      ['a wrong type', { name: 'x1x', url: 'http://h/mcp', enabled: 'yes' }, 'enabled'],
      ['disabledTools not strings', { name: 'x1x', url: 'http://h/mcp', disabledTools: [1] }, 'disabledTools'],
    ];
    for (const [what, body, part] of cases) {
      it(what, async () => {
        expectError(await api(gw, 'POST', '/v1/platform/mcp-servers', admin, body), 400, 'invalid_request', part);
      });
    }
    it('not JSON, or not an object', async () => {
      expectError(await api(gw, 'POST', '/v1/platform/mcp-servers', admin, '{"name":'), 400, 'invalid_request');
      expectError(await api(gw, 'POST', '/v1/platform/mcp-servers', admin, '[]'), 400, 'invalid_request');
    });
    it('nothing was created by any of them', async () => {
      const r = await api(gw, 'GET', '/v1/platform/mcp-servers?limit=1000', admin);
      const names = r.json.servers.map((s) => s.name);
      assert.ok(names.includes('search') && names.includes('weather'), names.join());
      assert.ok(!names.includes('x1x'), names.join());
    });
  });

  describe('tenant servers', () => {
    let acmeId;

    it('POST /v1/tenants/{id}/mcp-servers creates the tenant\'s own (scope = the tenant)', async () => {
      const put = await api(gw, 'PUT', '/v1/tenants/demo/secrets/crm-token', admin, { value: CANARY });
      assert.equal(put.status, 201, put.body);
      const r = await api(gw, 'POST', '/v1/tenants/demo/mcp-servers', admin, {
        name: 'crm', url: 'http://127.0.0.1:9/mcp', auth: { mode: 'vault_secret', secret: 'crm-token' },
      });
      assert.equal(r.status, 201, r.body);
      assert.equal(r.json.scope, 'demo');
      // The secret is referenced by name; the header defaults to Authorization.
      assert.deepEqual(r.json.auth, { mode: 'vault_secret', secret: 'crm-token', header: 'Authorization' });
      assert.ok(!r.body.includes(CANARY));
      const acme = await api(gw, 'POST', '/v1/tenants/acme/mcp-servers', admin, { name: 'crm', url: 'http://127.0.0.1:9/acme' });
      assert.equal(acme.status, 201, acme.body);  // another tenant may use the same name
      acmeId = acme.json.id;
    });

    it('lists, reads and changes only the path tenant\'s servers', async () => {
      const list = await api(gw, 'GET', '/v1/tenants/demo/mcp-servers', admin);
      assert.equal(list.status, 200, list.body);
      for (const s of list.json.servers) assert.equal(s.scope, 'demo', list.body);
      assert.deepEqual(list.json.servers.filter((s) => s.name === 'crm').map((s) => s.url), ['http://127.0.0.1:9/mcp']);
      assert.equal(list.json.nextCursor, null);
      const got = await api(gw, 'GET', '/v1/tenants/acme/mcp-servers/crm', admin);
      assert.equal(got.json.url, 'http://127.0.0.1:9/acme');
      const p = await api(gw, 'PATCH', '/v1/tenants/demo/mcp-servers/crm', admin, { tierMinimum: 'premium' });
      assert.equal(p.status, 200, p.body);
      assert.equal(p.json.tierMinimum, 'premium');
      assert.equal((await api(gw, 'GET', '/v1/tenants/acme/mcp-servers/crm', admin)).json.tierMinimum, 'basic');
      // A global is not a tenant's, and a tenant's server is not a global.
      expectError(await api(gw, 'GET', '/v1/tenants/demo/mcp-servers/search', admin), 404, 'not_found');
      expectError(await api(gw, 'GET', '/v1/platform/mcp-servers/crm', admin), 404, 'not_found');
      expectError(await api(gw, 'GET', `/v1/platform/mcp-servers/${acmeId}`, admin), 404, 'not_found');
      // An unknown tenant is 404 on every route.
      expectError(await api(gw, 'GET', '/v1/tenants/nobody/mcp-servers', admin), 404, 'not_found');
      expectError(await api(gw, 'POST', '/v1/tenants/nobody/mcp-servers', admin, { name: 'crm', url: 'http://h/' }), 404, 'not_found');
    });

    it('409 conflicts: a name twice in one scope, a global\'s name for a tenant, a tenant\'s name for a global', async () => {
      expectError(await api(gw, 'POST', '/v1/platform/mcp-servers', admin, { name: 'search', url: 'http://h/' }), 409, 'conflict', "'search' exists");
      expectError(await api(gw, 'POST', '/v1/tenants/demo/mcp-servers', admin, { name: 'crm', url: 'http://h/' }), 409, 'conflict', "'crm' exists");
      expectError(await api(gw, 'POST', '/v1/tenants/demo/mcp-servers', admin, { name: 'search', url: 'http://h/' }), 409, 'conflict', 'global');
      const r = await api(gw, 'POST', '/v1/platform/mcp-servers', admin, { name: 'crm', url: 'http://h/' });
      expectError(r, 409, 'conflict', "tenant's own");
      assert.ok(!r.body.includes('demo') && !r.body.includes('acme'), `the clash names a tenant: ${r.body}`);
    });

    it('another tenant\'s server id through this tenant\'s path is a violation: 403, audited, counted, nothing changes', async () => {
      const before = await violations(gw);
      const attempts = [
        ['GET', `/v1/tenants/demo/mcp-servers/${acmeId}`, undefined],
        ['PATCH', `/v1/tenants/demo/mcp-servers/${acmeId}`, { url: 'http://evil.example/mcp' }],
        ['DELETE', `/v1/tenants/demo/mcp-servers/${acmeId}`, undefined],
      ];
      const ids = [];
      for (const [method, p, body] of attempts) {
        const r = await api(gw, method, p, admin, body);
        expectError(r, 403, 'forbidden', 'tenant access violation');
        assert.ok(!r.body.includes('acme'), `the refusal names the owner: ${r.body}`);
        ids.push(r.json.error.requestId);
      }
      assert.equal(await violations(gw), before + attempts.length);
      const got = await api(gw, 'GET', '/v1/tenants/acme/mcp-servers/crm', admin);
      assert.equal(got.json.url, 'http://127.0.0.1:9/acme');
      // Each attempt is a security event (the audit writer is asynchronous: poll briefly).
      let events = [];
      for (let i = 0; i < 50; i++) {
        const a = await api(gw, 'GET', `/v1/platform/audit?action=${VIOLATION}&limit=1000`, admin);
        assert.equal(a.status, 200, a.body);
        events = a.json.events.filter((e) => ids.includes(e.requestId));
        if (events.length === ids.length) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.equal(events.length, ids.length, 'each violation audited once');
    });

    it('DELETE removes a tenant server (204) and then it is 404', async () => {
      const r = await api(gw, 'DELETE', '/v1/tenants/acme/mcp-servers/crm', admin);
      assert.equal(r.status, 204, r.body);
      expectError(await api(gw, 'GET', '/v1/tenants/acme/mcp-servers/crm', admin), 404, 'not_found');
      expectError(await api(gw, 'DELETE', '/v1/tenants/acme/mcp-servers/crm', admin), 404, 'not_found');
    });
  });

  describe('who may', () => {
    it('Platform.Operator reads both scopes and may not write (403)', async () => {
      assert.equal((await api(gw, 'GET', '/v1/platform/mcp-servers', operator)).status, 200);
      assert.equal((await api(gw, 'GET', '/v1/platform/mcp-servers/search', operator)).status, 200);
      assert.equal((await api(gw, 'GET', '/v1/tenants/demo/mcp-servers', operator)).status, 200);
      assert.equal((await api(gw, 'GET', '/v1/tenants/demo/mcp-servers/crm', operator)).status, 200);
      for (const [method, p, body] of [
        ['POST', '/v1/platform/mcp-servers', { name: 'op-made', url: 'http://h/' }],
        ['PATCH', '/v1/platform/mcp-servers/search', { enabled: false }],
        ['DELETE', '/v1/platform/mcp-servers/search', undefined],
        ['POST', '/v1/tenants/demo/mcp-servers', { name: 'op-made', url: 'http://h/' }],
        ['PATCH', '/v1/tenants/demo/mcp-servers/crm', { enabled: false }],
        ['DELETE', '/v1/tenants/demo/mcp-servers/crm', undefined],
      ]) {
        expectError(await api(gw, method, p, operator, body), 403, 'forbidden');
      }
      assert.equal((await api(gw, 'GET', '/v1/platform/mcp-servers/search', admin)).json.enabled, true);
    });

    it('a tenant principal is refused (403) on every route; naming another tenant is a violation', async () => {
      for (const [method, p, body] of [
        ['GET', '/v1/platform/mcp-servers', undefined],
        ['POST', '/v1/platform/mcp-servers', { name: 'mine', url: 'http://h/' }],
        ['GET', '/v1/platform/mcp-servers/search', undefined],
        ['GET', '/v1/tenants/demo/mcp-servers', undefined],
        ['POST', '/v1/tenants/demo/mcp-servers', { name: 'mine', url: 'http://h/' }],
        ['GET', '/v1/tenants/demo/mcp-servers/crm', undefined],
        ['PATCH', '/v1/tenants/demo/mcp-servers/crm', { url: 'http://evil.example/' }],
        ['DELETE', '/v1/tenants/demo/mcp-servers/crm', undefined],
      ]) {
        expectError(await api(gw, method, p, demo, body), 403, 'forbidden');
      }
      const before = await violations(gw);
      expectError(await api(gw, 'GET', '/v1/tenants/acme/mcp-servers', demo), 403, 'forbidden', 'tenant access violation');
      assert.equal(await violations(gw), before + 1);
      // Nothing was made or changed.
      assert.equal((await api(gw, 'GET', '/v1/tenants/demo/mcp-servers/crm', admin)).json.url, 'http://127.0.0.1:9/mcp');
      expectError(await api(gw, 'GET', '/v1/platform/mcp-servers/mine', admin), 404, 'not_found');
    });
  });

  describe('the audit trail', () => {
    it('every change is an event mcp_server.create / .update / .delete, and no secret value appears', async () => {
      const actions = {};
      for (const action of ['mcp_server.create', 'mcp_server.update', 'mcp_server.delete']) {
        const r = await api(gw, 'GET', `/v1/platform/audit?action=${action}&limit=1000`, admin);
        assert.equal(r.status, 200, r.body);
        actions[action] = r.json.events;
        assert.ok(!r.body.includes(CANARY), `${action} events hold the secret value`);
      }
      const resources = (a) => actions[a].map((e) => `${e.tenantId} ${e.resource}`).sort();
      for (const want of ['acme mcp_server/acme/crm', 'demo mcp_server/demo/crm', 'platform mcp_server/platform/search',
        'platform mcp_server/platform/weather']) {
        assert.equal(resources('mcp_server.create').filter((x) => x === want).length, 1, want);
      }
      assert.ok(resources('mcp_server.update').includes('demo mcp_server/demo/crm'));
      assert.ok(resources('mcp_server.update').includes('platform mcp_server/platform/search'));
      assert.deepEqual(resources('mcp_server.delete'), ['acme mcp_server/acme/crm']);
      for (const e of actions['mcp_server.create']) assert.equal(e.outcome, 'success');
      // Nor in any answer about servers.
      for (const p of ['/v1/platform/mcp-servers', '/v1/tenants/demo/mcp-servers', '/v1/tenants/demo/mcp-servers/crm']) {
        assert.ok(!(await api(gw, 'GET', p, admin)).body.includes(CANARY), p);
      }
    });
  });

  describe('portcullis ops mcp-servers', () => {
    const O = (...args) => runOps(['--config', gw.configPath, ...args]);
    const ok = (r, what) => { assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stdout}\n${r.stderr}`); return r; };

    it('create, list, get, update and delete a global server', async () => {
      const c = ok(await O('mcp-servers', 'create', 'docs', '--url', 'https://docs.example.com/mcp', '--tier-minimum', 'standard',
        '--disabled-tools', 'a, b', '--json'), 'create');
      const created = JSON.parse(c.stdout);
      assert.equal(created.name, 'docs');
      assert.deepEqual(created.disabledTools, ['a', 'b']);
      const l = ok(await O('mcp-servers', 'list'), 'list');
      const rows = l.stdout.trimEnd().split('\n').map((x) => x.split(/ {2,}/));
      assert.deepEqual(rows[0], ['NAME', 'SCOPE', 'URL', 'AUTH', 'TIER MINIMUM', 'ENABLED', 'STATUS', 'CHECKED']);
      assert.ok(rows.some((r) => r[0] === 'docs' && r[1] === 'platform' && r[3] === 'none'), l.stdout);
      const g = ok(await O('mcp-servers', 'get', 'docs', '--json'), 'get');
      assert.equal(JSON.parse(g.stdout).url, 'https://docs.example.com/mcp');
      const u = ok(await O('mcp-servers', 'update', 'docs', '--disable', '--auth', 'act_on_behalf', '--json'), 'update');
      assert.equal(JSON.parse(u.stdout).enabled, false);
      assert.deepEqual(JSON.parse(u.stdout).auth, { mode: 'act_on_behalf' });
      const d = ok(await O('mcp-servers', 'delete', 'docs'), 'delete');
      assert.match(d.stdout, /mcp server docs deleted/);
      const again = await O('mcp-servers', 'get', 'docs');
      assert.equal(again.code, 1);
      assert.match(again.stderr, /not_found/);
    });

    it('--tenant works on a tenant\'s own servers; API refusals are one line, exit 1', async () => {
      ok(await O('mcp-servers', 'create', 'tickets', '--tenant', 'acme', '--url', 'http://127.0.0.1:9/t',
        '--auth', 'vault_secret', '--secret', 'tickets-key', '--header', 'X-Api-Key'), 'create --tenant');
      const l = JSON.parse(ok(await O('mcp-servers', 'list', '--tenant', 'acme', '--json'), 'list --tenant').stdout);
      assert.deepEqual(l.servers.filter((s) => s.name === 'tickets').map((s) => [s.scope, s.auth.header]), [['acme', 'X-Api-Key']]);
      const clash = await O('mcp-servers', 'create', 'search', '--tenant', 'acme', '--url', 'http://h/');
      assert.equal(clash.code, 1);
      assert.match(clash.stderr, /^portcullis ops: .*global.*\(conflict, request [\w.:-]+\)\n$/);
      const bad = await O('mcp-servers', 'create', 'x1x', '--url', 'ftp://h/');
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /invalid_request/);
      const usage = await O('mcp-servers', 'create', 'x1x', '--url', 'http://h/', '--secret', 's');
      assert.notEqual(usage.code, 0);
      ok(await O('mcp-servers', 'delete', 'tickets', '--tenant', 'acme'), 'delete --tenant');
    });
  });
});
