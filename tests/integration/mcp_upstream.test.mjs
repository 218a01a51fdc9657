// The MCP test upstreams (support/mcp_upstream.mjs) exercised DIRECTLY with the official SDK
// client, no gateway in between: proves the fixture behaves as the federation tests assume
// (clashing names, resources, prompts, completion, progress, logging, sampling, elicitation,
// list_changed, cancellation, and the act-on-behalf token check with the audience it enforces).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { startMcpUpstream } from './support/mcp_upstream.mjs';

const ISSUER = 'https://gateway.test';
let alpha, beta, guarded, secretive, jwksServer, jwksUrl, signingKey, otherKey;

async function connect(upstream, { headers = {}, handlers = true } = {}) {
  const client = new Client({ name: 'fixture-test', version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  const events = { logs: [], listChanged: 0 };
  if (handlers) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: `echo(${req.params.messages[0].content.text})` },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { answer: 'yes' } }));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => events.logs.push(n.params));
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => { events.listChanged += 1; });
  }
  const transport = new StreamableHTTPClientTransport(new URL(upstream.url), { requestInit: { headers } });
  await client.connect(transport);
  return { client, transport, events };
}

async function token(aud, { key = signingKey, kid = 'k1', exp = '4m', claims = {} } = {}) {
  return new SignJWT({ tenantid: 'acme', act: { sub: 'agent:planner' }, session_id: 's-1', ...claims })
    .setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid })
    .setIssuer(ISSUER)
    .setSubject('user-42')
    .setAudience(aud)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(exp)
    .sign(key);
}

async function waitFor(cond, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  const kp = await generateKeyPair('ES256');
  signingKey = kp.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(kp.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwksServer = http.createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => jwksServer.listen(0, '127.0.0.1', r));
  jwksUrl = `http://127.0.0.1:${jwksServer.address().port}/.well-known/jwks.json`;
  alpha = await startMcpUpstream({ name: 'alpha' });
  beta = await startMcpUpstream({ name: 'beta', features: ['tools', 'prompts'] });
  guarded = await startMcpUpstream({ name: 'guarded', auth: { jwksUrl, issuer: ISSUER } });
  secretive = await startMcpUpstream({ name: 'secretive', auth: { header: 'X-Api-Key', value: 's3cret' } });
});

after(async () => {
  for (const u of [alpha, beta, guarded, secretive]) await u?.close();
  jwksServer?.close();
});

test('two upstreams offer clashing and own tools and prompts', async () => {
  const a = await connect(alpha);
  const b = await connect(beta);
  const aTools = (await a.client.listTools()).tools.map((t) => t.name);
  const bTools = (await b.client.listTools()).tools.map((t) => t.name);
  assert.ok(aTools.includes('search') && bTools.includes('search'), 'both offer search');
  assert.ok(aTools.includes('alpha_info') && !bTools.includes('alpha_info'));
  assert.ok(bTools.includes('beta_info'));
  const r = await b.client.callTool({ name: 'search', arguments: { query: 'cats' } });
  assert.equal(r.content[0].text, 'beta: results for cats');
  const aPrompts = (await a.client.listPrompts()).prompts.map((p) => p.name);
  const bPrompts = (await b.client.listPrompts()).prompts.map((p) => p.name);
  assert.ok(aPrompts.includes('greet') && bPrompts.includes('greet'));
  const p = await a.client.getPrompt({ name: 'greet', arguments: { who: 'Bob' } });
  assert.equal(p.messages[0].content.text, 'alpha greets Bob');
  // beta has no resources: its server says so by lacking the capability.
  assert.equal(b.client.getServerCapabilities().resources, undefined);
  await a.client.close();
  await b.client.close();
});

test('the paint tool publishes required, enum and bounds, and its server enforces them', async () => {
  const { client } = await connect(alpha);
  const paint = (await client.listTools()).tools.find((t) => t.name === 'paint');
  assert.deepEqual(paint.inputSchema.required.sort(), ['color', 'count']);
  assert.deepEqual(paint.inputSchema.properties.color.enum, ['red', 'green', 'blue', 'black']);
  assert.equal(paint.inputSchema.properties.count.minimum, 1);
  assert.equal(paint.inputSchema.properties.count.maximum, 10);
  const ok = await client.callTool({ name: 'paint', arguments: { color: 'red', count: 2 } });
  assert.equal(ok.content[0].text, 'alpha: painted 2 red');
  const bad = await client.callTool({ name: 'paint', arguments: { color: 'pink', count: 11 } });
  assert.equal(bad.isError, true, 'the upstream itself refuses out-of-schema arguments');
  await client.close();
});

test('resources, templates and completion', async () => {
  const { client } = await connect(alpha);
  const resources = (await client.listResources()).resources.map((r) => r.uri);
  assert.ok(resources.includes('alpha://readme'));
  assert.ok(resources.includes('alpha://items/10'), 'the template lists its items');
  const templates = (await client.listResourceTemplates()).resourceTemplates;
  assert.equal(templates[0].uriTemplate, 'alpha://items/{id}');
  const readme = await client.readResource({ uri: 'alpha://readme' });
  assert.equal(readme.contents[0].text, 'This is alpha.');
  const item = await client.readResource({ uri: 'alpha://items/20' });
  assert.deepEqual(JSON.parse(item.contents[0].text), { server: 'alpha', id: '20' });
  const c1 = await client.complete({ ref: { type: 'ref/resource', uri: 'alpha://items/{id}' }, argument: { name: 'id', value: '1' } });
  assert.deepEqual(c1.completion.values, ['1', '10']);
  const c2 = await client.complete({ ref: { type: 'ref/prompt', name: 'greet' }, argument: { name: 'who', value: 'Al' } });
  assert.deepEqual(c2.completion.values, ['Alice', 'Albert']);
  await client.close();
});

test('progress notifications and logging messages reach the client', async () => {
  const { client, events } = await connect(alpha);
  const progress = [];
  const r = await client.callTool({ name: 'progress', arguments: { steps: 3 } }, undefined, {
    onprogress: (p) => progress.push(p),
  });
  assert.equal(r.content[0].text, 'alpha: done after 3 steps');
  assert.deepEqual(progress.map((p) => p.progress), [1, 2, 3]);
  assert.equal(progress[2].total, 3);
  assert.deepEqual(events.logs.map((l) => l.data), ['step 1 of 3', 'step 2 of 3', 'step 3 of 3']);
  await client.close();
});

test('sampling and elicitation go to the client and their answers come back', async () => {
  const { client } = await connect(alpha);
  const s = await client.callTool({ name: 'sample', arguments: { prompt: 'hi' } });
  assert.equal(s.content[0].text, 'alpha: the model said echo(hi)');
  const e = await client.callTool({ name: 'elicit', arguments: { question: 'proceed?' } });
  assert.equal(e.content[0].text, 'alpha: the user chose accept {"answer":"yes"}');
  assert.equal(alpha.seen.sampling.at(-1).model, 'test-model');
  assert.equal(alpha.seen.elicitation.at(-1).action, 'accept');
  await client.close();
});

test('a tool added at run time sends notifications/tools/list_changed', async () => {
  const { client, events } = await connect(alpha);
  const before = (await client.listTools()).tools.length;
  const r = await client.callTool({ name: 'add_tool', arguments: {} });
  assert.equal(r.content[0].text, 'alpha: added alpha_extra_1');
  await waitFor(() => events.listChanged > 0);
  assert.equal((await client.listTools()).tools.length, before + 1);
  await client.close();
});

test('notifications/cancelled reaches the tool and is recorded', async () => {
  const { client } = await connect(alpha);
  const ctl = new AbortController();
  const call = client.callTool({ name: 'wait', arguments: { ms: 30000 } }, undefined, { signal: ctl.signal });
  await waitFor(() => alpha.seen.requests.some((r) => r.rpc === 'tools/call'));
  await new Promise((r) => setTimeout(r, 100));
  ctl.abort('changed my mind');
  await assert.rejects(call);
  await waitFor(() => alpha.seen.cancelled.length > 0);
  assert.equal(alpha.seen.cancelled[0].reason, 'changed my mind');
  await client.close();
});

test('sessions: unknown session ids get 404, requests without one 400, DELETE ends one', async () => {
  const { client, transport } = await connect(alpha);
  const sid = transport.sessionId;
  assert.ok(alpha.sessions.has(sid));
  const post = (headers, body) => fetch(alpha.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: JSON.stringify(body),
  });
  assert.equal((await post({ 'mcp-session-id': 'nope' }, { jsonrpc: '2.0', id: 1, method: 'ping' })).status, 404);
  assert.equal((await post({}, { jsonrpc: '2.0', id: 1, method: 'ping' })).status, 400);
  await transport.terminateSession();
  assert.equal(alpha.sessions.has(sid), false);
  const after = await post({ 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' }, { jsonrpc: '2.0', id: 2, method: 'ping' });
  assert.equal(after.status, 404);
  await client.close();
});

test('act-on-behalf: a token for this server is accepted and its claims recorded', async () => {
  const t = await token(guarded.url);
  const { client } = await connect(guarded, { headers: { authorization: `Bearer ${t}` } });
  const r = await client.callTool({ name: 'whoami', arguments: {} });
  assert.equal(r.structuredContent.claims.sub, 'user-42');
  assert.equal(r.structuredContent.claims.aud, guarded.url);
  assert.equal(r.structuredContent.claims.act.sub, 'agent:planner');
  assert.equal(guarded.seen.claims.at(-1).tenantid, 'acme');
  await client.close();
});

test('act-on-behalf: missing, foreign-audience, forged, expired and multi-audience tokens get 401', async () => {
  const init = { jsonrpc: '2.0', id: 1, method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
  const post = (auth) => fetch(guarded.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...(auth ? { authorization: auth } : {}) },
    body: JSON.stringify(init),
  });
  const none = await post();
  assert.equal(none.status, 401);
  assert.match(none.headers.get('www-authenticate'), /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/);
  const refusals = [
    await token(alpha.url),                                 // minted for another server
    await token(`${guarded.url}/`),                         // a near miss of this one
    await token(guarded.url, { key: otherKey }),           // forged
    await token(guarded.url, { exp: Math.floor(Date.now() / 1000) - 60 }), // expired
    await token([guarded.url, alpha.url]),                  // meant for others too
  ];
  for (const t of refusals) {
    const r = await post(`Bearer ${t}`);
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/);
  }
  assert.equal((await post(`Bearer ${await token(guarded.url)}`)).status, 200);
});

test('a vault-secret header is checked when configured', async () => {
  await assert.rejects(connect(secretive, { headers: { 'x-api-key': 'wrong' } }));
  const { client } = await connect(secretive, { headers: { 'x-api-key': 's3cret' } });
  assert.ok((await client.listTools()).tools.length > 0);
  await client.close();
});
