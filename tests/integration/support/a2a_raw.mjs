// What an attacker (or a careful client) sends to the gateway's A2A proxy, without an SDK in the
// way: exact JSON-RPC and HTTP+JSON (REST) requests of A2A 1.0 and 0.3, an SSE reader that keeps
// every event and how the stream ended, and the setup the A2A security tests share (tenants,
// clients, a2a agents served by the @a2a-js/sdk runtime of support/a2a_runtime.mjs). The SDK client
// is exercised by a2a_sdk.test.mjs; these tests need to put foreign ids, broken bodies and odd
// versions on the wire, which the SDK client (rightly) never does.
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

import { request, postJson, bearer, clientToken, getMetrics, waitFor } from '../harness.mjs';

export const TASK_NOT_FOUND = -32001;
export const VIOLATION_METRIC = 'portcullis_tenant_access_violations_total';
export const VIOLATION_ACTION = 'security.tenant_access_violation';

// A user message: 1.0 (ROLE_USER, parts {text}) or 0.3 (kind message, role user, parts {kind text}).
export function userMessage(text, { version = '1.0', taskId, contextId } = {}) {
  const messageId = crypto.randomUUID();
  if (version === '0.3') {
    return { kind: 'message', messageId, role: 'user', parts: [{ kind: 'text', text }],
      ...(taskId ? { taskId } : {}), ...(contextId ? { contextId } : {}) };
  }
  return { messageId, role: 'ROLE_USER', parts: [{ text }], ...(taskId ? { taskId } : {}), ...(contextId ? { contextId } : {}) };
}

// The JSON-RPC method of each operation, per version (A2A 1.0 §9, 0.3 §7).
export const METHODS = {
  '1.0': { send: 'SendMessage', stream: 'SendStreamingMessage', get: 'GetTask', list: 'ListTasks', cancel: 'CancelTask',
    subscribe: 'SubscribeToTask', pushSet: 'CreateTaskPushNotificationConfig', pushGet: 'GetTaskPushNotificationConfig',
    pushList: 'ListTaskPushNotificationConfigs', pushDelete: 'DeleteTaskPushNotificationConfig', extendedCard: 'GetExtendedAgentCard' },
  '0.3': { send: 'message/send', stream: 'message/stream', get: 'tasks/get', cancel: 'tasks/cancel', subscribe: 'tasks/resubscribe',
    pushSet: 'tasks/pushNotificationConfig/set', pushGet: 'tasks/pushNotificationConfig/get',
    pushList: 'tasks/pushNotificationConfig/list', pushDelete: 'tasks/pushNotificationConfig/delete',
    extendedCard: 'agent/getAuthenticatedExtendedCard' },
};

// Params naming a task (and a push config) in each version's shape.
export function taskParams(op, version, taskId, { configId, url, token } = {}) {
  if (version === '0.3') {
    switch (op) {
      case 'pushSet': return { taskId, pushNotificationConfig: { id: configId, url, token } };
      case 'pushGet': case 'pushDelete': return { id: taskId, pushNotificationConfigId: configId };
      default: return { id: taskId };
    }
  }
  switch (op) {
    case 'pushSet': return { taskId, id: configId, url, token };
    case 'pushGet': case 'pushDelete': return { taskId, id: configId };
    case 'pushList': return { taskId };
    default: return { id: taskId };
  }
}

const versionHeader = (version) => (version === '0.3' ? {} : { 'a2a-version': version }); // absent = 0.3

// POST /a2a/{agent} with one JSON-RPC request. Resolves the harness response (+ .rpcId).
export async function rpc(gw, agent, method, params, { token, version = '1.0', headers = {}, id, timeoutMs = 15000 } = {}) {
  const rpcId = id ?? crypto.randomInt(1, 2 ** 31);
  const r = await postJson(gw.port, `/a2a/${agent}`, { jsonrpc: '2.0', id: rpcId, method, params },
    { headers: { ...(token ? bearer(token) : {}), ...versionHeader(version), ...headers }, timeoutMs });
  return Object.assign(r, { rpcId });
}

// One REST request under /a2a/{agent} (`p` starts with '/', e.g. '/tasks/abc' or '/v1/tasks/abc').
export function rest(gw, agent, method, p, body, { token, version = '1.0', headers = {}, timeoutMs = 15000 } = {}) {
  const h = { ...(token ? bearer(token) : {}), ...versionHeader(version), ...headers };
  let text;
  if (body !== undefined) {
    text = JSON.stringify(body);
    h['content-type'] = 'application/json';
    h['content-length'] = Buffer.byteLength(text);
  }
  return request(gw.port, { method, path: `/a2a/${agent}${p}`, headers: h, body: text, timeoutMs });
}

// The task a SendMessage / message/send answer holds (1.0 {task:{…}}, 0.3 {kind:'task',…}).
export function taskOf(result) {
  if (!result) return null;
  if (result.task) return result.task;
  if (result.kind === 'task' || (result.id && result.status)) return result;
  return null;
}

// Sends a message and returns {task, contextId, res}; asserts the answer is a task.
export async function sendTask(gw, agent, text, { token, version = '1.0', binding = 'jsonrpc', taskId, contextId, configuration } = {}) {
  const message = userMessage(text, { version, taskId, contextId });
  const params = { message, ...(configuration ? { configuration } : {}) };
  let res;
  let result;
  if (binding === 'rest') {
    res = await rest(gw, agent, 'POST', version === '0.3' ? '/v1/message:send' : '/message:send', params, { token, version });
    assert.equal(res.status, 200, `REST send ${text}: ${res.status} ${res.body.slice(0, 400)}`);
    result = res.json;
  } else {
    res = await rpc(gw, agent, METHODS[version].send, params, { token, version });
    assert.equal(res.status, 200, `send ${text}: ${res.status} ${res.body.slice(0, 400)}`);
    assert.ok(res.json?.result, `send ${text}: no result: ${res.body.slice(0, 400)}`);
    result = res.json.result;
  }
  const task = taskOf(result);
  assert.ok(task?.id, `send ${text}: the answer is not a task: ${res.body.slice(0, 400)}`);
  return { task, contextId: task.contextId, res };
}

// Asserts a JSON-RPC answer is the A2A TaskNotFoundError; returns the error.
export function assertRpcTaskNotFound(r, what) {
  assert.equal(r.status, 200, `${what}: a JSON-RPC error travels with HTTP 200 (A2A JSON-RPC binding): ${r.status} ${r.body.slice(0, 400)}`);
  assert.equal(r.json?.jsonrpc, '2.0', `${what}: ${r.body.slice(0, 400)}`);
  assert.equal(r.json?.id, r.rpcId, `${what}: the error answers another id`);
  assert.equal(r.json?.result, undefined, `${what}: answered a result: ${r.body.slice(0, 400)}`);
  assert.equal(r.json?.error?.code, TASK_NOT_FOUND, `${what}: expected TaskNotFoundError -32001: ${r.body.slice(0, 400)}`);
  return r.json.error;
}

// Asserts a REST answer is "task not found": 404; 1.0 a google.rpc.Status-like body with the
// TASK_NOT_FOUND reason, 0.3 the SDK's {code: -32001, message}.
export function assertRestTaskNotFound(r, version, what) {
  assert.equal(r.status, 404, `${what}: expected 404: ${r.status} ${r.body.slice(0, 400)}`);
  if (version === '0.3') {
    assert.equal(r.json?.code, TASK_NOT_FOUND, `${what}: 0.3 REST error: ${r.body.slice(0, 400)}`);
  } else {
    const details = r.json?.error?.details ?? [];
    assert.ok(details.some((d) => d.reason === 'TASK_NOT_FOUND'), `${what}: 1.0 REST error without reason TASK_NOT_FOUND: ${r.body.slice(0, 400)}`);
  }
}

// The message of a task-not-found answer with the id itself blanked out (a foreign id and an
// unknown one must read alike).
export const blankId = (text, ...ids) => ids.reduce((t, x) => (x ? t.split(x).join('<id>') : t), String(text ?? ''));

// ---------------------------------------------------------------------------------------------
// SSE

// POST (or GET) an SSE request; collects events until the stream ends, `until(events)` is true, or
// timeoutMs. Resolves {status, headers, events: [{event, data, json}], ended ('end'|'aborted'|
// 'until'|'timeout'), raw, destroy()} — destroy() closes the connection (a client going away).
export function sse(gw, p, { method = 'POST', body, headers = {}, until, timeoutMs = 15000 } = {}) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const h = { accept: 'text/event-stream', ...headers };
    if (text !== undefined) { h['content-type'] = 'application/json'; h['content-length'] = Buffer.byteLength(text); }
    const req = http.request({ host: '127.0.0.1', port: gw.port, method, path: p, headers: h, agent: false }, (res) => {
      let raw = '';
      const events = [];
      let settled = false;
      const out = (ended) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ status: res.statusCode, headers: res.headers, events, ended, raw, destroy: () => req.destroy() });
      };
      res.setEncoding('utf8');
      res.on('data', (d) => {
        raw += d;
        let i;
        // Events end with a blank line (LF or CRLF framing).
        for (;;) {
          const norm = raw.replace(/\r\n/g, '\n');
          i = norm.indexOf('\n\n');
          if (i < 0) break;
          const block = norm.slice(0, i);
          raw = norm.slice(i + 2);
          const ev = { event: 'message', data: '' };
          for (const l of block.split('\n')) {
            if (l.startsWith('event:')) ev.event = l.slice(6).trim();
            else if (l.startsWith('data:')) ev.data += (ev.data ? '\n' : '') + l.slice(5).replace(/^ /, '');
          }
          if (!ev.data && ev.event === 'message') continue; // comments / keep-alives
          try { ev.json = JSON.parse(ev.data); } catch { /* not JSON */ }
          events.push(ev);
          if (until && until(events)) { out('until'); return; }
        }
      });
      res.on('end', () => out('end'));
      res.on('aborted', () => out('aborted'));
      res.on('error', () => out('aborted'));
      res.on('close', () => out('aborted'));
      const timer = setTimeout(() => out('timeout'), timeoutMs);
    });
    req.on('error', (e) => reject(e));
    if (text !== undefined) req.write(text);
    req.end();
  });
}

// A JSON-RPC streaming call (SendStreamingMessage / SubscribeToTask …).
export function rpcStream(gw, agent, method, params, { token, version = '1.0', until, timeoutMs, id = 1 } = {}) {
  return sse(gw, `/a2a/${agent}`, {
    body: { jsonrpc: '2.0', id, method, params },
    headers: { ...(token ? bearer(token) : {}), ...versionHeader(version) },
    until,
    timeoutMs,
  });
}

// The task / status / artifact carried by a streamed JSON-RPC event (either version).
export function streamPayload(ev) {
  const r = ev.json?.result;
  if (!r) return null;
  if (r.task) return { kind: 'task', id: r.task.id, contextId: r.task.contextId, state: r.task.status?.state };
  if (r.statusUpdate) return { kind: 'status', id: r.statusUpdate.taskId, state: r.statusUpdate.status?.state, final: r.statusUpdate.final };
  if (r.artifactUpdate) return { kind: 'artifact', id: r.artifactUpdate.taskId };
  if (r.message) return { kind: 'message' };
  if (r.kind === 'task') return { kind: 'task', id: r.id, contextId: r.contextId, state: r.status?.state };
  if (r.kind === 'status-update') return { kind: 'status', id: r.taskId, state: r.status?.state, final: r.final };
  if (r.kind === 'artifact-update') return { kind: 'artifact', id: r.taskId };
  return { kind: 'other' };
}

// ---------------------------------------------------------------------------------------------
// the gateway's records of a violation

export async function violations(gw) {
  const s = (await getMetrics(gw.port)).samples.filter((x) => x.name === VIOLATION_METRIC);
  return s.reduce((n, x) => n + x.value, 0); // absent before the first violation
}

// Every security.tenant_access_violation event of `tenant` (platform admin's view).
export async function violationEvents(gw, adminTok, tenant) {
  const out = [];
  let cursor = null;
  for (let i = 0; i < 50; i++) {
    const q = new URLSearchParams({ tenant, action: 'tenant_access_violation', limit: '1000', ...(cursor ? { cursor } : {}) });
    const r = await request(gw.port, { path: `/v1/platform/security-events?${q}`, headers: bearer(adminTok) });
    assert.equal(r.status, 200, r.body);
    out.push(...r.json.events);
    cursor = r.json.nextCursor;
    if (!cursor) break;
  }
  return out.filter((e) => e.action === VIOLATION_ACTION);
}

// ---------------------------------------------------------------------------------------------
// setup

// Admin writes that must succeed.
export async function adminWrite(gw, adminTok, method, p, body) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const r = await request(gw.port, { method, path: p, body: text,
    headers: { ...bearer(adminTok), ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}) } });
  assert.ok([200, 201, 204].includes(r.status), `${method} ${p}: ${r.status} ${r.body}`);
  return r;
}

// A client of `tenant` with `roles`: {clientId, clientSecret, token}.
export async function newClient(gw, adminTok, tenant, name, roles) {
  const r = await adminWrite(gw, adminTok, 'POST', `/v1/tenants/${tenant}/clients`, { name, roles, scopes: ['agents:invoke'] });
  const token = await clientToken(gw, r.json.clientId, r.json.clientSecret);
  return { clientId: r.json.clientId, clientSecret: r.json.clientSecret, token, tenant };
}

// Registers (and promotes) an agent of `protocol` served at `endpoint`.
export async function registerAgent(gw, adminTok, name, endpoint, { protocol = 'a2a', tierMinimum } = {}) {
  await adminWrite(gw, adminTok, 'POST', '/v1/platform/agents', { name, protocol, ...(tierMinimum ? { tierMinimum } : {}) });
  await adminWrite(gw, adminTok, 'POST', `/v1/platform/agents/${name}/versions`, { version: 'v1', endpoint });
  await adminWrite(gw, adminTok, 'POST', `/v1/platform/agents/${name}/versions/v1/promote`, {});
}

// Waits until `token`'s tenant sees every agent of `names` in /v1/agents (the catalog refreshes in
// the background).
export async function waitAgentsVisible(gw, token, names, ms = 10000) {
  return waitFor(async () => {
    const r = await request(gw.port, { path: '/v1/agents?limit=200', headers: bearer(token) });
    const seen = (r.json?.agents ?? []).map((a) => a.name);
    return names.every((n) => seen.includes(n));
  }, ms, { what: `agents ${names.join(', ')} visible` });
}

// Waits until the A2A card of `agent` is served to `token` (catalog refreshed and the card fetched).
export async function waitCard(gw, agent, token, ms = 15000) {
  return waitFor(async () => {
    const r = await request(gw.port, { path: `/a2a/${agent}/.well-known/agent-card.json`, headers: bearer(token) });
    return r.status === 200 ? r : null;
  }, ms, { interval: 100, what: `the card of ${agent}` });
}
