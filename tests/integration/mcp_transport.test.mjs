// The MCP endpoint's transport (issue 10, area transport; docs/mcp.md "Transport") with the real
// binary and raw fetch(): Streamable HTTP framing (406, 415, 400, 404), version negotiation and
// the MCP-Protocol-Version header, Mcp-Session-Id bound to tenant + subject + client (another
// client of the tenant and another tenant → 404, the latter a counted and audited tenant-access
// violation), DELETE, the GET stream, Origin refusal (DNS rebinding), the RFC 9728 discovery
// documents and the 401 challenge that points at them. A second gateway on the same store
// resumes a session made by the first.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, postJson, bearer, demoToken, adminToken,
  clientToken, waitFor, sleep, getMetrics, request,
} from './harness.mjs';

const ACCEPT_BOTH = 'application/json, text/event-stream';
const V_NEW = '2025-11-25';
const V_OLD = '2025-06-18';

describe('MCP transport: POST/GET/DELETE /mcp', () => {
  let dir;
  let gw;
  let base;
  let demoAuth;
  let acmeAuth;
  let otherDemoAuth;
  let adm;

  // One JSON-RPC message to /mcp; `headers` replace the defaults when given.
  async function mcp(body, { auth = demoAuth, session, version, headers = {}, method = 'POST', raw } = {}) {
    const h = { accept: ACCEPT_BOTH, 'content-type': 'application/json', ...auth, ...headers };
    if (session) h['mcp-session-id'] = session;
    if (version) h['mcp-protocol-version'] = version;
    for (const [k, v] of Object.entries(h)) if (v === undefined) delete h[k];
    const res = await fetch(`${base}/mcp`, {
      method,
      headers: h,
      body: method === 'POST' ? (raw ?? JSON.stringify(body)) : undefined,
    });
    const text = await res.text();
    let json;
    try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
    return { status: res.status, headers: res.headers, text, json };
  }

  async function initialize(auth = demoAuth, protocolVersion = V_NEW, id = 1) {
    const r = await mcp({
      jsonrpc: '2.0', id, method: 'initialize',
      params: { protocolVersion, capabilities: { sampling: {} }, clientInfo: { name: 'it', version: '1' } },
    }, { auth });
    assert.equal(r.status, 200, r.text);
    return r;
  }

  before(async () => {
    dir = makeTempDir('portcullis-mcp-transport-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_body_bytes: 65536, idle_timeout_ms: 20000, max_connections: 100 } }),
      args: ['--demo'],
    });
    base = gw.baseUrl;
    demoAuth = bearer(await demoToken(gw, 'demo'));
    acmeAuth = bearer(await demoToken(gw, 'acme'));
    adm = bearer(await adminToken(gw));
    const second = await postJson(gw.port, '/v1/tenants/demo/clients', { name: 'mcp-second', roles: ['Machine.Invoke'] },
      { headers: adm });
    assert.equal(second.status, 201, second.body);
    otherDemoAuth = bearer(await clientToken(gw, second.json.clientId, second.json.clientSecret));
  });

  after(async () => {
    await gw?.stop();
    removeDir(dir);
  });

  it('initialize creates a session, negotiates the version and answers with Mcp-Session-Id', async () => {
    const r = await initialize(demoAuth, V_NEW, 'init-1');
    assert.equal(r.json.jsonrpc, '2.0');
    assert.equal(r.json.id, 'init-1');
    assert.equal(r.json.result.protocolVersion, V_NEW);
    assert.equal(typeof r.json.result.capabilities, 'object');
    assert.equal(r.json.result.serverInfo.name, 'portcullis');
    const sid = r.headers.get('mcp-session-id');
    assert.match(sid, /^[A-Za-z0-9_-]{43}$/, 'at least 128 random bits, visible ASCII');
    assert.match(r.headers.get('content-type'), /^application\/json/);

    const old = await initialize(demoAuth, V_OLD);
    assert.equal(old.json.result.protocolVersion, V_OLD, 'a supported version is answered as asked');
    assert.notEqual(old.headers.get('mcp-session-id'), sid, 'every initialize is a new session');
    for (const asked of ['2025-03-26', '2024-11-05', '1999-01-01']) {
      const other = await initialize(demoAuth, asked);
      assert.equal(other.json.result.protocolVersion, V_NEW, `${asked}: our newest`);
    }

    // The session works: notifications/initialized → 202 without a body; ping → {}.
    const n = await mcp({ jsonrpc: '2.0', method: 'notifications/initialized' }, { session: sid, version: V_NEW });
    assert.equal(n.status, 202, n.text);
    assert.equal(n.text, '');
    const p = await mcp({ jsonrpc: '2.0', id: 7, method: 'ping' }, { session: sid, version: V_NEW });
    assert.equal(p.status, 200, p.text);
    assert.deepEqual(p.json, { jsonrpc: '2.0', id: 7, result: {} });
    // Without the version header the negotiated one is used.
    const p2 = await mcp({ jsonrpc: '2.0', id: 8, method: 'ping' }, { session: sid });
    assert.equal(p2.status, 200, p2.text);
    // A client response (to a server→client request) → 202.
    const cr = await mcp({ jsonrpc: '2.0', id: 'srv-1', result: {} }, { session: sid, version: V_NEW });
    assert.equal(cr.status, 202, cr.text);
    // Other methods go to the federation: tools/list answers a list (whatever servers this tenant
    // has), a method nobody implements is -32601 with the client's id.
    const t = await mcp({ jsonrpc: '2.0', id: 9, method: 'tools/list' }, { session: sid, version: V_NEW });
    assert.equal(t.status, 200, t.text);
    assert.ok(Array.isArray(t.json.result?.tools), t.text);
    assert.equal(t.json.id, 9);
    const u = await mcp({ jsonrpc: '2.0', id: 11, method: 'no/such-method' }, { session: sid, version: V_NEW });
    assert.equal(u.status, 200, u.text);
    assert.equal(u.json.error.code, -32601, u.text);
    assert.equal(u.json.id, 11);
    // A second initialize inside the session is refused.
    const again = await mcp({ jsonrpc: '2.0', id: 10, method: 'initialize', params: { protocolVersion: V_NEW } },
      { session: sid, version: V_NEW });
    assert.equal(again.status, 400, again.text);
  });

  it('refuses what the transport forbids: 406, 415, 400 with JSON-RPC error bodies', async () => {
    const sid = (await initialize()).headers.get('mcp-session-id');
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    for (const accept of ['application/json', 'text/event-stream', 'text/html', 'application/*']) {
      const r = await mcp(ping, { session: sid, headers: { accept } });
      assert.equal(r.status, 406, `Accept ${accept}: ${r.text}`);
      assert.equal(r.json.jsonrpc, '2.0');
      assert.equal(r.json.error.code, -32600);
    }
    // No Accept at all (fetch() would add */*: a raw request).
    const body = JSON.stringify(ping);
    const noAccept = await request(gw.port, { method: 'POST', path: '/mcp', body,
      headers: { ...demoAuth, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'mcp-session-id': sid } });
    assert.equal(noAccept.status, 406, noAccept.body);
    // Wildcards count (RFC 9110 §12.5.1).
    for (const accept of ['*/*', 'application/*, text/*', 'text/event-stream;q=0.5, application/json;q=1']) {
      const r = await mcp(ping, { session: sid, headers: { accept } });
      assert.equal(r.status, 200, `Accept ${accept}: ${r.text}`);
    }
    for (const ct of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const r = await mcp(ping, { session: sid, headers: { 'content-type': ct } });
      assert.equal(r.status, 415, `Content-Type ${ct}: ${r.text}`);
    }
    const charset = await mcp(ping, { session: sid, headers: { 'content-type': 'application/json; charset=utf-8' } });
    assert.equal(charset.status, 200, charset.text);

    const parse = await mcp(null, { session: sid, raw: '{"jsonrpc":"2.0",' });
    assert.equal(parse.status, 400);
    assert.equal(parse.json.error.code, -32700);
    assert.equal(parse.json.id, null);
    const batch = await mcp([ping, ping], { session: sid });
    assert.equal(batch.status, 400);
    assert.equal(batch.json.error.code, -32600);
    for (const bad of [{ id: 1, method: 'ping' }, { jsonrpc: '1.0', id: 1, method: 'ping' }, { jsonrpc: '2.0', id: 1 },
      { jsonrpc: '2.0', id: {}, method: 'ping' }, { jsonrpc: '2.0', id: 2, method: 'ping', params: [1] }, 42]) {
      const r = await mcp(bad, { session: sid });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${r.text}`);
      assert.equal(r.json.error.code, -32600, JSON.stringify(bad));
    }
    const noVersion = await mcp({ jsonrpc: '2.0', id: 3, method: 'initialize', params: {} });
    assert.equal(noVersion.status, 400);
    assert.equal(noVersion.json.error.code, -32602);
    assert.equal(noVersion.json.id, 3);

    // No session id on a message other than initialize → 400.
    const none = await mcp({ jsonrpc: '2.0', id: 4, method: 'ping' });
    assert.equal(none.status, 400, none.text);
    assert.equal(none.json.id, 4);
    // MCP-Protocol-Version: unsupported → 400; supported but not the negotiated one → 400.
    for (const v of ['2025-03-26', 'garbage', '2024-11-05']) {
      const r = await mcp(ping, { session: sid, version: v });
      assert.equal(r.status, 400, `${v}: ${r.text}`);
    }
    const oldSid = (await initialize(demoAuth, V_OLD)).headers.get('mcp-session-id');
    assert.equal((await mcp(ping, { session: oldSid, version: V_NEW })).status, 400);
    assert.equal((await mcp(ping, { session: oldSid, version: V_OLD })).status, 200);
  });

  it('a session id works only for the tenant, subject and client that made it', async () => {
    const sid = (await initialize()).headers.get('mcp-session-id');
    const ping = { jsonrpc: '2.0', id: 'p', method: 'ping' };
    const violations = async () => (await getMetrics(gw.port)).samples
      .filter((x) => x.name === 'portcullis_tenant_access_violations_total').reduce((a, x) => a + x.value, 0);
    const before = await violations();

    // Another client of the same tenant: unknown, not a violation.
    const other = await mcp(ping, { auth: otherDemoAuth, session: sid, version: V_NEW });
    assert.equal(other.status, 404, other.text);
    assert.equal(other.json.id, 'p');
    assert.equal(other.json.error.code, -32600);
    // Another tenant: the same 404, and a tenant-access violation (POST, GET and DELETE).
    const foreign = await mcp(ping, { auth: acmeAuth, session: sid, version: V_NEW });
    assert.equal(foreign.status, 404, foreign.text);
    assert.deepEqual(foreign.json.error, other.json.error, 'indistinguishable from an unknown id');
    const fdel = await mcp(undefined, { auth: acmeAuth, session: sid, method: 'DELETE' });
    assert.equal(fdel.status, 404, fdel.text);
    // Ids that do not exist or cannot exist: the same 404.
    for (const id of ['A'.repeat(43), 'not-a-session', `${sid}x`]) {
      const r = await mcp(ping, { session: id, version: V_NEW });
      assert.equal(r.status, 404, `${id}: ${r.text}`);
    }
    await waitFor(async () => (await violations()) >= before + 2, 5000, { what: 'violations counted' });
    await sleep(200);
    assert.equal(await violations(), before + 2, 'only the other tenant\'s two tries count');
    const events = await waitFor(async () => {
      const r = await request(gw.port, { path: '/v1/platform/security-events?limit=1000', headers: adm });
      const hits = (r.json?.events ?? []).filter((e) => e.action === 'security.tenant_access_violation'
        && e.tenantId === 'acme' && String(e.resource ?? '').includes('/mcp'));
      return hits.length >= 2 ? hits : null;
    }, 5000, { what: 'violations audited' });
    assert.ok(events.length >= 2);
    assert.ok(!JSON.stringify(events).includes(sid), 'the audit trail never holds the session id');

    // Still the owner's.
    assert.equal((await mcp(ping, { session: sid, version: V_NEW })).status, 200);
  });

  it('DELETE ends the session: 204, then 404 everywhere', async () => {
    const sid = (await initialize()).headers.get('mcp-session-id');
    const noId = await mcp(undefined, { method: 'DELETE' });
    assert.equal(noId.status, 400, noId.text);
    const del = await mcp(undefined, { session: sid, version: V_NEW, method: 'DELETE' });
    assert.equal(del.status, 204, del.text);
    assert.equal(del.text, '');
    const after = await mcp({ jsonrpc: '2.0', id: 1, method: 'ping' }, { session: sid, version: V_NEW });
    assert.equal(after.status, 404, after.text);
    assert.equal((await mcp(undefined, { session: sid, method: 'DELETE' })).status, 404);
  });

  it('GET: Accept must list text/event-stream; the session rules apply', async () => {
    const sid = (await initialize()).headers.get('mcp-session-id');
    const json = await mcp(undefined, { method: 'GET', session: sid, headers: { accept: 'application/json' } });
    assert.equal(json.status, 406, json.text);
    const noId = await mcp(undefined, { method: 'GET', headers: { accept: 'text/event-stream' } });
    assert.equal(noId.status, 400, noId.text);
    const foreign = await mcp(undefined, { method: 'GET', auth: acmeAuth, session: sid, headers: { accept: 'text/event-stream' } });
    assert.equal(foreign.status, 404, foreign.text);
    // The stream opens: text/event-stream, a priming event with an id and no data.
    const open = async (headers = {}) => {
      const ac = new AbortController();
      const res = await fetch(`${base}/mcp`, { method: 'GET', signal: ac.signal,
        headers: { ...demoAuth, accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': V_NEW, ...headers } });
      return { res, ac };
    };
    const firstEvent = async (res) => {
      const reader = res.body.getReader();
      let text = '';
      while (!text.includes('\n\n')) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      return text;
    };
    const a = await open();
    assert.equal(a.res.status, 200);
    assert.match(a.res.headers.get('content-type'), /^text\/event-stream/);
    const prime = await firstEvent(a.res);
    const id = /^id: (\S+)\ndata: \n\n/.exec(prime)?.[1];
    assert.ok(id, `priming event: ${JSON.stringify(prime)}`);
    // One GET stream per session at a time.
    const second = await open();
    assert.equal(second.res.status, 409, await second.res.text());
    // The client closes it; a resumption with its last event id opens it again.
    a.ac.abort();
    const resumed = await waitFor(async () => {
      const r = await open({ 'last-event-id': id });
      if (r.res.status === 200) return r;
      await r.res.text();
      return null;
    }, 5000, { what: 'GET stream resumable after the client closed it' });
    assert.match(resumed.res.headers.get('content-type'), /^text\/event-stream/);
    resumed.ac.abort();
    // A Last-Event-ID this node does not know (or another session's): a fresh stream.
    const fresh = await waitFor(async () => {
      const r = await open({ 'last-event-id': 'ffffffffffffffff.3' });
      if (r.res.status === 200) return r;
      await r.res.text();
      return null;
    }, 5000, { what: 'fresh GET stream' });
    const prime2 = await firstEvent(fresh.res);
    assert.match(prime2, /^id: \S+\ndata: \n\n/);
    assert.ok(!prime2.includes(id.split('.')[0]), 'a new stream key');
    fresh.ac.abort();
  });

  it('needs a tenant principal with an MCP role; 401 points at the protected-resource metadata', async () => {
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    const bare = await mcp(ping, { auth: {} });
    assert.equal(bare.status, 401, bare.text);
    const challenge = bare.headers.get('www-authenticate');
    assert.match(challenge, /^Bearer /);
    assert.ok(challenge.includes(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp"`), challenge);
    assert.ok(!/error=/.test(challenge), 'no token, no error code (RFC 6750 §3.1)');
    const badToken = await mcp(ping, { auth: bearer('not.a.token') });
    assert.equal(badToken.status, 401);
    const c2 = badToken.headers.get('www-authenticate');
    assert.match(c2, /error="invalid_token"/);
    assert.ok(c2.includes('resource_metadata="'), c2);
    // Other routes keep their challenge as it was.
    const agents = await request(gw.port, { path: '/v1/agents' });
    assert.equal(agents.status, 401);
    assert.ok(!agents.headers['www-authenticate'].includes('resource_metadata'));
    // A platform principal is not a tenant principal.
    const platform = await mcp(ping, { auth: adm });
    assert.equal(platform.status, 403, platform.text);
    // A tenant client without an MCP role.
    const noRole = await postJson(gw.port, '/v1/tenants/demo/clients', { name: 'mcp-norole', roles: ['SelfService.Admin'] },
      { headers: adm });
    assert.equal(noRole.status, 201, noRole.body);
    const nr = await mcp(ping, { auth: bearer(await clientToken(gw, noRole.json.clientId, noRole.json.clientSecret)) });
    assert.equal(nr.status, 403, nr.text);
  });

  it('discovery: RFC 9728 metadata names the built-in issuer, whose metadata names the token endpoint', async () => {
    for (const [path, resource] of [['/.well-known/oauth-protected-resource/mcp', `${base}/mcp`],
      ['/.well-known/oauth-protected-resource', base]]) {
      const r = await fetch(`${base}${path}`);
      assert.equal(r.status, 200, path);
      const m = await r.json();
      assert.equal(m.resource, resource, path);
      assert.deepEqual(m.authorization_servers, [base]);
      assert.deepEqual(m.bearer_methods_supported, ['header']);
    }
    const as = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json();
    assert.equal(as.issuer, base);
    assert.equal(as.token_endpoint, `${base}/oauth2/token`);
    assert.ok(as.grant_types_supported.includes('client_credentials'));
    // A token for the resource the metadata names (RFC 8707) is issued and accepted by /mcp.
    const creds = JSON.parse(await import('node:fs').then((fs) => fs.readFileSync(`${gw.dataDir}/demo-credentials.json`, 'utf8')));
    const t = await clientToken(gw, creds.tenants.demo.client_id, creds.tenants.demo.client_secret, { resource: `${base}/mcp` });
    const r = await initialize(bearer(t));
    assert.ok(r.headers.get('mcp-session-id'));
  });

  it('refuses a foreign Origin with 403 before anything else (DNS rebinding); allows its own and loopback pages', async () => {
    const ping = { jsonrpc: '2.0', id: 1, method: 'ping' };
    for (const origin of ['http://evil.example', 'https://attacker.test:8080', 'null', `http://evil.example:${gw.port}`]) {
      const r = await mcp(ping, { headers: { origin } });
      assert.equal(r.status, 403, `${origin}: ${r.text}`);
      assert.equal(r.json.error.code, -32003);
      assert.equal(r.json.id, null);
      const unauth = await mcp(ping, { auth: {}, headers: { origin } });
      assert.equal(unauth.status, 403, 'refused before authentication');
    }
    for (const origin of [base, 'http://localhost:6274', 'http://127.0.0.1:3000', 'http://[::1]:5173']) {
      const r = await mcp({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: V_NEW } },
        { headers: { origin } });
      assert.equal(r.status, 200, `${origin}: ${r.text}`);
    }
  });
});

describe('MCP transport: a second gateway on the same store resumes the session', () => {
  let dir;
  let a;
  let b;
  after(async () => {
    await b?.stop();
    await a?.stop();
    removeDir(dir);
  });

  it('a session made on one node is usable and can be ended on another', async () => {
    dir = makeTempDir('portcullis-mcp-nodes-');
    const cfg = gatewayConfig(dir, { limits: { max_body_bytes: 65536, idle_timeout_ms: 20000 } });
    a = await startGateway({ dir, config: cfg, args: ['--demo'] });
    const token = await demoToken(a, 'demo');
    const headers = { accept: ACCEPT_BOTH, 'content-type': 'application/json', ...bearer(token) };
    const init = await fetch(`${a.baseUrl}/mcp`, { method: 'POST', headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: V_OLD } }) });
    assert.equal(init.status, 200);
    const sid = init.headers.get('mcp-session-id');
    // Node b: the same data_dir (the same SQLite store), its own process and cache. Tokens of
    // node a verify on b only when both have one issuer: give b a's address as tokens.issuer.
    const dirB = makeTempDir('portcullis-mcp-nodeb-');
    const cfgB = gatewayConfig(dir, { limits: { max_body_bytes: 65536, idle_timeout_ms: 20000 },
      extra: { tokens: { issuer: a.baseUrl } } });
    b = await startGateway({ dir: dirB, config: cfgB });
    const ping = (gw) => fetch(`${gw.baseUrl}/mcp`, { method: 'POST',
      headers: { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': V_OLD },
      body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
    const onB = await ping(b);
    assert.equal(onB.status, 200, await onB.text());
    const del = await fetch(`${b.baseUrl}/mcp`, { method: 'DELETE', headers: { ...headers, 'mcp-session-id': sid } });
    assert.equal(del.status, 204);
    // Node a had it cached: refused once its copy is rechecked against the store (≤ 5 s).
    await waitFor(async () => (await ping(a)).status === 404, 8000, { what: 'node a refuses the ended session' });
    removeDir(dirB);
  });
});
