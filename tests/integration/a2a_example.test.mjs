// The example agent's A2A side (issue 11, src/examples/example_a2a.h) with the real binary:
// `portcullis example-agent` serves an A2A 1.0 card (and the 0.3 one), JSON-RPC SendMessage (an
// echo: a completed task with the text as artifact), SendStreamingMessage (submitted, working,
// artifact chunks, completed), GetTask and CancelTask, in the 1.0 shapes and the 0.3 ones
// (message/send, …), and refuses every call without a valid X-Portcullis-Identity for its A2A
// name — while its invocation contract answers as before. The official @a2a-js/sdk 1.3.0 client
// talks to it directly (the identity a stand-in issuer signs), then through the gateway of
// `serve --demo`, where it is the agent `echo-a2a`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto, { randomUUID } from 'node:crypto';
import http from 'node:http';

import { Role, TaskState } from '@a2a-js/sdk';
import {
  ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory,
  createAuthenticatingFetchWithRetry,
} from '@a2a-js/sdk/client';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, request, postJson, demoCredentials,
  errorOf, withTimeout,
} from './harness.mjs';

const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function signEs256(privateKey, header, payload) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

// A stand-in for the gateway's JWKS, so the test signs the identity tokens itself.
async function fakeIssuer() {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'ES256', use: 'sig' };
  const srv = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${srv.address().port}`;
  return {
    url,
    token: (over = {}) => {
      const t = now();
      return signEs256(privateKey, { alg: 'ES256', typ: 'JWT', kid: 'k1' },
        { iss: url, aud: 'agent:echo-a2a', sub: 'user-7', tenantid: 'demo', iat: t, nbf: t, exp: t + 120, jti: randomUUID(), ...over });
    },
    close: () => new Promise((r) => srv.close(r)),
  };
}

const textPart = (value) => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const userMessage = (text, extra = {}) => ({
  message: { messageId: randomUUID(), role: Role.ROLE_USER, parts: [textPart(text)], extensions: [], referenceTaskIds: [], ...extra },
});
const partsText = (parts) => (parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const eventOf = (ev) => [ev?.payload?.$case, ev?.payload?.value];

async function collect(stream, ms = 15000) {
  const events = [];
  await withTimeout((async () => { for await (const ev of stream) events.push(eventOf(ev)); })(), ms, 'A2A stream');
  return events;
}

// What every SDK stream of the echo must look like: the task submitted, working, the text in
// appended artifact chunks (the last marked), completed — in that order.
function assertEchoStream(events, text) {
  const kinds = events.map(([k]) => k);
  assert.equal(kinds[0], 'task', kinds.join(','));
  assert.equal(events[0][1].status.state, TaskState.TASK_STATE_SUBMITTED);
  assert.equal(kinds[1], 'statusUpdate');
  assert.equal(events[1][1].status.state, TaskState.TASK_STATE_WORKING);
  const artifacts = events.filter(([k]) => k === 'artifactUpdate').map(([, v]) => v);
  assert.ok(artifacts.length >= 2, `expected chunks, got ${kinds.join(',')}`);
  assert.equal(artifacts[0].append, false);
  assert.ok(artifacts.slice(1).every((a) => a.append), 'later chunks append');
  assert.equal(artifacts.at(-1).lastChunk, true);
  assert.equal(artifacts.map((a) => partsText(a.artifact.parts)).join(''), text);
  const [lastKind, last] = events.at(-1);
  assert.equal(lastKind, 'statusUpdate');
  assert.equal(last.status.state, TaskState.TASK_STATE_COMPLETED);
  const ids = new Set(events.map(([k, v]) => (k === 'task' ? v.id : v.taskId)));
  assert.equal(ids.size, 1, 'one task throughout');
  return events[0][1].id;
}

const rpc = (method, params, id = 1) => ({ jsonrpc: '2.0', id, method, params });

describe('the example agent speaks A2A (direct, identity from a stand-in issuer)', { timeout: 60000 }, () => {
  let issuer;
  let agent;
  const post = (body, headers = {}) => postJson(agent.port, '/a2a', body, { headers: { 'x-portcullis-identity': issuer.token(), ...headers } });

  before(async () => {
    issuer = await fakeIssuer();
    agent = await startAgent({ args: ['--name', 'echo', '--a2a-name', 'echo-a2a', '--gateway', issuer.url] });
  });
  after(async () => {
    await agent?.stop();
    await issuer?.close();
  });

  const sdkClient = async (extraHeaders = {}) => {
    const fetchImpl = (url, init = {}) => {
      const h = new Headers(init.headers);
      h.set('x-portcullis-identity', issuer.token());
      for (const [k, v] of Object.entries(extraHeaders)) h.set(k, v);
      return fetch(url, { ...init, headers: h });
    };
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      preferredTransports: ['JSONRPC'],
    }));
    return factory.createFromUrl(agent.url);
  };

  it('the 1.0 card: one JSONRPC interface at /a2a, streaming; the 0.3 card at agent.json', async () => {
    const r = await request(agent.port, { path: '/.well-known/agent-card.json' });
    assert.equal(r.status, 200, r.body);
    assert.match(r.headers['content-type'], /application\/json/);
    const card = r.json;
    assert.equal(card.name, 'echo-a2a');
    assert.deepEqual(card.supportedInterfaces[0], { url: `${agent.url}/a2a`, protocolBinding: 'JSONRPC', protocolVersion: '1.0' });
    assert.equal(card.capabilities.streaming, true);
    assert.equal(card.url, undefined, 'no 0.3 fields in the 1.0 card');
    assert.equal(card.skills[0].id, 'echo');

    const old = await request(agent.port, { path: '/.well-known/agent.json' });
    assert.equal(old.status, 200, old.body);
    assert.equal(old.json.url, `${agent.url}/a2a`);
    assert.equal(old.json.preferredTransport, 'JSONRPC');
    assert.equal(old.json.protocolVersion, '0.3.0');
    assert.equal(old.json.capabilities.streaming, true);
    assert.equal(old.json.supportedInterfaces, undefined);

    // The SDK's resolver takes both as they are (1.0 as is, 0.3 through its compat parser).
    const v1 = await new DefaultAgentCardResolver().resolve(agent.url);
    assert.equal(v1.supportedInterfaces[0].url, `${agent.url}/a2a`);
    const v03 = await new DefaultAgentCardResolver({ legacyCompat: { enabled: true } }).resolve(agent.url, '/.well-known/agent.json');
    assert.equal(v03.supportedInterfaces[0].url, `${agent.url}/a2a`);
    assert.match(v03.supportedInterfaces[0].protocolVersion, /^0\.3/);
  });

  it('SDK client: SendMessage → a completed task with the echo as artifact; GetTask finds it', async () => {
    const client = await sdkClient({ 'x-portcullis-session-id': 'sess-1' });
    const task = await client.sendMessage(userMessage('hello over A2A'));
    assert.ok(task.id, JSON.stringify(task));
    assert.equal(task.status.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(task.artifacts.length, 1);
    assert.equal(partsText(task.artifacts[0].parts), 'hello over A2A');
    assert.equal(task.history.length, 1);
    assert.equal(task.history[0].role, Role.ROLE_USER);
    assert.equal(task.metadata.identity.sub, 'user-7', 'the verified caller is in the task metadata');
    assert.equal(task.metadata.identity.aud, 'agent:echo-a2a');
    assert.equal(task.metadata.sessionId, 'sess-1');

    const got = await client.getTask({ id: task.id, tenant: '' });
    assert.equal(got.id, task.id);
    assert.equal(got.contextId, task.contextId);
    assert.equal(partsText(got.artifacts[0].parts), 'hello over A2A');
    const trimmed = await client.getTask({ id: task.id, tenant: '', historyLength: 0 });
    assert.equal(trimmed.history.length, 0);

    // A next message in the same context gets a new task in that context.
    const again = await client.sendMessage(userMessage('second', { contextId: task.contextId }));
    assert.equal(again.contextId, task.contextId);
    assert.notEqual(again.id, task.id);
  });

  it('SDK client: SendStreamingMessage → submitted, working, artifact chunks, completed', async () => {
    const client = await sdkClient();
    const text = 'one two three four';
    const events = await collect(client.sendMessageStream(userMessage(text)));
    const id = assertEchoStream(events, text);
    const got = await client.getTask({ id, tenant: '' });
    assert.equal(got.status.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(partsText(got.artifacts[0].parts), text, 'GetTask after the stream has the whole text');
  });

  it('SDK client: a held task is working until CancelTask; canceling twice or an unknown id is an A2A error', async () => {
    const client = await sdkClient();
    const held = await client.sendMessage(userMessage('wait', { metadata: { hold: true } }));
    assert.equal(held.status.state, TaskState.TASK_STATE_WORKING);
    assert.equal(held.artifacts.length, 0);
    // Another tenant's verified caller does not see it (defence in depth behind the gateway).
    const foreign = { 'x-portcullis-identity': issuer.token({ tenantid: 'acme' }) };
    assert.equal((await post(rpc('GetTask', { id: held.id }), foreign)).json.error.code, -32001);
    assert.equal((await post(rpc('CancelTask', { id: held.id }), foreign)).json.error.code, -32001);
    const canceled = await client.cancelTask({ id: held.id, tenant: '' });
    assert.equal(canceled.status.state, TaskState.TASK_STATE_CANCELED);
    await assert.rejects(client.cancelTask({ id: held.id, tenant: '' }), (e) => e.name === 'TaskNotCancelableError' || /-32002|not cancel/i.test(e.message), 'second cancel');
    await assert.rejects(client.getTask({ id: randomUUID(), tenant: '' }), (e) => e.name === 'TaskNotFoundError' || /-32001|not found/i.test(e.message), 'unknown task');
  });

  it('SDK client: a held stream ends with the cancellation CancelTask made meanwhile', async () => {
    const client = await sdkClient();
    const stream = client.sendMessageStream(userMessage('hold on', { metadata: { hold: true, intervalMs: 20 } }));
    const events = [];
    await withTimeout((async () => {
      for await (const ev of stream) {
        events.push(eventOf(ev));
        if (events.length === 2) {
          const id = events[0][1].id;
          const c = await client.cancelTask({ id, tenant: '' });
          assert.equal(c.status.state, TaskState.TASK_STATE_CANCELED);
        }
      }
    })(), 15000, 'held stream');
    assert.deepEqual(events.map(([k]) => k), ['task', 'statusUpdate', 'statusUpdate']);
    assert.equal(events[1][1].status.state, TaskState.TASK_STATE_WORKING);
    assert.equal(events[2][1].status.state, TaskState.TASK_STATE_CANCELED);
  });

  it('the 0.3 methods answer in the 0.3 shapes (kind, lower-case states, parts with kind)', async () => {
    const msg = { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'legacy hi' }] };
    const r = await post(rpc('message/send', { message: msg }, 'a'));
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.jsonrpc, '2.0');
    assert.equal(r.json.id, 'a');
    const t = r.json.result;
    assert.equal(t.kind, 'task');
    assert.equal(t.status.state, 'completed');
    assert.deepEqual(t.artifacts[0].parts, [{ text: 'legacy hi', kind: 'text' }]);
    assert.equal(t.history[0].role, 'user');
    assert.equal(t.history[0].kind, 'message');

    const g = await post(rpc('tasks/get', { id: t.id }, 2));
    assert.equal(g.json.result.id, t.id);
    assert.equal(g.json.result.status.state, 'completed');
    const c = await post(rpc('tasks/cancel', { id: t.id }, 3));
    assert.equal(c.json.error.code, -32002, c.body);

    // message/stream: SSE of JSON-RPC responses with kind-tagged events; the last is final.
    const s = await post(rpc('message/stream', { message: { ...msg, messageId: randomUUID(), parts: [{ kind: 'text', text: 'a b' }] } }, 4),
      { accept: 'text/event-stream' });
    assert.equal(s.status, 200);
    assert.match(s.headers['content-type'], /text\/event-stream/);
    const evs = s.body.split('\n\n').filter((x) => x.startsWith('data: ')).map((x) => JSON.parse(x.slice(6)));
    const kinds = evs.map((e) => e.result.kind);
    assert.deepEqual(kinds, ['task', 'status-update', 'artifact-update', 'artifact-update', 'status-update']);
    assert.ok(evs.every((e) => e.id === 4));
    assert.equal(evs.at(-1).result.final, true);
    assert.equal(evs.at(-1).result.status.state, 'completed');
    assert.equal(evs[1].result.final, false);
  });

  it('bad JSON-RPC gets JSON-RPC errors with HTTP 200 (parse, method, params, version)', async () => {
    const raw = await request(agent.port, { method: 'POST', path: '/a2a', body: '{"jsonrpc":', headers: { 'content-type': 'application/json', 'x-portcullis-identity': issuer.token() } });
    assert.equal(raw.status, 200);
    assert.equal(raw.json.error.code, -32700);
    assert.equal((await post({ jsonrpc: '2.0', method: 'SendMessage' })).json.error.code, -32600, 'no id');
    assert.equal((await post(rpc('NoSuchMethod', {}))).json.error.code, -32601);
    assert.equal((await post(rpc('SendMessage', { message: { role: 'ROLE_USER', parts: [] } }))).json.error.code, -32602);
    assert.equal((await post(rpc('GetTask', {}))).json.error.code, -32602);
    assert.equal((await post(rpc('GetTask', { id: 'nope' }))).json.error.code, -32001);
    assert.equal((await post(rpc('CreateTaskPushNotificationConfig', { taskId: 'x' }))).json.error.code, -32003);
    const v = await post(rpc('GetTask', { id: 'nope' }), { 'a2a-version': '2.0' });
    assert.equal(v.json.error.code, -32009, v.body);
  });

  it('no identity, a forged one or one for another agent → 401, nothing answered', async () => {
    const body = rpc('SendMessage', { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'x' }] } });
    const none = await postJson(agent.port, '/a2a', body);
    assert.equal(none.status, 401, none.body);
    assert.equal(errorOf(none).code, 'identity_required');
    assert.equal(none.json.result, undefined);
    const other = await post(body, { 'x-portcullis-identity': issuer.token({ aud: 'agent:echo' }) });
    assert.equal(other.status, 401, 'the http agent\'s identity does not open its A2A side');
    assert.equal(errorOf(other).code, 'identity_invalid');
    const [h, , s] = issuer.token().split('.');
    const forged = await post(body, { 'x-portcullis-identity': `${h}.${b64u({ iss: issuer.url, aud: 'agent:echo-a2a', sub: 'admin', tenantid: 'demo', iat: now(), exp: now() + 60 })}.${s}` });
    assert.equal(forged.status, 401);
    // The SDK client surfaces the refusal as an error.
    const factory = new ClientFactory();
    const client = await factory.createFromUrl(agent.url);
    await assert.rejects(client.sendMessage(userMessage('no identity')), /401/);
  });

  it('the invocation contract is unchanged: /invocations answers agent:echo, not agent:echo-a2a', async () => {
    const ok = await postJson(agent.port, '/invocations', { input: 'still here' }, { headers: { 'x-portcullis-identity': issuer.token({ aud: 'agent:echo' }) } });
    assert.equal(ok.status, 200, ok.body);
    assert.equal(ok.json.output.echo, 'still here');
    assert.equal(ok.json.output.agent, 'echo');
    const wrong = await postJson(agent.port, '/invocations', { input: 'x' }, { headers: { 'x-portcullis-identity': issuer.token() } });
    assert.equal(wrong.status, 401);
    assert.equal((await request(agent.port, { path: '/ping' })).json.status, 'Healthy');
  });
});

describe('echo-a2a through the demo gateway with the @a2a-js/sdk client', { timeout: 120000 }, () => {
  let dir;
  let gw;
  let creds;
  let token = null;
  let agentBase;

  async function fetchToken() {
    const basic = Buffer.from(`${encodeURIComponent(creds.client_id)}:${encodeURIComponent(creds.client_secret)}`).toString('base64');
    const r = await fetch(`${gw.baseUrl}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    token = body.access_token;
    return token;
  }
  const authedFetch = () => createAuthenticatingFetchWithRetry(fetch, {
    headers: async () => ({ authorization: `Bearer ${token ?? (await fetchToken())}` }),
    shouldRetryWithHeaders: async (_req, res) => (res.status === 401 ? { authorization: `Bearer ${await fetchToken()}` } : undefined),
  });
  const gatewayClient = async () => {
    const fetchImpl = authedFetch();
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
      cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
      preferredTransports: ['JSONRPC'],
    }));
    return factory.createFromUrl(agentBase);
  };

  before(async () => {
    dir = makeTempDir('portcullis-a2a-example-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { upstream: { response_timeout_ms: 20000 }, extraServer: { threads: 2 } }),
      args: ['--demo'],
    });
    creds = (await demoCredentials(gw)).tenants.demo;
    agentBase = `${gw.baseUrl}/a2a/echo-a2a`;
  });
  after(async () => {
    await gw?.stop();
    removeDir(dir);
  });

  it('the demo registers echo-a2a (protocol a2a) next to echo, and the banner shows the A2A commands', async () => {
    const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: { authorization: `Bearer ${await fetchToken()}` } });
    assert.equal(r.status, 200, r.body);
    const names = r.json.agents.map((a) => a.name);
    assert.ok(names.includes('echo') && names.includes('echo-a2a'), names.join(','));
    const logs = gw.logs();
    assert.ok(logs.includes(`${gw.baseUrl}/a2a/echo-a2a/.well-known/agent-card.json`), 'banner: card command');
    assert.ok(logs.includes('"method":"SendMessage"') && logs.includes('A2A-Version: 1.0'), 'banner: SendMessage command');
  });

  it('card through the gateway: needs a token; its interfaces point at the gateway', async () => {
    const bare = await fetch(`${agentBase}/.well-known/agent-card.json`);
    assert.equal(bare.status, 401);
    const card = await new DefaultAgentCardResolver({ fetchImpl: authedFetch() }).resolve(agentBase);
    assert.equal(card.name, 'echo-a2a');
    assert.ok(card.supportedInterfaces.length >= 1);
    for (const i of card.supportedInterfaces) assert.equal(i.url, agentBase);
    assert.equal(card.capabilities.streaming, true);
  });

  it('send, stream, get, cancel through the gateway; the agent saw the gateway-signed identity', async () => {
    const client = await gatewayClient();
    const task = await client.sendMessage(userMessage('hello through the gateway'));
    assert.equal(task.status.state, TaskState.TASK_STATE_COMPLETED);
    assert.equal(partsText(task.artifacts[0].parts), 'hello through the gateway');
    assert.equal(task.metadata.identity.aud, 'agent:echo-a2a');
    assert.equal(task.metadata.identity.tenantid, 'demo');
    assert.ok(task.metadata.sessionId, 'the gateway sent a session id');

    const got = await client.getTask({ id: task.id, tenant: '' });
    assert.equal(got.id, task.id);

    const text = 'streamed through the gateway';
    assertEchoStream(await collect(client.sendMessageStream(userMessage(text))), text);

    const held = await client.sendMessage(userMessage('wait', { metadata: { hold: true } }));
    assert.equal(held.status.state, TaskState.TASK_STATE_WORKING);
    const canceled = await client.cancelTask({ id: held.id, tenant: '' });
    assert.equal(canceled.status.state, TaskState.TASK_STATE_CANCELED);
  });

  it('curl-style SendMessage with A2A-Version 1.0 as the banner prints it', async () => {
    const r = await postJson(gw.port, '/a2a/echo-a2a',
      rpc('SendMessage', { message: { messageId: 'm-1', role: 'ROLE_USER', parts: [{ text: 'hello over A2A' }] } }),
      { headers: { authorization: `Bearer ${await fetchToken()}`, 'a2a-version': '1.0' } });
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.result.task.status.state, 'TASK_STATE_COMPLETED');
    assert.deepEqual(r.json.result.task.artifacts[0].parts, [{ text: 'hello over A2A' }]);
  });
});
