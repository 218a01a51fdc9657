// Identity to agents (issue 9, docs/agent-identity.md), with the real binary: the gateway signs
// X-Portcullis-Identity for every forwarded call; `portcullis example-agent --gateway` verifies it
// against the gateway's JWKS and refuses calls without a valid one (forged, expired, for another
// agent, …); an agent calls another agent through the gateway with the RFC 8693 exchange of its
// identity, the callee sees the nested act chain, and loops and over-deep chains are refused.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import http from 'node:http';

import {
  startGateway, startAgent, gatewayConfig, makeTempDir, removeDir, request, postJson, bearer,
  demoToken, demoCredentials, adminToken, tokenRequest, decodeJwt, errorOf, waitFor, sleep,
  TOKEN_EXCHANGE,
} from './harness.mjs';

const JWT_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const b64u = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

// ES256 compact JWS with Node's crypto (r||s signature, RFC 7518 §3.4).
function signEs256(privateKey, header, payload) {
  const input = `${b64u(header)}.${b64u(payload)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${sig.toString('base64url')}`;
}

function newKey(kid) {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { kid, privateKey, jwk: { ...publicKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } };
}

// A stand-in gateway that only publishes a JWKS the test controls, so the test can sign every
// kind of bad token itself. Counts its JWKS fetches.
async function fakeIssuer() {
  const state = { keys: [], fetches: 0 };
  const srv = http.createServer((req, res) => {
    if (req.url === '/.well-known/jwks.json') {
      state.fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: state.keys.map((k) => k.jwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  state.url = `http://127.0.0.1:${srv.address().port}`;
  state.close = () => new Promise((r) => srv.close(r));
  return state;
}

// A runtime that keeps the identity tokens it is sent (what a curious or compromised agent holds).
async function spyRuntime() {
  const seen = [];
  const srv = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      if (req.url === '/ping') { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"status":"Healthy"}'); return; }
      seen.push({ headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ output: { ok: true } }));
    });
  });
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  return { seen, url: `http://127.0.0.1:${srv.address().port}`, close: () => new Promise((r) => { srv.closeAllConnections?.(); srv.close(r); }) };
}

function invocation(port, identity, input = 'hi', extraHeaders = {}) {
  const headers = { ...extraHeaders };
  if (identity !== undefined) headers['x-portcullis-identity'] = identity;
  return postJson(port, '/invocations', { input }, { headers });
}

describe('identity to agents: the example agent verifies what it is sent', { timeout: 60000 }, () => {
  let issuer;
  let agent;
  let key;
  const claims = (over = {}) => {
    const t = now();
    return { iss: issuer.url, aud: 'agent:alpha', sub: 'user-1', tenantid: 'demo', iat: t, nbf: t, exp: t + 120,
      jti: crypto.randomUUID(), act: { sub: 'client-1' }, ...over };
  };
  const token = (over = {}, header = {}, k = key) => signEs256(k.privateKey, { alg: 'ES256', typ: 'JWT', kid: k.kid, ...header }, claims(over));

  before(async () => {
    issuer = await fakeIssuer();
    key = newKey('k1');
    issuer.keys = [key];
    agent = await startAgent({ args: ['--name', 'alpha', '--gateway', issuer.url] });
  });
  after(async () => {
    if (agent) await agent.stop();
    if (issuer) await issuer.close();
  });

  it('a valid identity is answered, and the output shows the verified claims', async () => {
    const r = await invocation(agent.port, token());
    assert.equal(r.status, 200, r.body);
    assert.equal(r.json.output.echo, 'hi');
    assert.equal(r.json.output.identity.sub, 'user-1');
    assert.equal(r.json.output.identity.tenantid, 'demo');
    assert.deepEqual(r.json.output.identity.act, { sub: 'client-1' });
    assert.equal(r.json.output.headers['x-portcullis-identity'], '(redacted)', 'the agent must not hand its identity back');
    assert.equal(typeof r.json.usage.inputTokens, 'number');
  });

  it('no identity → 401 identity_required', async () => {
    const r = await invocation(agent.port, undefined);
    assert.equal(r.status, 401, r.body);
    assert.equal(errorOf(r).code, 'identity_required');
    assert.equal(r.json.output, undefined);
  });

  const refusals = {
    'expired': () => token({ iat: now() - 400, nbf: now() - 400, exp: now() - 60 }),
    'for another agent': () => token({ aud: 'agent:beta' }),
    'for the gateway itself (access-token audience)': () => token({ aud: issuer.url }),
    'from another issuer': () => token({ iss: 'http://127.0.0.1:1' }),
    'forged (a key the gateway never published, same kid)': () => token({}, {}, { ...newKey('k1') }),
    'an access token (typ at+jwt)': () => token({}, { typ: 'at+jwt' }),
    'living longer than five minutes': () => token({ exp: now() + 3600 }),
    'without a subject': () => token({ sub: undefined }),
    'without a tenant': () => token({ tenantid: undefined }),
    'tampered after signing': () => {
      const [h, , s] = token().split('.');
      return `${h}.${b64u(claims({ sub: 'admin' }))}.${s}`;
    },
    'unsigned (alg none)': () => `${b64u({ alg: 'none', typ: 'JWT' })}.${b64u(claims())}.`,
    'HMAC keyed with the public key (alg HS256)': () => {
      const input = `${b64u({ alg: 'HS256', typ: 'JWT', kid: 'k1' })}.${b64u(claims())}`;
      const mac = crypto.createHmac('sha256', JSON.stringify(key.jwk)).update(input).digest('base64url');
      return `${input}.${mac}`;
    },
    'garbage': () => 'not-a-token',
  };
  for (const [what, make] of Object.entries(refusals)) {
    it(`refused: ${what} → 401 identity_invalid`, async () => {
      const r = await invocation(agent.port, make());
      assert.equal(r.status, 401, r.body);
      assert.equal(errorOf(r).code, 'identity_invalid');
      assert.equal(r.json.output, undefined, 'the agent answered an invalid identity');
    });
  }

  it('a key published after the agent fetched the set is picked up (refetch on an unknown kid)', async () => {
    const before = issuer.fetches;
    const k2 = newKey('k2');
    const t = token({}, {}, k2);
    assert.equal((await invocation(agent.port, t)).status, 401, 'not yet published');
    issuer.keys = [key, k2];
    // Refetches are at most one a second (the kid comes from the caller).
    const ok = await waitFor(async () => (await invocation(agent.port, t)).status === 200, 5000, { interval: 300, what: 'k2 accepted' });
    assert.ok(ok);
    assert.ok(issuer.fetches > before);
    // A flood of unknown kids does not turn into a flood of fetches.
    const mark = issuer.fetches;
    await Promise.all(Array.from({ length: 30 }, (_, i) => invocation(agent.port, token({}, {}, newKey(`x${i}`)))));
    assert.ok(issuer.fetches - mark <= 2, `${issuer.fetches - mark} fetches for 30 unknown kids`);
  });

  it('a key the gateway stopped publishing stops verifying', async () => {
    const k3 = newKey('k3');
    issuer.keys = [key, k3];
    const t = token({}, {}, k3);
    await waitFor(async () => (await invocation(agent.port, t)).status === 200, 5000, { interval: 300, what: 'k3 accepted' });
    issuer.keys = [key];
    // A refetch happens on the next unknown kid; after it, k3's (cached) verification is gone too.
    await sleep(1100);
    await invocation(agent.port, token({}, {}, newKey('trigger')));
    const r = await invocation(agent.port, t);
    assert.equal(r.status, 401, r.body);
  });
});

describe('identity to agents through the real gateway', { timeout: 120000 }, () => {
  let dir;
  let gw;
  let spy;
  let demoAuth;
  let demoClient;
  const agents = {};
  const names = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

  before(async () => {
    dir = makeTempDir('portcullis-agent-identity-');
    spy = await spyRuntime();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 },
        upstream: { response_timeout_ms: 20000 },
        extraServer: { threads: 2 },
      }),
      // No --demo-agent: the gateway starts the example agent itself, told to check its tokens.
      args: ['--demo'],
    });
    const creds = await demoCredentials(gw);
    demoClient = creds.tenants.demo.client_id;
    demoAuth = bearer(await demoToken(gw));
    const adm = bearer(await adminToken(gw));
    const write = async (path, body) => {
      const r = await postJson(gw.port, path, body, { headers: adm });
      assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.body}`);
    };
    for (const name of names) {
      agents[name] = await startAgent({ args: ['--name', name, '--gateway', gw.baseUrl] });
      await write('/v1/platform/agents', { name, protocol: 'http' });
      await write(`/v1/platform/agents/${name}/versions`, { version: 'v1', endpoint: agents[name].url });
      await write(`/v1/platform/agents/${name}/versions/v1/promote`, {});
    }
    await write('/v1/platform/agents', { name: 'spy', protocol: 'http' });
    await write('/v1/platform/agents/spy/versions', { version: 'v1', endpoint: spy.url });
    await write('/v1/platform/agents/spy/versions/v1/promote', {});
    // The catalog is refreshed in the background: wait until the tenant sees every agent.
    await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: demoAuth });
      const seen = (r.json?.agents ?? []).map((a) => a.name);
      return [...names, 'spy', 'echo'].every((n) => seen.includes(n));
    }, 10000, { what: 'agents visible to tenant demo' });
  });

  after(async () => {
    if (gw) await gw.stop();
    for (const a of Object.values(agents)) await a.stop();
    if (spy) await spy.close();
    removeDir(dir);
  });

  const invoke = (name, input, headers = demoAuth) => postJson(gw.port, `/v1/agents/${name}/invoke`, { input }, { headers, timeoutMs: 30000 });
  // The runtime's output, whether the gateway relays the runtime's JSON as is or wraps it (SPEC §5).
  const outputOf = (r) => r.json?.output;

  it('--demo: the demo agent verifies the identity the gateway sends', async () => {
    const r = await invoke('echo', 'hello');
    assert.equal(r.status, 200, r.body);
    const id = outputOf(r).identity;
    assert.ok(id, `the demo agent saw no verified identity: ${r.body.slice(0, 300)}`);
    assert.equal(id.sub, demoClient);
    assert.equal(id.tenantid, 'demo');
    assert.equal(id.aud, 'agent:echo');
    assert.equal(id.iss, gw.baseUrl);
    assert.deepEqual(id.act, { sub: demoClient });
    // Called directly, without the gateway's identity, the demo agent refuses.
    const line = gw.logLines().find((l) => l.msg === 'demo agent');
    assert.ok(line?.upstream, 'the gateway logged where the demo agent listens');
    const direct = await postJson(Number(line.upstream.split(':')[1]), '/invocations', { input: 'direct' });
    assert.equal(direct.status, 401, direct.body);
  });

  it('the token the gateway signs is an ES256 JWT Node verifies against the published JWKS', async () => {
    spy.seen.length = 0;
    const r = await invoke('spy', 'peek');
    assert.equal(r.status, 200, r.body);
    const h = spy.seen.at(-1).headers;
    assert.equal(h.authorization, undefined, 'the caller\'s credentials reached the runtime');
    const t = h['x-portcullis-identity'];
    assert.ok(t, 'no X-Portcullis-Identity');
    const { header, payload } = decodeJwt(t);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    assert.equal(payload.aud, 'agent:spy');
    assert.equal(payload.iss, gw.baseUrl);
    assert.equal(payload.sub, demoClient);
    assert.equal(payload.tenantid, 'demo');
    assert.ok(payload.exp - payload.iat <= 300, 'lifetime above five minutes');
    const jwks = (await request(gw.port, { path: '/.well-known/jwks.json' })).json;
    const jwk = jwks.keys.find((k) => k.kid === header.kid);
    assert.ok(jwk, 'signed with a key the gateway does not publish');
    const [hh, pp, ss] = t.split('.');
    const ok = crypto.verify('sha256', Buffer.from(`${hh}.${pp}`), { key: crypto.createPublicKey({ key: jwk, format: 'jwk' }), dsaEncoding: 'ieee-p1363' }, Buffer.from(ss, 'base64url'));
    assert.ok(ok, 'signature does not verify');

    // Cached per I/O thread (two here): repeated calls by the same caller carry at most two tokens.
    const seen = new Set([t]);
    for (let i = 0; i < 8; i++) {
      await invoke('spy', `again ${i}`);
      seen.add(spy.seen.at(-1).headers['x-portcullis-identity']);
    }
    assert.ok(seen.size <= 2, `${seen.size} different tokens for one caller`);
    // A client-supplied X-Portcullis-Identity never replaces the gateway's.
    await invoke('spy', 'spoof', { ...demoAuth, 'x-portcullis-identity': 'forged' });
    assert.ok(seen.has(spy.seen.at(-1).headers['x-portcullis-identity']));
  });

  it('an identity for one agent is refused by another (audience)', async () => {
    const t = spy.seen.at(-1).headers['x-portcullis-identity'];
    const r = await invocation(agents.alpha.port, t);
    assert.equal(r.status, 401, r.body);
    assert.equal(errorOf(r).code, 'identity_invalid');
    assert.match(errorOf(r).message, /aud/);
  });

  it('agent → agent: the callee sees the user as subject and the nested act chain', async () => {
    const r = await invoke('alpha', { call: { agent: 'beta', input: 'from alpha' } });
    assert.equal(r.status, 200, r.body);
    const call = outputOf(r).call;
    assert.equal(call.status, 200, JSON.stringify(call));
    const beta = outputOf({ json: call.response });
    assert.equal(beta.agent, 'beta');
    assert.equal(beta.echo, 'from alpha');
    assert.equal(beta.identity.sub, demoClient, 'the subject stays the original caller');
    assert.equal(beta.identity.tenantid, 'demo');
    assert.equal(beta.identity.aud, 'agent:beta');
    assert.deepEqual(beta.identity.act, { sub: 'agent:alpha', act: { sub: demoClient } });
  });

  it('a loop (alpha → beta → alpha) is refused with 403 agent_call_refused', async () => {
    const r = await invoke('alpha', { call: { agent: 'beta', input: { call: { agent: 'alpha', input: 'back' } } } });
    assert.equal(r.status, 200, r.body);
    const beta = outputOf({ json: outputOf(r).call.response });
    assert.equal(beta.call.status, 403, JSON.stringify(beta.call));
    assert.equal(beta.call.response.error.code, 'agent_call_refused');
    assert.match(beta.call.response.error.message, /alpha/);
  });

  it('depth: the fifth agent on one path is refused (default limit 4)', async () => {
    // user → alpha → beta → gamma → delta → epsilon
    let input = 'deep';
    for (const name of ['epsilon', 'delta', 'gamma', 'beta']) input = { call: { agent: name, input } };
    const r = await invoke('alpha', input);
    assert.equal(r.status, 200, r.body);
    let out = outputOf(r);
    const path = [out.agent];
    while (out.call && out.call.status === 200) {
      out = outputOf({ json: out.call.response });
      path.push(out.agent);
    }
    assert.deepEqual(path, ['alpha', 'beta', 'gamma', 'delta']);
    assert.deepEqual(out.identity.act, {
      sub: 'agent:gamma', act: { sub: 'agent:beta', act: { sub: 'agent:alpha', act: { sub: demoClient } } },
    });
    assert.equal(out.call.status, 403, JSON.stringify(out.call));
    assert.equal(out.call.response.error.code, 'agent_call_refused');
    assert.match(out.call.response.error.message, /deep/);
  });

  it('exchange: an identity token yields a Machine.Invoke token for the same user, with the agent as actor', async () => {
    const t = spy.seen.at(-1).headers['x-portcullis-identity'];
    const r = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: t, subject_token_type: JWT_TYPE });
    assert.equal(r.status, 200, r.body);
    const { header, payload } = decodeJwt(r.json.access_token);
    assert.equal(header.typ, 'at+jwt');
    assert.equal(payload.sub, demoClient);
    assert.equal(payload.tenantid, 'demo');
    assert.equal(payload.client_id, 'agent:spy');
    assert.deepEqual(payload.roles, ['Machine.Invoke']);
    assert.deepEqual(payload.act, { sub: 'agent:spy', act: { sub: demoClient } });
    assert.ok(payload.exp <= decodeJwt(t).payload.exp, 'outlives the identity it came from');
    // It invokes agents, and nothing more: not even its own tenant's administration.
    const agentsList = await request(gw.port, { path: '/v1/agents', headers: bearer(r.json.access_token) });
    assert.equal(agentsList.status, 200, agentsList.body);
    const admin = await request(gw.port, { path: '/v1/tenants/demo/clients', headers: bearer(r.json.access_token) });
    assert.equal(admin.status, 403, admin.body);
    // Another tenant's data stays out of reach.
    const other = await request(gw.port, { path: '/v1/tenants/acme/clients', headers: bearer(r.json.access_token) });
    assert.ok(other.status === 403 || other.status === 404, `${other.status} ${other.body}`);
  });

  it('exchange refusals: forged, an access token, garbage, an actor token', async () => {
    const real = spy.seen.at(-1).headers['x-portcullis-identity'];
    const { header, payload } = decodeJwt(real);
    const forged = signEs256(newKey(header.kid).privateKey, header, payload);
    const access = (await tokenRequest(gw, { grant_type: 'client_credentials' }, {
      basic: [demoClient, (await demoCredentials(gw)).tenants.demo.client_secret],
    })).json.access_token;
    for (const [what, subject] of [['forged', forged], ['an access token', access], ['garbage', 'x.y.z']]) {
      const r = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: JWT_TYPE });
      assert.equal(r.status, 400, `${what}: ${r.body}`);
      assert.equal(r.json.error, 'invalid_grant', what);
      assert.equal(r.json.access_token, undefined);
    }
    const withActor = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: real, subject_token_type: JWT_TYPE, actor_token: real, actor_token_type: JWT_TYPE });
    assert.equal(withActor.status, 400, withActor.body);
    assert.equal(withActor.json.error, 'invalid_request');
  });

  it('without a gateway, the call knob is refused (the agent cannot prove anything)', async () => {
    const bare = await startAgent();
    try {
      const r = await postJson(bare.port, '/invocations', { input: { call: { agent: 'beta', input: 1 } } });
      assert.equal(r.status, 400, r.body);
      assert.equal(errorOf(r).code, 'invalid_request');
    } finally {
      await bare.stop();
    }
  });
});

// The example agent's runtime contract and test knobs (used by the invoke, jobs and records tests).
describe('the example agent: contract and knobs', { timeout: 30000 }, () => {
  let agent;
  before(async () => { agent = await startAgent(); });
  after(async () => { if (agent) await agent.stop(); });

  // Raw SSE read of /invocations: {status, events:[{event, data}], ended, closedEarly}.
  function sse(body, headers = {}) {
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: agent.port, method: 'POST', path: '/invocations', agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers } }, (res) => {
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (d) => { buf += d; });
        const finish = (closedEarly) => {
          const events = buf.split('\n\n').filter((b) => b.trim()).map((b) => {
            const ev = { event: 'message', data: '' };
            for (const l of b.split('\n')) {
              if (l.startsWith('event:')) ev.event = l.slice(6).trim();
              else if (l.startsWith('data:')) ev.data += l.slice(5).trim();
            }
            return ev;
          });
          resolve({ status: res.statusCode, headers: res.headers, events, closedEarly });
        };
        res.on('end', () => finish(false));
        res.on('error', () => finish(true));
        res.on('aborted', () => finish(true));
      });
      req.on('error', (e) => (e.code === 'ECONNRESET' ? resolve({ status: null, events: [], closedEarly: true }) : reject(e)));
      req.setTimeout(10000, () => req.destroy(new Error('sse timed out')));
      req.end(text);
    });
  }

  it('sync: output echoes input, session and idempotency key; usage counts are reported', async () => {
    const r = await postJson(agent.port, '/invocations', { input: { q: 'hello' }, sessionId: 's', mode: 'sync' },
      { headers: { 'x-portcullis-session-id': 'sess-9', 'idempotency-key': 'idem-1' } });
    assert.equal(r.status, 200, r.body);
    assert.deepEqual(r.json.output.echo, { q: 'hello' });
    assert.equal(r.json.output.sessionId, 'sess-9');
    assert.equal(r.json.output.idempotencyKey, 'idem-1');
    assert.equal(r.json.output.identity, null, 'no --gateway: nothing verified');
    assert.ok(r.json.usage.inputTokens > 0 && r.json.usage.outputTokens > 0);
    const bare = await postJson(agent.port, '/invocations', { input: { no_usage: true } });
    assert.equal(bare.json.usage, undefined);
  });

  it('stream: token events, then done with usage (mode stream or Accept)', async () => {
    for (const [body, headers] of [[{ input: { stream_events: 3, stream_interval_ms: 5 }, mode: 'stream' }, {}],
      [{ input: { stream_events: 3, stream_interval_ms: 5 } }, { accept: 'text/event-stream' }]]) {
      const s = await sse(body, headers);
      assert.equal(s.status, 200);
      assert.match(s.headers['content-type'], /^text\/event-stream/);
      assert.deepEqual(s.events.map((e) => e.event), ['token', 'token', 'token', 'done']);
      assert.deepEqual(JSON.parse(s.events[2].data), { index: 2, text: 'chunk 2' });
      const done = JSON.parse(s.events[3].data);
      assert.equal(done.usage.outputTokens, 3);
      assert.deepEqual(done.output.echo, body.input);
    }
  });

  it('die_after_events: the stream stops without done and the socket closes; sync closes without answering', async () => {
    const s = await sse({ input: { stream_events: 5, stream_interval_ms: 5, die_after_events: 2 }, mode: 'stream' });
    assert.equal(s.events.filter((e) => e.event === 'token').length, 2);
    assert.ok(!s.events.some((e) => e.event === 'done'));
    await assert.rejects(postJson(agent.port, '/invocations', { input: { die_after_events: 0 } }));
  });

  it('fail_status always fails; fail_times fails the first N calls of a key, then succeeds; /calls counts them', async () => {
    const f = await postJson(agent.port, '/invocations', { input: { fail_status: 500 } });
    assert.equal(f.status, 500);
    assert.equal(errorOf(f).code, 'runtime_failure');
    const key = `job-${crypto.randomUUID()}`;
    const statuses = [];
    for (let i = 0; i < 3; i++) {
      const r = await postJson(agent.port, '/invocations', { input: { fail_times: 2, fail_status: 503 } }, { headers: { 'idempotency-key': key } });
      statuses.push(r.status);
    }
    assert.deepEqual(statuses, [503, 503, 200]);
    const c = await request(agent.port, { path: `/calls?key=${encodeURIComponent(key)}` });
    assert.deepEqual(c.json, { count: 3 });
    assert.deepEqual((await request(agent.port, { path: '/calls?key=never-used' })).json, { count: 0 });
    assert.equal((await request(agent.port, { path: '/calls' })).status, 400);
  });

  it('delay_ms delays the answer', async () => {
    const t0 = Date.now();
    const r = await postJson(agent.port, '/invocations', { input: { delay_ms: 300 } });
    assert.equal(r.status, 200);
    assert.ok(Date.now() - t0 >= 280);
  });
});

describe('tokens.agent_call_max_depth', { timeout: 60000 }, () => {
  let dir;
  let gw;
  const agents = {};
  before(async () => {
    dir = makeTempDir('portcullis-agent-depth-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 5000 },
        upstream: { response_timeout_ms: 20000 },
        extra: { tokens: { agent_call_max_depth: 1 } },
      }),
      args: ['--demo'],
    });
    const adm = bearer(await adminToken(gw));
    for (const name of ['alpha', 'beta']) {
      agents[name] = await startAgent({ args: ['--name', name, '--gateway', gw.baseUrl] });
      for (const [path, body] of [['/v1/platform/agents', { name, protocol: 'http' }],
        [`/v1/platform/agents/${name}/versions`, { version: 'v1', endpoint: agents[name].url }],
        [`/v1/platform/agents/${name}/versions/v1/promote`, {}]]) {
        const r = await postJson(gw.port, path, body, { headers: adm });
        assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.body}`);
      }
    }
  });
  after(async () => {
    if (gw) await gw.stop();
    for (const a of Object.values(agents)) await a.stop();
    removeDir(dir);
  });

  it('with a depth of 1 an agent may be called, but may not call another', async () => {
    const auth = bearer(await demoToken(gw));
    const r = await waitFor(async () => {
      const x = await postJson(gw.port, '/v1/agents/alpha/invoke', { input: { call: { agent: 'beta', input: 1 } } }, { headers: auth, timeoutMs: 30000 });
      return x.status === 200 ? x : null;
    }, 10000, { what: 'alpha invocable' });
    const call = r.json.output.call;
    assert.equal(call.status, 403, JSON.stringify(call));
    assert.equal(call.response.error.code, 'agent_call_refused');
  });
});
