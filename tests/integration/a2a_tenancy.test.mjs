// The A2A cross-tenant matrix (issue 11, SPEC §5–6, docs/a2a.md "Task bindings"): one @a2a-js/sdk
// runtime is shared by every tenant allowed to use its agent and knows nothing of tenants, so the
// gateway must bind every task and context id it relays to (tenant, principal, agent) and check
// the binding before the runtime is called.
//
// Tenant bravo creates tasks (1.0 and 0.3, JSON-RPC and REST) and contexts; tenant alpha then names
// bravo's real ids in every operation that takes one — GetTask, CancelTask, SubscribeToTask, the
// four push-config operations, continuing bravo's task or context with a message — over JSON-RPC
// and REST, 1.0 and 0.3. Each answer is A2A TaskNotFoundError (-32001; REST 404), reads like the
// answer for an unknown id of the same shape, never reaches the runtime, counts exactly one
// portcullis_tenant_access_violations_total and is a security.tenant_access_violation audit event
// of alpha with the attempt's request id. Another principal of bravo gets the same not-found
// answers, without a violation. ListTasks answers only the caller's own tasks, although the runtime
// lists every tenant's. Cards: an a2a agent a tenant may not use (capability allow list, tier) is
// 404 on every /a2a route, like an agent that does not exist and like a non-a2a agent.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, bearer, adminToken, errorOf, waitFor,
} from './harness.mjs';
import {
  METHODS, TASK_NOT_FOUND, userMessage, taskParams, rpc, rest, sendTask, assertRpcTaskNotFound,
  assertRestTaskNotFound, blankId, sse, violations, violationEvents, adminWrite, newClient, registerAgent,
  waitAgentsVisible, waitCard,
} from './support/a2a_raw.mjs';
import { startA2aRuntime } from './support/a2a_runtime.mjs';

const A = 'alpha';   // the attacker's tenant (basic tier)
const B = 'bravo';   // the victim (premium tier)
const SHARED = 'shared-a2a';    // an a2a agent both tenants may use (one runtime for both)
const B_ONLY = 'bravo-a2a';     // capability allows bravo only
const PREMIUM = 'premium-a2a';  // tierMinimum premium: bravo yes, alpha (basic) no
const HTTP_AGENT = 'plain-http'; // protocol http: never an /a2a agent
const ROLES = ['Agent.Invoke', 'Machine.Invoke'];
const UNKNOWN = () => crypto.randomUUID(); // an id of the same shape as the runtime's, bound to no one

describe('A2A cross-tenant matrix: cards, tasks, contexts, push configs, ListTasks', { timeout: 180000 }, () => {
  let dir;
  let gw;
  let adminTok;
  const rt = {};       // agent → runtime
  const who = {};      // aInv (alpha), bInv (bravo), bOther (bravo, another subject)
  const bTasks = {};   // bravo's tasks: done1 (1.0), done03 (0.3), slow (working, 1.0), rest (REST 1.0)
  let aTask;           // alpha's own task (controls)
  const attempts = []; // {what, requestId, violation}

  before(async () => {
    dir = makeTempDir('portcullis-a2a-tenancy-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 10000 },
        upstream: { response_timeout_ms: 20000 },
        extraServer: { webhooks: { allow_private_targets: true, allow_http: true, max_attempts: 2, backoff_initial_ms: 50, backoff_max_ms: 100, timeout_ms: 2000, poll_interval_ms: 100 } },
        // the matrix outruns basic's 10 requests/s; usage plans stay on with roomy budgets.
        extra: { tiers: Object.fromEntries(['basic', 'standard', 'premium'].map((t) => [t, { rps: 100000, burst: 100000, max_concurrent: 10000 }])) },
      }),
      args: ['--demo'],
    });
    adminTok = await adminToken(gw);
    await adminWrite(gw, adminTok, 'POST', '/v1/tenants', { tenantId: A, displayName: 'Alpha', tier: 'basic' });
    await adminWrite(gw, adminTok, 'POST', '/v1/tenants', { tenantId: B, displayName: 'Bravo', tier: 'premium' });
    who.aInv = await newClient(gw, adminTok, A, 'a-inv', ROLES);
    who.bInv = await newClient(gw, adminTok, B, 'b-inv', ROLES);
    who.bOther = await newClient(gw, adminTok, B, 'b-other', ['Machine.Invoke']);
    for (const name of [SHARED, B_ONLY, PREMIUM]) {
      rt[name] = await startA2aRuntime({ agent: name, gateway: gw.baseUrl, shareTasks: true });
      await registerAgent(gw, adminTok, name, rt[name].url, { tierMinimum: name === PREMIUM ? 'premium' : undefined });
    }
    await registerAgent(gw, adminTok, HTTP_AGENT, rt[SHARED].url, { protocol: 'http' });
    await adminWrite(gw, adminTok, 'PUT', `/v1/platform/capabilities/agents.${B_ONLY}`, { enabled: true, tenantAllowList: [B] });
    await waitAgentsVisible(gw, who.bInv.token, [SHARED, B_ONLY, PREMIUM]);
    await waitAgentsVisible(gw, who.aInv.token, [SHARED]);
  });

  after(async () => {
    if (gw) await gw.stop();
    for (const r of Object.values(rt)) await r.stop();
    removeDir(dir);
  });

  const runtimeCalls = () => Object.values(rt).reduce((n, r) => n + r.requests.length, 0);
  // The tests below attack what the controls created; without it they cannot say anything.
  const needTasks = () => assert.ok(bTasks.done1 && bTasks.done03 && bTasks.slow && aTask,
    'the controls did not create bravo\'s and alpha\'s tasks through the gateway: nothing to attack');

  it('controls: each tenant gets the cards of the agents it may use, and its own tasks', async () => {
    for (const name of [SHARED, B_ONLY, PREMIUM]) {
      const c = await waitCard(gw, name, who.bInv.token);
      assert.ok(c.json?.name, `bravo's card of ${name}: ${c.body.slice(0, 300)}`);
    }
    await waitCard(gw, SHARED, who.aInv.token);

    bTasks.done1 = (await sendTask(gw, SHARED, 'echo bravo-secret-1', { token: who.bInv.token })).task;
    bTasks.done03 = (await sendTask(gw, SHARED, 'echo bravo-secret-03', { token: who.bInv.token, version: '0.3' })).task;
    bTasks.rest = (await sendTask(gw, SHARED, 'echo bravo-rest', { token: who.bInv.token, binding: 'rest' })).task;
    bTasks.slow = (await sendTask(gw, SHARED, 'slow 60000', { token: who.bInv.token, configuration: { returnImmediately: true } })).task;
    aTask = (await sendTask(gw, SHARED, 'echo alpha-own', { token: who.aInv.token })).task;
    for (const t of Object.values(bTasks)) {
      const g = await rpc(gw, SHARED, 'GetTask', { id: t.id }, { token: who.bInv.token });
      assert.equal(g.json?.result?.id, t.id, `bravo reads its own task ${t.id}: ${g.body.slice(0, 300)}`);
    }
    const mine = await rpc(gw, SHARED, 'GetTask', { id: aTask.id }, { token: who.aInv.token });
    assert.equal(mine.json?.result?.id, aTask.id, mine.body.slice(0, 300));
    // bravo's slow task is still running: the matrix below must not be able to cancel it.
    assert.ok(['TASK_STATE_SUBMITTED', 'TASK_STATE_WORKING'].includes(bTasks.slow.status?.state), JSON.stringify(bTasks.slow.status));
  });

  it('cards and routes of agents alpha may not use are 404, like an unknown agent and a non-a2a agent; nothing reaches the runtime', async () => {
    needTasks();
    const before = await violations(gw);
    const calls = runtimeCalls();
    const msg = { message: userMessage('echo sneak') };
    const probes = (name) => [
      ['GET', `/a2a/${name}/.well-known/agent-card.json`],
      ['GET', `/a2a/${name}/.well-known/agent.json`],
      ['POST', `/a2a/${name}`, { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: msg }],
      ['POST', `/a2a/${name}`, { jsonrpc: '2.0', id: 1, method: 'message/send', params: { message: userMessage('echo sneak', { version: '0.3' }) } }],
      ['POST', `/a2a/${name}/message:send`, msg],
      ['POST', `/a2a/${name}/v1/message:send`, { message: userMessage('echo sneak', { version: '0.3' }) }],
      ['GET', `/a2a/${name}/tasks`],
      ['GET', `/a2a/${name}/extendedAgentCard`],
      ['GET', `/a2a/${name}/v1/card`],
      ['GET', `/a2a/${name}/tasks/${bTasks.done1.id}`],
    ];
    const answers = {};
    for (const name of [B_ONLY, PREMIUM, 'no-such-agent', HTTP_AGENT]) {
      answers[name] = [];
      for (const [method, p, body] of probes(name)) {
        const text = body ? JSON.stringify(body) : undefined;
        const r = await request(gw.port, { method, path: p, body: text,
          headers: { ...bearer(who.aInv.token), 'a2a-version': '1.0', ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}) } });
        assert.equal(r.status, 404, `alpha ${method} ${p}: expected 404, got ${r.status}: ${r.body.slice(0, 300)}`);
        assert.ok(!r.body.includes('bravo-secret'), `${p}: leaks bravo's content`);
        answers[name].push(`${r.status} ${blankId(errorOf(r).code)} ${blankId(errorOf(r).message, name)}`);
      }
    }
    // No existence oracle: bravo's agents answer exactly like an agent that does not exist.
    assert.deepEqual(answers[B_ONLY], answers['no-such-agent']);
    assert.deepEqual(answers[PREMIUM], answers['no-such-agent']);
    assert.equal(runtimeCalls(), calls, 'a request of alpha reached a runtime of an agent it may not use');
    // An agent alpha may not use is an ordinary refusal, not a tenant-access violation (tenancy.test.mjs 'agent' rows).
    assert.equal(await violations(gw), before);
  });

  // The operations that name a task, per version and binding: [label, send(principal, taskId)].
  const CONFIG_ID = 'cfg-matrix';
  const PUSH_URL = 'http://127.0.0.1:9/hook';
  function taskOps() {
    const ops = [];
    for (const version of ['1.0', '0.3']) {
      const m = METHODS[version];
      for (const op of ['get', 'cancel', 'pushSet', 'pushGet', 'pushList', 'pushDelete']) {
        ops.push([`JSON-RPC ${version} ${m[op]}`, 'rpc', version,
          (tok, id) => rpc(gw, SHARED, m[op], taskParams(op, version, id, { configId: CONFIG_ID, url: PUSH_URL, token: 'client-token' }), { token: tok, version })]);
      }
      // Continuing the task with a message (message.taskId).
      ops.push([`JSON-RPC ${version} ${m.send} with message.taskId`, 'rpc', version,
        (tok, id) => rpc(gw, SHARED, m.send, { message: userMessage('echo hijack', { version, taskId: id }) }, { token: tok, version })]);
      ops.push([`JSON-RPC ${version} ${m.subscribe}`, 'rpc-stream', version,
        (tok, id) => sse(gw, `/a2a/${SHARED}`, { body: { jsonrpc: '2.0', id: 77, method: m.subscribe, params: { id } },
          headers: { ...bearer(tok), ...(version === '0.3' ? {} : { 'a2a-version': version }) }, timeoutMs: 5000, until: (evs) => evs.length >= 1 })]);
      const base = version === '0.3' ? '/v1' : '';
      const pushBody = version === '0.3' ? { pushNotificationConfig: { id: CONFIG_ID, url: PUSH_URL, token: 'client-token' } }
        : { id: CONFIG_ID, url: PUSH_URL, token: 'client-token' };
      const restOps = [
        ['GET', (id) => `${base}/tasks/${id}`],
        ['POST', (id) => `${base}/tasks/${id}:cancel`, {}],
        ['POST', (id) => `${base}/tasks/${id}/pushNotificationConfigs`, pushBody],
        ['GET', (id) => `${base}/tasks/${id}/pushNotificationConfigs`],
        ['GET', (id) => `${base}/tasks/${id}/pushNotificationConfigs/${CONFIG_ID}`],
        ['DELETE', (id) => `${base}/tasks/${id}/pushNotificationConfigs/${CONFIG_ID}`],
      ];
      for (const [method, pathOf, body] of restOps) {
        ops.push([`REST ${version} ${method} ${pathOf('{id}')}`, 'rest', version,
          (tok, id) => rest(gw, SHARED, method, pathOf(id), body, { token: tok, version })]);
      }
      ops.push([`REST ${version} message:send with message.taskId`, 'rest', version,
        (tok, id) => rest(gw, SHARED, 'POST', `${base}/message:send`, { message: userMessage('echo hijack', { version, taskId: id }) }, { token: tok, version })]);
      ops.push([`REST ${version} ${base}/tasks/{id}:subscribe`, 'rest-stream', version,
        (tok, id) => sse(gw, `/a2a/${SHARED}${base}/tasks/${id}:subscribe`, { method: version === '0.3' ? 'POST' : 'GET',
          body: version === '0.3' ? {} : undefined,
          headers: { ...bearer(tok), ...(version === '0.3' ? {} : { 'a2a-version': version }) }, timeoutMs: 5000, until: (evs) => evs.length >= 1 })]);
    }
    return ops;
  }

  // The answer's task-not-found error as comparable text (the id blanked out); asserts its shape.
  function notFound(kind, version, r, what, id) {
    if (kind === 'rpc') return blankId(`${assertRpcTaskNotFound(r, what).code} ${r.json.error.message}`, id);
    if (kind === 'rest') {
      assertRestTaskNotFound(r, version, what);
      return `${r.status} ${blankId(r.body, id, r.headers['x-request-id'])}`;
    }
    // Streaming operations: either a plain JSON-RPC error answer or one SSE event carrying it.
    if (kind === 'rpc-stream') {
      assert.equal(r.status, 200, `${what}: ${r.status}`);
      const ev = r.events[0];
      let body = ev?.json;
      if (!body) body = (() => { try { return JSON.parse(r.raw); } catch { return null; } })();
      assert.equal(body?.error?.code, TASK_NOT_FOUND, `${what}: expected -32001, got events ${JSON.stringify(r.events).slice(0, 400)} raw ${String(r.raw).slice(0, 300)}`);
      assert.equal(r.events.filter((e) => e.json?.result).length, 0, `${what}: relayed the task's events`);
      return blankId(`${body.error.code} ${body.error.message}`, id);
    }
    assert.equal(r.status, 404, `${what}: expected 404, got ${r.status}: ${JSON.stringify(r.events).slice(0, 300)} ${String(r.raw).slice(0, 300)}`);
    assert.equal(r.events.filter((e) => e.json && !e.json.error && !e.json.code).length, 0, `${what}: relayed the task's events`);
    return `${r.status}`;
  }

  it('alpha naming bravo\'s real task ids: TaskNotFound on every operation and binding, like an unknown id; one violation each; the runtime never called', async (t) => {
    needTasks();
    const calls = runtimeCalls();
    let expected = 0;
    const total0 = await violations(gw);
    for (const [label, kind, version, send] of taskOps()) {
      for (const [which, id] of [['bravo 1.0 task', bTasks.done1.id], ['bravo 0.3 task', bTasks.done03.id], ['bravo working task', bTasks.slow.id],
        ['unknown id', UNKNOWN()]]) {
        const what = `alpha: ${label} on ${which}`;
        const v0 = await violations(gw);
        const r = await send(who.aInv.token, id);
        const got = notFound(kind, version, r, what, id);
        for (const secret of ['bravo-secret', 'bravo-rest', who.bInv.clientId]) assert.ok(!String(r.body ?? r.raw).includes(secret), `${what}: leaks ${secret}`);
        const violation = which !== 'unknown id';
        assert.equal(await violations(gw) - v0, violation ? 1 : 0, `${what}: violations counted`);
        if (violation) expected += 1;
        attempts.push({ what, requestId: r.headers['x-request-id'], violation, got });
      }
      // A real foreign id reads exactly like an unknown one.
      const mine = attempts.slice(-4);
      for (const a of mine.slice(0, 3)) assert.equal(a.got, mine[3].got, `${a.what}: answered unlike an unknown id`);
    }
    assert.equal(runtimeCalls(), calls, 'an attempt on a foreign or unknown task reached the runtime');
    assert.equal(await violations(gw) - total0, expected);
    t.diagnostic(`${attempts.length} task attempts, ${expected} tenant-access violations`);
  });

  it('contexts: alpha continuing bravo\'s context (or a context id bravo chose first) is TaskNotFound and a violation; its own new context works', async () => {
    needTasks();
    const calls = runtimeCalls();
    // Bravo continues its own context (control) and opens one with an id of its own choosing.
    const chosen = `ctx-${crypto.randomUUID()}`;
    const own = await sendTask(gw, SHARED, 'echo bravo-secret-ctx', { token: who.bInv.token, contextId: bTasks.done1.contextId });
    assert.equal(own.contextId, bTasks.done1.contextId);
    const first = await sendTask(gw, SHARED, 'echo bravo-chosen', { token: who.bInv.token, contextId: chosen });
    assert.equal(first.contextId, chosen);
    const callsAfterControls = runtimeCalls();
    assert.ok(callsAfterControls > calls);
    for (const [which, ctx] of [['bravo\'s context', bTasks.done1.contextId], ['the context id bravo chose', chosen], ['bravo\'s 0.3 context', bTasks.done03.contextId]]) {
      for (const version of ['1.0', '0.3']) {
        for (const binding of ['jsonrpc', 'rest']) {
          const what = `alpha: ${binding} ${version} send into ${which}`;
          const v0 = await violations(gw);
          const message = userMessage('echo alpha-in-bravo-ctx', { version, contextId: ctx });
          let r;
          if (binding === 'rest') {
            r = await rest(gw, SHARED, 'POST', version === '0.3' ? '/v1/message:send' : '/message:send', { message }, { token: who.aInv.token, version });
            assertRestTaskNotFound(r, version, what);
          } else {
            r = await rpc(gw, SHARED, METHODS[version].send, { message }, { token: who.aInv.token, version });
            assertRpcTaskNotFound(r, what);
          }
          assert.equal(await violations(gw) - v0, 1, `${what}: violations counted`);
          attempts.push({ what, requestId: r.headers['x-request-id'], violation: true });
        }
      }
    }
    assert.equal(runtimeCalls(), callsAfterControls, 'alpha\'s message in bravo\'s context reached the runtime');
    // Control: a context id alpha chooses that no one has used is alpha's.
    const fresh = `ctx-${crypto.randomUUID()}`;
    const mine = await sendTask(gw, SHARED, 'echo alpha-ctx', { token: who.aInv.token, contextId: fresh });
    assert.equal(mine.contextId, fresh);
    // … and now bravo cannot use it either (first come).
    const r = await rpc(gw, SHARED, 'SendMessage', { message: userMessage('echo bravo-late', { contextId: fresh }) }, { token: who.bInv.token });
    assertRpcTaskNotFound(r, 'bravo sending into alpha\'s context');
    attempts.push({ what: 'bravo into alpha\'s context', requestId: r.headers['x-request-id'], violation: true, tenant: B });
  });

  it('another principal of bravo: bravo\'s tasks and contexts are not found for it either, and that is no tenant-access violation', async () => {
    needTasks();
    const calls = runtimeCalls();
    const v0 = await violations(gw);
    for (const [label, kind, version, send] of taskOps()) {
      const r = await send(who.bOther.token, bTasks.done1.id);
      notFound(kind, version, r, `bOther: ${label}`, bTasks.done1.id);
      attempts.push({ what: `bOther: ${label}`, requestId: r.headers['x-request-id'], violation: false });
    }
    const r = await rpc(gw, SHARED, 'SendMessage', { message: userMessage('echo other', { contextId: bTasks.done1.contextId }) }, { token: who.bOther.token });
    assertRpcTaskNotFound(r, 'bOther into bInv\'s context');
    attempts.push({ what: 'bOther into bInv\'s context', requestId: r.headers['x-request-id'], violation: false });
    assert.equal(runtimeCalls(), calls, 'another principal\'s attempt reached the runtime');
    assert.equal(await violations(gw), v0, 'the same tenant\'s other principal was counted as a tenant-access violation');
  });

  it('ListTasks answers only the caller\'s own tasks (the runtime lists everyone\'s), JSON-RPC and REST', async () => {
    needTasks();
    const bIds = Object.values(bTasks).map((x) => x.id);
    // The runtime itself would list bravo's tasks to anyone: the filter is the gateway's.
    const listings = {
      'alpha JSON-RPC': async () => (await rpc(gw, SHARED, 'ListTasks', {}, { token: who.aInv.token })),
      'alpha REST': async () => (await rest(gw, SHARED, 'GET', '/tasks', undefined, { token: who.aInv.token })),
      'alpha REST, filtered by bravo\'s context': async () => (await rest(gw, SHARED, 'GET', `/tasks?contextId=${encodeURIComponent(bTasks.done1.contextId)}`, undefined, { token: who.aInv.token })),
      'bOther JSON-RPC': async () => (await rpc(gw, SHARED, 'ListTasks', {}, { token: who.bOther.token })),
      'bravo JSON-RPC': async () => (await rpc(gw, SHARED, 'ListTasks', { pageSize: 100 }, { token: who.bInv.token })),
    };
    const got = {};
    for (const [what, call] of Object.entries(listings)) {
      const r = await call();
      if (what.includes('filtered')) {
        // Either an empty list or the context's not-found error: never bravo's tasks.
        assert.ok(r.status === 200 || r.status === 404, `${what}: ${r.status} ${r.body.slice(0, 300)}`);
        for (const id of bIds) assert.ok(!r.body.includes(id), `${what}: lists bravo's task ${id}`);
        continue;
      }
      assert.equal(r.status, 200, `${what}: ${r.body.slice(0, 300)}`);
      const tasks = (r.json?.result ?? r.json)?.tasks;
      assert.ok(Array.isArray(tasks), `${what}: no tasks list: ${r.body.slice(0, 300)}`);
      got[what] = tasks.map((x) => x.id);
      // totalSize counts the caller's tasks on this page, never the runtime's total of everyone's
      // (an oracle of other tenants' activity; docs/a2a.md on paging).
      const listed = r.json?.result ?? r.json;
      assert.ok('totalSize' in listed, `${what}: no totalSize: ${r.body.slice(0, 300)}`);
      assert.equal(Number(listed.totalSize), tasks.length, `${what}: totalSize is not the filtered count`);
      if (!what.startsWith('bravo')) assert.ok(!r.body.includes('bravo-secret'), `${what}: leaks bravo's content`);
    }
    for (const what of ['alpha JSON-RPC', 'alpha REST']) {
      for (const id of bIds) assert.ok(!got[what].includes(id), `${what}: lists bravo's task ${id}`);
      assert.ok(got[what].includes(aTask.id), `${what}: alpha's own task missing: ${got[what]}`);
    }
    for (const id of bIds) assert.ok(!got['bOther JSON-RPC'].includes(id), `bOther lists bInv's task ${id}`);
    for (const id of bIds) assert.ok(got['bravo JSON-RPC'].includes(id), `bravo's own task ${id} missing from its list: ${got['bravo JSON-RPC']}`);
    assert.ok(!got['bravo JSON-RPC'].includes(aTask.id), 'bravo lists alpha\'s task');
  });

  it('push configs: bravo\'s config (set through the gateway) is not found for alpha by task or config id', async () => {
    needTasks();
    // Bravo sets a push config on its working task; the runtime gets the relay, not bravo's URL.
    const cfg = { taskId: bTasks.slow.id, id: 'bravo-cfg', url: 'http://127.0.0.1:9/bravo-push-secret', token: 'bravo-push-token' };
    const set = await rpc(gw, SHARED, 'CreateTaskPushNotificationConfig', cfg, { token: who.bInv.token });
    assert.equal(set.status, 200, set.body);
    assert.ok(set.json?.result, `bravo's push config refused: ${set.body.slice(0, 400)}`);
    const seen = rt[SHARED].pushConfigs.find((p) => p.taskId === bTasks.slow.id);
    assert.ok(seen, 'the runtime got no push config');
    assert.ok(!JSON.stringify(seen).includes('bravo-push-secret'), `the client's push URL reached the runtime: ${JSON.stringify(seen)}`);
    const calls = runtimeCalls();
    for (const version of ['1.0', '0.3']) {
      for (const op of ['pushGet', 'pushList', 'pushDelete']) {
        const what = `alpha ${version} ${METHODS[version][op]} of bravo's config`;
        const v0 = await violations(gw);
        const r = await rpc(gw, SHARED, METHODS[version][op], taskParams(op, version, bTasks.slow.id, { configId: 'bravo-cfg' }), { token: who.aInv.token, version });
        assertRpcTaskNotFound(r, what);
        assert.ok(!r.body.includes('bravo-push'), `${what}: leaks bravo's config`);
        assert.equal(await violations(gw) - v0, 1, what);
        attempts.push({ what, requestId: r.headers['x-request-id'], violation: true });
      }
      // Alpha's own task with bravo's config id: not found, and bravo's config stays.
      const r = await rpc(gw, SHARED, METHODS[version].pushGet, taskParams('pushGet', version, aTask.id, { configId: 'bravo-cfg' }), { token: who.aInv.token, version });
      assert.ok(!r.body.includes('bravo-push'), `alpha's task + bravo's config id leaks: ${r.body}`);
      assert.ok(r.json?.error, `alpha's task + bravo's config id answered a config: ${r.body.slice(0, 300)}`);
    }
    assert.ok(runtimeCalls() - calls <= 2, 'only alpha\'s own-task lookups may reach the runtime');
    const still = await rpc(gw, SHARED, 'GetTaskPushNotificationConfig', { taskId: bTasks.slow.id, id: 'bravo-cfg' }, { token: who.bInv.token });
    assert.equal(still.json?.result?.url, cfg.url, `bravo's config changed or gone: ${still.body.slice(0, 300)}`);
    assert.equal(still.json?.result?.token, cfg.token, 'bravo sees its own token back (not the relay\'s)');
  });

  it('afterwards bravo\'s working task is untouched (alpha\'s cancels did nothing) and bravo can cancel it', async () => {
    needTasks();
    const g = await rpc(gw, SHARED, 'GetTask', { id: bTasks.slow.id }, { token: who.bInv.token });
    assert.equal(g.json?.result?.status?.state, 'TASK_STATE_WORKING', g.body.slice(0, 300));
    const c = await rpc(gw, SHARED, 'CancelTask', { id: bTasks.slow.id }, { token: who.bInv.token });
    assert.equal(c.json?.result?.id, bTasks.slow.id, c.body.slice(0, 300));
    await waitFor(async () => (await rpc(gw, SHARED, 'GetTask', { id: bTasks.slow.id }, { token: who.bInv.token })).json?.result?.status?.state === 'TASK_STATE_CANCELED',
      5000, { what: 'bravo\'s task canceled' });
  });

  it('every violation is a security.tenant_access_violation audit event of the caller\'s tenant, with its actor and request id; the rest are not', async () => {
    const viol = attempts.filter((a) => a.violation);
    assert.ok(viol.length >= 60, `only ${viol.length} violation attempts recorded`);
    const ids = (xs) => new Set(xs.map((a) => a.requestId));
    let aEvents;
    await waitFor(async () => {
      aEvents = await violationEvents(gw, adminTok, A);
      const got = ids(aEvents);
      return viol.filter((a) => a.tenant !== B).every((a) => got.has(a.requestId));
    }, 10000, { interval: 200, what: 'the violation events' }).catch(() => {});
    const got = ids(aEvents);
    const missing = viol.filter((a) => a.tenant !== B && !got.has(a.requestId)).map((a) => a.what);
    assert.deepEqual(missing, [], 'violations without an audit event');
    for (const e of aEvents.filter((x) => ids(viol).has(x.requestId))) {
      assert.equal(e.actor, who.aInv.clientId, `event ${e.requestId}: actor`);
      assert.equal(e.tenantId, A);
    }
    const bEvents = await violationEvents(gw, adminTok, B);
    const bravoAttempt = viol.find((a) => a.tenant === B);
    assert.ok(bEvents.some((e) => e.requestId === bravoAttempt.requestId), 'bravo\'s attempt on alpha\'s context not audited');
    // None for unknown ids or the same tenant's other principal.
    const notViol = ids(attempts.filter((a) => !a.violation));
    const wrong = [...aEvents, ...bEvents].filter((e) => notViol.has(e.requestId));
    assert.deepEqual(wrong.map((e) => e.requestId), [], 'an ordinary not-found was audited as a violation');
  });
});
