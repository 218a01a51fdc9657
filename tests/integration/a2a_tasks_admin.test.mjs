// GET /v1/tenants/{id}/a2a-tasks (issue 11, docs/a2a.md "Task bindings"): one tenant's A2A task
// bindings, metadata only, paged with limit/cursor/nextCursor. Who may read it is the rule of
// /v1/tenants/{id}/invocations: the platform admin and the tenant's own SelfService.Admin; another
// tenant's SelfService.Admin gets 403 and counts one tenant-access violation. Rows are written
// into the SQLite store directly (the proxy that binds them is another owner's), as
// tenancy.test.mjs does for invocations.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, errorOf, getMetrics, clientToken, bootstrapAdmin, bearer,
  runOps,
} from './harness.mjs';

const METRIC = 'portcullis_tenant_access_violations_total';

function api(gw, method, p, { token, body } = {}) {
  const headers = token ? bearer(token) : {};
  let text;
  if (body !== undefined) {
    text = JSON.stringify(body);
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(text);
  }
  return request(gw.port, { method, path: p, headers, body: text });
}

const violations = async (gw) => {
  const m = await getMetrics(gw.port);
  return m.samples.filter((x) => x.name === METRIC).reduce((n, x) => n + x.value, 0);
};

describe('GET /v1/tenants/{id}/a2a-tasks', () => {
  let dir, gw, adminTok;
  const tok = {};

  before(async () => {
    dir = makeTempDir();
    gw = await startGateway({ config: gatewayConfig(dir), dir });
    const admin = await bootstrapAdmin(gw);
    adminTok = await clientToken(gw, admin.client_id, admin.client_secret);
    for (const t of ['alpha', 'bravo']) {
      const r = await api(gw, 'POST', '/v1/tenants', { token: adminTok, body: { tenantId: t, displayName: t, tier: 'basic' } });
      assert.equal(r.status, 201, r.body);
      const c = await api(gw, 'POST', `/v1/tenants/${t}/clients`,
        { token: adminTok, body: { name: `${t}-admin`, roles: ['SelfService.Admin', 'Agent.Invoke'], scopes: ['agents:invoke'] } });
      assert.equal(c.status, 201, c.body);
      tok[t] = await clientToken(gw, c.json.clientId, c.json.clientSecret);
    }
    // bravo: 5 tasks; alpha: 1. Times one second apart so the order is known.
    const rows = [];
    for (let i = 0; i < 5; i++) rows.push(`('echo', 'b-task-${i}', 'bravo', 'bob', 'b-ctx', 'b-sess', 'working', '2026-01-01T00:00:0${i}.000Z', '2026-01-01T00:00:0${i}.000Z')`);
    rows.push(`('echo', 'a-task-0', 'alpha', 'al', 'a-ctx', 'a-sess', 'completed', '2026-01-01T00:00:09.000Z', '2026-01-01T00:00:09.000Z')`);
    execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(gw.dataDir, 'portcullis.db'),
      `INSERT INTO a2a_tasks(agent, task_id, tenant_id, principal, context_id, session_id, state, created_at, updated_at) VALUES ${rows.join(', ')};`]);
  });
  after(async () => {
    await gw?.stop?.();
    removeDir(dir);
  });

  it('pages one tenant\'s tasks newest first, metadata only, for the platform admin and the tenant\'s own admin', async () => {
    for (const token of [adminTok, tok.bravo]) {
      const seen = [];
      let cursor = '';
      for (let page = 0; page < 5; page++) {
        const r = await api(gw, 'GET', `/v1/tenants/bravo/a2a-tasks?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token });
        assert.equal(r.status, 200, r.body);
        for (const t of r.json.tasks) {
          assert.deepEqual(Object.keys(t).sort(), ['agent', 'contextId', 'createdAt', 'principal', 'sessionId', 'state', 'taskId', 'updatedAt']);
          seen.push(t.taskId);
        }
        if (!r.json.nextCursor) break;
        cursor = r.json.nextCursor;
      }
      assert.deepEqual(seen, ['b-task-4', 'b-task-3', 'b-task-2', 'b-task-1', 'b-task-0']);
    }
    const filtered = await api(gw, 'GET', '/v1/tenants/bravo/a2a-tasks?agent=other', { token: tok.bravo });
    assert.deepEqual(filtered.json.tasks, []);
    const own = await api(gw, 'GET', '/v1/tenants/alpha/a2a-tasks', { token: tok.alpha });
    assert.deepEqual(own.json.tasks.map((t) => t.taskId), ['a-task-0']);
  });

  it('refuses another tenant\'s SelfService.Admin with 403 and counts a violation', async () => {
    const before = await violations(gw);
    const r = await api(gw, 'GET', '/v1/tenants/bravo/a2a-tasks', { token: tok.alpha });
    assert.equal(r.status, 403, r.body);
    assert.ok(!r.body.includes('b-task'), 'bravo\'s task ids leaked');
    assert.ok(errorOf(r), `no error body: ${r.body}`);
    assert.equal(await violations(gw), before + 1);
  });

  it('answers 400 for a bad cursor or limit, 401 without a token, 404 for an unknown tenant', async () => {
    assert.equal((await api(gw, 'GET', '/v1/tenants/bravo/a2a-tasks?cursor=!!', { token: adminTok })).status, 400);
    assert.equal((await api(gw, 'GET', '/v1/tenants/bravo/a2a-tasks?limit=0', { token: adminTok })).status, 400);
    assert.equal((await api(gw, 'GET', '/v1/tenants/bravo/a2a-tasks')).status, 401);
    assert.equal((await api(gw, 'GET', '/v1/tenants/nosuch/a2a-tasks', { token: adminTok })).status, 404);
  });

  it('ops a2a-tasks: the table, --agent, --json with paging; another tenant\'s name is an API refusal, exit 1', async () => {
    const O = (...args) => runOps(['--config', gw.configPath, ...args]);
    const t = await O('a2a-tasks', 'bravo', '--limit', '2');
    assert.equal(t.code, 0, t.stderr);
    const rows = t.stdout.trimEnd().split('\n').map((x) => x.split(/ {2,}/));
    assert.deepEqual(rows[0], ['TASK', 'CONTEXT', 'AGENT', 'PRINCIPAL', 'STATE', 'UPDATED']);
    assert.deepEqual(rows.slice(1).map((r) => r[0]), ['b-task-4', 'b-task-3']);
    assert.match(t.stderr, /more: --cursor /);
    const all = await O('a2a-tasks', 'bravo', '--all', '--json');
    assert.equal(all.code, 0, all.stderr);
    assert.deepEqual(JSON.parse(all.stdout).tasks.map((x) => x.taskId), ['b-task-4', 'b-task-3', 'b-task-2', 'b-task-1', 'b-task-0']);
    const none = await O('a2a-tasks', 'bravo', '--agent', 'other', '--json');
    assert.deepEqual(JSON.parse(none.stdout).tasks, []);
    const missing = await O('a2a-tasks', 'nosuch');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /not_found/);
  });
});
