// Identity through the built-in issuer (SPEC §4, §5): discovery and JWKS, the OAuth token
// endpoint (client_credentials with client_secret_basic / client_secret_post, RFC 8693 token
// exchange) and its errors, route roles, tenants and clients through the admin API, self-service
// secret rotation, tenant suspension, signing-key rotation by `portcullis keys rotate` while the
// gateway runs, the identity metrics, and two gateway processes sharing one store.
import http from 'node:http';
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { createLocalJWKSet, jwtVerify } from 'jose';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, postJson, rawRequest, errorOf, waitFor,
  sleep, getMetrics, runBinary, RawConn, tokenRequest, clientToken, demoCredentials, bootstrapAdmin, adminToken,
  demoToken, bearer, decodeJwt, TOKEN_EXCHANGE, ACCESS_TOKEN_TYPE, closedPort,
} from './harness.mjs';

const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';
const DEMO_ROLES = ['Machine.Invoke', 'Agent.Invoke', 'SelfService.Admin'];
const TIER_RANK = { basic: 0, standard: 1, premium: 2 };

// An RFC 6749 §5.2 error answer of the token endpoint.
function assertOAuthError(r, status, error) {
  assert.equal(r.status, status, `expected ${status} ${error}, got ${r.status}: ${r.body}`);
  assert.match(r.headers['content-type'] ?? '', /^application\/json/);
  assert.equal(r.headers['cache-control'], 'no-store');
  assert.equal(r.json?.error, error, r.body);
  assert.equal(typeof r.json.error_description, 'string');
  assert.ok(!('access_token' in r.json));
}

// A 401 of an API route (SPEC §5 error shape plus the RFC 6750 challenge). bare: no token was sent.
function assert401(r, { bare = false, description } = {}) {
  assert.equal(r.status, 401, `expected 401, got ${r.status}: ${r.body}`);
  const e = errorOf(r);
  assert.equal(e.code, 'unauthenticated');
  assert.equal(e.requestId, r.headers['x-request-id']);
  assert.ok(Array.isArray(e.details));
  const challenge = r.headers['www-authenticate'] ?? '';
  if (bare) {
    assert.equal(challenge, 'Bearer realm="portcullis"');
  } else {
    assert.match(challenge, /^Bearer realm="portcullis", error="invalid_token", error_description="[^"]*"$/);
    if (description) assert.match(challenge, description);
  }
}

function assert403(r) {
  assert.equal(r.status, 403, `expected 403, got ${r.status}: ${r.body}`);
  const e = errorOf(r);
  assert.equal(e.code, 'forbidden');
  assert.equal(e.requestId, r.headers['x-request-id']);
}

const get = (gw, path, token) => request(gw.port, { path, headers: token ? bearer(token) : {} });
const post = (gw, path, body, token) => postJson(gw.port, path, body, { headers: token ? bearer(token) : {} });
const patch = (gw, path, body, token) => {
  const text = JSON.stringify(body);
  return request(gw.port, {
    method: 'PATCH', path, body: text,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...bearer(token) },
  });
};

// GET on a kept-alive raw connection: the verified-token cache is per I/O thread, and one
// connection stays on one thread.
async function connGet(conn, path, token) {
  await conn.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n${token ? `Authorization: Bearer ${token}\r\n` : ''}\r\n`);
  const r = await conn.readResponse({ timeoutMs: 5000 });
  assert.ok(r, `no response to GET ${path} on a kept-alive connection`);
  return r;
}

function metricValue(samples, name, labels = {}) {
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : 0;
}

describe('built-in issuer, roles and tenants', { timeout: 60000 }, () => {
  let dir;
  let gw;
  let creds;     // demo-credentials.json
  let admin;     // bootstrap-admin.json
  let adminTok;
  let jwks;

  before(async () => {
    dir = makeTempDir('portcullis-identity-');
    // The demo agent points at a closed port: these tests never invoke it.
    const agentPort = await closedPort();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_body_bytes: 16384 } }),
      args: ['--demo', '--demo-agent', `http://127.0.0.1:${agentPort}`],
    });
    creds = await demoCredentials(gw);
    admin = await bootstrapAdmin(gw);
    adminTok = await adminToken(gw);
  });

  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  async function fetchJwks() {
    const r = await request(gw.port, { path: '/.well-known/jwks.json' });
    assert.equal(r.status, 200);
    return r;
  }

  describe('discovery and keys', () => {
    it('the first-start files name working credentials (0600 mode is checked by lifecycle tests)', async () => {
      assert.equal(typeof creds.token_url, 'string');
      assert.equal(creds.token_url, `${gw.baseUrl}/oauth2/token`);
      for (const t of ['demo', 'acme']) {
        assert.equal(typeof creds.tenants[t]?.client_id, 'string', `demo-credentials.json: ${t}`);
        assert.equal(typeof creds.tenants[t]?.client_secret, 'string');
      }
      assert.equal(typeof admin.client_id, 'string');
      assert.equal(typeof admin.client_secret, 'string');
    });

    it('bootstrap-admin.json token_url is the token endpoint', async () => {
      assert.equal(admin.token_url, `${gw.baseUrl}/oauth2/token`);
    });

    it('OpenID and OAuth metadata name the issuer, token endpoint, JWKS, grants and auth methods', async () => {
      for (const p of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
        const r = await request(gw.port, { path: p });
        assert.equal(r.status, 200, `${p}: ${r.body}`);
        assert.match(r.headers['content-type'] ?? '', /^application\/json/);
        const m = r.json;
        assert.equal(m.issuer, gw.baseUrl, p);
        assert.equal(m.token_endpoint, `${gw.baseUrl}/oauth2/token`);
        assert.equal(m.jwks_uri, `${gw.baseUrl}/.well-known/jwks.json`);
        assert.ok(m.grant_types_supported.includes('client_credentials'));
        assert.ok(m.grant_types_supported.includes(TOKEN_EXCHANGE));
        assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
        assert.ok(m.token_endpoint_auth_methods_supported.includes('client_secret_post'));
      }
    });

    it('the JWKS publishes ES256 public keys only', async () => {
      const r = await fetchJwks();
      assert.match(r.headers['content-type'] ?? '', /^application\/jwk-set\+json/);
      assert.ok(Array.isArray(r.json.keys) && r.json.keys.length >= 1);
      for (const k of r.json.keys) {
        assert.equal(k.kty, 'EC');
        assert.equal(k.crv, 'P-256');
        assert.equal(k.alg, 'ES256');
        assert.equal(typeof k.kid, 'string');
        assert.ok(k.kid.length > 0);
        for (const priv of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.ok(!(priv in k), `private member ${priv} published`);
      }
      jwks = r.json;
    });
  });

  describe('client_credentials', () => {
    it('client_secret_basic: the access token verifies with jose against the JWKS and carries the claims', async () => {
      const c = creds.tenants.demo;
      const t0 = Math.floor(Date.now() / 1000);
      const r = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [c.client_id, c.client_secret] });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.match(r.headers['content-type'] ?? '', /^application\/json/);
      assert.equal(r.json.token_type, 'Bearer');
      assert.equal(r.json.expires_in, 900);
      assert.equal(r.json.scope, 'agents:invoke mcp:tools');
      const jwt = r.json.access_token;

      const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet(jwks ?? (await fetchJwks()).json), {
        issuer: gw.baseUrl,
        audience: gw.baseUrl,
        typ: 'at+jwt',
        algorithms: ['ES256'],
      });
      assert.deepEqual(Object.keys(protectedHeader).sort(), ['alg', 'kid', 'typ']);
      assert.equal(protectedHeader.typ, 'at+jwt');
      assert.equal(protectedHeader.alg, 'ES256');
      assert.equal(payload.iss, gw.baseUrl);
      assert.equal(payload.sub, c.client_id);
      assert.equal(payload.client_id, c.client_id);
      assert.equal(payload.tenantid, 'demo');
      assert.equal(typeof payload.appid, 'string');
      assert.ok(payload.appid.length > 0);
      assert.deepEqual([...payload.roles].sort(), [...DEMO_ROLES].sort());
      assert.equal(payload.scope, 'agents:invoke mcp:tools');
      assert.ok(payload.aud === gw.baseUrl || (Array.isArray(payload.aud) && payload.aud.includes(gw.baseUrl)));
      assert.ok(Math.abs(payload.iat - t0) <= 5, `iat ${payload.iat} vs now ${t0}`);
      assert.ok(payload.nbf <= payload.iat);
      assert.equal(payload.exp - payload.iat, 900);
      assert.match(payload.jti, /^[\w-]{16,}$/);
      assert.equal(payload.act, undefined);
    });

    it('client_secret_post works too; every token has its own jti', async () => {
      const c = creds.tenants.acme;
      const jtis = new Set();
      for (let i = 0; i < 3; i++) {
        const r = await tokenRequest(gw, { grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret });
        assert.equal(r.status, 200, r.body);
        const { payload } = decodeJwt(r.json.access_token);
        assert.equal(payload.tenantid, 'acme');
        assert.equal(payload.client_id, c.client_id);
        jtis.add(payload.jti);
      }
      assert.equal(jtis.size, 3);
    });

    // [name, params, options(creds) → tokenRequest options, status, error, extra check]
    const cases = [
      ['wrong secret (Basic) → 401 invalid_client with a Basic challenge', (c) => [{ grant_type: 'client_credentials' }, { basic: [c.client_id, `${c.client_secret}x`] }], 401, 'invalid_client', 'basic'],
      ['unknown client (Basic) → 401 invalid_client with a Basic challenge', () => [{ grant_type: 'client_credentials' }, { basic: ['no-such-client', 'whatever'] }], 401, 'invalid_client', 'basic'],
      ['wrong secret (post) → 401 invalid_client', (c) => [{ grant_type: 'client_credentials', client_id: c.client_id, client_secret: 'nope' }, {}], 401, 'invalid_client'],
      ['unknown client (post) → 401 invalid_client', () => [{ grant_type: 'client_credentials', client_id: 'no-such-client', client_secret: 'nope' }, {}], 401, 'invalid_client'],
      ['no client authentication → 401 invalid_client', () => [{ grant_type: 'client_credentials' }, {}], 401, 'invalid_client'],
      ['empty secret → 401 invalid_client', (c) => [{ grant_type: 'client_credentials' }, { basic: [c.client_id, ''] }], 401, 'invalid_client'],
      ['missing grant_type → 400 invalid_request', (c) => [{}, { basic: [c.client_id, c.client_secret] }], 400, 'invalid_request'],
      ['grant_type password → 400 unsupported_grant_type', (c) => [{ grant_type: 'password', username: 'u', password: 'p' }, { basic: [c.client_id, c.client_secret] }], 400, 'unsupported_grant_type'],
      ['grant_type authorization_code → 400 unsupported_grant_type', (c) => [{ grant_type: 'authorization_code', code: 'x' }, { basic: [c.client_id, c.client_secret] }], 400, 'unsupported_grant_type'],
      ['JSON body → 400 invalid_request', (c) => [{}, { basic: [c.client_id, c.client_secret], contentType: 'application/json', body: '{"grant_type":"client_credentials"}' }], 400, 'invalid_request'],
      ['repeated grant_type → 400 invalid_request', (c) => [[['grant_type', 'client_credentials'], ['grant_type', 'client_credentials']], { basic: [c.client_id, c.client_secret] }], 400, 'invalid_request'],
      ['repeated scope → 400 invalid_request', (c) => [[['grant_type', 'client_credentials'], ['scope', 'agents:invoke'], ['scope', 'mcp:tools']], { basic: [c.client_id, c.client_secret] }], 400, 'invalid_request'],
      ['Basic and client_secret_post at once → 400 invalid_request', (c) => [{ grant_type: 'client_credentials', client_id: c.client_id, client_secret: c.client_secret }, { basic: [c.client_id, c.client_secret] }], 400, 'invalid_request'],
      ['scope outside the client\'s scopes → 400 invalid_scope', (c) => [{ grant_type: 'client_credentials', scope: 'agents:invoke admin:all' }, { basic: [c.client_id, c.client_secret] }], 400, 'invalid_scope'],
      ['audience not served here → 400 invalid_target', (c) => [{ grant_type: 'client_credentials', audience: 'https://elsewhere.example' }, { basic: [c.client_id, c.client_secret] }], 400, 'invalid_target'],
      ['resource not served here → 400 invalid_target', (c) => [{ grant_type: 'client_credentials', resource: 'https://elsewhere.example/api' }, { basic: [c.client_id, c.client_secret] }], 400, 'invalid_target'],
    ];
    for (const [name, make, status, error, challenge] of cases) {
      it(`token endpoint: ${name}`, async () => {
        const [params, opts] = make(creds.tenants.demo);
        const r = await tokenRequest(gw, params, opts);
        assertOAuthError(r, status, error);
        if (challenge === 'basic') assert.equal(r.headers['www-authenticate'], 'Basic realm="portcullis"');
      });
    }

    it('token endpoint: GET is not allowed', async () => {
      const r = await request(gw.port, { path: '/oauth2/token' });
      assert.equal(r.status, 405, r.body);
    });

    it('scope narrowing: a subset is granted, the token and the answer say so', async () => {
      const c = creds.tenants.demo;
      const r = await tokenRequest(gw, { grant_type: 'client_credentials', scope: 'agents:invoke' }, { basic: [c.client_id, c.client_secret] });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.scope, 'agents:invoke');
      assert.equal(decodeJwt(r.json.access_token).payload.scope, 'agents:invoke');
    });

    it('client_secret_basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1)', async () => {
      const c = creds.tenants.demo;
      const pct = (x) => x.replace(/-/g, '%2D');
      const auth = `Basic ${Buffer.from(`${pct(c.client_id)}:${pct(c.client_secret)}`).toString('base64')}`;
      const r = await tokenRequest(gw, { grant_type: 'client_credentials' }, { headers: { authorization: auth } });
      assert.equal(r.status, 200, r.body);
    });

    it('token endpoint: a form body with a charset parameter or upper-case media type is accepted', async () => {
      const c = creds.tenants.demo;
      for (const contentType of ['application/x-www-form-urlencoded; charset=UTF-8', 'Application/X-WWW-Form-Urlencoded']) {
        const r = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [c.client_id, c.client_secret], contentType });
        assert.equal(r.status, 200, `${contentType}: ${r.body}`);
      }
      assertOAuthError(await tokenRequest(gw, null, { body: 'grant_type=client_credentials&x=%zz', basic: [c.client_id, c.client_secret] }), 400, 'invalid_request');
      assertOAuthError(await tokenRequest(gw, { grant_type: 'client_credentials' }, { headers: { authorization: 'Basic !!!' } }), 401, 'invalid_client');
    });

    it('audience = the issuer (the one served) is accepted', async () => {
      const c = creds.tenants.demo;
      const r = await tokenRequest(gw, { grant_type: 'client_credentials', audience: gw.baseUrl }, { basic: [c.client_id, c.client_secret] });
      assert.equal(r.status, 200, r.body);
      assert.equal(decodeJwt(r.json.access_token).payload.aud, gw.baseUrl);
    });
  });

  describe('token exchange (RFC 8693)', () => {
    it('the demo client exchanges its tenant\'s token: sub kept, act added, scope narrowed, exp capped', async () => {
      const c = creds.tenants.demo;
      const subject = await clientToken(gw, c.client_id, c.client_secret);
      const sp = decodeJwt(subject).payload;
      // A second later a fresh token would expire later than the subject: the result must not.
      await sleep(1100);
      const r = await tokenRequest(gw, {
        grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE, scope: 'agents:invoke',
      }, { basic: [c.client_id, c.client_secret] });
      assert.equal(r.status, 200, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.equal(r.json.token_type, 'Bearer');
      assert.equal(r.json.issued_token_type, ACCESS_TOKEN_TYPE);
      assert.equal(r.json.scope, 'agents:invoke');
      const { header, payload } = decodeJwt(r.json.access_token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(payload.iss, gw.baseUrl);
      assert.equal(payload.sub, sp.sub);
      assert.deepEqual(payload.act, { sub: c.client_id });
      assert.equal(payload.tenantid, 'demo');
      assert.equal(payload.appid, sp.appid);
      assert.deepEqual(payload.roles, sp.roles);
      assert.equal(payload.scope, 'agents:invoke');
      assert.ok(payload.exp <= sp.exp, `exchanged exp ${payload.exp} outlives the subject's ${sp.exp}`);
      assert.notEqual(payload.jti, sp.jti);
      assert.ok(r.json.expires_in <= 900 && r.json.expires_in >= 890, `expires_in ${r.json.expires_in}`);
      // The exchanged token verifies and is accepted by the API.
      await jwtVerify(r.json.access_token, createLocalJWKSet((await fetchJwks()).json), { issuer: gw.baseUrl, audience: gw.baseUrl, typ: 'at+jwt' });
      assert.equal((await get(gw, '/v1/agents', r.json.access_token)).status, 200);

      // Exchanging the exchanged token nests the actor (RFC 8693 §4.1), with the jwt token type.
      const r2 = await tokenRequest(gw, {
        grant_type: TOKEN_EXCHANGE, subject_token: r.json.access_token, subject_token_type: JWT_TOKEN_TYPE,
      }, { basic: [c.client_id, c.client_secret] });
      assert.equal(r2.status, 200, r2.body);
      const p2 = decodeJwt(r2.json.access_token).payload;
      assert.equal(p2.sub, sp.sub);
      assert.deepEqual(p2.act, { sub: c.client_id, act: { sub: c.client_id } });
      assert.equal(p2.scope, 'agents:invoke', 'no scope requested: the subject\'s (narrowed) scope');
      assert.ok(p2.exp <= payload.exp);
    });

    it('a third exchange keeps the whole delegation chain in act (RFC 8693 §4.1)', async () => {
      const c = creds.tenants.demo;
      const basic = [c.client_id, c.client_secret];
      let tok = await clientToken(gw, c.client_id, c.client_secret);
      for (let i = 0; i < 3; i++) {
        const r = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: tok, subject_token_type: ACCESS_TOKEN_TYPE }, { basic });
        assert.equal(r.status, 200, r.body);
        tok = r.json.access_token;
      }
      assert.deepEqual(decodeJwt(tok).payload.act, { sub: c.client_id, act: { sub: c.client_id, act: { sub: c.client_id } } });
    });

    it('refusals: widened scope, other tenant, platform, garbage, missing or wrong subject_token_type', async () => {
      const c = creds.tenants.demo;
      const subject = await clientToken(gw, c.client_id, c.client_secret, { scope: 'agents:invoke' });
      const acmeTok = await demoToken(gw, 'acme');
      const basic = [c.client_id, c.client_secret];
      const ex = (params) => tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token_type: ACCESS_TOKEN_TYPE, ...params }, { basic });

      assertOAuthError(await ex({ subject_token: subject, scope: 'agents:invoke mcp:tools' }), 400, 'invalid_scope');
      assertOAuthError(await ex({ subject_token: acmeTok }), 400, 'invalid_grant');
      assertOAuthError(await ex({ subject_token: adminTok }), 400, 'invalid_grant');
      assertOAuthError(await ex({ subject_token: 'garbage' }), 400, 'invalid_grant');
      // A token whose signature was tampered with.
      const [h, p, s] = subject.split('.');
      const flipped = `${h}.${p}.${s[0] === 'A' ? 'B' : 'A'}${s.slice(1)}`;
      assertOAuthError(await ex({ subject_token: flipped }), 400, 'invalid_grant');
      assertOAuthError(await ex({ subject_token: undefined }), 400, 'invalid_request');
      assertOAuthError(await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: subject }, { basic }), 400, 'invalid_request');
      assertOAuthError(await ex({ subject_token: subject, subject_token_type: 'urn:ietf:params:oauth:token-type:id_token' }), 400, 'invalid_request');
      // A wrong client secret is still invalid_client, whatever the grant.
      assertOAuthError(await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE }, { basic: [c.client_id, 'bad'] }), 401, 'invalid_client');
    });

    it('a client without the token-exchange grant → 400 unauthorized_client', async () => {
      const r = await post(gw, '/v1/tenants/demo/clients', { name: 'cc-only', roles: ['Agent.Invoke'], scopes: ['agents:invoke'], grantTypes: ['client_credentials'] }, adminTok);
      assert.equal(r.status, 201, r.body);
      assert.deepEqual(r.json.grantTypes, ['client_credentials']);
      const own = await clientToken(gw, r.json.clientId, r.json.clientSecret);
      const x = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: own, subject_token_type: ACCESS_TOKEN_TYPE }, { basic: [r.json.clientId, r.json.clientSecret] });
      assertOAuthError(x, 400, 'unauthorized_client');
    });

    it('a Machine.Invoke client cannot obtain SelfService.Admin from a token that has it (roles are intersected)', async () => {
      const r = await post(gw, '/v1/tenants/demo/clients', { name: 'machine-x', roles: ['Machine.Invoke'], scopes: ['agents:invoke'], grantTypes: [TOKEN_EXCHANGE] }, adminTok);
      assert.equal(r.status, 201, r.body);
      const c = creds.tenants.demo;
      const subject = await clientToken(gw, c.client_id, c.client_secret);
      assert.ok(decodeJwt(subject).payload.roles.includes('SelfService.Admin'));
      const x = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: ACCESS_TOKEN_TYPE }, { basic: [r.json.clientId, r.json.clientSecret] });
      assert.equal(x.status, 200, x.body);
      assert.deepEqual(decodeJwt(x.json.access_token).payload.roles, ['Machine.Invoke']);
      // The self-service route the subject could use is closed to the exchanged token.
      const rotate = await post(gw, `/v1/tenants/demo/clients/${r.json.clientId}/rotate`, {}, x.json.access_token);
      assert403(rotate);
    });
  });

  describe('route roles', () => {
    it('no token → 401 with the bare Bearer challenge', async () => {
      for (const [method, path] of [['GET', '/v1/agents'], ['GET', '/v1/agents/echo'], ['POST', '/v1/agents/echo/invoke'], ['GET', '/v1/tenants'], ['POST', '/v1/tenants']]) {
        const r = await request(gw.port, { method, path, headers: { 'content-type': 'application/json' }, body: method === 'POST' ? '{}' : undefined });
        assert401(r, { bare: true });
      }
      // Another scheme is no bearer token either.
      assert401(await request(gw.port, { path: '/v1/agents', headers: { authorization: 'Basic dXNlcjpwYXNz' } }), { bare: true });
    });

    it('invalid tokens → 401 invalid_token', async () => {
      const demo = await demoToken(gw);
      const [h, p, s] = demo.split('.');
      const claims = decodeJwt(demo).payload;
      const bad = {
        garbage: 'garbage',
        'two parts': `${h}.${p}`,
        'tampered payload': `${h}.${Buffer.from(JSON.stringify({ ...claims, tenantid: 'acme' })).toString('base64url')}.${s}`,
        'bad signature': `${h}.${p}.${Buffer.alloc(64, 7).toString('base64url')}`,
        'alg none': `${Buffer.from(JSON.stringify({ typ: 'at+jwt', alg: 'none' })).toString('base64url')}.${p}.`,
      };
      for (const [what, tok] of Object.entries(bad)) {
        const r = await get(gw, '/v1/agents', tok);
        assert.equal(r.status, 401, `${what}: ${r.status} ${r.body}`);
        assert401(r);
      }
      assert.equal((await get(gw, '/v1/agents', demo)).status, 200, 'the untouched token works (control)');
    });

    it('two Authorization headers → 401', async () => {
      const demo = await demoToken(gw);
      const r = await rawRequest(gw.port, `GET /v1/agents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${demo}\r\nAuthorization: Bearer ${demo}\r\nConnection: close\r\n\r\n`);
      assert401(r);
    });

    it('the bearer scheme name is case-insensitive (RFC 7235)', async () => {
      const demo = await demoToken(gw);
      const r = await request(gw.port, { path: '/v1/agents', headers: { authorization: `bearer ${demo}` } });
      assert.equal(r.status, 200, r.body);
    });

    it('a tenant token lists its agents; unknown agent → 404', async () => {
      const demo = await demoToken(gw);
      const r = await get(gw, '/v1/agents', demo);
      assert.equal(r.status, 200, r.body);
      assert.ok(Array.isArray(r.json.agents));
      assert.ok('nextCursor' in r.json);
      const echo = r.json.agents.find((a) => a.name === 'echo');
      assert.ok(echo, `echo missing: ${r.body}`);
      assert.equal(echo.tierMinimum, 'basic');
      for (const k of ['description', 'protocol', 'version']) assert.ok(k in echo, `${k} missing`);
      const one = await get(gw, '/v1/agents/echo', demo);
      assert.equal(one.status, 200, one.body);
      assert.equal(one.json.name, 'echo');
      const none = await get(gw, '/v1/agents/no-such-agent', demo);
      assert.equal(none.status, 404);
      assert.equal(errorOf(none).code, 'not_found');
    });

    it('a tenant token on the admin API → 403', async () => {
      const demo = await demoToken(gw);
      assert403(await get(gw, '/v1/tenants', demo));
      assert403(await get(gw, '/v1/tenants/demo', demo));
      assert403(await post(gw, '/v1/tenants', { tenantId: 'by-tenant', tier: 'basic' }, demo));
      assert403(await patch(gw, '/v1/tenants/demo', { tier: 'premium' }, demo));
      assert403(await post(gw, '/v1/tenants/demo/clients', { name: 'x', roles: ['Agent.Invoke'] }, demo));
    });

    it('a platform admin token on tenant routes → 403', async () => {
      assert403(await get(gw, '/v1/agents', adminTok));
      assert403(await get(gw, '/v1/agents/echo', adminTok));
      assert403(await post(gw, '/v1/agents/echo/invoke', { input: 'x' }, adminTok));
    });

    it('a Platform.Operator reads the admin API but may not write', async () => {
      const r = await post(gw, '/v1/tenants/platform/clients', { name: 'operator', roles: ['Platform.Operator'] }, adminTok);
      assert.equal(r.status, 201, r.body);
      const op = await clientToken(gw, r.json.clientId, r.json.clientSecret);
      assert.equal(decodeJwt(op).payload.tenantid, 'platform');
      assert.equal((await get(gw, '/v1/tenants', op)).status, 200);
      assert.equal((await get(gw, '/v1/tenants/demo', op)).status, 200);
      assert.equal((await get(gw, '/v1/tenants/demo/clients', op)).status, 200);
      assert403(await post(gw, '/v1/tenants', { tenantId: 'by-operator', tier: 'basic' }, op));
      assert403(await patch(gw, '/v1/tenants/demo', { status: 'suspended' }, op));
      assert403(await post(gw, '/v1/tenants/demo/clients', { name: 'x', roles: ['Agent.Invoke'] }, op));
      assert403(await post(gw, `/v1/tenants/demo/clients/${creds.tenants.demo.client_id}/rotate`, {}, op));
      assert403(await get(gw, '/v1/agents', op));
      // Tenant roles cannot be given to a platform client.
      assert.equal((await post(gw, '/v1/tenants/platform/clients', { name: 'mixed', roles: ['Platform.Admin', 'Agent.Invoke'] }, adminTok)).status, 400);
    });

    it('Platform roles cannot be given to a tenant client', async () => {
      const r = await post(gw, '/v1/tenants/demo/clients', { name: 'sneaky', roles: ['Platform.Admin', 'Agent.Invoke'] }, adminTok);
      assert.equal(r.status, 400, r.body);
      const r2 = await post(gw, '/v1/tenants/demo/clients', { name: 'weird', roles: ['Root'] }, adminTok);
      assert.equal(r2.status, 400, r2.body);
    });

    it('a client with only Agent.Invoke may invoke-list but not self-service', async () => {
      const r = await post(gw, '/v1/tenants/demo/clients', { name: 'invoker', roles: ['Agent.Invoke'] }, adminTok);
      assert.equal(r.status, 201, r.body);
      const tok = await clientToken(gw, r.json.clientId, r.json.clientSecret);
      assert.equal((await get(gw, '/v1/agents', tok)).status, 200);
      assert403(await post(gw, `/v1/tenants/demo/clients/${r.json.clientId}/rotate`, {}, tok));
    });
  });

  describe('tenants and clients through the admin API', () => {
    const tid = `it-${Date.now().toString(36)}`;
    let client;

    it('admin creates a tenant; duplicates, bad ids, reserved ids and unknown tiers are refused', async () => {
      const r = await post(gw, '/v1/tenants', { tenantId: tid, displayName: 'IT Tenant', tier: 'basic' }, adminTok);
      assert.equal(r.status, 201, r.body);
      assert.equal(r.json.tenantId, tid);
      assert.equal(r.json.displayName, 'IT Tenant');
      assert.equal(r.json.tier, 'basic');
      assert.equal(r.json.status, 'active');
      assert.ok(!Number.isNaN(Date.parse(r.json.createdAt)), `createdAt ${r.json.createdAt}`);

      const dup = await post(gw, '/v1/tenants', { tenantId: tid, tier: 'basic' }, adminTok);
      assert.equal(dup.status, 409, dup.body);
      assert.equal(errorOf(dup).code, 'conflict');
      for (const bad of [{ tenantId: 'Bad_Id', tier: 'basic' }, { tenantId: 'a', tier: 'basic' }, { tenantId: 'x'.repeat(40), tier: 'basic' },
        { tenantId: 'platform', tier: 'basic' }, { tenantId: 'admin', tier: 'basic' }, { tenantId: 'okay-id', tier: 'gold' }, { tier: 'basic' }]) {
        const x = await post(gw, '/v1/tenants', bad, adminTok);
        assert.equal(x.status, 400, `${JSON.stringify(bad)} → ${x.status} ${x.body}`);
      }
      const one = await get(gw, `/v1/tenants/${tid}`, adminTok);
      assert.equal(one.status, 200);
      assert.equal(one.json.tier, 'basic');
      assert.equal((await get(gw, '/v1/tenants/no-such-tenant', adminTok)).status, 404);
    });

    it('GET /v1/tenants pages with limit and cursor', async () => {
      const seen = [];
      let cursor = null;
      for (let i = 0; i < 20; i++) {
        const r = await get(gw, `/v1/tenants?limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, adminTok);
        assert.equal(r.status, 200, r.body);
        assert.ok(r.json.tenants.length <= 1);
        seen.push(...r.json.tenants.map((t) => t.tenantId));
        cursor = r.json.nextCursor;
        if (!cursor) break;
      }
      for (const t of ['demo', 'acme', tid]) assert.ok(seen.includes(t), `${t} not listed: ${seen}`);
      assert.equal(new Set(seen).size, seen.length, `a tenant was listed twice: ${seen}`);
      assert.ok(!seen.includes('platform'));
    });

    it('admin creates a client; it gets a token and sees its tier-filtered agents', async () => {
      const r = await post(gw, `/v1/tenants/${tid}/clients`, { name: 'worker', roles: ['Agent.Invoke', 'SelfService.Admin'], scopes: ['agents:invoke'] }, adminTok);
      assert.equal(r.status, 201, r.body);
      client = r.json;
      assert.equal(typeof client.clientId, 'string');
      assert.equal(typeof client.clientSecret, 'string');
      assert.deepEqual([...client.roles].sort(), ['Agent.Invoke', 'SelfService.Admin']);

      const list = await get(gw, `/v1/tenants/${tid}/clients`, adminTok);
      assert.equal(list.status, 200, list.body);
      const listed = list.json.clients.find((x) => x.clientId === client.clientId);
      assert.ok(listed, list.body);
      assert.ok(!list.body.includes(client.clientSecret), 'the secret is shown once only');
      assert.equal((await post(gw, '/v1/tenants/no-such-tenant/clients', { name: 'x', roles: ['Agent.Invoke'] }, adminTok)).status, 404);

      const tok = await clientToken(gw, client.clientId, client.clientSecret);
      const p = decodeJwt(tok).payload;
      assert.equal(p.tenantid, tid);
      assert.equal(p.client_id, client.clientId);
      assert.equal(p.scope, 'agents:invoke');
      const agents = await get(gw, '/v1/agents', tok);
      assert.equal(agents.status, 200, agents.body);
      assert.ok(agents.json.agents.some((a) => a.name === 'echo'), 'echo (tierMinimum basic) is visible to a basic tenant');
      for (const a of agents.json.agents) {
        assert.ok(TIER_RANK[a.tierMinimum] <= TIER_RANK.basic, `agent ${a.name} (tierMinimum ${a.tierMinimum}) listed for a basic tenant`);
      }
      assert403(await get(gw, '/v1/tenants', tok));
    });

    it('self-service rotate: own tenant OK, old secret refused, other tenant 403, other tenant\'s client id 403 (a violation)', async () => {
      const tok = await clientToken(gw, client.clientId, client.clientSecret);
      const r = await post(gw, `/v1/tenants/${tid}/clients/${client.clientId}/rotate`, {}, tok);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.clientId, client.clientId);
      assert.equal(typeof r.json.clientSecret, 'string');
      assert.notEqual(r.json.clientSecret, client.clientSecret);

      assertOAuthError(await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [client.clientId, client.clientSecret] }), 401, 'invalid_client');
      const fresh = await clientToken(gw, client.clientId, r.json.clientSecret);
      assert.equal((await get(gw, '/v1/agents', fresh)).status, 200);
      client = { ...client, clientSecret: r.json.clientSecret };

      const acme = creds.tenants.acme.client_id;
      assert403(await post(gw, `/v1/tenants/acme/clients/${acme}/rotate`, {}, fresh));
      // SPEC §6: touching another tenant's row through one's own tenant is a tenant-access
      // violation: 403 (and an audit event, checked in tenancy.test.mjs).
      const cross = await post(gw, `/v1/tenants/${tid}/clients/${acme}/rotate`, {}, fresh);
      assert.equal(cross.status, 403, cross.body);
      // The acme client was not touched.
      await demoToken(gw, 'acme');

      // The platform admin may rotate any tenant's client.
      const byAdmin = await post(gw, `/v1/tenants/${tid}/clients/${client.clientId}/rotate`, {}, adminTok);
      assert.equal(byAdmin.status, 200, byAdmin.body);
      client = { ...client, clientSecret: byAdmin.json.clientSecret };
      await clientToken(gw, client.clientId, client.clientSecret);
    });

    it('suspending a tenant refuses its (cached) tokens at once; reactivating restores them', async () => {
      const tok = await clientToken(gw, client.clientId, client.clientSecret);
      const conn = await RawConn.connect(gw.port);
      try {
        // On one connection, so the token sits in that I/O thread's verified-token cache.
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);

        const s = await patch(gw, `/v1/tenants/${tid}`, { status: 'suspended' }, adminTok);
        assert.equal(s.status, 200, s.body);
        assert.equal(s.json.status, 'suspended');
        assert401(await connGet(conn, '/v1/agents', tok), { description: /tenant is suspended/ });
        assert401(await get(gw, '/v1/agents', tok), { description: /tenant is suspended/ });
        assertOAuthError(await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [client.clientId, client.clientSecret] }), 400, 'unauthorized_client');
        // Other tenants are unaffected.
        assert.equal((await get(gw, '/v1/agents', await demoToken(gw))).status, 200);

        const bad = await patch(gw, `/v1/tenants/${tid}`, { status: 'deleted-ish' }, adminTok);
        assert.equal(bad.status, 400, bad.body);

        const a = await patch(gw, `/v1/tenants/${tid}`, { status: 'active' }, adminTok);
        assert.equal(a.status, 200, a.body);
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
        assert.equal((await get(gw, '/v1/agents', tok)).status, 200);
        await clientToken(gw, client.clientId, client.clientSecret);
      } finally {
        conn.destroy();
      }
    });

    it('PATCH changes tier and display name', async () => {
      const r = await patch(gw, `/v1/tenants/${tid}`, { tier: 'premium', displayName: 'Renamed' }, adminTok);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.json.tier, 'premium');
      assert.equal(r.json.displayName, 'Renamed');
      assert.equal((await get(gw, `/v1/tenants/${tid}`, adminTok)).json.tier, 'premium');
    });
  });

  describe('disabling and deleting a client (issue 8 item 20)', () => {
    const del = (path, token) => request(gw.port, { method: 'DELETE', path, headers: bearer(token) });
    let victim;  // a demo-tenant client

    before(async () => {
      const r = await post(gw, '/v1/tenants/demo/clients', { name: 'victim', roles: ['Agent.Invoke'] }, adminTok);
      assert.equal(r.status, 201, r.body);
      victim = r.json;
    });

    it('another tenant\'s SelfService.Admin cannot disable or delete our client (403, a violation); it still works', async () => {
      const acmeTok = await demoToken(gw, 'acme');
      const tok = await clientToken(gw, victim.clientId, victim.clientSecret);
      const before = (await getMetrics(gw.port)).samples.filter((x) => x.name === 'portcullis_tenant_access_violations_total').reduce((a, x) => a + x.value, 0);
      assert403(await del(`/v1/tenants/demo/clients/${victim.clientId}`, acmeTok));
      assert403(await patch(gw, `/v1/tenants/demo/clients/${victim.clientId}`, { enabled: false }, acmeTok));
      // Through acme's own path: the row is demo's, a tenant-access violation.
      assert403(await del(`/v1/tenants/acme/clients/${victim.clientId}`, acmeTok));
      assert403(await patch(gw, `/v1/tenants/acme/clients/${victim.clientId}`, { enabled: false }, acmeTok));
      const after = (await getMetrics(gw.port)).samples.filter((x) => x.name === 'portcullis_tenant_access_violations_total').reduce((a, x) => a + x.value, 0);
      assert.ok(after >= before + 2, `violations ${before} -> ${after}`);
      assert.equal((await get(gw, '/v1/agents', tok)).status, 200);
      await clientToken(gw, victim.clientId, victim.clientSecret);
    });

    it('disable: the client\'s cached token is refused at once and it gets no new one; enable restores both', async () => {
      const tok = await clientToken(gw, victim.clientId, victim.clientSecret);
      const selfAdmin = await demoToken(gw, 'demo');
      const conn = await RawConn.connect(gw.port);
      try {
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
        for (const bad of [{}, { enabled: 'no' }, { enabled: false, extra: 1 }]) {
          assert.equal((await patch(gw, `/v1/tenants/demo/clients/${victim.clientId}`, bad, selfAdmin)).status, 400, JSON.stringify(bad));
        }
        const d = await patch(gw, `/v1/tenants/demo/clients/${victim.clientId}`, { enabled: false }, selfAdmin);
        assert.equal(d.status, 200, d.body);
        assert.equal(d.json.clientId, victim.clientId);
        assert.equal(d.json.status, 'disabled');
        assert401(await connGet(conn, '/v1/agents', tok), { description: /client is disabled or deleted/ });
        assert401(await get(gw, '/v1/agents', tok));
        assertOAuthError(await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [victim.clientId, victim.clientSecret] }), 401, 'invalid_client');

        const e = await patch(gw, `/v1/tenants/demo/clients/${victim.clientId}`, { enabled: true }, adminTok);
        assert.equal(e.status, 200, e.body);
        assert.equal(e.json.status, 'active');
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
        await clientToken(gw, victim.clientId, victim.clientSecret);
      } finally {
        conn.destroy();
      }
    });

    it('delete: 204, the still-valid token is refused at once, no new token, gone from the list, audited', async () => {
      const tok = await clientToken(gw, victim.clientId, victim.clientSecret);
      const conn = await RawConn.connect(gw.port);
      try {
        assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
        const r = await del(`/v1/tenants/demo/clients/${victim.clientId}`, await demoToken(gw, 'demo'));
        assert.equal(r.status, 204, r.body);
        assert401(await connGet(conn, '/v1/agents', tok), { description: /client is disabled or deleted/ });
        assert401(await get(gw, '/v1/agents', tok));
      } finally {
        conn.destroy();
      }
      assertOAuthError(await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [victim.clientId, victim.clientSecret] }), 401, 'invalid_client');
      const list = await get(gw, '/v1/tenants/demo/clients', adminTok);
      assert.ok(!list.json.clients.some((c) => c.clientId === victim.clientId), list.body);
      // Gone for good: a second delete, a re-enable and a rotate are 404.
      assert.equal((await del(`/v1/tenants/demo/clients/${victim.clientId}`, adminTok)).status, 404);
      assert.equal((await patch(gw, `/v1/tenants/demo/clients/${victim.clientId}`, { enabled: true }, adminTok)).status, 404);
      assert.equal((await post(gw, `/v1/tenants/demo/clients/${victim.clientId}/rotate`, {}, adminTok)).status, 404);
      const audit = await get(gw, '/v1/platform/audit?limit=1000&action=client.delete', adminTok);
      assert.ok(audit.json.events.some((ev) => ev.resource === `client/${victim.clientId}`), audit.body);
      const dis = await get(gw, '/v1/platform/audit?limit=1000&action=client.disable', adminTok);
      assert.ok(dis.json.events.some((ev) => ev.resource === `client/${victim.clientId}`), dis.body);
    });
  });

  describe('token endpoint audit (issue 8 item 19)', () => {
    async function auditEvents(query) {
      const r = await get(gw, `/v1/platform/audit?limit=1000&${query}`, adminTok);
      assert.equal(r.status, 200, r.body);
      return r.json.events;
    }

    it('issuance, exchange and refusals are audited, in the client\'s tenant', async () => {
      const c = creds.tenants.demo;
      const tok = await clientToken(gw, c.client_id, c.client_secret);
      const jti = decodeJwt(tok).payload.jti;
      const x = await tokenRequest(gw, { grant_type: TOKEN_EXCHANGE, subject_token: tok, subject_token_type: ACCESS_TOKEN_TYPE }, { basic: [c.client_id, c.client_secret] });
      assert.equal(x.status, 200, x.body);
      const xjti = decodeJwt(x.json.access_token).payload.jti;
      const bad = await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: [c.client_id, 'wrong-secret'] });
      assert.equal(bad.status, 401);
      const badId = bad.headers['x-request-id'];
      const scope = await tokenRequest(gw, { grant_type: 'client_credentials', scope: 'no-such-scope' }, { basic: [c.client_id, c.client_secret] });
      assert.equal(scope.status, 400);

      await waitFor(async () => {
        const issued = await auditEvents('tenant=demo&action=token.issue');
        const exchanged = await auditEvents('tenant=demo&action=token.exchange');
        const authn = await auditEvents('action=security.authentication_failed');
        const refused = await auditEvents('tenant=demo&action=token.refused');
        const i = issued.find((e) => e.details.tokenId === jti);
        const xe = exchanged.find((e) => e.details.tokenId === xjti);
        const a = authn.find((e) => e.requestId === badId);
        const rf = refused.find((e) => e.requestId === scope.headers['x-request-id']);
        if (!i || !xe || !a || !rf) return false;
        assert.equal(i.actor, c.client_id);
        assert.equal(i.outcome, 'success');
        assert.equal(i.resource, '/oauth2/token');
        assert.equal(xe.actor, c.client_id);
        assert.equal(xe.details.subject, decodeJwt(tok).payload.sub);
        assert.equal(a.actor, 'anonymous', 'a failed authentication proves no identity');
        assert.equal(a.details.clientId, c.client_id);
        assert.equal(a.outcome, 'denied');
        assert.equal(rf.details.error, 'invalid_scope');
        return true;
      }, 5000, { what: 'token endpoint events' });
      // A failed authentication is a security event.
      const sec = await get(gw, '/v1/platform/security-events?limit=1000', adminTok);
      assert.ok(sec.json.events.some((e) => e.requestId === badId));
    });
  });

  describe('a platform admin acting on a tenant (issue 8 item 19)', () => {
    it('shows in that tenant\'s audit export, with the actor and its tenant', async () => {
      const r = await post(gw, '/v1/tenants/demo/clients', { name: 'seen-by-demo', roles: ['Agent.Invoke'] }, adminTok);
      assert.equal(r.status, 201, r.body);
      const rid = r.headers['x-request-id'];
      await waitFor(async () => {
        const x = await get(gw, '/v1/tenants/demo/audit-export', adminTok);
        assert.equal(x.status, 200, x.body);
        const e = x.body.split('\n').filter(Boolean).map((l) => JSON.parse(l)).find((ev) => ev.requestId === rid);
        if (!e) return false;
        assert.equal(e.tenantId, 'demo');
        assert.equal(e.actor, decodeJwt(adminTok).payload.sub);
        assert.equal(e.details.actorTenant, 'platform');
        return true;
      }, 5000, { what: 'the admin\'s event in demo\'s export' });
    });
  });

  describe('admin queries (issue 8 item 18)', () => {
    // The answer's bytes, decoded strictly: invalid UTF-8 throws (Buffer.toString would hide it).
    function strictGet(path, token) {
      return new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: gw.port, path, headers: bearer(token) }, (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            try {
              const text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
              resolve({ status: res.statusCode, json: JSON.parse(text), text });
            } catch (e) { reject(e); }
          });
        }).on('error', reject);
      });
    }

    it('invalid UTF-8 from a request path comes back as valid JSON in audit search answers', async () => {
      // Raw bytes 0xFF and a truncated 0xC3 in the request target, as an attacker sends them.
      const head = Buffer.concat([
        Buffer.from('POST /v1/tenants/demo/clients/x'), Buffer.from([0xff, 0xc3]),
        Buffer.from(`y/rotate HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${adminTok}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`),
      ]);
      const r = await rawRequest(gw.port, head);
      assert.ok(r.status >= 400, `${r.status} ${r.body}`);
      await waitFor(async () => {
        const a = await strictGet('/v1/platform/audit?limit=1000', adminTok);
        assert.equal(a.status, 200, a.text);
        // Stored canonically: each invalid byte percent-encoded (what is hashed is what is stored).
        return a.json.events.some((e) => e.resource.startsWith('/v1/tenants/demo/clients/x%FF%C3y'));
      }, 5000, { what: 'the probe audited' });
    });

    it('every /v1/tenants/{id}/… route answers 404 not_found for an unknown tenant', async () => {
      const routes = [
        ['GET', '/v1/tenants/nosuch'], ['GET', '/v1/tenants/nosuch/clients'], ['GET', '/v1/tenants/nosuch/capabilities'],
        ['GET', '/v1/tenants/nosuch/secrets'], ['GET', '/v1/tenants/nosuch/invocations'], ['GET', '/v1/tenants/nosuch/quotas'],
        ['GET', '/v1/tenants/nosuch/audit-export'], ['DELETE', '/v1/tenants/nosuch/secrets/s1'],
        ['POST', '/v1/tenants/nosuch/clients/c1/rotate', {}], ['POST', '/v1/tenants/nosuch/clients', { name: 'x', roles: ['Agent.Invoke'] }],
        ['PUT', '/v1/tenants/nosuch/secrets/s1', { value: 'v' }], ['PATCH', '/v1/tenants/nosuch', { displayName: 'x' }],
        ['DELETE', '/v1/tenants/nosuch'],
      ];
      for (const [method, path, body] of routes) {
        const text = body === undefined ? undefined : JSON.stringify(body);
        const headers = { ...bearer(adminTok), ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}) };
        const r = await request(gw.port, { method, path, headers, body: text });
        assert.equal(r.status, 404, `${method} ${path}: ${r.status} ${r.body}`);
        assert.equal(errorOf(r).code, 'not_found', `${method} ${path}`);
      }
    });

    it('impossible dates in query windows → 400', async () => {
      assert.equal((await get(gw, '/v1/platform/audit?until=2026-13-01', adminTok)).status, 400);
      for (const q of ['since=2026-02-30', 'since=9999-99-99', 'since=2026-11-23T24:00:00Z']) {
        for (const base of ['/v1/platform/audit', '/v1/tenants/demo/invocations']) {
          const r = await get(gw, `${base}?${q}`, adminTok);
          assert.equal(r.status, 400, `${base}?${q}: ${r.body}`);
          assert.equal(errorOf(r).code, 'invalid_request');
        }
      }
      assert.equal((await get(gw, '/v1/platform/audit?since=2028-02-29', adminTok)).status, 200);
    });
  });

  describe('metrics', () => {
    it('auth failures, token cache, issued and refused tokens are counted', async () => {
      const before = (await getMetrics(gw.port)).samples;
      const demo = await demoToken(gw);
      const conn = await RawConn.connect(gw.port);
      try {
        assert.equal((await connGet(conn, '/v1/agents', demo)).status, 200);
        assert.equal((await connGet(conn, '/v1/agents', demo)).status, 200);
      } finally {
        conn.destroy();
      }
      await get(gw, '/v1/agents');
      await tokenRequest(gw, { grant_type: 'client_credentials' }, { basic: ['no-such-client', 'x'] });
      await tokenRequest(gw, { grant_type: 'password' }, { basic: [creds.tenants.demo.client_id, creds.tenants.demo.client_secret] });
      const after = (await getMetrics(gw.port)).samples;
      const delta = (name, labels) => metricValue(after, name, labels) - metricValue(before, name, labels);
      assert.ok(delta('portcullis_tokens_issued_total', { grant: 'client_credentials' }) >= 1);
      assert.ok(delta('portcullis_auth_token_cache_total', { result: 'hit' }) >= 1);
      assert.ok(delta('portcullis_auth_token_cache_total', { result: 'miss' }) >= 1);
      assert.ok(delta('portcullis_auth_failures_total', { reason: 'missing' }) >= 1);
      assert.ok(delta('portcullis_token_requests_refused_total', { error: 'invalid_client' }) >= 1);
      assert.ok(delta('portcullis_token_requests_refused_total', { error: 'unsupported_grant_type' }) >= 1);
      assert.ok(metricValue(after, 'portcullis_tokens_issued_total', { grant: 'token_exchange' }) >= 1, 'token exchanges of earlier tests counted');
    });
  });

  // Last: it changes the signing key for the rest of this gateway's life.
  describe('signing key rotation', () => {
    it('`keys rotate` while running: new kid within seconds, JWKS lists both, old tokens still verify', async () => {
      const c = creds.tenants.demo;
      const oldTok = await clientToken(gw, c.client_id, c.client_secret);
      const oldKid = decodeJwt(oldTok).header.kid;
      const oldFresh = await clientToken(gw, c.client_id, c.client_secret); // never presented before the rotation
      const res = await runBinary(['keys', 'rotate', '--config', gw.configPath], { timeoutMs: 10000 });
      assert.equal(res.code, 0, `keys rotate: ${res.output}`);

      const newTok = await waitFor(async () => {
        const t = await clientToken(gw, c.client_id, c.client_secret);
        return decodeJwt(t).header.kid !== oldKid ? t : null;
      }, 6000, { interval: 150, what: 'a token signed by the new key' });
      const newKid = decodeJwt(newTok).header.kid;
      const kids = (await fetchJwks()).json.keys.map((k) => k.kid);
      assert.ok(kids.includes(oldKid), `old kid ${oldKid} left the JWKS: ${kids}`);
      assert.ok(kids.includes(newKid), `new kid ${newKid} not in the JWKS: ${kids}`);
      assert.ok(res.output.includes(newKid), `keys rotate did not name the new key: ${res.output}`);

      const set = createLocalJWKSet((await fetchJwks()).json);
      for (const t of [oldTok, newTok]) await jwtVerify(t, set, { issuer: gw.baseUrl, audience: gw.baseUrl, typ: 'at+jwt' });
      for (const t of [oldTok, oldFresh, newTok]) assert.equal((await get(gw, '/v1/agents', t)).status, 200);

      // The admin token (old key) keeps working too.
      assert.equal((await get(gw, '/v1/tenants', adminTok)).status, 200);

      // The offline command audited itself (issue 8 item 19).
      const audit = await get(gw, '/v1/platform/audit?action=keys.rotate&limit=1000', adminTok);
      assert.equal(audit.status, 200, audit.body);
      const ev = audit.json.events.find((e) => e.details.kid === newKid);
      assert.ok(ev, `no keys.rotate event for ${newKid}: ${audit.body}`);
      assert.equal(ev.tenantId, 'platform');
      assert.match(ev.actor, /^cli:/);
      assert.equal(ev.outcome, 'success');
    });
  });
});

describe('two gateway processes on one store', { timeout: 40000 }, () => {
  let dir;
  let gwA;
  let gwB;
  const ISSUER = 'http://127.0.0.1:9/pc-it';

  before(async () => {
    dir = makeTempDir('portcullis-twonodes-');
    const agentPort = await closedPort();
    // One token issuer id for both nodes, as behind a load balancer.
    const config = gatewayConfig(dir, { extra: { tokens: { issuer: ISSUER } } });
    gwA = await startGateway({ dir, config, args: ['--demo', '--demo-agent', `http://127.0.0.1:${agentPort}`] });
    gwB = await startGateway({ configPath: gwA.configPath });
  });

  after(async () => {
    if (gwB) await gwB.stop();
    if (gwA) await gwA.stop();
    removeDir(dir);
  });

  it('tokens.issuer names the issuer in metadata and tokens; a token of one node works on the other', async () => {
    for (const g of [gwA, gwB]) {
      const m = await request(g.port, { path: '/.well-known/openid-configuration' });
      assert.equal(m.json.issuer, ISSUER);
      assert.equal(m.json.token_endpoint, `${ISSUER}/oauth2/token`);
    }
    const tokA = await demoToken(gwA);
    assert.equal(decodeJwt(tokA).payload.iss, ISSUER);
    assert.equal((await get(gwB, '/v1/agents', tokA)).status, 200);
    const admB = await adminToken(gwB);
    assert.equal((await get(gwA, '/v1/tenants', admB)).status, 200);
  });

  it('a tenant suspended through one node is refused by the other within ~2 s, and back after reactivation', async () => {
    const tok = await demoToken(gwA);
    const conn = await RawConn.connect(gwA.port);
    try {
      assert.equal((await connGet(conn, '/v1/agents', tok)).status, 200);
      const adm = await adminToken(gwB);
      const t0 = Date.now();
      assert.equal((await patch(gwB, '/v1/tenants/demo', { status: 'suspended' }, adm)).status, 200);
      await waitFor(async () => (await connGet(conn, '/v1/agents', tok)).status === 401, 5000, { interval: 100, what: 'node A sees the suspension' });
      const took = Date.now() - t0;
      assert.ok(took <= 4000, `node A refused the suspended tenant's token only after ${took} ms`);
      assert.equal((await patch(gwB, '/v1/tenants/demo', { status: 'active' }, adm)).status, 200);
      await waitFor(async () => (await connGet(conn, '/v1/agents', tok)).status === 200, 4000, { interval: 100, what: 'node A sees the reactivation' });
    } finally {
      conn.destroy();
    }
  });

  it('a client created through one node gets tokens from the other', async () => {
    const adm = await adminToken(gwA);
    const r = await post(gwA, '/v1/tenants/acme/clients', { name: 'via-a', roles: ['Agent.Invoke'] }, adm);
    assert.equal(r.status, 201, r.body);
    const tok = await clientToken(gwB, r.json.clientId, r.json.clientSecret);
    assert.equal((await get(gwA, '/v1/agents', tok)).status, 200);
  });

  it('`keys rotate` reaches both nodes', async () => {
    const before = decodeJwt(await demoToken(gwA)).header.kid;
    const res = await runBinary(['keys', 'rotate', '--config', gwA.configPath], { timeoutMs: 10000 });
    assert.equal(res.code, 0, res.output);
    const fresh = [];
    for (const g of [gwA, gwB]) {
      fresh.push(await waitFor(async () => {
        const x = await demoToken(g);
        return decodeJwt(x).header.kid !== before ? x : null;
      }, 6000, { interval: 150, what: 'new signing key on a node' }));
    }
    assert.equal(decodeJwt(fresh[0]).header.kid, decodeJwt(fresh[1]).header.kid, 'both nodes sign with the same new key');
    assert.equal((await get(gwB, '/v1/agents', fresh[0])).status, 200, 'a token of the new key from A on B');
    assert.equal((await get(gwA, '/v1/agents', fresh[1])).status, 200, 'a token of the new key from B on A');
  });
});

describe('`keys rotate-master` is audited (issue 8 item 19)', { timeout: 30000 }, () => {
  let dir;
  after(() => removeDir(dir));

  it('the offline command appends a keys.rotate_master event naming both key ids', async () => {
    dir = makeTempDir('portcullis-rotate-master-');
    const gw = await startGateway({ dir, config: gatewayConfig(dir) });
    const configPath = gw.configPath;
    await gw.stop();
    const res = await runBinary(['keys', 'rotate-master', '--config', configPath], { timeoutMs: 15000 });
    assert.equal(res.code, 0, res.output);
    const m = res.output.match(/master key rotated: (\S+) -> (\S+)/);
    assert.ok(m, res.output);
    const again = await startGateway({ configPath });
    try {
      const adm = await adminToken(again);
      const audit = await get(again, '/v1/platform/audit?action=keys.rotate_master', adm);
      assert.equal(audit.status, 200, audit.body);
      assert.equal(audit.json.events.length, 1, audit.body);
      const ev = audit.json.events[0];
      assert.equal(ev.details.oldKeyId, m[1]);
      assert.equal(ev.details.newKeyId, m[2]);
      assert.match(ev.actor, /^cli:/);
      assert.equal((await runBinary(['audit', 'verify', '--config', configPath])).code, 0);
    } finally {
      await again.stop();
    }
  });
});

// Issue 8 item 19: a tier named in the configuration ranks by its `rank`, everywhere tiers compare.
describe('configured tiers rank (issue 8 item 19)', { timeout: 30000 }, () => {
  let dir;
  let gw;
  before(async () => {
    dir = makeTempDir('portcullis-tiers-');
    const agentPort = await closedPort();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { extra: { tiers: { gold: { rps: 100, burst: 100, rank: 3 }, bronze: { rps: 1, burst: 1, rank: 0 } } } }),
      args: ['--demo', '--demo-agent', `http://127.0.0.1:${agentPort}`],
    });
  });
  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('a gold tenant (rank 3) meets a premium minimum; a bronze one (rank 0) does not', async () => {
    const adm = await adminToken(gw);
    const tiers = await get(gw, '/v1/platform/tiers', adm);
    assert.equal(tiers.status, 200, tiers.body);
    const rank = Object.fromEntries(tiers.json.tiers.map((t) => [t.name, t.rank]));
    assert.deepEqual(rank, { basic: 0, bronze: 0, gold: 3, premium: 2, standard: 1 });

    const write = async (path, body) => {
      const r = await post(gw, path, body, adm);
      assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.body}`);
      return r.json;
    };
    await write('/v1/platform/agents', { name: 'prem', tierMinimum: 'premium', protocol: 'http' });
    await write('/v1/platform/agents/prem/versions', { version: 'v1', endpoint: 'http://127.0.0.1:9/' });
    await write('/v1/platform/agents/prem/versions/v1/promote', {});
    const cap = await request(gw.port, {
      method: 'PUT', path: '/v1/platform/capabilities/agents.prem', body: JSON.stringify({ enabled: true, tierAllowList: ['gold', 'premium'] }),
      headers: { ...bearer(adm), 'content-type': 'application/json' },
    });
    assert.equal(cap.status, 200, cap.body);

    const visible = {};
    for (const [tenantId, tier] of [['goldco', 'gold'], ['bronzeco', 'bronze']]) {
      await write('/v1/tenants', { tenantId, tier });
      const c = await write(`/v1/tenants/${tenantId}/clients`, { name: 'app', roles: ['Agent.Invoke'], scopes: ['agents:invoke'] });
      const tok = await clientToken(gw, c.clientId, c.clientSecret);
      const r = await get(gw, '/v1/agents', tok);
      assert.equal(r.status, 200, r.body);
      visible[tier] = r.json.agents.map((a) => a.name);
    }
    assert.ok(visible.gold.includes('prem'), `gold sees: ${visible.gold}`);
    assert.ok(!visible.bronze.includes('prem'), `bronze sees: ${visible.bronze}`);
    assert.ok(visible.bronze.includes('echo'), 'bronze (rank 0) meets basic');
  });
});
