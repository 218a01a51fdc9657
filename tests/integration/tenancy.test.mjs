// The cross-tenant matrix (SPEC §5–6, docs/admin-api.md). Tenant alpha's principals try to read,
// change, delete or enumerate tenant bravo's data — by path id, by body id, by query parameter, by
// list filter and through alpha's own paths — on every Admin REST route that names or filters by a
// tenant and on the tenant-facing /v1/agents routes. Every attempt fails (403/404, the SPEC error
// shape), bravo is unchanged afterwards, each tenant-access violation is an audit event
// (`security.tenant_access_violation`, alpha's principal as actor, the attempt's request id) and
// one count of portcullis_tenant_access_violations_total — exactly one per violation attempt, none
// for an ordinary refusal. Positive controls show the routes work: the platform admin runs every
// request on a third tenant, the tenant principals on their own tenant, bravo on its own agents.
// Issue 9 (ID_ROWS): the resources named by ids the gateway hands out — async jobs, sessions
// (GET/DELETE, and invoking sync/stream/async with the session), webhooks, their deliveries and dead
// letters (incl. alpha's own webhook with bravo's delivery id, and an async invoke naming bravo's
// webhookId). Each attempt with bravo's real id is answered exactly like an unknown id of the same
// shape (status and error body but the request id), counts one violation (per request), is audited
// like the rows above, and leaves bravo's job, session, webhook and dead letter as they were;
// another principal of bravo presenting bAdmin's session gets the same 404 without a violation;
// the same rows on alpha's own ids succeed (the controls).
// Also: the audit trail basics (every write is an `http.<METHOD> <route>` event; a tenant's audit
// export is NDJSON of that tenant only, with its hash-chain fields).
//
// The suite is a function of the storage backend: SQLite always; PostgreSQL when
// PORTCULLIS_TEST_PG_URL names a server (a fresh database is created per run with psql).
//
// Invocation metadata rows cannot be created through the API (the gateway does not record
// invocations yet), so a few are written into the store directly (sqlite3 / psql) to give the
// invocation routes and filters something of each tenant to leak.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, request, errorOf, waitFor, getMetrics,
  tokenRequest, clientToken, bootstrapAdmin, bearer, decodeJwt, sleep,
} from './harness.mjs';

const A = 'alpha';   // the attacker's tenant (basic tier)
const B = 'bravo';   // the victim (premium tier)
const C = 'charlie'; // the platform admin's control tenant (destroyed by the controls)
const TENANT_ROLES = ['SelfService.Admin', 'Agent.Invoke', 'Machine.Invoke'];
const B_ONLY = 'bravo-only';    // basic tier; its capability allows bravo only
const PREMIUM = 'premium-bot';  // tierMinimum premium: bravo sees it, alpha (basic) does not
// Issue 11: the same two rules for protocol a2a agents, on the /a2a routes (served by the example
// agent's A2A side).
const B_ONLY_A2A = 'bravo-only-a2a';
const PREMIUM_A2A = 'premium-a2a';
const A2A_SEND = { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'x' }] } } };
const SECRET = 'db-password';   // alpha, bravo and charlie each hold a secret of this name
const B_CANARY_SECRET = 'bravo-canary-secret';
const B_DISPLAY = 'Bravo Confidential Ltd';
const VIOLATION = 'security.tenant_access_violation';
const METRIC = 'portcullis_tenant_access_violations_total';

// ---------------------------------------------------------------------------------------------
// helpers

function api(gw, method, p, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) Object.assign(h, bearer(token));
  let text;
  if (body !== undefined) {
    text = JSON.stringify(body);
    h['content-type'] = 'application/json';
    h['content-length'] = Buffer.byteLength(text);
  }
  return request(gw.port, { method, path: p, headers: h, body: text });
}

function metricValue(samples, name) {
  const s = samples.filter((x) => x.name === name);
  assert.ok(s.length <= 1, `${name} has labels: ${JSON.stringify(s)}`);
  return s.length ? s[0].value : 0; // absent before the first violation
}

const violationsTotal = async (gw) => metricValue((await getMetrics(gw.port)).samples, METRIC);

function ndjson(r) {
  // An empty export is sent without a Content-Type (the server leaves it out of empty bodies).
  if (r.body.length > 0 || r.headers['content-type'] !== undefined) {
    assert.match(r.headers['content-type'] ?? '', /^application\/x-ndjson/, r.body.slice(0, 200));
  }
  const lines = r.body.split('\n').filter((l) => l.length > 0);
  return lines.map((l) => JSON.parse(l));
}

// Every page of an audit search (GET /v1/platform/audit or …/security-events).
// The tenant whose log holds an event (issue 8 item 19): a platform principal's call on
// /v1/tenants/{id}/… is that tenant's event; everything else stays in the caller's tenant.
function eventTenant(callerTenant, path) {
  if (callerTenant !== 'platform') return callerTenant;
  const m = /^\/v1\/tenants\/([^/?]+)\//.exec(path.split('?')[0] + '/');
  return m ? decodeURIComponent(m[1]) : 'platform';
}

async function auditEvents(gw, token, route, params = {}) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 200; i++) {
    const q = new URLSearchParams({ ...params, limit: '1000', ...(cursor ? { cursor } : {}) });
    const r = await api(gw, 'GET', `${route}?${q}`, { token });
    assert.equal(r.status, 200, `${route}?${q}: ${r.body}`);
    out.push(...r.json.events);
    cursor = r.json.nextCursor;
    if (!cursor) return out;
  }
  throw new Error(`${route}: more than 200 pages`);
}

// Substitutes {T} (the target tenant), {TC} (a client of the target), {OWN} (the caller's tenant)
// and {OC} (a client of the caller's tenant) in strings, recursively in bodies.
function fill(x, ctx) {
  if (typeof x === 'string') return x.replace(/\{(T|TC|OWN|OC)\}/g, (_, k) => ctx[k]);
  if (Array.isArray(x)) return x.map((v) => fill(v, ctx));
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, fill(v, ctx)]));
  return x;
}

const tenantOfClient = (clientId) => clientId.replace(/-[0-9a-f]+$/, ''); // ids are <tenant>-<hex>

// Row checks of answers that succeed: whatever a list shows belongs to the tenant it names.
const allOf = (key, field, which) => (r, ctx) => {
  const items = r.json?.[key];
  assert.ok(Array.isArray(items), `no ${key} list: ${r.body.slice(0, 300)}`);
  for (const it of items) assert.equal(it[field], ctx[which], `a ${key} item of another tenant: ${JSON.stringify(it)}`);
};
const exportOf = (which) => (r, ctx) => {
  for (const line of ndjson(r)) assert.equal(line.tenantId, ctx[which], `an audit line of another tenant: ${JSON.stringify(line)}`);
};
const noSecrets = (key) => (r) => {
  for (const it of r.json[key]) {
    assert.ok(!('clientSecret' in it) && !('secretHash' in it) && !('value' in it), `a secret listed: ${JSON.stringify(it)}`);
  }
};

// ---------------------------------------------------------------------------------------------
// the matrix
//
// kind: 'platform'  guarded by a platform role: a tenant principal is refused before the path is
//                   looked at (403 forbidden, security.access_denied — not a tenant-access violation).
//       'gated'     any principal reaches tenant_gate: a tenant principal whose path (`pathTenant`)
//                   names another tenant is a violation; on its own tenant it gets a plain 403
//                   unless the route is self-service (`selfService`) and it holds SelfService.Admin.
//       'row'       the path names the caller's own tenant, the row ({TC}, a client id) another's:
//                   the tenant-bound store handle raises the violation.
//       'agent'     tenant-facing: another tenant's agents are "not found" (404).
//       'agent-list' tenant-facing list: answers 200 with the caller's own view only.
// write: changes state (the operator may never). adminOnly: Platform.Admin among platform roles.
// inject: extra body fields naming the target (body ids), left out of the admin's controls.
// check(r, ctx): run on answers that succeed.
const ROWS = [
  { id: 'tenant get', kind: 'gated', pathTenant: 'T', method: 'GET', path: '/v1/tenants/{T}', route: '/v1/tenants/{id}' },
  { id: 'tenant patch', kind: 'gated', pathTenant: 'T', adminOnly: true, write: true, method: 'PATCH', path: '/v1/tenants/{T}', route: '/v1/tenants/{id}',
    body: { displayName: 'pwned', tier: 'basic', status: 'suspended' } },
  { id: 'tenants enumerate', kind: 'platform', method: 'GET', path: '/v1/tenants?limit=1000', route: '/v1/tenants',
    check: (r) => assert.ok(Array.isArray(r.json.tenants)) },
  { id: 'clients list', kind: 'gated', pathTenant: 'T', method: 'GET', path: '/v1/tenants/{T}/clients', route: '/v1/tenants/{id}/clients',
    check: (r, ctx) => { allOf('clients', 'tenantId', 'T')(r, ctx); noSecrets('clients')(r); } },
  { id: 'client create', kind: 'gated', pathTenant: 'T', adminOnly: true, write: true, method: 'POST', path: '/v1/tenants/{T}/clients', route: '/v1/tenants/{id}/clients',
    body: { name: 'intruder', roles: ['SelfService.Admin'] } },
  { id: 'client create, body id', kind: 'gated', pathTenant: 'OWN', adminOnly: true, write: true, method: 'POST', path: '/v1/tenants/{OWN}/clients', route: '/v1/tenants/{id}/clients',
    body: { name: 'intruder2', roles: ['Agent.Invoke'] }, inject: { tenantId: '{T}' } },
  { id: 'tenant patch, body id', kind: 'gated', pathTenant: 'OWN', adminOnly: true, write: true, method: 'PATCH', path: '/v1/tenants/{OWN}', route: '/v1/tenants/{id}',
    body: { displayName: 'renamed' }, inject: { tenantId: '{T}' } },
  { id: 'rotate, path', kind: 'gated', pathTenant: 'T', adminOnly: true, selfService: true, write: true, method: 'POST',
    path: '/v1/tenants/{T}/clients/{TC}/rotate', route: '/v1/tenants/{id}/clients/{clientId}/rotate', body: {} },
  { id: 'rotate, own path + other tenant\'s client', kind: 'row', write: true, method: 'POST',
    path: '/v1/tenants/{OWN}/clients/{TC}/rotate', route: '/v1/tenants/{id}/clients/{clientId}/rotate', body: {} },
  { id: 'rotate, other path + own client', kind: 'gated', pathTenant: 'T', adminOnly: true, selfService: true, write: true, method: 'POST',
    path: '/v1/tenants/{T}/clients/{OC}/rotate', route: '/v1/tenants/{id}/clients/{clientId}/rotate', body: {} },
  { id: 'capabilities', kind: 'gated', pathTenant: 'T', method: 'GET', path: '/v1/tenants/{T}/capabilities', route: '/v1/tenants/{id}/capabilities',
    check: (r, ctx) => assert.equal(r.json.tenantId, ctx.T) },
  { id: 'secrets list', kind: 'gated', pathTenant: 'T', adminOnly: true, method: 'GET', path: '/v1/tenants/{T}/secrets', route: '/v1/tenants/{id}/secrets',
    check: noSecrets('secrets') },
  { id: 'secret put', kind: 'gated', pathTenant: 'T', adminOnly: true, write: true, method: 'PUT', path: `/v1/tenants/{T}/secrets/${SECRET}`,
    route: '/v1/tenants/{id}/secrets/{name}', body: { value: 'pwned-value' } },
  { id: 'secret delete', kind: 'gated', pathTenant: 'T', adminOnly: true, write: true, method: 'DELETE', path: `/v1/tenants/{T}/secrets/${SECRET}`,
    route: '/v1/tenants/{id}/secrets/{name}' },
  { id: 'invocations', kind: 'gated', pathTenant: 'T', method: 'GET', path: '/v1/tenants/{T}/invocations', route: '/v1/tenants/{id}/invocations',
    check: allOf('invocations', 'tenantId', 'T') },
  { id: 'invocations, filtered', kind: 'gated', pathTenant: 'T', method: 'GET',
    path: `/v1/tenants/{T}/invocations?agent=${B_ONLY}&since=2000-01-01T00:00:00Z&limit=5`, route: '/v1/tenants/{id}/invocations',
    check: allOf('invocations', 'tenantId', 'T') },
  { id: 'quotas', kind: 'gated', pathTenant: 'T', method: 'GET', path: '/v1/tenants/{T}/quotas', route: '/v1/tenants/{id}/quotas',
    check: (r, ctx) => assert.equal(r.json.tenantId, ctx.T) },
  { id: 'audit export', kind: 'gated', pathTenant: 'T', selfService: true, method: 'GET', path: '/v1/tenants/{T}/audit-export',
    route: '/v1/tenants/{id}/audit-export', check: exportOf('T') },
  { id: 'audit export, cursor', kind: 'gated', pathTenant: 'T', selfService: true, method: 'GET', path: '/v1/tenants/{T}/audit-export?cursor=0',
    route: '/v1/tenants/{id}/audit-export', check: exportOf('T') },
  { id: 'own invocations, ?tenant= other', kind: 'gated', pathTenant: 'OWN', method: 'GET', path: '/v1/tenants/{OWN}/invocations?tenant={T}',
    route: '/v1/tenants/{id}/invocations', headers: { 'x-tenant-id': '{T}' }, check: allOf('invocations', 'tenantId', 'OWN') },
  { id: 'own audit export, ?tenant= other', kind: 'gated', pathTenant: 'OWN', selfService: true, method: 'GET',
    path: '/v1/tenants/{OWN}/audit-export?tenant={T}', route: '/v1/tenants/{id}/audit-export', headers: { 'x-tenant-id': '{T}' },
    check: exportOf('OWN') },
  { id: 'platform invocations ?tenant=', kind: 'platform', method: 'GET', path: '/v1/platform/invocations?tenant={T}',
    route: '/v1/platform/invocations', check: allOf('invocations', 'tenantId', 'T') },
  { id: 'platform audit ?tenant=', kind: 'platform', method: 'GET', path: '/v1/platform/audit?tenant={T}', route: '/v1/platform/audit',
    check: allOf('events', 'tenantId', 'T') },
  { id: 'platform audit ?actor=', kind: 'platform', method: 'GET', path: '/v1/platform/audit?actor={TC}', route: '/v1/platform/audit',
    check: allOf('events', 'actor', 'TC') },
  { id: 'platform security events ?tenant=', kind: 'platform', method: 'GET', path: '/v1/platform/security-events?tenant={T}',
    route: '/v1/platform/security-events', check: allOf('events', 'tenantId', 'T') },
  { id: 'platform error rate ?tenant=', kind: 'platform', method: 'GET', path: '/v1/platform/error-rate?window=1h&tenant={T}',
    route: '/v1/platform/error-rate', check: (r) => assert.equal(typeof r.json.errorRate, 'number') },
  { id: 'platform top tenants', kind: 'platform', method: 'GET', path: '/v1/platform/top-tenants?window=24h', route: '/v1/platform/top-tenants',
    check: (r) => assert.ok(Array.isArray(r.json.tenants)) },
  { id: 'agents list ?tenant= / X-Tenant-Id', kind: 'agent-list', method: 'GET', path: '/v1/agents?tenant={T}', route: '/v1/agents',
    headers: { 'x-tenant-id': '{T}' },
    check: (r) => {
      const names = r.json.agents.map((a) => a.name);
      assert.ok(names.includes('echo'), `the caller's own agents: ${names}`);
      for (const n of [B_ONLY, PREMIUM]) assert.ok(!names.includes(n), `another tenant's agent ${n} listed: ${names}`);
    } },
  { id: 'agent get (capability of the other tenant)', kind: 'agent', method: 'GET', path: `/v1/agents/${B_ONLY}?tenant={T}`,
    route: '/v1/agents/{name}', headers: { 'x-tenant-id': '{T}' } },
  { id: 'agent get (tier of the other tenant)', kind: 'agent', method: 'GET', path: `/v1/agents/${PREMIUM}`, route: '/v1/agents/{name}' },
  { id: 'agent invoke, body id', kind: 'agent', write: true, method: 'POST', path: `/v1/agents/${B_ONLY}/invoke`, route: '/v1/agents/{name}/invoke',
    body: { input: 'x' }, inject: { tenantId: '{T}', context: { tenantId: '{T}' } }, headers: { 'x-tenant-id': '{T}' } },
  { id: 'agent invoke, ?tenant=', kind: 'agent', write: true, method: 'POST', path: `/v1/agents/${PREMIUM}/invoke?tenant={T}`,
    route: '/v1/agents/{name}/invoke', body: { input: 'x' } },
  // Issue 11: the /a2a routes of a2a agents the caller's tenant may not use: 404 like any agent route.
  { id: 'a2a card (capability of the other tenant)', kind: 'agent', method: 'GET', path: `/a2a/${B_ONLY_A2A}/.well-known/agent-card.json?tenant={T}`,
    route: '/a2a/{agent}/.well-known/agent-card.json', headers: { 'x-tenant-id': '{T}' } },
  { id: 'a2a 0.3 card (tier of the other tenant)', kind: 'agent', method: 'GET', path: `/a2a/${PREMIUM_A2A}/.well-known/agent.json`,
    route: '/a2a/{agent}/.well-known/agent.json' },
  { id: 'a2a JSON-RPC SendMessage, body id', kind: 'agent', write: true, method: 'POST', path: `/a2a/${B_ONLY_A2A}`, route: '/a2a/{agent}',
    body: A2A_SEND, inject: { tenantId: '{T}' }, headers: { 'a2a-version': '1.0', 'x-tenant-id': '{T}' } },
  { id: 'a2a REST message:send (tier)', kind: 'agent', write: true, method: 'POST', path: `/a2a/${PREMIUM_A2A}/message:send?tenant={T}`,
    route: '/a2a/{agent}/message:send', body: { message: A2A_SEND.params.message }, headers: { 'a2a-version': '1.0' } },
  { id: 'a2a REST ListTasks (capability)', kind: 'agent', method: 'GET', path: `/a2a/${B_ONLY_A2A}/tasks?tenant={T}`, route: '/a2a/{agent}/tasks',
    headers: { 'a2a-version': '1.0' } },
  { id: 'a2a 0.3 REST card (tier)', kind: 'agent', method: 'GET', path: `/a2a/${PREMIUM_A2A}/v1/card`, route: '/a2a/{agent}/v1/card' },
  // Last: the admin's control deletes its tenant.
  { id: 'tenant delete', kind: 'gated', pathTenant: 'T', adminOnly: true, write: true, method: 'DELETE', path: '/v1/tenants/{T}', route: '/v1/tenants/{id}' },
];

// ---------------------------------------------------------------------------------------------
// issue 9: the resources named by an id the gateway handed out — async jobs, sessions, webhooks
// and their deliveries (dead letters). Placeholders: {JOB} {SID} {WH} {DLV} (bravo's real ids, or
// unknown ids of the same shape), {OWH} (alpha's own webhook, for the mixed paths).
// reach: who gets past the route's policy to the lookup — 'invoke' (Agent.Invoke or
// Machine.Invoke), 'tenant' (any tenant principal), 'selfAdmin' (SelfService.Admin); the others
// get 403. refusal: the answer for an id that is not the caller's ({status, code}).
const B_HOOK_PATH = '/bravo-hook';
const B_RES_CANARY = 'bravo-resource-canary';
const WEBHOOKS = { allow_private_targets: true, allow_http: true, max_attempts: 2, backoff_initial_ms: 50, backoff_max_ms: 100, timeout_ms: 2000, poll_interval_ms: 100 };
const UNKNOWN_IDS = { JOB: `job_${'0'.repeat(28)}`, SID: '0b7f6c43-2c4e-4f3a-9a4d-1d2e3f405162', WH: `wh_${'0'.repeat(24)}`, DLV: `dlv_${'0'.repeat(24)}` };
const NOT_FOUND = { status: 404, code: 'not_found' };
const ID_ROWS = [
  { id: 'job poll', reach: 'tenant', method: 'GET', path: '/v1/jobs/{JOB}', route: '/v1/jobs/{jobId}', refusal: NOT_FOUND },
  { id: 'session get', reach: 'tenant', method: 'GET', path: '/v1/sessions/{SID}', route: '/v1/sessions/{id}', refusal: NOT_FOUND },
  { id: 'session delete', reach: 'tenant', method: 'DELETE', path: '/v1/sessions/{SID}', route: '/v1/sessions/{id}', refusal: NOT_FOUND },
  { id: 'invoke with the session', reach: 'invoke', method: 'POST', path: '/v1/agents/echo/invoke', route: '/v1/agents/{name}/invoke',
    body: { input: 'x', sessionId: '{SID}' }, refusal: NOT_FOUND },
  { id: 'stream invoke with the session', reach: 'invoke', method: 'POST', path: '/v1/agents/echo/invoke', route: '/v1/agents/{name}/invoke',
    body: { input: 'x', mode: 'stream', sessionId: '{SID}' }, refusal: NOT_FOUND },
  { id: 'async invoke with the session', reach: 'invoke', method: 'POST', path: '/v1/agents/echo/invoke', route: '/v1/agents/{name}/invoke',
    body: { input: {}, mode: 'async', sessionId: '{SID}' }, refusal: NOT_FOUND },
  { id: 'webhook get', reach: 'selfAdmin', method: 'GET', path: '/v1/webhooks/{WH}', route: '/v1/webhooks/{id}', refusal: NOT_FOUND },
  { id: 'webhook delete', reach: 'selfAdmin', method: 'DELETE', path: '/v1/webhooks/{WH}', route: '/v1/webhooks/{id}', refusal: NOT_FOUND },
  { id: 'webhook ping', reach: 'selfAdmin', method: 'POST', path: '/v1/webhooks/{WH}/ping', route: '/v1/webhooks/{id}/ping', refusal: NOT_FOUND },
  { id: 'delivery get', reach: 'selfAdmin', method: 'GET', path: '/v1/webhooks/{WH}/deliveries/{DLV}', route: '/v1/webhooks/{id}/deliveries/{deliveryId}', refusal: NOT_FOUND },
  { id: 'dead letters', reach: 'selfAdmin', method: 'GET', path: '/v1/webhooks/{WH}/dead-letters', route: '/v1/webhooks/{id}/dead-letters', refusal: NOT_FOUND },
  { id: 'dead letters, paged', reach: 'selfAdmin', method: 'GET', path: '/v1/webhooks/{WH}/dead-letters?limit=1&cursor={DLV}', route: '/v1/webhooks/{id}/dead-letters', refusal: NOT_FOUND },
  { id: 'redeliver', reach: 'selfAdmin', method: 'POST', path: '/v1/webhooks/{WH}/dead-letters/{DLV}/redeliver',
    route: '/v1/webhooks/{id}/dead-letters/{deliveryId}/redeliver', refusal: NOT_FOUND },
  { id: 'own webhook, other tenant\'s delivery', reach: 'selfAdmin', method: 'GET', path: '/v1/webhooks/{OWH}/deliveries/{DLV}',
    route: '/v1/webhooks/{id}/deliveries/{deliveryId}', refusal: NOT_FOUND },
  { id: 'own webhook, other tenant\'s dead letter redelivered', reach: 'selfAdmin', method: 'POST', path: '/v1/webhooks/{OWH}/dead-letters/{DLV}/redeliver',
    route: '/v1/webhooks/{id}/dead-letters/{deliveryId}/redeliver', refusal: NOT_FOUND },
  { id: 'async invoke naming the other tenant\'s webhook', reach: 'invoke', method: 'POST', path: '/v1/agents/echo/invoke', route: '/v1/agents/{name}/invoke',
    body: { input: {}, mode: 'async', webhookId: '{WH}' }, refusal: { status: 400, code: 'invalid_request' }, auditedApart: true },
];

function fillIds(x, ids) {
  if (typeof x === 'string') return x.replace(/\{(JOB|SID|WH|DLV|OWH)\}/g, (_, k) => ids[k]);
  if (Array.isArray(x)) return x.map((v) => fillIds(v, ids));
  if (x && typeof x === 'object') return Object.fromEntries(Object.entries(x).map(([k, v]) => [k, fillIds(v, ids)]));
  return x;
}

// What `who` gets for an ID_ROWS row: {status, code, violation (with a real foreign id)}.
function expectedById(row, who) {
  const forbidden = { status: 403, code: 'forbidden', violation: false };
  if (who.kind !== 'tenant') return forbidden; // platform principals are no tenant's caller
  if (row.reach === 'selfAdmin' && !who.roles.includes('SelfService.Admin')) return forbidden;
  if (row.reach === 'invoke' && !who.roles.some((r) => r === 'Agent.Invoke' || r === 'Machine.Invoke')) return forbidden;
  return { ...row.refusal, violation: true };
}

// What `who` gets for `row` in `ctx`: {ok: true} or {status, violation}.
function expected(row, who, ctx) {
  const tenantRoute = row.kind === 'agent' || row.kind === 'agent-list';
  if (who.kind === 'admin') return tenantRoute ? { status: 403, violation: false } : { ok: true };
  if (who.kind === 'operator') {
    if (tenantRoute || row.write || row.adminOnly) return { status: 403, violation: false };
    return { ok: true };
  }
  const selfAdmin = who.roles.includes('SelfService.Admin');
  switch (row.kind) {
    case 'platform': return { status: 403, violation: false };
    case 'gated':
      if (ctx[row.pathTenant] !== who.tenant) return { status: 403, violation: true };
      return row.selfService && selfAdmin ? { ok: true } : { status: 403, violation: false };
    case 'row':
      if (!selfAdmin) return { status: 403, violation: false };
      return tenantOfClient(ctx.TC) !== who.tenant ? { status: 403, violation: true } : { ok: true };
    case 'agent': return { status: 404, violation: false };
    case 'agent-list': return { ok: true };
    default: throw new Error(`row kind ${row.kind}`);
  }
}

// A webhook receiver: 500 on FAILING_HOOKS (their deliveries become dead letters), 200 elsewhere.
const FAILING_HOOKS = [B_HOOK_PATH, '/alpha-dead'];
async function startReceiver() {
  const got = [];
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      got.push(req.url);
      res.writeHead(FAILING_HOOKS.includes(req.url) ? 500 : 200, { 'content-type': 'text/plain' });
      res.end('.');
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return {
    port: srv.address().port,
    hits: (p) => got.filter((x) => x === p).length,
    close: () => { srv.closeAllConnections(); return new Promise((r) => srv.close(r)); },
  };
}

// ---------------------------------------------------------------------------------------------
// backends

function psql(url, sql) {
  return execFileSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qAt', '-c', sql], { encoding: 'utf8', timeout: 15000, stdio: ['ignore', 'pipe', 'pipe'] });
}

const BACKENDS = [{ name: 'sqlite' }];
if (process.env.PORTCULLIS_TEST_PG_URL) BACKENDS.push({ name: 'postgres', serverUrl: process.env.PORTCULLIS_TEST_PG_URL });

for (const backend of BACKENDS) defineMatrix(backend);
if (!process.env.PORTCULLIS_TEST_PG_URL) {
  describe('cross-tenant matrix (postgres)', { skip: 'PORTCULLIS_TEST_PG_URL is not set' }, () => {
    it('runs with PostgreSQL when PORTCULLIS_TEST_PG_URL is set', () => {});
  });
}

function defineMatrix(backend) {
  describe(`cross-tenant matrix (${backend.name})`, { timeout: 120000 }, () => {
    let dir;
    let agent;
    let gw;
    let skipReason = null; // set when this backend cannot run (PostgreSQL not wired in yet)
    let pgDb = null;       // {server, url, name} of the fresh database
    let adminTok;
    let admin;             // bootstrap-admin.json
    const clients = {};    // name → {clientId, clientSecret, tenant, roles}
    const tokens = {};     // name → access token
    let principals;        // the attackers: alpha's two clients and the operator
    const writes = [];     // every change made on purpose: {who, requestId, method, route, path, status}
    const attempts = [];   // every matrix request: {row, who, ctx, exp, requestId, status}
    const invocationIds = { [A]: [], [B]: [] };
    let bSnapshot;         // bravo as the platform admin sees it before the matrix
    let aSnapshot;
    let receiver;          // the webhook receiver: 500 on B_HOOK_PATH, 200 elsewhere
    const bRes = {};       // bravo's JOB, SID, WH, DLV (+ whSecret) and alpha's own webhook OWH
    let bResBefore;        // bravo's resources as bravo sees them before the id matrix
    let bHookHits;         // requests bravo's receiver path had before the id matrix
    const apartAttempts = []; // violations whose audit event is checked by a step of their own
    const apartIds = () => new Set(apartAttempts.map((a) => a.requestId));

    // A test of this backend; skipped with the reason when the backend cannot run.
    const step = (name, fn) => it(name, async (t) => {
      if (skipReason) return t.skip(skipReason);
      await fn(t);
    });

    // A change by `token` that must succeed; remembered for the audit check.
    async function write(who, token, method, p, route, body, { expect = [200, 201, 202, 204] } = {}) {
      const r = await api(gw, method, p, { token, body });
      assert.ok(expect.includes(r.status), `${method} ${p} → ${r.status} ${r.body}`);
      writes.push({ who, requestId: r.headers['x-request-id'], method, route, path: p.split('?')[0], status: r.status });
      return r;
    }
    const adminWrite = (method, p, route, body) => write(admin.client_id, adminTok, method, p, route, body);

    async function newClient(name, tenant, roles) {
      const r = await adminWrite('POST', `/v1/tenants/${tenant}/clients`, '/v1/tenants/{id}/clients',
        { name, roles, ...(tenant === 'platform' ? {} : { scopes: ['agents:invoke'] }) });
      clients[name] = { clientId: r.json.clientId, clientSecret: r.json.clientSecret, tenant, roles };
      tokens[name] = await clientToken(gw, r.json.clientId, r.json.clientSecret);
      assert.equal(decodeJwt(tokens[name]).payload.sub, r.json.clientId);
      return clients[name];
    }

    // Writes invocation metadata rows straight into the store (the API has no way to create them).
    function seedInvocations(rows) {
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const values = rows.map((x) => `('${x.id}', '${x.tenant}', '${x.agent}', 'v1', 'sess-${x.id}', '${x.principal}', 'completed', 200, 5, 3, 4, '${now}', NULL)`);
      const sql = 'INSERT INTO invocations(invocation_id, tenant_id, agent, agent_version, session_id, principal, status, http_status, '
        + `latency_ms, input_tokens, output_tokens, created_at, content_sealed) VALUES ${values.join(', ')};`;
      if (backend.name === 'postgres') psql(pgDb.url, sql);
      else execFileSync('sqlite3', ['-cmd', '.timeout 5000', path.join(gw.dataDir, 'portcullis.db'), sql], { timeout: 15000, stdio: ['ignore', 'pipe', 'pipe'] });
    }

    // Every invocation id /v1/platform/invocations lists for `tenant` (each row checked to be its).
    async function invocationsOf(tenant) {
      const r = await api(gw, 'GET', `/v1/platform/invocations?tenant=${tenant}&limit=1000`, { token: adminTok });
      assert.equal(r.status, 200, r.body);
      for (const x of r.json.invocations) assert.equal(x.tenantId, tenant, `a row of ${x.tenantId} under ?tenant=${tenant}`);
      return r.json.invocations.map((x) => x.invocationId);
    }

    async function snapshot(tenant) {
      const get = async (p) => {
        const r = await api(gw, 'GET', p, { token: adminTok });
        assert.equal(r.status, 200, `${p}: ${r.body}`);
        return r.json;
      };
      return {
        tenant: await get(`/v1/tenants/${tenant}`),
        clients: await get(`/v1/tenants/${tenant}/clients`),
        secrets: await get(`/v1/tenants/${tenant}/secrets`),
        invocations: await get(`/v1/tenants/${tenant}/invocations`),
        quotas: await get(`/v1/tenants/${tenant}/quotas`),
        capabilities: await get(`/v1/tenants/${tenant}/capabilities`),
      };
    }

    before(async () => {
      dir = makeTempDir(`portcullis-tenancy-${backend.name}-`);
      const extra = {};
      if (backend.name === 'postgres') {
        const name = `pc_tenancy_${Date.now().toString(36)}_${crypto.randomBytes(3).toString('hex')}`;
        try {
          psql(backend.serverUrl, `CREATE DATABASE ${name}`);
        } catch (e) {
          skipReason = `cannot create a database on PORTCULLIS_TEST_PG_URL with psql: ${String(e.stderr || e.message).trim().slice(0, 300)}`;
          return;
        }
        const u = new URL(backend.serverUrl);
        u.pathname = `/${name}`;
        pgDb = { server: backend.serverUrl, url: u.toString(), name };
        extra.storage = { backend: 'postgres', postgres: { url: pgDb.url } };
      }
      // the matrix sends hundreds of requests a second per tenant; the
      // usage plans stay on (every refusal here passes the limit stage) with budgets it never reaches.
      const roomy = { rps: 100000, burst: 100000, max_concurrent: 10000 };
      extra.tiers = { basic: roomy, standard: roomy, premium: roomy };
      agent = await startAgent();
      receiver = await startReceiver();
      try {
        gw = await startGateway({
          dir,
          config: gatewayConfig(dir, { limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 }, extraServer: { webhooks: WEBHOOKS }, extra }),
          args: ['--demo', '--demo-agent', agent.url],
        });
      } catch (e) {
        if (backend.name !== 'postgres') throw e;
        skipReason = `the gateway does not start with storage.backend postgres: ${e.message.slice(0, 600)}`;
        return;
      }
      if (backend.name === 'postgres') {
        // A gateway that ignored the backend and ran on SQLite would make this run meaningless.
        if (fs.existsSync(path.join(gw.dataDir, 'portcullis.db'))) {
          skipReason = 'the gateway ran on SQLite (<data_dir>/portcullis.db) although storage.backend is postgres: '
            + 'the PostgreSQL backend is not wired into `serve` yet';
          return;
        }
        try {
          psql(pgDb.url, 'SELECT count(*) FROM tenants');
        } catch (e) {
          skipReason = `the gateway started but wrote no tenants table to the PostgreSQL database: ${String(e.stderr || e.message).trim().slice(0, 300)}`;
          return;
        }
      }

      admin = await bootstrapAdmin(gw);
      adminTok = await clientToken(gw, admin.client_id, admin.client_secret);

      // Tenants: alpha basic, bravo premium (with a display name no one else knows), charlie.
      await adminWrite('POST', '/v1/tenants', '/v1/tenants', { tenantId: A, displayName: 'Alpha', tier: 'basic' });
      await adminWrite('POST', '/v1/tenants', '/v1/tenants', { tenantId: B, displayName: B_DISPLAY, tier: 'premium' });
      await adminWrite('POST', '/v1/tenants', '/v1/tenants', { tenantId: C, displayName: 'Charlie', tier: 'standard' });
      await newClient('aAdmin', A, TENANT_ROLES);
      await newClient('aMachine', A, ['Machine.Invoke']);
      await newClient('bAdmin', B, TENANT_ROLES);
      await newClient('bMachine', B, ['Machine.Invoke']);
      await newClient('c1', C, TENANT_ROLES);
      await newClient('c2', C, ['Machine.Invoke']);
      await newClient('operator', 'platform', ['Platform.Operator']);
      for (const t of [A, B, C]) {
        await adminWrite('PUT', `/v1/tenants/${t}/secrets/${SECRET}`, '/v1/tenants/{id}/secrets/{name}', { value: `${t}-secret-value` });
      }
      await adminWrite('PUT', `/v1/tenants/${B}/secrets/${B_CANARY_SECRET}`, '/v1/tenants/{id}/secrets/{name}', { value: 'canary' });

      // Agents only bravo may use: one by capability (tenant allow list), one by tier.
      for (const [name, tierMinimum] of [[B_ONLY, 'basic'], [PREMIUM, 'premium']]) {
        await adminWrite('POST', '/v1/platform/agents', '/v1/platform/agents', { name, tierMinimum, protocol: 'http' });
        await adminWrite('POST', `/v1/platform/agents/${name}/versions`, '/v1/platform/agents/{name}/versions', { version: 'v1', endpoint: agent.url });
        await adminWrite('POST', `/v1/platform/agents/${name}/versions/v1/promote`, '/v1/platform/agents/{name}/versions/{version}/promote', {});
      }
      await adminWrite('PUT', `/v1/platform/capabilities/agents.${B_ONLY}`, '/v1/platform/capabilities/{name}', { enabled: true, tenantAllowList: [B] });
      for (const [name, tierMinimum] of [[B_ONLY_A2A, 'basic'], [PREMIUM_A2A, 'premium']]) {
        await adminWrite('POST', '/v1/platform/agents', '/v1/platform/agents', { name, tierMinimum, protocol: 'a2a' });
        await adminWrite('POST', `/v1/platform/agents/${name}/versions`, '/v1/platform/agents/{name}/versions', { version: 'v1', endpoint: agent.url });
        await adminWrite('POST', `/v1/platform/agents/${name}/versions/v1/promote`, '/v1/platform/agents/{name}/versions/{version}/promote', {});
      }
      await adminWrite('PUT', `/v1/platform/capabilities/agents.${B_ONLY_A2A}`, '/v1/platform/capabilities/{name}', { enabled: true, tenantAllowList: [B] });
      await adminWrite('PUT', `/v1/platform/capabilities/agents.${PREMIUM_A2A}`, '/v1/platform/capabilities/{name}', { enabled: true });
      await adminWrite('PUT', `/v1/platform/capabilities/agents.${PREMIUM}`, '/v1/platform/capabilities/{name}', { enabled: true });

      // Invocation metadata, ids interleaved so that a cursor of one tenant sits between the
      // other's rows.
      const seed = [];
      for (let i = 1; i <= 6; i++) {
        const tenant = i % 2 ? A : B;
        const id = `inv-${String(i).padStart(4, '0')}-${tenant}`;
        invocationIds[tenant].push(id);
        seed.push({ id, tenant, agent: tenant === B ? B_ONLY : 'echo', principal: tenant === B ? clients.bAdmin.clientId : clients.aAdmin.clientId });
      }
      seedInvocations(seed);

      principals = [
        { name: 'alpha SelfService.Admin+Agent.Invoke+Machine.Invoke', kind: 'tenant', tenant: A, roles: TENANT_ROLES, client: 'aAdmin' },
        { name: 'alpha Machine.Invoke only', kind: 'tenant', tenant: A, roles: ['Machine.Invoke'], client: 'aMachine' },
        { name: 'platform operator', kind: 'operator', tenant: 'platform', roles: ['Platform.Operator'], client: 'operator' },
      ];
    });

    after(async () => {
      if (gw) await gw.stop();
      if (agent) await agent.stop();
      if (receiver) await receiver.close();
      if (pgDb) {
        try { psql(pgDb.server, `DROP DATABASE IF EXISTS ${pgDb.name} WITH (FORCE)`); } catch { /* best effort */ }
      }
      removeDir(dir);
    });

    // Bravo's job, session, webhook (one and the list), delivery and dead letters, as bravo sees them.
    async function bravoResources() {
      const get = async (p) => {
        const r = await api(gw, 'GET', p, { token: tokens.bAdmin });
        assert.equal(r.status, 200, `${p}: ${r.body}`);
        return r.json;
      };
      return {
        job: await get(`/v1/jobs/${bRes.JOB}`),
        session: await get(`/v1/sessions/${bRes.SID}`),
        webhook: await get(`/v1/webhooks/${bRes.WH}`),
        webhooks: await get('/v1/webhooks'),
        delivery: await get(`/v1/webhooks/${bRes.WH}/deliveries/${bRes.DLV}`),
        deadLetters: await get(`/v1/webhooks/${bRes.WH}/dead-letters`),
      };
    }
    // Bravo's data an answer to alpha must never hold (ids alpha did not send included).
    const resourceCanaries = () => [B_RES_CANARY, B_HOOK_PATH, bRes.whSecret, clients.bAdmin.clientId, ...canaries()];

    // Ctx of the attacks: bravo is the target; alpha's own client to rotate is aMachine's.
    const attackCtx = () => ({ T: B, TC: clients.bAdmin.clientId, OWN: A, OC: clients.aMachine.clientId });
    // The same requests on the caller's own tenant.
    const ownCtx = () => ({ T: A, TC: clients.aMachine.clientId, OWN: A, OC: clients.aMachine.clientId });
    // The platform admin's controls, on charlie.
    const controlCtx = () => ({ T: C, TC: clients.c1.clientId, OWN: C, OC: clients.c2.clientId });

    function send(row, token, ctx, { injected = true } = {}) {
      const body = row.body === undefined ? undefined : fill({ ...row.body, ...(injected ? row.inject ?? {} : {}) }, ctx);
      return api(gw, row.method, fill(row.path, ctx), { token, body, headers: fill(row.headers ?? {}, ctx) });
    }

    // B's data that alpha never names in a request: it must never appear in an answer to alpha.
    const canaries = () => [B_DISPLAY, B_CANARY_SECRET, clients.bMachine.clientId, ...invocationIds[B], 'bravo-secret-value'];

    function assertRefusal(r, exp, what) {
      assert.equal(r.status, exp.status, `${what}: expected ${exp.status}, got ${r.status}: ${r.body}`);
      const e = errorOf(r);
      assert.equal(e.code, exp.status === 404 ? 'not_found' : 'forbidden', `${what}: ${r.body}`);
      assert.equal(typeof e.message, 'string');
      assert.ok(r.headers['x-request-id'], `${what}: no X-Request-Id`);
      assert.equal(e.requestId, r.headers['x-request-id'], `${what}: requestId`);
      assert.ok(Array.isArray(e.details), `${what}: details`);
      if (exp.violation) assert.match(e.message, /tenant access violation/, `${what}: not answered as a violation: ${r.body}`);
      else assert.doesNotMatch(e.message, /tenant access violation/, `${what}: answered as a violation: ${r.body}`);
    }

    // Runs `rows` for `who` in `ctx`; returns the attempts.
    async function runRows(who, ctx, rows, { record = true } = {}) {
      const out = [];
      for (const row of rows) {
        const exp = expected(row, who, ctx);
        const r = await send(row, tokens[who.client], ctx);
        const what = `${who.name}: ${row.id}: ${row.method} ${fill(row.path, ctx)}`;
        if (exp.ok) {
          assert.ok(r.status >= 200 && r.status < 300, `${what}: expected success, got ${r.status}: ${r.body}`);
          if (row.check) row.check(r, ctx);
          if (row.write && who.kind !== 'operator') {
            writes.push({ who: clients[who.client].clientId, requestId: r.headers['x-request-id'], method: row.method, route: row.route,
              path: fill(row.path, ctx).split('?')[0], status: r.status });
          }
          // A rotation of aMachine (alpha's own client) hands out its new secret.
          if (r.json?.clientSecret && r.json.clientId === clients.aMachine.clientId) clients.aMachine.clientSecret = r.json.clientSecret;
        } else {
          assertRefusal(r, exp, what);
        }
        if (who.kind === 'tenant') {
          for (const c of canaries()) assert.ok(!r.body.includes(c), `${what}: the answer holds bravo's ${c}: ${r.body.slice(0, 500)}`);
        }
        const a = { row, who, ctx, exp, requestId: r.headers['x-request-id'], status: r.status };
        if (record) attempts.push(a);
        out.push(a);
      }
      return out;
    }

    step('setup: bravo sees its own agents; alpha sees only its own; the invocation rows are there', async () => {
      const bAgents = await waitFor(async () => {
        const r = await api(gw, 'GET', '/v1/agents', { token: tokens.bAdmin });
        const names = r.json?.agents?.map((a) => a.name) ?? [];
        return names.includes(B_ONLY) && names.includes(PREMIUM) ? names : null;
      }, 5000, { what: 'bravo sees its agents' });
      assert.ok(bAgents.includes('echo'));
      for (const name of [B_ONLY, PREMIUM]) {
        const one = await api(gw, 'GET', `/v1/agents/${name}`, { token: tokens.bMachine });
        assert.equal(one.status, 200, one.body);
        const inv = await api(gw, 'POST', `/v1/agents/${name}/invoke`, { token: tokens.bMachine, body: { input: 'from bravo' } });
        assert.equal(inv.status, 200, `bravo invokes ${name}: ${inv.body}`);
      }
      for (const who of ['aAdmin', 'aMachine']) {
        const r = await api(gw, 'GET', '/v1/agents', { token: tokens[who] });
        assert.equal(r.status, 200, r.body);
        const names = r.json.agents.map((a) => a.name);
        assert.ok(names.includes('echo'), names);
        assert.ok(!names.includes(B_ONLY) && !names.includes(PREMIUM), `alpha lists bravo's agents: ${names}`);
        const inv = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: tokens[who], body: { input: 'from alpha' } });
        assert.equal(inv.status, 200, `alpha invokes echo: ${inv.body}`);
      }
      for (const t of [A, B]) {
        const ids = await invocationsOf(t);
        for (const id of invocationIds[t]) assert.ok(ids.includes(id), `seeded row ${id} of ${t} not listed: ${ids}`);
      }
    });

    step('issue 11 controls: bravo gets the cards of its a2a agents; alpha gets them exactly like an agent that does not exist', async () => {
      for (const name of [B_ONLY_A2A, PREMIUM_A2A]) {
        const card = await waitFor(async () => {
          const r = await api(gw, 'GET', `/a2a/${name}/.well-known/agent-card.json`, { token: tokens.bMachine });
          return r.status === 200 ? r : null;
        }, 10000, { interval: 100, what: `bravo's card of ${name}` });
        assert.ok(card.json?.name, card.body.slice(0, 300));
        const send = await api(gw, 'POST', `/a2a/${name}`, { token: tokens.bMachine, body: A2A_SEND, headers: { 'a2a-version': '1.0' } });
        assert.equal(send.status, 200, `bravo sends to ${name}: ${send.body.slice(0, 300)}`);
        assert.ok(send.json?.result, `bravo sends to ${name}: ${send.body.slice(0, 300)}`);
        const before = await violationsTotal(gw);
        for (const p of ['/.well-known/agent-card.json', '/tasks']) {
          const theirs = await api(gw, 'GET', `/a2a/${name}${p}`, { token: tokens.aAdmin, headers: { 'a2a-version': '1.0' } });
          const none = await api(gw, 'GET', `/a2a/no-such-agent${p}`, { token: tokens.aAdmin, headers: { 'a2a-version': '1.0' } });
          assert.equal(theirs.status, 404, theirs.body);
          assert.equal(none.status, theirs.status);
          assert.equal(errorOf(none).code, errorOf(theirs).code);
          assert.equal(errorOf(none).message.replace('no-such-agent', name), errorOf(theirs).message, `${p}: bravo's agent is told apart from an unknown one`);
        }
        assert.equal(await violationsTotal(gw), before, 'an agent alpha may not use is no tenant-access violation');
      }
    });

    step('positive controls: the platform admin\'s same requests on its control tenant succeed', async () => {
      const ctx = controlCtx();
      const rows = ROWS.filter((r) => r.kind !== 'agent' && r.kind !== 'agent-list');
      for (const row of rows) {
        const r = await send(row, adminTok, ctx, { injected: false });
        const what = `admin control: ${row.id}: ${row.method} ${fill(row.path, ctx)}`;
        assert.ok(r.status >= 200 && r.status < 300, `${what}: ${r.status} ${r.body}`);
        if (row.check) row.check(r, ctx);
        if (row.write) writes.push({ who: admin.client_id, requestId: r.headers['x-request-id'], method: row.method, route: row.route, path: fill(row.path, ctx).split('?')[0], status: r.status });
      }
      // The controls did change charlie: the routes are live.
      const t = await api(gw, 'GET', `/v1/tenants/${C}`, { token: adminTok });
      assert.equal(t.json.status, 'deleted', t.body);
      const names = (await api(gw, 'GET', `/v1/tenants/${C}/clients`, { token: adminTok })).json.clients.map((c) => c.name);
      assert.ok(names.includes('intruder') && names.includes('intruder2'), names);
    });

    step('alpha\'s principals and the operator against bravo: every attempt refused (403/404), counted exactly', async (t) => {
      bSnapshot = await snapshot(B);
      aSnapshot = await snapshot(A);
      assert.equal(bSnapshot.tenant.displayName, B_DISPLAY);
      const before = await violationsTotal(gw);
      const mine = [];
      for (const who of principals) mine.push(...await runRows(who, attackCtx(), ROWS));
      // The same requests on alpha's own tenant: a plain 403 where the route is not theirs, success
      // where it is (self-service) — and not one violation. Machine.Invoke first: the admin's
      // rotations change aMachine's secret.
      const ownRows = ROWS.filter((r) => r.kind !== 'agent' && r.kind !== 'agent-list');
      for (const who of [principals[1], principals[0]]) mine.push(...await runRows(who, ownCtx(), ownRows));

      const refused = mine.filter((a) => !a.exp.ok);
      const violations = mine.filter((a) => a.exp.violation);
      assert.ok(violations.length >= 20, `only ${violations.length} violation attempts`);
      // The counter moves when the answer is produced, before it is sent: no wait needed.
      const after = await violationsTotal(gw);
      assert.equal(after - before, violations.length,
        `${METRIC} grew by ${after - before}, expected ${violations.length} (refused: ${refused.length} of ${mine.length} requests)`);
      // Own-tenant self-service requests did succeed (the routes work for their owner).
      const ownOk = mine.filter((a) => a.exp.ok && a.ctx.T === A && a.who.kind === 'tenant');
      assert.ok(ownOk.some((a) => a.row.id === 'rotate, path'), 'own rotation succeeded');
      assert.ok(ownOk.some((a) => a.row.id === 'audit export'), 'own audit export succeeded');
      t.diagnostic(`${backend.name}: ${mine.length} matrix requests, ${refused.length} refused attempts, ${violations.length} tenant-access violations`);
    });

    step('no existence oracle: another tenant and a tenant that does not exist are refused alike', async () => {
      const who = principals[0];
      const before = await violationsTotal(gw);
      let violations = 0;
      const rotate = '/v1/tenants/{id}/clients/{clientId}/rotate';
      const pairs = [
        ['GET', '/v1/tenants/{X}/capabilities', '/v1/tenants/{id}/capabilities', true],
        ['GET', '/v1/tenants/{X}/secrets', '/v1/tenants/{id}/secrets', true],
        ['GET', '/v1/tenants/{X}/audit-export', '/v1/tenants/{id}/audit-export', true],
        ['POST', '/v1/tenants/{X}/clients/{X}-0123456789abcdef/rotate', rotate, true],
        ['GET', `/v1/agents/${B_ONLY}`, '/v1/agents/{name}', false],
        ['GET', '/v1/tenants/{X}', '/v1/tenants/{id}', true],
      ];
      for (const [method, tpl, route, violation] of pairs) {
        const answers = [];
        for (const x of tpl.includes('{X}') ? [B, 'nobody-here'] : [B]) {
          const p = tpl.replaceAll('{X}', x);
          const r = await api(gw, method, p, { token: tokens[who.client], body: method === 'POST' ? {} : undefined });
          const e = errorOf(r);
          assert.equal(e.requestId, r.headers['x-request-id']);
          answers.push({ status: r.status, code: e.code, message: e.message });
          const row = { id: `oracle ${method} ${tpl}`, method, path: p, route };
          attempts.push({ row, who, ctx: {}, exp: { status: r.status, violation }, requestId: r.headers['x-request-id'], status: r.status });
          if (violation) violations += 1;
        }
        if (tpl.includes('{X}')) {
          assert.deepEqual(answers[0], answers[1], `${method} ${tpl}: bravo and a tenant that does not exist are told apart`);
        } else {
          // The same route for bravo's agent and an agent that does not exist.
          const none = await api(gw, method, tpl.replace(B_ONLY, 'no-such-agent'), { token: tokens[who.client] });
          assert.equal(none.status, answers[0].status);
          assert.equal(errorOf(none).message, answers[0].message);
        }
        assert.ok([403, 404].includes(answers[0].status), `${method} ${tpl}: ${answers[0].status}`);
        if (violation) assert.match(answers[0].message, /tenant access violation/);
      }
      assert.equal(await violationsTotal(gw) - before, violations);
    });

    step('the operator reads bravo (never its secrets), and only bravo\'s rows', async () => {
      const op = tokens.operator;
      const t = await api(gw, 'GET', `/v1/tenants/${B}`, { token: op });
      assert.equal(t.status, 200, t.body);
      assert.equal(t.json.displayName, B_DISPLAY);
      const inv = await api(gw, 'GET', `/v1/tenants/${B}/invocations?limit=1000`, { token: op });
      assert.equal(inv.status, 200, inv.body);
      for (const id of invocationIds[B]) assert.ok(inv.json.invocations.some((x) => x.invocationId === id), `${id} not listed`);
      for (const x of inv.json.invocations) assert.equal(x.tenantId, B);
      for (const x of inv.json.invocations) {
        assert.ok(!('input' in x) && !('output' in x) && !('content' in x), `invocation content listed: ${JSON.stringify(x)}`);
      }
      const q = await api(gw, 'GET', `/v1/tenants/${B}/quotas`, { token: op });
      assert.ok(q.json.usedToday >= invocationIds[B].length, q.body);
      assert.equal((await api(gw, 'GET', `/v1/tenants/${B}/secrets`, { token: op })).status, 403);
    });

    step('bravo is unchanged: record, clients, secrets, invocations, quotas, capabilities; its credentials still work', async () => {
      assert.deepEqual(await snapshot(B), bSnapshot);
      for (const name of ['bAdmin', 'bMachine']) {
        const c = clients[name];
        const r = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [c.clientId, c.clientSecret] });
        assert.equal(r.status, 200, `bravo's ${name} secret no longer works: ${r.body}`);
        assert.equal((await api(gw, 'GET', '/v1/agents', { token: r.json.access_token })).status, 200);
      }
      // alpha's record and secrets are unchanged too (the body-id attempts named alpha's own
      // paths); its clients are the same, their secrets rotated by alpha itself only.
      const a = await snapshot(A);
      assert.deepEqual(a.tenant, aSnapshot.tenant);
      assert.deepEqual(a.secrets, aSnapshot.secrets);
      assert.deepEqual(a.clients.clients.map((c) => c.clientId).sort(), aSnapshot.clients.clients.map((c) => c.clientId).sort());
      await clientToken(gw, clients.aMachine.clientId, clients.aMachine.clientSecret);
      await clientToken(gw, clients.aAdmin.clientId, clients.aAdmin.clientSecret);
    });

    // ---- issue 9: jobs, sessions, webhooks and dead letters. Bravo owns one of each (a finished
    // async job, a session of bAdmin on echo, a webhook whose receiver always fails and the dead
    // letter of its ping); alpha's webhook gives the mixed paths (alpha's webhook, bravo's
    // delivery). Every attempt with bravo's real id is sent again with an unknown id of the same
    // shape: the two answers must be the same (status and error body, but for the request id).

    step('setup (issue 9): bravo\'s finished job, session, webhook and dead letter; alpha\'s webhook', async () => {
      const bTok = tokens.bAdmin;
      const s = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: bTok, body: { input: { owner: 'bravo', canary: B_RES_CANARY } } });
      assert.equal(s.status, 200, s.body);
      assert.match(s.json.sessionId, /^[0-9a-f-]{36}$/);
      bRes.SID = s.json.sessionId;
      const j = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: bTok, body: { input: { canary: B_RES_CANARY }, mode: 'async' } });
      assert.equal(j.status, 202, j.body);
      assert.match(j.json.jobId, /^job_[0-9a-f]{28}$/);
      assert.equal(j.json.pollUrl, `/v1/jobs/${j.json.jobId}`);
      bRes.JOB = j.json.jobId;
      await waitFor(async () => {
        const r = await api(gw, 'GET', `/v1/jobs/${bRes.JOB}`, { token: bTok });
        assert.equal(r.status, 200, r.body);
        return r.json.status === 'succeeded';
      }, 15000, { interval: 50, what: 'bravo\'s job succeeded' });
      const w = await write(clients.bAdmin.clientId, bTok, 'POST', '/v1/webhooks', '/v1/webhooks',
        { url: `http://127.0.0.1:${receiver.port}${B_HOOK_PATH}`, description: B_RES_CANARY });
      assert.match(w.json.webhookId, /^wh_[0-9a-f]{24}$/);
      bRes.WH = w.json.webhookId;
      bRes.whSecret = w.json.secret;
      const p = await write(clients.bAdmin.clientId, bTok, 'POST', `/v1/webhooks/${bRes.WH}/ping`, '/v1/webhooks/{id}/ping', undefined);
      assert.match(p.json.deliveryId, /^dlv_[0-9a-f]{24}$/);
      bRes.DLV = p.json.deliveryId;
      await waitFor(async () => {
        const r = await api(gw, 'GET', `/v1/webhooks/${bRes.WH}/dead-letters`, { token: bTok });
        return r.json?.deadLetters?.length === 1 && r.json.deadLetters[0].deliveryId === bRes.DLV;
      }, 15000, { interval: 100, what: 'bravo\'s dead letter' });
      const a = await write(clients.aAdmin.clientId, tokens.aAdmin, 'POST', '/v1/webhooks', '/v1/webhooks',
        { url: `http://127.0.0.1:${receiver.port}/alpha-hook` });
      bRes.OWH = a.json.webhookId;
      bResBefore = await bravoResources();
      assert.equal(bResBefore.job.status, 'succeeded');
      assert.equal(bResBefore.session.status, 'active');
      assert.equal(bResBefore.deadLetters.deadLetters[0].status, 'dead');
      bHookHits = receiver.hits(B_HOOK_PATH);
      assert.equal(bHookHits, WEBHOOKS.max_attempts, 'the dead letter\'s attempts reached the receiver');
    });

    step('issue 9 matrix: bravo\'s real job, session, webhook and delivery ids answer exactly like unknown ids, each counted once', async (t) => {
      const total0 = await violationsTotal(gw);
      let expectedViolations = 0;
      let n = 0;
      for (const who of principals) {
        for (const row of ID_ROWS) {
          const exp = expectedById(row, who);
          const answers = [];
          for (const [which, ids] of [['real', bRes], ['unknown', { ...UNKNOWN_IDS, OWH: bRes.OWH }]]) {
            const p = fillIds(row.path, ids);
            const body = row.body === undefined ? undefined : fillIds(row.body, ids);
            const before = await violationsTotal(gw);
            const r = await api(gw, row.method, p, { token: tokens[who.client], body });
            const what = `${who.name}: ${row.id} (${which} id): ${row.method} ${p}`;
            const violation = which === 'real' && exp.violation;
            assert.equal(r.status, exp.status, `${what}: ${r.body}`);
            const e = errorOf(r);
            assert.equal(e.code, exp.code, `${what}: ${r.body}`);
            assert.ok(r.headers['x-request-id'], `${what}: no X-Request-Id`);
            assert.equal(e.requestId, r.headers['x-request-id'], `${what}: requestId`);
            assert.doesNotMatch(r.body, /bravo/i, `${what}: the answer names bravo`);
            for (const c of resourceCanaries()) assert.ok(!r.body.includes(c), `${what}: the answer holds bravo's ${c}: ${r.body}`);
            // The counter moves when the answer is produced; read it again after a pause below.
            const after = await violationsTotal(gw);
            assert.equal(after - before, violation ? 1 : 0, `${what}: ${METRIC} grew by ${after - before}`);
            if (violation) expectedViolations += 1;
            const { requestId, ...rest } = e;
            answers.push({ status: r.status, error: rest });
            const arow = { id: `${row.id} (${which})`, method: row.method, path: p, route: row.route };
            const a = { row: arow, who, ctx: {}, exp: { status: exp.status, violation }, requestId: r.headers['x-request-id'], status: r.status };
            // The async invoke's webhookId refusal is checked by its own step (see there).
            (row.auditedApart && violation ? apartAttempts : attempts).push(a);
            n += 1;
          }
          assert.deepEqual(answers[0], answers[1], `${who.name}: ${row.id}: bravo's real id and an unknown id are told apart`);
        }
      }
      assert.ok(expectedViolations >= 20, `only ${expectedViolations} violation attempts`);
      await sleep(300);
      assert.equal(await violationsTotal(gw) - total0, expectedViolations,
        `${METRIC} grew by ${await violationsTotal(gw) - total0}, expected ${expectedViolations} (one per real foreign id tried)`);
      t.diagnostic(`${n} id-matrix requests, ${expectedViolations} tenant-access violations`);
    });

    step('issue 9: alpha\'s webhook list and create stay alpha\'s whatever tenant the query or headers name', async () => {
      const list = await api(gw, 'GET', `/v1/webhooks?tenant=${B}`, { token: tokens.aAdmin, headers: { 'x-tenant-id': B } });
      assert.equal(list.status, 200, list.body);
      assert.deepEqual(list.json.webhooks.map((w) => w.webhookId), [bRes.OWH]);
      assert.ok(!list.body.includes(bRes.WH) && !list.body.includes(B_RES_CANARY), list.body);
      const before = await violationsTotal(gw);
      const c = await api(gw, 'POST', `/v1/webhooks?tenant=${B}`, { token: tokens.aAdmin, headers: { 'x-tenant-id': B },
        body: { url: `http://127.0.0.1:${receiver.port}/alpha-second` } });
      assert.equal(c.status, 201, c.body);
      writes.push({ who: clients.aAdmin.clientId, requestId: c.headers['x-request-id'], method: 'POST', route: '/v1/webhooks', path: '/v1/webhooks', status: 201 });
      // A tenant id in the body is not a field of the route: refused, nothing created.
      const inj = await api(gw, 'POST', '/v1/webhooks', { token: tokens.aAdmin, body: { url: `http://127.0.0.1:${receiver.port}/alpha-third`, tenantId: B } });
      assert.equal(inj.status, 400, inj.body);
      assert.equal(errorOf(inj).code, 'invalid_request');
      assert.equal(await violationsTotal(gw), before);
      const mine = (await api(gw, 'GET', '/v1/webhooks', { token: tokens.aAdmin })).json.webhooks.map((w) => w.webhookId).sort();
      assert.deepEqual(mine, [bRes.OWH, c.json.webhookId].sort());
      const theirs = await api(gw, 'GET', '/v1/webhooks', { token: tokens.bAdmin });
      assert.deepEqual(theirs.json, bResBefore.webhooks, 'bravo\'s webhook list changed');
      // alpha's job of its own: readable by alpha, and not by bravo (the rule is symmetric).
      const aj = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: tokens.aMachine, body: { input: {}, mode: 'async' } });
      assert.equal(aj.status, 202, aj.body);
      assert.equal((await api(gw, 'GET', `/v1/jobs/${aj.json.jobId}`, { token: tokens.aAdmin })).status, 200);
      assert.equal((await api(gw, 'GET', `/v1/jobs/${aj.json.jobId}`, { token: tokens.bMachine })).status, 404);
      await sleep(200);
      assert.equal(await violationsTotal(gw), before + 1, 'bravo reading alpha\'s job is one violation');
    });

    step('issue 9: another principal of bravo presenting bAdmin\'s session gets the unknown-session 404, not a violation', async () => {
      const before = await violationsTotal(gw);
      const tries = [
        ['GET', '/v1/sessions/{SID}', undefined],
        ['DELETE', '/v1/sessions/{SID}', undefined],
        ['POST', '/v1/agents/echo/invoke', { input: 'x', sessionId: '{SID}' }],
        ['POST', '/v1/agents/echo/invoke', { input: 'x', sessionId: '{SID}', mode: 'async' }],
      ];
      for (const [method, tpl, body] of tries) {
        const answers = [];
        for (const ids of [bRes, UNKNOWN_IDS]) {
          const r = await api(gw, method, fillIds(tpl, ids), { token: tokens.bMachine, body: body && fillIds(body, ids) });
          assert.equal(r.status, 404, `${method} ${tpl}: ${r.body}`);
          const { requestId, ...rest } = errorOf(r);
          assert.equal(rest.code, 'not_found');
          answers.push(rest);
        }
        assert.deepEqual(answers[0], answers[1], `${method} ${tpl}: another principal's session and an unknown one are told apart`);
      }
      await sleep(200);
      assert.equal(await violationsTotal(gw), before, 'the same tenant\'s other principal is no tenant-access violation');
      // bravo's own job is readable by any principal of bravo (jobs are the tenant's).
      const j = await api(gw, 'GET', `/v1/jobs/${bRes.JOB}`, { token: tokens.bMachine });
      assert.equal(j.status, 200, j.body);
    });

    step('issue 9 positive controls: every id row succeeds for alpha on alpha\'s own job, session, webhook and dead letter', async () => {
      const tok = tokens.aAdmin;
      const s = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: tok, body: { input: 'alpha session' } });
      assert.equal(s.status, 200, s.body);
      const j = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: tok, body: { input: {}, mode: 'async' } });
      assert.equal(j.status, 202, j.body);
      const w = await api(gw, 'POST', '/v1/webhooks', { token: tok, body: { url: `http://127.0.0.1:${receiver.port}/alpha-dead` } });
      assert.equal(w.status, 201, w.body);
      const own = { JOB: j.json.jobId, SID: s.json.sessionId, WH: w.json.webhookId, OWH: w.json.webhookId };
      const deadAgain = () => waitFor(async () => {
        const r = await api(gw, 'GET', `/v1/webhooks/${own.WH}/dead-letters`, { token: tok });
        return r.json?.deadLetters?.some((d) => d.deliveryId === own.DLV && d.status === 'dead');
      }, 15000, { interval: 100, what: 'alpha\'s dead letter' });
      const p = await api(gw, 'POST', `/v1/webhooks/${own.WH}/ping`, { token: tok });
      assert.equal(p.status, 202, p.body);
      own.DLV = p.json.deliveryId;
      await deadAgain();
      const before = await violationsTotal(gw);
      // Deletes last: they end what the other rows use.
      const rows = [...ID_ROWS.filter((r) => r.method !== 'DELETE'), ...ID_ROWS.filter((r) => r.method === 'DELETE')];
      for (const row of rows) {
        if (row.path.endsWith('/redeliver')) await deadAgain();
        const path = fillIds(row.path, own);
        const r = await api(gw, row.method, path, { token: tok, body: row.body === undefined ? undefined : fillIds(row.body, own) });
        assert.ok(r.status >= 200 && r.status < 300, `alpha's own ${row.id}: ${row.method} ${path} → ${r.status} ${r.body}`);
        // (The ping row's delivery may be dead by now too: the list holds one or two.)
        if (row.method === 'GET' && row.path.endsWith('/dead-letters')) assert.ok(r.json.deadLetters.some((d) => d.deliveryId === own.DLV), r.body);
        if (row.path === '/v1/agents/echo/invoke' && row.body.sessionId) {
          if (row.body.mode === 'stream') assert.match(r.headers['content-type'] ?? '', /^text\/event-stream/, r.body);
          else assert.equal(r.json.sessionId, own.SID, r.body);
        }
        if (row.path.startsWith('/v1/jobs/')) assert.equal(r.json.jobId, own.JOB);
      }
      assert.equal(await violationsTotal(gw), before, 'the owner\'s requests counted as violations');
      // The deletes took effect.
      assert.equal((await api(gw, 'GET', `/v1/sessions/${own.SID}`, { token: tok })).status, 404);
      assert.equal((await api(gw, 'GET', `/v1/webhooks/${own.WH}`, { token: tok })).status, 404);
    });

    step('issue 9: bravo\'s job, session, webhook and dead letter are unchanged, and still work for bravo', async () => {
      assert.deepEqual(await bravoResources(), bResBefore);
      assert.equal(receiver.hits(B_HOOK_PATH), bHookHits, 'a ping or redelivery of alpha reached bravo\'s receiver');
      const bTok = tokens.bAdmin;
      const again = await api(gw, 'POST', '/v1/agents/echo/invoke', { token: bTok, body: { input: 'still mine', sessionId: bRes.SID } });
      assert.equal(again.status, 200, again.body);
      assert.equal(again.json.sessionId, bRes.SID);
      const re = await write(clients.bAdmin.clientId, bTok, 'POST', `/v1/webhooks/${bRes.WH}/dead-letters/${bRes.DLV}/redeliver`,
        '/v1/webhooks/{id}/dead-letters/{deliveryId}/redeliver', undefined);
      assert.equal(re.json.status, 'pending');
      await waitFor(() => receiver.hits(B_HOOK_PATH) > bHookHits, 10000, { what: 'bravo\'s redelivery attempted' });
      const del = await write(clients.bAdmin.clientId, bTok, 'DELETE', `/v1/sessions/${bRes.SID}`, '/v1/sessions/{id}', undefined);
      assert.equal(del.status, 204);
    });

    // docs/webhooks.md: another tenant's webhook id is "recorded as a tenant-access violation (audit
    // event security.tenant_access_violation, metric …)". The async invoke's webhookId check counts
    // the metric (Webhooks::exists) and answers 400 like an unknown id — its audit event is checked here.
    step('issue 9: an async invoke naming another tenant\'s real webhookId is a security.tenant_access_violation event too', async () => {
      assert.equal(apartAttempts.length, 2, 'both alpha principals tried bravo\'s webhookId');
      const want = apartIds();
      let events = [];
      await waitFor(async () => {
        events = (await auditEvents(gw, adminTok, '/v1/platform/security-events', { tenant: A, action: 'tenant_access_violation' }))
          .filter((e) => want.has(e.requestId));
        return events.length >= want.size;
      }, 5000, { interval: 100, what: 'the webhookId violation events' }).catch(() => {});
      const missing = apartAttempts.filter((a) => !events.some((e) => e.requestId === a.requestId))
        .map((a) => `${a.who.name}: ${a.row.method} ${a.row.path} (body webhookId = bravo's) → ${a.status}, request ${a.requestId}`);
      assert.deepEqual(missing, [], `counted in ${METRIC} but no ${VIOLATION} audit event`);
      for (const a of apartAttempts) {
        const evs = events.filter((e) => e.requestId === a.requestId);
        assert.equal(evs.length, 1, `${a.who.name}: one event`);
        assert.equal(evs[0].actor, clients[a.who.client].clientId);
        assert.equal(evs[0].outcome, 'denied');
        assert.equal(evs[0].details?.status, 400);
        assert.equal(evs[0].details?.route, `${a.row.method} ${a.row.route}`);
      }
    });

    step('every violation is a security.tenant_access_violation event of alpha with the actor and request id', async () => {
      const violations = attempts.filter((a) => a.exp.violation);
      const expectedIds = new Set(violations.map((a) => a.requestId));
      assert.equal(expectedIds.size, violations.length, 'request ids are unique');
      let events = [];
      await waitFor(async () => {
        events = (await auditEvents(gw, adminTok, '/v1/platform/security-events', { tenant: A, action: 'tenant_access_violation' }))
          .filter((e) => !apartIds().has(e.requestId));
        const ids = new Set(events.map((e) => e.requestId));
        return [...expectedIds].every((id) => ids.has(id));
      }, 10000, { interval: 100, what: 'the violation events in the audit log' }).catch(() => {});
      const logged = new Set(events.map((e) => e.requestId));
      const missing = violations.filter((a) => !logged.has(a.requestId)).map((a) => `${a.who.name}: ${a.row.id}: ${a.row.method} ${a.row.path} → ${a.status}`);
      assert.deepEqual(missing, [], `violation attempts without a ${VIOLATION} event`);
      for (const e of events) {
        assert.equal(e.action, VIOLATION);
        assert.equal(e.tenantId, A);
      }
      // Exactly the violation attempts: one event each, none for an ordinary refusal.
      assert.deepEqual(events.map((e) => e.requestId).sort(), [...expectedIds].sort());
      for (const a of violations) {
        const e = events.find((x) => x.requestId === a.requestId);
        assert.equal(e.actor, clients[a.who.client].clientId, `${a.row.id}: actor`);
        assert.equal(e.outcome, 'denied');
        assert.equal(e.details?.status, a.exp.status, `${a.row.id}: details.status`);
        assert.equal(e.details?.route, `${a.row.method} ${a.row.route}`, `${a.row.id}: details.route`);
        assert.equal(e.resource, fill(a.row.path, a.ctx).split('?')[0]);
      }
      // Bravo's log holds none of it.
      const bravo = await auditEvents(gw, adminTok, '/v1/platform/security-events', { tenant: B });
      assert.ok(!bravo.some((e) => expectedIds.has(e.requestId)), 'an attempt of alpha was logged as bravo\'s');
    });

    step('every refused attempt is in the audit log, under the caller\'s tenant and actor', async () => {
      const refused = attempts.filter((a) => !a.exp.ok);
      let all;
      await waitFor(async () => {
        all = await auditEvents(gw, adminTok, '/v1/platform/audit');
        const ids = new Set(all.map((e) => e.requestId));
        return refused.every((a) => ids.has(a.requestId));
      }, 10000, { interval: 100, what: 'every refused attempt in the audit log' });
      for (const a of refused) {
        const tenant = eventTenant(a.who.tenant, fill(a.row.path, a.ctx));
        const evs = all.filter((e) => e.requestId === a.requestId);
        assert.ok(evs.length >= 1, `${a.who.name}: ${a.row.id}: not audited`);
        for (const e of evs) assert.equal(e.tenantId, tenant, `${a.who.name}: ${a.row.id}: audited under ${e.tenantId}`);
        for (const e of evs) {
          assert.equal(e.actor, clients[a.who.client].clientId);
          assert.ok(e.outcome === 'denied' || e.outcome === String(a.status), `${a.row.id}: outcome ${e.outcome} for ${a.status}`);
        }
      }
    });

    step('every write is audited as http.<METHOD> <route> with its outcome', async () => {
      assert.ok(writes.length >= 30, `only ${writes.length} writes`);
      let events;
      await waitFor(async () => {
        events = await auditEvents(gw, adminTok, '/v1/platform/audit', { action: 'http.' });
        const ids = new Set(events.map((e) => e.requestId));
        return writes.every((w) => ids.has(w.requestId));
      }, 10000, { interval: 100, what: 'every write in /v1/platform/audit' });
      for (const w of writes) {
        const e = events.find((x) => x.requestId === w.requestId);
        assert.equal(e.action, `http.${w.method} ${w.route}`, `${w.method} ${w.path}`);
        assert.equal(e.actor, w.who);
        assert.equal(e.outcome, String(w.status));
        assert.equal(e.resource, w.path);
      }
    });

    step('alpha\'s audit export (its SelfService.Admin): NDJSON of alpha only, with the hash chain fields', async () => {
      const mine = attempts.filter((a) => a.who.kind === 'tenant').map((a) => a.requestId);
      let lines;
      await waitFor(async () => {
        const r = await api(gw, 'GET', `/v1/tenants/${A}/audit-export`, { token: tokens.aAdmin });
        assert.equal(r.status, 200, r.body);
        lines = ndjson(r);
        const ids = new Set(lines.map((l) => l.requestId));
        return mine.every((id) => ids.has(id));
      }, 10000, { interval: 100, what: 'alpha\'s attempts in its export' });
      assert.ok(lines.length >= mine.length);
      let prevSeq = 0;
      for (const l of lines) {
        assert.equal(l.tenantId, A, `a line of another tenant: ${JSON.stringify(l)}`);
        assert.ok(Number.isInteger(l.seq) && l.seq > prevSeq, `seq ${l.seq} after ${prevSeq}`);
        prevSeq = l.seq;
        // Seq 1 (the tenant.create event of alpha, written in the creation's transaction, can be
        // the very first entry) follows nothing: its prevHash is "".
        for (const k of ['prevHash', 'hash']) {
          if (k === 'prevHash' && l.seq === 1) assert.equal(l[k], '', `prevHash of seq 1`);
          else assert.match(String(l[k]), /^[0-9a-f]{64}$/, `${k} of seq ${l.seq}: ${l[k]}`);
        }
        assert.notEqual(l.hash, l.prevHash);
        for (const k of ['time', 'actor', 'action', 'resource', 'outcome', 'requestId']) assert.equal(typeof l[k], 'string', `${k} of seq ${l.seq}`);
      }
      assert.equal(new Set(lines.map((l) => l.hash)).size, lines.length, 'every hash is distinct');
      const violations = lines.filter((l) => l.action === VIOLATION && !apartIds().has(l.requestId));
      assert.equal(violations.length, attempts.filter((a) => a.exp.violation).length);
      // Bravo's export (read by the platform admin) holds nothing of alpha's principals.
      const aIds = new Set([clients.aAdmin.clientId, clients.aMachine.clientId]);
      const b = await api(gw, 'GET', `/v1/tenants/${B}/audit-export`, { token: adminTok });
      assert.equal(b.status, 200);
      for (const l of ndjson(b)) {
        assert.equal(l.tenantId, B);
        assert.ok(!aIds.has(l.actor), `bravo's export holds an event of alpha: ${JSON.stringify(l)}`);
      }
    });

    step('list filters and cursors never cross tenants (platform admin)', async () => {
      for (const t of [A, B]) {
        const all = await invocationsOf(t);
        for (const id of invocationIds[t]) assert.ok(all.includes(id), `${id} not listed for ${t}`);
        // Page through the tenant's own route with limit=1, starting from a cursor of the other
        // tenant: only this tenant's rows come back.
        const other = t === A ? B : A;
        for (const start of ['', invocationIds[other][0]]) {
          const seen = [];
          let cursor = start;
          for (let i = 0; i < 20; i++) {
            const p = await api(gw, 'GET', `/v1/tenants/${t}/invocations?limit=1${cursor ? `&cursor=${cursor}` : ''}`, { token: adminTok });
            assert.equal(p.status, 200, p.body);
            for (const x of p.json.invocations) assert.equal(x.tenantId, t, `a row of ${x.tenantId} on ${t}'s page`);
            seen.push(...p.json.invocations.map((x) => x.invocationId));
            cursor = p.json.nextCursor;
            if (!cursor) break;
          }
          const want = all.filter((id) => !start || id > start);
          assert.deepEqual(seen.sort(), want.sort(), `paging ${t} from '${start}'`);
        }
        const audit = await auditEvents(gw, adminTok, '/v1/platform/audit', { tenant: t });
        assert.ok(audit.length > 0);
        for (const e of audit) assert.equal(e.tenantId, t);
      }
      const q = await api(gw, 'GET', `/v1/tenants/${A}/quotas`, { token: adminTok });
      assert.ok(q.json.usedToday >= invocationIds[A].length, q.body);
    });
  });
}
