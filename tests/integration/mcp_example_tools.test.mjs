// `portcullis example-tools` (issue 10), the reference MCP server in C++, driven by the official
// TypeScript SDK client: the Streamable HTTP transport (sessions, 202 for notifications, 404 for
// unknown sessions, DELETE, Origin check), the four tools, and with --gateway the act-on-behalf
// token check: the token must be signed by a key of that gateway's JWKS, for this server's URL.
// A stand-in JWKS server plays the gateway here, so the test can sign the tokens a gateway would
// (and the forgeries it never would); the gateway minting them is tested in unit_auth.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';

import { spawnBinary, waitFor } from './harness.mjs';

const ISSUER = 'https://gateway.test';
let gateway, gatewayUrl, key, otherKey, open, guarded;

async function startTools(args = []) {
  const h = spawnBinary(['example-tools', '--listen', '127.0.0.1:0', ...args]);
  const url = await waitFor(() => {
    if (h.exitInfo()) throw Object.assign(new Error(`example-tools exited: ${h.output()}`), { fatal: true });
    const m = h.stdout().match(/"url":"([^"]+)"/);
    return m ? m[1] : null;
  }, 10000, { what: 'example-tools listening' });
  return { ...h, url };
}

async function connect(url, headers = {}) {
  const client = new Client({ name: 'example-tools-test', version: '1.0.0' });
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } });
  await client.connect(transport);
  return { client, transport };
}

function token(aud, { signWith = key, kid = 'gw-1', alg = 'ES256', exp = '4m', typ = 'JWT', claims = {} } = {}) {
  return new SignJWT({ tenantid: 'acme', act: { sub: 'agent:planner' }, session_id: 'mcp-s-1', ...claims })
    .setProtectedHeader({ alg, typ, kid })
    .setIssuer(ISSUER)
    .setSubject('user-42')
    .setAudience(aud)
    .setIssuedAt()
    .setJti(crypto.randomUUID())
    .setExpirationTime(exp)
    .sign(signWith);
}

const INIT = {
  jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
};

function post(url, body, headers = {}) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

before(async () => {
  const kp = await generateKeyPair('ES256');
  key = kp.privateKey;
  otherKey = (await generateKeyPair('ES256')).privateKey;
  const jwk = { ...(await exportJWK(kp.publicKey)), kid: 'gw-1', alg: 'ES256', use: 'sig' };
  gateway = http.createServer((req, res) => {
    if (req.url !== '/.well-known/jwks.json') { res.writeHead(404); return res.end(); }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((r) => gateway.listen(0, '127.0.0.1', r));
  gatewayUrl = `http://127.0.0.1:${gateway.address().port}`;
  open = await startTools();
  guarded = await startTools(['--gateway', gatewayUrl, '--issuer', ISSUER]);
});

after(async () => {
  for (const h of [open, guarded]) h?.proc.kill('SIGTERM');
  await Promise.all([open?.exited, guarded?.exited]);
  gateway?.close();
});

test('the SDK client lists and calls the four tools', async () => {
  const { client } = await connect(open.url);
  assert.equal(client.getServerVersion().name, 'example-tools');
  const names = (await client.listTools()).tools.map((t) => t.name).sort();
  assert.deepEqual(names, ['add', 'echo', 'lookup_customer', 'slow']);
  assert.equal((await client.callTool({ name: 'echo', arguments: { text: 'hi there' } })).content[0].text, 'hi there');
  const sum = await client.callTool({ name: 'add', arguments: { a: 2, b: 3.5 } });
  assert.equal(sum.content[0].text, '5.5');
  assert.deepEqual(sum.structuredContent, { sum: 5.5 });
  const pii = (await client.callTool({ name: 'lookup_customer', arguments: { id: 'c-7' } })).content[0].text;
  for (const planted of ['jane.doe@example.com', '+1 415 555 0100', '4111 1111 1111 1111', 'DE89 3704 0044 0532 0130 00'])
    assert.ok(pii.includes(planted), planted);
  const t0 = Date.now();
  assert.equal((await client.callTool({ name: 'slow', arguments: { ms: 200 } })).content[0].text, 'waited 200 ms');
  assert.ok(Date.now() - t0 >= 190);
  await client.ping();
  await client.close();
});

test('bad arguments are tool errors; an unknown tool is a protocol error', async () => {
  const { client } = await connect(open.url);
  const bad = await client.callTool({ name: 'add', arguments: { a: 'x', b: 1 } });
  assert.equal(bad.isError, true);
  assert.match(bad.content[0].text, /Invalid arguments/);
  assert.equal((await client.callTool({ name: 'slow', arguments: { ms: 60001 } })).isError, true);
  await assert.rejects(client.callTool({ name: 'nope', arguments: {} }), (e) => e.code === -32602 && /Unknown tool: nope/.test(e.message));
  await client.close();
});

test('slow calls on one session do not hold up others', async () => {
  const { client } = await connect(open.url);
  const slow = client.callTool({ name: 'slow', arguments: { ms: 1500 } });
  const t0 = Date.now();
  await client.callTool({ name: 'echo', arguments: { text: 'quick' } });
  assert.ok(Date.now() - t0 < 1000, 'echo answered while slow waited');
  await slow;
  await client.close();
});

test('transport: sessions, notifications, versions, DELETE, Origin, bad input', async () => {
  const init = await post(open.url, INIT);
  assert.equal(init.status, 200);
  assert.equal((await init.json()).result.protocolVersion, '2025-11-25');
  const sid = init.headers.get('mcp-session-id');
  assert.match(sid, /^[0-9a-f]{32}$/);
  const old = await post(open.url, { ...INIT, params: { ...INIT.params, protocolVersion: '2024-01-01' } });
  assert.equal((await old.json()).result.protocolVersion, '2025-11-25', 'an unknown version is answered with ours');
  const h = { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' };
  assert.equal((await post(open.url, { jsonrpc: '2.0', method: 'notifications/initialized' }, h)).status, 202);
  assert.equal((await post(open.url, { jsonrpc: '2.0', id: 2, method: 'ping' })).status, 400, 'no session id');
  assert.equal((await post(open.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...h, 'mcp-session-id': 'f'.repeat(32) })).status, 404);
  assert.equal((await post(open.url, { jsonrpc: '2.0', id: 2, method: 'ping' }, { ...h, 'mcp-protocol-version': '1999-01-01' })).status, 400);
  const unknown = await (await post(open.url, { jsonrpc: '2.0', id: 3, method: 'resources/list' }, h)).json();
  assert.equal(unknown.error.code, -32601);
  assert.equal((await post(open.url, '{"jsonrpc":', h)).status, 400);
  assert.equal((await (await post(open.url, '{"jsonrpc":', h)).json()).error.code, -32700);
  assert.equal((await post(open.url, [{ jsonrpc: '2.0', id: 4, method: 'ping' }], h)).status, 400, 'no batches');
  assert.equal((await post(open.url, { jsonrpc: '2.0', id: 5, method: 'ping' }, { ...h, 'content-type': 'text/plain' })).status, 415);
  assert.equal((await post(open.url, { jsonrpc: '2.0', id: 5, method: 'ping' }, { ...h, accept: 'text/html' })).status, 406);
  assert.equal((await post(open.url, INIT, { origin: 'http://evil.example.com' })).status, 403, 'DNS rebinding');
  assert.equal((await post(open.url, INIT, { origin: 'http://localhost:3000' })).status, 200);
  assert.equal((await fetch(open.url, { headers: { accept: 'text/event-stream', ...h } })).status, 405);
  assert.equal((await fetch(open.url, { method: 'DELETE', headers: h })).status, 200);
  assert.equal((await post(open.url, { jsonrpc: '2.0', id: 6, method: 'ping' }, h)).status, 404, 'ended by DELETE');
});

test('with --gateway: a token for this server from the gateway is accepted and the caller reported', async () => {
  const { client } = await connect(guarded.url, { authorization: `Bearer ${await token(guarded.url)}` });
  const r = await client.callTool({ name: 'echo', arguments: { text: 'hello' } });
  assert.equal(r.content[0].text, 'hello');
  const caller = JSON.parse(r.content[1].text.replace(/^caller: /, ''));
  assert.equal(caller.sub, 'user-42');
  assert.deepEqual(caller.act, { sub: 'agent:planner' });
  assert.equal(caller.tenantid, 'acme');
  assert.equal(caller.aud, guarded.url);
  assert.equal(caller.session_id, 'mcp-s-1');
  await client.close();
});

test('with --gateway: every other credential gets 401 and a challenge naming the resource metadata', async () => {
  const none = await post(guarded.url, INIT);
  assert.equal(none.status, 401);
  const challenge = none.headers.get('www-authenticate');
  assert.match(challenge, /^Bearer /);
  const meta = challenge.match(/resource_metadata="([^"]+)"/)[1];
  const prm = await (await fetch(meta)).json();
  assert.equal(prm.resource, guarded.url);
  assert.deepEqual(prm.authorization_servers, [ISSUER]);

  const otherServer = open.url; // a token minted for another server
  const refused = {
    'another server': await token(otherServer),
    'a near miss of its URL': await token(`${guarded.url}/`),
    'an audience list': await token([guarded.url, otherServer]),
    forged: await token(guarded.url, { signWith: otherKey }),
    'unknown kid': await token(guarded.url, { signWith: otherKey, kid: 'nope' }),
    expired: await token(guarded.url, { exp: Math.floor(Date.now() / 1000) - 120 }),
    'too long-lived': await token(guarded.url, { exp: '1h' }),
    'an access token (typ at+jwt)': await token(guarded.url, { typ: 'at+jwt' }),
    'no tenant': await token(guarded.url, { claims: { tenantid: undefined } }),
    'another issuer': await new SignJWT({ tenantid: 'acme' }).setProtectedHeader({ alg: 'ES256', typ: 'JWT', kid: 'gw-1' })
      .setIssuer('https://evil.test').setSubject('u').setAudience(guarded.url).setIssuedAt().setExpirationTime('4m').sign(key),
  };
  for (const [why, t] of Object.entries(refused)) {
    const r = await post(guarded.url, INIT, { authorization: `Bearer ${t}` });
    assert.equal(r.status, 401, why);
    assert.match(r.headers.get('www-authenticate'), /error="invalid_token"/, why);
    const body = await r.text();
    assert.ok(!body.includes(t), 'the token is never echoed');
  }
  // alg "none" and HS256 (keyed with the public JWK, the classic swap) are refused too.
  const good = await token(guarded.url);
  const [, payload] = good.split('.');
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  for (const alg of ['none', 'HS256']) {
    const swapped = `${b64({ alg, typ: 'JWT', kid: 'gw-1' })}.${payload}.${alg === 'none' ? '' : good.split('.')[2]}`;
    assert.equal((await post(guarded.url, INIT, { authorization: `Bearer ${swapped}` })).status, 401, alg);
  }
  assert.equal((await post(guarded.url, INIT, { authorization: `Bearer ${good}` })).status, 200);
});
