// Smoke test of the test OIDC provider (support/idp.mjs), not of the gateway: discovery, RS256
// and ES256 JWT access tokens verified with jose against the published JWKS, key rotation with
// and without overlap, stop and restart on the same port.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';

import { startIdp } from './support/idp.mjs';

const CLIENTS = [
  {
    client_id: 'agent-a',
    client_secret: 'secret-a',
    claims: { tenantid: 'acme', appid: 'app-a', roles: ['Agent.Invoke'], email: 'a@acme.test', name: 'Agent A' },
  },
  { client_id: 'agent-b', client_secret: 'secret-b', claims: { tenantid: 'globex', appid: 'app-b', roles: ['Machine.Invoke'] } },
];

const fetchJson = async (url) => {
  const r = await fetch(url, { signal: AbortSignal.timeout(3000) });
  assert.equal(r.status, 200, `GET ${url}`);
  return { headers: r.headers, json: await r.json() };
};
const jwksKids = async (idp) => (await fetchJson(idp.jwksUri)).json.keys.map((k) => k.kid);
// A fresh remote key set each time, so jose's own cache and refetch cooldown play no part.
const verify = (idp, jwt, audience) => jwtVerify(jwt, createRemoteJWKSet(new URL(idp.jwksUri), { timeoutDuration: 3000 }), {
  issuer: idp.issuer,
  audience,
  typ: 'at+jwt',
});

describe('test OIDC provider', { timeout: 60000 }, () => {
  let idp;
  before(async () => { idp = await startIdp({ clients: CLIENTS, jwksCacheControl: 'max-age=2' }); });
  after(async () => { await idp?.stop(); });

  test('discovery names the issuer and the JWKS', async () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(idp.issuer, `http://127.0.0.1:${idp.port}`);
    const { json } = await fetchJson(idp.discoveryUrl);
    assert.equal(json.issuer, idp.issuer);
    assert.equal(json.jwks_uri, idp.jwksUri);
    assert.equal(json.token_endpoint, idp.tokenEndpoint);
    assert.ok(json.grant_types_supported.includes('client_credentials'));
    const jwks = await fetchJson(idp.jwksUri);
    assert.equal(jwks.headers.get('cache-control'), 'max-age=2');
    for (const k of jwks.json.keys) {
      assert.equal(k.use, 'sig');
      assert.equal(k.d, undefined, 'no private parts published');
    }
    assert.deepEqual(new Set(jwks.json.keys.map((k) => k.kid)), new Set(Object.values(idp.currentKids())));
  });

  for (const [alg, kty] of [['RS256', 'RSA'], ['ES256', 'EC']]) {
    test(`${alg} access token verifies against the JWKS and carries the claims`, async () => {
      const jwt = await idp.token({ alg, clientId: 'agent-a', audience: 'portcullis', scope: 'mcp:tools a2a:invoke', claims: { roles: ['Agent.Invoke', 'Agent.Developer'] } });
      const header = decodeProtectedHeader(jwt);
      assert.deepEqual(header, { alg, typ: 'at+jwt', kid: idp.currentKids()[alg] });
      const { payload } = await verify(idp, jwt, 'portcullis');
      const jwk = (await fetchJson(idp.jwksUri)).json.keys.find((k) => k.kid === header.kid);
      assert.equal(jwk.kty, kty);
      assert.equal(jwk.alg, alg);
      assert.equal(payload.iss, idp.issuer);
      assert.equal(payload.aud, 'portcullis');
      assert.equal(payload.sub, 'agent-a');
      assert.equal(payload.client_id, 'agent-a');
      assert.equal(payload.scope, 'mcp:tools a2a:invoke');
      assert.equal(payload.tenantid, 'acme');
      assert.equal(payload.appid, 'app-a');
      assert.deepEqual(payload.roles, ['Agent.Invoke', 'Agent.Developer'], 'per-call claims override the client\'s');
      assert.equal(payload.email, 'a@acme.test');
      assert.equal(payload.name, 'Agent A');
      assert.equal(typeof payload.jti, 'string');
      assert.equal(payload.exp - payload.iat, 600);
    });
  }

  test('clients, audiences and ttl are per call', async () => {
    const jwt = await idp.token({ alg: 'ES256', clientId: 'agent-b', audience: 'https://tools.example/mcp', ttl: 30 });
    const { payload } = await verify(idp, jwt, 'https://tools.example/mcp');
    assert.equal(payload.client_id, 'agent-b');
    assert.equal(payload.tenantid, 'globex');
    assert.deepEqual(payload.roles, ['Machine.Invoke']);
    assert.equal(payload.scope, undefined);
    assert.equal(payload.exp - payload.iat, 30);
  });

  test('header and payload overrides', async () => {
    const jwt = await idp.token({ header: { typ: 'JWT' }, payload: { sub: 'alice', client_id: undefined } });
    assert.equal(decodeProtectedHeader(jwt).typ, 'JWT');
    const { payload } = await jwtVerify(jwt, createRemoteJWKSet(new URL(idp.jwksUri)), { issuer: idp.issuer, audience: 'portcullis' });
    assert.equal(payload.sub, 'alice');
    assert.equal('client_id' in payload, false);
  });

  test('a wrong client secret is refused by the token endpoint', async () => {
    await assert.rejects(idp.token({ clientId: 'agent-a', clientSecret: 'secret-b' }), (e) => e.status === 401 && /invalid_client/.test(e.body));
  });

  test('rotateKeys() without overlap replaces the keys', async () => {
    const before = idp.currentKids();
    const oldKids = await jwksKids(idp);
    const oldToken = await idp.token({ alg: 'RS256', clientId: 'agent-a' });
    const kids = await idp.rotateKeys();
    assert.deepEqual(kids, idp.currentKids());
    for (const alg of ['RS256', 'ES256']) {
      assert.notEqual(kids[alg], before[alg]);
      assert.ok(!oldKids.includes(kids[alg]));
    }
    const published = await jwksKids(idp);
    assert.deepEqual(new Set(published), new Set(Object.values(kids)));
    for (const k of oldKids) assert.ok(!published.includes(k), `old kid ${k} gone`);
    assert.equal((await fetchJson(idp.discoveryUrl)).json.issuer, idp.issuer, 'issuer unchanged');
    for (const alg of ['RS256', 'ES256']) {
      const jwt = await idp.token({ alg, clientId: 'agent-a' });
      assert.equal(decodeProtectedHeader(jwt).kid, kids[alg]);
      await verify(idp, jwt, 'portcullis');
    }
    await assert.rejects(verify(idp, oldToken, 'portcullis'), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
  });

  test('rotateKeys({keep: true}) publishes old and new keys, signs with the new', async () => {
    const oldKids = await jwksKids(idp);
    const oldToken = await idp.token({ alg: 'ES256', clientId: 'agent-b' });
    const kids = await idp.rotateKeys({ keep: true });
    const published = await jwksKids(idp);
    for (const k of oldKids) assert.ok(published.includes(k), `old kid ${k} kept`);
    for (const k of Object.values(kids)) assert.ok(published.includes(k) && !oldKids.includes(k), `new kid ${k}`);
    assert.equal(published.length, oldKids.length + 2);
    for (const alg of ['RS256', 'ES256']) {
      const jwt = await idp.token({ alg, clientId: 'agent-b' });
      assert.equal(decodeProtectedHeader(jwt).kid, kids[alg]);
      await verify(idp, jwt, 'portcullis');
    }
    await verify(idp, oldToken, 'portcullis');
  });

  test('stop() refuses connections; start() serves again on the same port', async () => {
    const { port, issuer } = idp;
    await idp.stop();
    await idp.stop(); // idempotent
    await assert.rejects(fetch(idp.discoveryUrl, { signal: AbortSignal.timeout(3000) }));
    await idp.start();
    assert.equal(idp.port, port);
    assert.equal((await fetchJson(idp.discoveryUrl)).json.issuer, issuer);
    await verify(idp, await idp.token({ alg: 'ES256', clientId: 'agent-a' }), 'portcullis');
  });
});
