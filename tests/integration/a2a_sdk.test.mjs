// A2A through the gateway with the official @a2a-js/sdk 1.3.0 on both sides (issue 11): the runtime
// is the SDK's server (support/a2a_runtime.mjs: JSON-RPC and REST, v0.3 compat on, verifying the
// gateway's X-Portcullis-Identity with its JWKS), and the clients are the SDK's 1.0 client
// (ClientFactory over the rewritten card; JSON-RPC and REST) and its 0.3 transports
// (@a2a-js/sdk/compat/v0_3/client; JSON-RPC and REST). None of them knows the gateway is there:
// the client gets a token by client credentials at /oauth2/token, fetches the card the gateway
// rewrote, and every URL in it is the gateway's. Each client sends, streams (events in order),
// gets, cancels and resubscribes; the runtime saw the identity the gateway signed for the agent
// (audience agent:<name>, the caller's tenant) and never the caller's Authorization.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';

import { Role, TaskState } from '@a2a-js/sdk';
import {
  ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, JsonRpcTransportFactory, RestTransportFactory,
  createAuthenticatingFetchWithRetry,
} from '@a2a-js/sdk/client';
import { LegacyJsonRpcTransport, LegacyRestTransport } from '@a2a-js/sdk/compat/v0_3/client';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, demoCredentials, adminToken, bearer, postJson, request,
  waitFor, withTimeout, decodeJwt,
} from './harness.mjs';
import { startA2aRuntime } from './support/a2a_runtime.mjs';

const AGENT = 'sdk-agent';

const textPart = (value) => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });
const userMessage = (text, extra = {}) => ({
  message: {
    messageId: randomUUID(), role: Role.ROLE_USER, parts: [textPart(text)], extensions: [], metadata: {}, referenceTaskIds: [],
    ...extra,
  },
});
const partsText = (parts) => (parts ?? []).map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('');
const artifactTexts = (task) => (task.artifacts ?? []).map((a) => partsText(a.parts));
// A stream event as [kind, value]: kind one of task, message, statusUpdate, artifactUpdate.
const eventOf = (ev) => [ev?.payload?.$case, ev?.payload?.value];
const TERMINAL = new Set([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_FAILED]);

// Collects a stream's events until it ends (or `stopAfter` returns true on the list so far).
async function collect(stream, { stopAfter, ms = 15000 } = {}) {
  const events = [];
  await withTimeout((async () => {
    for await (const ev of stream) {
      events.push(eventOf(ev));
      if (stopAfter?.(events)) break;
    }
  })(), ms, 'A2A stream');
  return events;
}

describe('A2A through the gateway with the official @a2a-js/sdk (runtime and clients)', { timeout: 180000 }, () => {
  let dir;
  let gw;
  let rt;
  let creds;       // the demo tenant's machine client
  let tokenUrl;
  // <gateway>/a2a/sdk-agent. The SDK resolves the card path relative to the URL it is given
  // (new URL('.well-known/agent-card.json', base)), so discovery starts from `${agentBase}/`:
  // without the slash it would ask for <gateway>/a2a/.well-known/agent-card.json.
  let agentBase;
  const sentAuthorizations = new Set(); // every Authorization a client sent to the gateway

  // The client side of OAuth 2 client credentials at the gateway's token endpoint: a fresh token
  // when there is none or the gateway answered 401 (the SDK's authenticating fetch retries once).
  let token = null;
  async function fetchToken() {
    const basic = Buffer.from(`${encodeURIComponent(creds.client_id)}:${encodeURIComponent(creds.client_secret)}`).toString('base64');
    const r = await fetch(tokenUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.ok(body.access_token, 'no access_token');
    token = body.access_token;
    return token;
  }
  const recordingFetch = (url, init = {}) => {
    const h = new Headers(init.headers);
    if (h.get('authorization')) sentAuthorizations.add(h.get('authorization'));
    return fetch(url, init);
  };
  const authedFetch = createAuthenticatingFetchWithRetry(recordingFetch, {
    headers: async () => ({ authorization: `Bearer ${token ?? (await fetchToken())}` }),
    shouldRetryWithHeaders: async (_req, res) => (res.status === 401 ? { authorization: `Bearer ${await fetchToken()}` } : undefined),
  });

  before(async () => {
    dir = makeTempDir('portcullis-a2a-sdk-');
    rt = await startA2aRuntime({ agent: AGENT });
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 1 << 20, header_timeout_ms: 2000, idle_timeout_ms: 30000, max_connections: 200 },
        upstream: { response_timeout_ms: 30000 },
        extraServer: { threads: 2 },
      }),
      args: ['--demo'],
    });
    rt.trustGateway(gw.baseUrl);
    creds = (await demoCredentials(gw)).tenants.demo;
    tokenUrl = `${gw.baseUrl}/oauth2/token`;
    agentBase = `${gw.baseUrl}/a2a/${AGENT}`;

    const adm = bearer(await adminToken(gw));
    const write = async (path, body) => {
      const r = await postJson(gw.port, path, body, { headers: adm });
      assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.body}`);
    };
    await write('/v1/platform/agents', { name: AGENT, protocol: 'a2a' });
    await write(`/v1/platform/agents/${AGENT}/versions`, { version: 'v1', endpoint: rt.origin });
    await write(`/v1/platform/agents/${AGENT}/versions/v1/promote`, {});
    // The catalog is refreshed in the background: wait until tenant demo sees the agent.
    const demoAuth = bearer(await fetchToken());
    await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      return (r.json?.agents ?? []).some((a) => a.name === AGENT);
    }, 10000, { what: `${AGENT} visible to tenant demo` });
  });

  after(async () => {
    await gw?.stop();
    await rt?.stop();
    removeDir(dir);
  });

  // ---------------------------------------------------------------- card discovery
  it('the card needs a token; the rewritten 1.0 card names only the gateway and its OAuth', async () => {
    const bare = await fetch(`${agentBase}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
    assert.equal(bare.status, 401, await bare.text());

    const card = await new DefaultAgentCardResolver({ fetchImpl: authedFetch }).resolve(`${agentBase}/`);
    assert.equal(card.name, rt.card().name);
    assert.ok(card.supportedInterfaces.length >= 2, JSON.stringify(card.supportedInterfaces));
    for (const i of card.supportedInterfaces) {
      assert.equal(i.url, agentBase, `interface ${i.protocolBinding} ${i.protocolVersion}`);
      assert.notEqual(i.protocolBinding, 'GRPC');
    }
    const bindings = new Set(card.supportedInterfaces.map((i) => `${i.protocolBinding} ${i.protocolVersion}`));
    assert.ok(bindings.has('JSONRPC 1.0') && bindings.has('HTTP+JSON 1.0'), [...bindings].join(', '));
    assert.equal(card.capabilities?.streaming, true);
    assert.ok(!JSON.stringify(card).includes(`:${rt.port}`), 'the runtime\'s origin leaked into the card');
    // The runtime's own scheme is gone; the gateway's OAuth 2 client credentials are there.
    assert.equal(card.securitySchemes.runtimeKey, undefined, 'the runtime\'s security scheme was served');
    const oauth = Object.values(card.securitySchemes).find((s) => s.scheme?.$case === 'oauth2SecurityScheme');
    assert.ok(oauth, `no OAuth 2 scheme: ${JSON.stringify(card.securitySchemes)}`);
    assert.equal(oauth.scheme.value.flows?.flow?.$case, 'clientCredentials', JSON.stringify(oauth.scheme.value));
    assert.equal(oauth.scheme.value.flows.flow.value.tokenUrl, tokenUrl);
  });

  it('the 0.3 card (/.well-known/agent.json) is rewritten the same way', async () => {
    const r = await authedFetch(`${agentBase}/.well-known/agent.json`);
    const text = await r.text();
    assert.equal(r.status, 200, text);
    const card = JSON.parse(text);
    // A 0.3 card: its top-level url/protocolVersion (a 1.0 supportedInterfaces may ride along).
    assert.match(String(card.protocolVersion), /^0\.3/, `not a 0.3 card: ${text.slice(0, 300)}`);
    assert.equal(card.url, agentBase);
    for (const i of card.additionalInterfaces ?? []) assert.equal(i.url, agentBase, JSON.stringify(i));
    assert.ok(!text.includes(`:${rt.port}`), 'the runtime\'s origin leaked into the 0.3 card');
  });

  // ---------------------------------------------------------------- the four clients
  // Each builds on the card the gateway served (1.0: ClientFactory; 0.3: the compat transports on
  // the 0.3 card's URL) and exposes the same methods.
  const clients = {
    '1.0 JSON-RPC': {
      version: '1.0',
      make: async () => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new JsonRpcTransportFactory({ fetchImpl: authedFetch })],
        preferredTransports: ['JSONRPC'],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl: authedFetch }),
      })).createFromUrl(`${agentBase}/`),
    },
    '1.0 REST': {
      version: '1.0',
      make: async () => new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
        transports: [new RestTransportFactory({ fetchImpl: authedFetch })],
        preferredTransports: ['HTTP+JSON'],
        cardResolver: new DefaultAgentCardResolver({ fetchImpl: authedFetch }),
      })).createFromUrl(`${agentBase}/`),
    },
    '0.3 JSON-RPC': {
      version: '0.3',
      make: async () => new LegacyJsonRpcTransport({ endpoint: await legacyUrl('JSONRPC'), fetchImpl: authedFetch }),
    },
    '0.3 REST': {
      version: '0.3',
      make: async () => new LegacyRestTransport({ endpoint: await legacyUrl('HTTP+JSON'), fetchImpl: authedFetch }),
    },
  };
  // The URL a 0.3 client finds for a transport in the 0.3 card (url + preferredTransport, or
  // additionalInterfaces).
  async function legacyUrl(transport) {
    const card = await (await authedFetch(`${agentBase}/.well-known/agent.json`)).json();
    if ((card.preferredTransport ?? 'JSONRPC') === transport) return card.url;
    const i = (card.additionalInterfaces ?? []).find((x) => x.transport === transport);
    assert.ok(i, `the 0.3 card offers no ${transport}: ${JSON.stringify(card)}`);
    return i.url;
  }

  for (const [name, spec] of Object.entries(clients)) {
    describe(`${name} client`, () => {
      let client;
      let sentTask;
      before(async () => { client = await spec.make(); });

      it('send: a completed task with the echo artifact; the runtime saw the gateway\'s identity', async () => {
        const mark = rt.messages.length;
        const text = `hello from ${name}`;
        const result = await withTimeout(client.sendMessage(userMessage(`echo ${text}`)), 15000, 'sendMessage');
        assert.ok(result.status, `not a task: ${JSON.stringify(result)}`);
        assert.equal(result.status.state, TaskState.TASK_STATE_COMPLETED);
        assert.deepEqual(artifactTexts(result), [`echo: ${text}`]);
        sentTask = result;

        const seen = rt.messages.slice(mark);
        assert.equal(seen.length, 1, 'the runtime ran the executor once');
        assert.equal(seen[0].taskId, result.id, 'the client got the runtime\'s task id');
        assert.equal(seen[0].contextId, result.contextId);
        const claims = seen[0].claims;
        assert.ok(claims, 'the executor ran without a verified identity');
        assert.equal(claims.aud, `agent:${AGENT}`);
        assert.equal(claims.iss, gw.baseUrl);
        assert.equal(claims.tenantid, 'demo');
        assert.equal(claims.sub, creds.client_id);
        const headers = seen[0].request.headers;
        assert.equal(headers.authorization, undefined, 'the caller\'s Authorization reached the runtime');
        assert.ok(headers['x-portcullis-identity']);
        assert.ok(headers['x-portcullis-session-id'], 'no X-Portcullis-Session-Id');
        assert.ok(headers['x-request-id'], 'no X-Request-Id');
        // The version the client spoke reached the runtime (absent = 0.3).
        assert.equal(seen[0].version, spec.version);
      });

      it('stream: every event relayed in order, task first, completed last', async () => {
        const n = 7;
        const events = await collect(client.sendMessageStream(userMessage(`stream ${n}`)));
        const kinds = events.map(([k]) => k);
        assert.equal(kinds[0], 'task', kinds.join(','));
        const taskId = events[0][1].id;
        const arts = events.filter(([k]) => k === 'artifactUpdate').map(([, v]) => partsText(v.artifact.parts));
        assert.deepEqual(arts, Array.from({ length: n }, (_, i) => `event ${i + 1}`));
        const last = events.at(-1);
        assert.equal(last[0], 'statusUpdate');
        assert.equal(last[1].status.state, TaskState.TASK_STATE_COMPLETED);
        for (const [k, v] of events.slice(1)) assert.equal(v.taskId, taskId, `${k} of another task`);
        // working comes before the first artifact
        const working = events.findIndex(([k, v]) => k === 'statusUpdate' && v.status.state === TaskState.TASK_STATE_WORKING);
        assert.ok(working > 0 && working < kinds.indexOf('artifactUpdate'), kinds.join(','));
      });

      it('get: the task sent earlier, as the runtime keeps it', async () => {
        assert.ok(sentTask, 'send did not run');
        const task = await withTimeout(client.getTask({ id: sentTask.id, tenant: '' }), 10000, 'getTask');
        assert.equal(task.id, sentTask.id);
        assert.equal(task.contextId, sentTask.contextId);
        assert.equal(task.status.state, TaskState.TASK_STATE_COMPLETED);
        assert.deepEqual(artifactTexts(task), artifactTexts(sentTask));
      });

      it('cancel: a slow task is canceled upstream and its stream ends canceled', async () => {
        const abort = new AbortController();
        const stream = client.sendMessageStream(userMessage('slow 20000'), { signal: abort.signal });
        const it = stream[Symbol.asyncIterator]();
        const first = await withTimeout(it.next(), 10000, 'first event');
        const [kind, task] = eventOf(first.value);
        assert.equal(kind, 'task');
        const canceled = await withTimeout(client.cancelTask({ id: task.id, tenant: '', metadata: {} }), 10000, 'cancelTask');
        assert.equal(canceled.id, task.id);
        // The executor publishes the final state: cancelTask may answer before or after it lands.
        const rest = [];
        await withTimeout((async () => {
          for (let r = await it.next(); !r.done; r = await it.next()) {
            rest.push(eventOf(r.value));
            if (rest.at(-1)[0] === 'statusUpdate' && TERMINAL.has(rest.at(-1)[1].status.state)) break;
          }
        })(), 10000, 'the rest of the canceled stream');
        abort.abort();
        const final = rest.at(-1);
        assert.ok(final, 'the stream ended without a final status');
        assert.equal(final[1].status.state, TaskState.TASK_STATE_CANCELED);
        const got = await client.getTask({ id: task.id, tenant: '' });
        assert.equal(got.status.state, TaskState.TASK_STATE_CANCELED);
      });

      it('resubscribe: a client that went away picks the task\'s stream up again', async () => {
        const abort = new AbortController();
        const first = await collect(client.sendMessageStream(userMessage('stream 8 150'), { signal: abort.signal }), {
          stopAfter: (evs) => evs.filter(([k]) => k === 'artifactUpdate').length >= 2,
        });
        abort.abort();
        const taskId = first[0][1].id;
        const again = await collect(client.resubscribeTask({ id: taskId, tenant: '' }));
        assert.ok(again.length > 0, 'nothing after resubscribing');
        for (const [k, v] of again) assert.equal(k === 'task' ? v.id : v.taskId, taskId, `${k} of another task`);
        const last = again.at(-1);
        assert.equal(last[0], 'statusUpdate');
        assert.equal(last[1].status.state, TaskState.TASK_STATE_COMPLETED);
        const arts = again.filter(([k]) => k === 'artifactUpdate').map(([, v]) => partsText(v.artifact.parts));
        assert.ok(arts.includes('event 8'), `the last event was not relayed after resubscribing: ${arts}`);
        assert.ok(!arts.includes('event 1'), 'events from before the resubscription were replayed as updates');
      });
    });
  }

  // ---------------------------------------------------------------- identity, across everything
  it('the runtime only ever saw the gateway\'s identity for this agent, never a caller\'s token', async () => {
    const a2aRequests = rt.requests;
    assert.ok(a2aRequests.length >= 20, `${a2aRequests.length} requests reached the runtime`);
    assert.ok(sentAuthorizations.size > 0, 'the clients sent no Authorization (the test proves nothing)');
    const callerTokens = [...sentAuthorizations].map((a) => a.replace(/^Bearer /, ''));
    for (const r of a2aRequests) {
      const where = `${r.method} ${r.path}`;
      assert.equal(r.refused, null, `${where} was refused by the runtime: ${r.refused}`);
      assert.equal(r.headers.authorization, undefined, `${where} carried an Authorization`);
      const raw = JSON.stringify(r.headers);
      for (const t of callerTokens) assert.ok(!raw.includes(t), `${where} carried the caller's token`);
      assert.equal(r.claims.aud, `agent:${AGENT}`, where);
      assert.equal(r.claims.tenantid, 'demo', where);
      assert.equal(r.claims.sub, creds.client_id, where);
      assert.equal(decodeJwt(r.headers['x-portcullis-identity']).header.alg, 'ES256');
    }
  });

  it('a client-supplied X-Portcullis-Identity never reaches the runtime in place of the gateway\'s', async () => {
    const mark = rt.requests.length;
    const r = await authedFetch(agentBase, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'A2A-Version': '1.0', 'x-portcullis-identity': 'forged.by.client' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: userMessage('echo spoof') }),
    });
    const body = await r.json();
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.error, undefined, JSON.stringify(body));
    const seen = rt.requests.slice(mark);
    assert.equal(seen.length, 1);
    assert.notEqual(seen[0].headers['x-portcullis-identity'], 'forged.by.client');
    assert.equal(seen[0].refused, null);
  });

  it('refusals: no token or a forged one never reaches the runtime; the runtime refuses direct calls', async () => {
    const mark = rt.requests.length;
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: userMessage('echo nope') });
    const h = { 'content-type': 'application/json', 'A2A-Version': '1.0' };
    const none = await fetch(agentBase, { method: 'POST', headers: h, body });
    assert.equal(none.status, 401, await none.text());
    const [hh, pp] = token.split('.');
    const forged = await fetch(agentBase, { method: 'POST', headers: { ...h, authorization: `Bearer ${hh}.${pp}.${'A'.repeat(86)}` }, body });
    assert.equal(forged.status, 401, await forged.text());
    assert.equal(rt.requests.length, mark, 'a refused request reached the runtime');
    // Straight to the runtime: without the gateway's identity, or with the caller's access token
    // in its place, the runtime refuses (what the agent relies on when it is reachable directly).
    const direct = await fetch(rt.jsonRpcUrl, { method: 'POST', headers: h, body });
    assert.equal(direct.status, 401);
    const posing = await fetch(rt.jsonRpcUrl, { method: 'POST', headers: { ...h, 'x-portcullis-identity': token }, body });
    assert.equal(posing.status, 401);
    assert.match(rt.requests.at(-1).refused, /aud|typ|claim/i);
  });
});
