// Identity through the A2A proxy (issue 11, docs/agent-identity.md, docs/a2a.md): the runtime (an
// @a2a-js/sdk server, support/a2a_runtime.mjs) verifies the X-Portcullis-Identity the gateway signs
// with the gateway's JWKS (jose) and refuses anything else; the caller's bearer token never reaches
// it; forged bearer tokens, tokens of an unknown issuer and identity tokens used as bearer tokens are
// 401 at the gateway. Agent to agent: agent A, holding the identity token the gateway gave it,
// exchanges it at /oauth2/token (RFC 8693, as src/examples/agent_call.cpp does for invoke) and calls
// agent B's A2A endpoint through the gateway; B sees the user as subject and the nested act chain;
// A → B → A is refused (403 agent_call_refused) before A's runtime is called; and the chain's depth
// is bounded by tokens.agent_call_max_depth.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, postJson, request, bearer, demoToken, demoCredentials,
  adminToken, tokenRequest, decodeJwt, TOKEN_EXCHANGE,
} from './harness.mjs';
import { userMessage, rpc, rest, sendTask, registerAgent, waitAgentsVisible } from './support/a2a_raw.mjs';
import { startA2aRuntime, JSONRPC_PATH } from './support/a2a_runtime.mjs';

const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const NAMES = ['agent-a', 'agent-b', 'agent-c', 'agent-d'];
const MAX_DEPTH = 3; // user → a → b → c is allowed; c → d is one too deep
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

function signEs256(privateKey, header, payload) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}
const newKey = () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

// A 403 agent_call_refused, whichever error rendering the route uses (SPEC error or JSON-RPC error data).
function assertCallRefused(r, what, pattern) {
  assert.equal(r.status, 403, `${what}: expected 403 agent_call_refused, got ${r.status}: ${r.body.slice(0, 400)}`);
  assert.match(r.body, /agent_call_refused/, `${what}: ${r.body.slice(0, 400)}`);
  if (pattern) assert.match(r.body, pattern, `${what}: the refusal does not say why: ${r.body.slice(0, 400)}`);
  assert.equal(r.json?.result, undefined);
}

describe('A2A identity: the runtime verifies the gateway\'s token; agents call agents through /a2a', { timeout: 120000 }, () => {
  let dir;
  let gw;
  let demoTok;
  let demoClient;
  const rt = {};

  before(async () => {
    dir = makeTempDir('portcullis-a2a-identity-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 10000 },
        upstream: { response_timeout_ms: 20000 },
        extra: { tokens: { agent_call_max_depth: MAX_DEPTH } },
      }),
      args: ['--demo'],
    });
    demoClient = (await demoCredentials(gw)).tenants.demo.client_id;
    demoTok = await demoToken(gw);
    const adm = await adminToken(gw);
    for (const name of NAMES) {
      rt[name] = await startA2aRuntime({ agent: name, gateway: gw.baseUrl });
      await registerAgent(gw, adm, name, rt[name].url);
    }
    await waitAgentsVisible(gw, demoTok, NAMES);
    // The cards are not awaited here: a missing /a2a route fails each test, not the whole suite.
  });

  after(async () => {
    if (gw) await gw.stop();
    for (const r of Object.values(rt)) await r.stop();
    removeDir(dir);
  });

  // The identity token the runtime of `name` received with its latest request.
  const lastIdentity = (name) => rt[name].requests.at(-1)?.headers['x-portcullis-identity'];

  it('a message reaches the runtime with a gateway-signed identity it verified with the JWKS; never the caller\'s token', async () => {
    rt['agent-a'].clear();
    const { task, res } = await sendTask(gw, 'agent-a', 'echo who am i', { token: demoTok });
    assert.equal(task.status?.state, 'TASK_STATE_COMPLETED', JSON.stringify(task.status));
    const req = rt['agent-a'].requests.at(-1);
    assert.ok(req, 'the runtime saw no request');
    assert.equal(req.refused, null, `the runtime refused the gateway's identity: ${req.refused}`);
    assert.equal(req.path.startsWith(JSONRPC_PATH), true, `called at ${req.path}, not the card's JSON-RPC path`);
    const h = req.headers;
    assert.equal(h.authorization, undefined, 'the caller\'s Authorization reached the runtime');
    assert.ok(!JSON.stringify(h).includes(demoTok), 'the caller\'s token reached the runtime');
    const c = req.claims;
    assert.equal(c.iss, gw.baseUrl);
    assert.equal(c.aud, 'agent:agent-a');
    assert.equal(c.sub, demoClient);
    assert.equal(c.tenantid, 'demo');
    assert.deepEqual(c.act, { sub: demoClient });
    assert.ok(c.exp - c.iat <= 300, 'identity lifetime above five minutes');
    assert.ok(h['x-portcullis-session-id'], 'no X-Portcullis-Session-Id');
    assert.equal(h['x-request-id'], res.headers['x-request-id'], 'the runtime call carries the request id');
    assert.equal(h['a2a-version'], '1.0', 'A2A-Version not forwarded');
    const m = rt['agent-a'].messages.at(-1);
    assert.equal(m.claims?.sub, demoClient, 'the executor saw the verified identity');
  });

  it('a client-sent X-Portcullis-Identity never replaces the gateway\'s', async () => {
    const fake = signEs256(newKey(), { alg: 'ES256', typ: 'JWT', kid: 'x' }, { sub: 'intruder' });
    const r = await rpc(gw, 'agent-a', 'SendMessage', { message: userMessage('echo spoof') }, { token: demoTok, headers: { 'x-portcullis-identity': fake } });
    assert.equal(r.status, 200, r.body);
    assert.ok(r.json?.result, r.body.slice(0, 300));
    assert.notEqual(lastIdentity('agent-a'), fake);
    assert.equal(rt['agent-a'].requests.at(-1).claims?.sub, demoClient);
  });

  it('the runtime refuses calls without the gateway\'s identity: none, forged, another agent\'s (audience)', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: userMessage('echo direct') } });
    const direct = (url, headers = {}) => request(url, { method: 'POST', path: JSONRPC_PATH, body,
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'a2a-version': '1.0', ...headers } });
    const real = lastIdentity('agent-a');
    assert.ok(real, 'agent-a\'s runtime holds no identity token: no message reached it through the gateway');
    const { header, payload } = decodeJwt(real);
    const cases = {
      none: {},
      forged: { 'x-portcullis-identity': signEs256(newKey(), header, payload) },
      'agent-a\'s token at agent-b': { 'x-portcullis-identity': real },
      'the caller\'s access token': { 'x-portcullis-identity': demoTok },
    };
    for (const [what, headers] of Object.entries(cases)) {
      const target = what.includes('agent-b') ? rt['agent-b'].url : rt['agent-a'].url;
      const r = await direct(target, headers);
      assert.equal(r.status, 401, `${what}: the runtime answered ${r.status}: ${r.body.slice(0, 300)}`);
    }
  });

  it('the gateway refuses bearer tokens that are forged, of an unknown issuer, an identity token, or garbage (401); the runtime never sees them', async () => {
    const calls = rt['agent-a'].requests.length;
    const { header, payload } = decodeJwt(demoTok);
    const now = Math.floor(Date.now() / 1000);
    const bad = {
      'forged (the gateway\'s kid, another key)': signEs256(newKey(), header, payload),
      'unknown issuer': signEs256(newKey(), { alg: 'ES256', typ: 'at+jwt', kid: 'evil' },
        { ...payload, iss: 'https://issuer.invalid', iat: now, nbf: now, exp: now + 300 }),
      'tampered (tenant changed)': `${demoTok.split('.')[0]}.${b64u({ ...payload, tenantid: 'acme' })}.${demoTok.split('.')[2]}`,
      'alg none': `${b64u({ alg: 'none', typ: 'at+jwt' })}.${b64u(payload)}.`,
      'an identity token (audience agent:agent-a)': lastIdentity('agent-a'),
      garbage: 'not-a-token',
    };
    for (const [what, tok] of Object.entries(bad)) {
      for (const [route, send] of [
        ['JSON-RPC', () => rpc(gw, 'agent-a', 'SendMessage', { message: userMessage('echo forged') }, { token: tok })],
        ['REST', () => rest(gw, 'agent-a', 'POST', '/message:send', { message: userMessage('echo forged') }, { token: tok })],
        ['card', () => request(gw.port, { path: '/a2a/agent-a/.well-known/agent-card.json', headers: bearer(tok) })],
      ]) {
        const r = await send();
        assert.equal(r.status, 401, `${what} on ${route}: expected 401, got ${r.status}: ${r.body.slice(0, 300)}`);
        assert.match(r.headers['www-authenticate'] ?? '', /^Bearer/i, `${what} on ${route}: no WWW-Authenticate`);
      }
    }
    const none = await rpc(gw, 'agent-a', 'SendMessage', { message: userMessage('echo anonymous') });
    assert.equal(none.status, 401, none.body);
    assert.equal(rt['agent-a'].requests.length, calls, 'a refused bearer token reached the runtime');
  });

  // agent `from` (holding the identity it got in its latest request) calls agent `to` through the
  // gateway with the exchanged token, as the example agent does for invoke (agent_call.cpp).
  async function agentCalls(from, to, text) {
    const identity = lastIdentity(from);
    assert.ok(identity, `${from} holds no identity token`);
    const ex = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: identity, subject_token_type: JWT_TYPE });
    assert.equal(ex.status, 200, `exchange of ${from}'s identity: ${ex.body}`);
    return rpc(gw, to, 'SendMessage', { message: userMessage(text) }, { token: ex.json.access_token });
  }

  it('agent-a calls agent-b through /a2a with its exchanged identity: agent-b sees the user and the nested act chain', async () => {
    await sendTask(gw, 'agent-a', 'echo start', { token: demoTok });
    const r = await agentCalls('agent-a', 'agent-b', 'echo from agent-a');
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json?.result?.task?.status?.state, 'TASK_STATE_COMPLETED', r.body.slice(0, 400));
    const req = rt['agent-b'].requests.at(-1);
    assert.equal(req.refused, null, req.refused);
    assert.equal(req.headers.authorization, undefined, 'agent-a\'s access token reached agent-b');
    assert.equal(req.claims.sub, demoClient, 'the subject stays the original caller');
    assert.equal(req.claims.tenantid, 'demo');
    assert.equal(req.claims.aud, 'agent:agent-b');
    assert.deepEqual(req.claims.act, { sub: 'agent:agent-a', act: { sub: demoClient } });
  });

  it('a loop (agent-a → agent-b → agent-a) is refused with 403 agent_call_refused; agent-a\'s runtime is not called', async () => {
    await sendTask(gw, 'agent-a', 'echo start', { token: demoTok });
    const ab = await agentCalls('agent-a', 'agent-b', 'echo hop');
    assert.equal(ab.status, 200, ab.body);
    const calls = rt['agent-a'].requests.length;
    const r = await agentCalls('agent-b', 'agent-a', 'echo back to a');
    assertCallRefused(r, 'agent-b → agent-a', /agent-a/);
    assert.equal(rt['agent-a'].requests.length, calls, 'the loop reached agent-a\'s runtime');
    // The streaming method and the REST binding are refused alike.
    const ex = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: lastIdentity('agent-b'), subject_token_type: JWT_TYPE });
    const s = await postJson(gw.port, '/a2a/agent-a', { jsonrpc: '2.0', id: 2, method: 'SendStreamingMessage', params: { message: userMessage('stream 2') } },
      { headers: { ...bearer(ex.json.access_token), 'a2a-version': '1.0', accept: 'text/event-stream' } });
    assertCallRefused(s, 'agent-b → agent-a (stream)');
    const rr = await rest(gw, 'agent-a', 'POST', '/message:send', { message: userMessage('echo rest loop') }, { token: ex.json.access_token });
    assertCallRefused(rr, 'agent-b → agent-a (REST)');
    assert.equal(rt['agent-a'].requests.length, calls);
  });

  it(`depth: with tokens.agent_call_max_depth ${MAX_DEPTH}, a → b → c is allowed and c → d refused`, async () => {
    await sendTask(gw, 'agent-a', 'echo start', { token: demoTok });
    const ab = await agentCalls('agent-a', 'agent-b', 'echo 2');
    assert.equal(ab.status, 200, ab.body);
    const bc = await agentCalls('agent-b', 'agent-c', 'echo 3');
    assert.equal(bc.status, 200, bc.body);
    assert.ok(bc.json?.result, bc.body.slice(0, 300));
    assert.deepEqual(rt['agent-c'].requests.at(-1).claims.act,
      { sub: 'agent:agent-b', act: { sub: 'agent:agent-a', act: { sub: demoClient } } });
    const calls = rt['agent-d'].requests.length;
    const cd = await agentCalls('agent-c', 'agent-d', 'echo 4');
    assertCallRefused(cd, 'agent-c → agent-d', /deep|depth/i);
    assert.equal(rt['agent-d'].requests.length, calls, 'the over-deep call reached agent-d');
  });
});
