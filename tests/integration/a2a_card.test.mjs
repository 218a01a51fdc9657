// Agent cards through the gateway (issue 11, docs/a2a-cards.md): the runtime is the official
// @a2a-js/sdk server (support/a2a_runtime.mjs); the card the gateway serves is rewritten (its URLs,
// its security schemes), signed with the gateway's key, and that signature verifies with the SDK's
// own verifier (verifyAgentCardSignature) and the gateway's JWKS; any change to the card breaks
// it. Also: the card needs a token (401 naming the protected-resource metadata), an unknown or
// non-A2A agent is 404, the 0.3 card, and a runtime that stops answering: the cached card is
// served up to a2a.card_max_stale_seconds, then 502 card_stale.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { verifyAgentCardSignature } from '@a2a-js/sdk';
import { DefaultAgentCardResolver } from '@a2a-js/sdk/client';
import { importJWK, flattenedVerify, base64url } from 'jose';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, demoCredentials, adminToken, bearer, postJson, request,
  waitFor, sleep,
} from './harness.mjs';
import { startA2aRuntime } from './support/a2a_runtime.mjs';

const AGENT = 'card-agent';
const MAX_STALE = 4;

// The SDK verifiers' normalisation (cleanEmpty) and RFC 8785, for the 0.3 card.
function clean(v) {
  if (v === '' || v === null || v === undefined) return null;
  if (Array.isArray(v)) { const a = v.map(clean).filter((x) => x !== null); return a.length ? a : null; }
  if (typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) { const c = clean(x); if (c !== null) o[k] = c; }
    return Object.keys(o).length ? o : null;
  }
  return v;
}
function jcs(v) {
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(jcs).join(',')}]`;
  return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${jcs(v[k])}`).join(',')}}`;
}

describe('A2A agent cards through the gateway', { timeout: 120000 }, () => {
  let dir, gw, rt, creds, agentBase, token, jwks;
  const authed = (init = {}) => ({ ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${token}` } });
  const keyFor = async (kid, jku) => {
    assert.equal(jku, `${gw.baseUrl}/.well-known/jwks.json`);
    const jwk = jwks.keys.find((k) => k.kid === kid);
    assert.ok(jwk, `kid ${kid} not in the JWKS`);
    return importJWK(jwk, 'ES256');
  };

  before(async () => {
    dir = makeTempDir('portcullis-a2a-card-');
    rt = await startA2aRuntime({ agent: AGENT, skills: [{ id: 'echo', name: 'Echo', description: 'Echoes' }] });
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { extra: { a2a: { card_refresh_seconds: 1, card_max_stale_seconds: MAX_STALE } } }),
      args: ['--demo'],
    });
    rt.trustGateway(gw.baseUrl);
    creds = (await demoCredentials(gw)).tenants.demo;
    agentBase = `${gw.baseUrl}/a2a/${AGENT}`;
    const basic = Buffer.from(`${encodeURIComponent(creds.client_id)}:${encodeURIComponent(creds.client_secret)}`).toString('base64');
    const t = await fetch(`${gw.baseUrl}/oauth2/token`, {
      method: 'POST', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    token = (await t.json()).access_token;
    assert.ok(token);
    jwks = await (await fetch(`${gw.baseUrl}/.well-known/jwks.json`)).json();
    const adm = bearer(await adminToken(gw));
    for (const [path, body] of [['/v1/platform/agents', { name: AGENT, protocol: 'a2a' }],
      [`/v1/platform/agents/${AGENT}/versions`, { version: 'v1', endpoint: rt.origin }],
      [`/v1/platform/agents/${AGENT}/versions/v1/promote`, {}]]) {
      const r = await postJson(gw.port, path, body, { headers: adm });
      assert.ok(r.status === 200 || r.status === 201, `${path}: ${r.status} ${r.body}`);
    }
    await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/agents?limit=100', headers: bearer(token) });
      return (r.json?.agents ?? []).some((a) => a.name === AGENT);
    }, 10000, { what: `${AGENT} visible to tenant demo` });
  });

  after(async () => {
    await gw?.stop();
    await rt?.stop();
    removeDir(dir);
  });

  it('needs a token: 401 names the protected-resource metadata', async () => {
    const r = await fetch(`${agentBase}/.well-known/agent-card.json`, { headers: { 'A2A-Version': '1.0' } });
    assert.equal(r.status, 401);
    assert.match(r.headers.get('www-authenticate') ?? '', /resource_metadata="[^"]+\/\.well-known\/oauth-protected-resource"/);
    const forged = await fetch(`${agentBase}/.well-known/agent-card.json`, { headers: { authorization: `Bearer ${token.slice(0, -4)}AAAA` } });
    assert.equal(forged.status, 401);
  });

  it('the 1.0 card: gateway URLs and OAuth, signed, verified by the SDK with the JWKS', async () => {
    const raw = await (await fetch(`${agentBase}/.well-known/agent-card.json`, authed({ headers: { 'A2A-Version': '1.0' } }))).json();
    assert.ok(raw.supportedInterfaces.length >= 2);
    for (const i of raw.supportedInterfaces) assert.equal(i.url, agentBase);
    assert.ok(!raw.supportedInterfaces.some((i) => i.protocolBinding === 'GRPC'));
    assert.deepEqual(Object.keys(raw.securitySchemes).sort(), ['portcullisBearer', 'portcullisOAuth2']);
    assert.equal(raw.securitySchemes.portcullisOAuth2.oauth2SecurityScheme.flows.clientCredentials.tokenUrl, `${gw.baseUrl}/oauth2/token`);
    assert.ok(!JSON.stringify(raw).includes(rt.origin), 'the runtime origin leaked');
    assert.ok(!JSON.stringify(raw).includes('runtimeKey'), 'the runtime security scheme leaked');
    assert.equal(raw.signatures.length, 1);
    const header = JSON.parse(Buffer.from(raw.signatures[0].protected, 'base64url').toString());
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JOSE');

    // The SDK's own verifier, with the key from the gateway's JWKS.
    await verifyAgentCardSignature(keyFor)(raw);
    // The SDK client's resolver (it asks with A2A-Version 1.0) gets the same card. (The SDK's
    // verifier takes the wire JSON: the resolver's output is its internal form.)
    const resolved = await new DefaultAgentCardResolver({ fetchImpl: (u, init) => fetch(u, authed(init)) }).resolve(`${agentBase}/`);
    assert.deepEqual(resolved.supportedInterfaces.map((i) => i.url), raw.supportedInterfaces.map((i) => i.url));
    assert.equal(resolved.signatures[0].signature, raw.signatures[0].signature);

    // Negatives: every change breaks it.
    const tampered = [
      { ...raw, name: 'Someone else' },
      { ...raw, supportedInterfaces: raw.supportedInterfaces.map((i) => ({ ...i, url: 'https://evil.example/a2a' })) },
      { ...raw, skills: [...raw.skills, { id: 'extra', name: 'Extra', description: 'x' }] },
      { ...raw, signatures: [{ ...raw.signatures[0], signature: raw.signatures[0].signature.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }] },
      { ...raw, signatures: [{ ...raw.signatures[0], protected: base64url.encode(JSON.stringify({ ...header, jku: 'https://evil.example/jwks' })) }] },
    ];
    for (const card of tampered) {
      await assert.rejects(verifyAgentCardSignature(async (kid) => importJWK(jwks.keys.find((k) => k.kid === kid), 'ES256'))(card));
    }
  });

  it('the 0.3 card (agent.json, or agent-card.json without A2A-Version), signed the same way', async () => {
    for (const [path, headers] of [['agent.json', {}], ['agent-card.json', {}], ['agent-card.json', { 'A2A-Version': '0.3' }]]) {
      const r = await fetch(`${agentBase}/.well-known/${path}`, authed({ headers }));
      assert.equal(r.status, 200);
      const card = await r.json();
      assert.equal(card.url, agentBase, path);
      assert.equal(card.protocolVersion, '0.3.0');
      for (const i of card.additionalInterfaces ?? []) assert.equal(i.url, agentBase);
      assert.equal(card.securitySchemes.portcullisOAuth2.type, 'oauth2');
      assert.ok(!JSON.stringify(card).includes(rt.origin));
      const { signatures, ...body } = card;
      const sig = signatures[0];
      const key = await keyFor(JSON.parse(Buffer.from(sig.protected, 'base64url').toString()).kid, `${gw.baseUrl}/.well-known/jwks.json`);
      await flattenedVerify({ protected: sig.protected, signature: sig.signature, payload: base64url.encode(jcs(clean(body))) }, key);
      await assert.rejects(flattenedVerify({ protected: sig.protected, signature: sig.signature,
        payload: base64url.encode(jcs(clean({ ...body, url: 'https://evil.example/' }))) }, key));
    }
  });

  it('an unknown agent and a non-A2A agent are 404', async () => {
    const unknown = await fetch(`${gw.baseUrl}/a2a/no-such-agent/.well-known/agent-card.json`, authed());
    assert.equal(unknown.status, 404);
    const agents = (await request(gw.port, { path: '/v1/agents?limit=100', headers: bearer(token) })).json?.agents ?? [];
    const http = agents.find((a) => a.name !== AGENT && (a.protocol ?? 'http') !== 'a2a');
    assert.ok(http, 'the demo registers a non-A2A agent');
    const r = await fetch(`${gw.baseUrl}/a2a/${http.name}/.well-known/agent-card.json`, authed());
    assert.equal(r.status, 404);
  });

  it('a skill is hidden from a tenant its capability agents.<agent>.skills.<id> denies', async () => {
    const adm = await adminToken(gw);
    const skillsOf = async () => {
      const r = await fetch(`${agentBase}/.well-known/agent-card.json`, authed({ headers: { 'A2A-Version': '1.0' } }));
      assert.equal(r.status, 200);
      const card = await r.json();
      await verifyAgentCardSignature(keyFor)(card); // the filtered card is signed as served
      return (card.skills ?? []).map((s) => s.id);
    };
    assert.deepEqual(await skillsOf(), ['echo']); // no such capability: shown
    const put = async (enabled) => {
      const r = await request(gw.port, {
        method: 'PUT', path: `/v1/platform/capabilities/agents.${AGENT}.skills.echo`, body: JSON.stringify({ enabled }),
        headers: { ...bearer(adm), 'content-type': 'application/json' },
      });
      assert.equal(r.status, 200, r.body);
    };
    await put(false);
    await waitFor(async () => (await skillsOf()).length === 0, 10000, { what: 'echo hidden' });
    await put(true);
    await waitFor(async () => (await skillsOf()).includes('echo'), 10000, { what: 'echo shown again' });
  });

  it('runtime gone: the cached card is served up to card_max_stale_seconds, then 502 card_stale', async () => {
    const first = await fetch(`${agentBase}/.well-known/agent-card.json`, authed({ headers: { 'A2A-Version': '1.0' } }));
    assert.equal(first.status, 200);
    await rt.stop();
    await sleep(1500); // past card_refresh_seconds: the next request refetches behind the cached card
    const stale = await fetch(`${agentBase}/.well-known/agent-card.json`, authed({ headers: { 'A2A-Version': '1.0' } }));
    assert.equal(stale.status, 200, 'within max_stale the last card is served');
    await sleep(MAX_STALE * 1000);
    const gone = await fetch(`${agentBase}/.well-known/agent-card.json`, authed({ headers: { 'A2A-Version': '1.0' } }));
    assert.equal(gone.status, 502);
    assert.equal((await gone.json()).error.code, 'card_stale');
    rt = null;
  });
});
