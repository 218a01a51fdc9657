// resources/subscribe and resources/unsubscribe through the gateway (found by the MCP conformance
// suite, scripts/mcp-conformance-gateway.sh: the gateway answered "Method not found"). The gateway
// declares resources.subscribe and routes each call to the server that owns the URI, like
// resources/read: a server that declared no subscribe support, an unknown URI and another
// tenant's resource are all refused, and the client's call never reaches a server it cannot read.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EmptyResultSchema } from '@modelcontextprotocol/sdk/types.js';

import { startGateway, gatewayConfig, makeTempDir, removeDir, postJson, adminToken, clientToken, bearer } from './harness.mjs';
import { startConformanceUpstream } from './support/conformance_upstream.mjs';
import { startMcpUpstream } from './support/mcp_upstream.mjs';

let dir, gw, admin, conf, plain, other, acmeToken;

async function created(res, what) {
  assert.ok(res.status === 201 || res.status === 200, `${what}: ${res.status} ${res.body?.slice?.(0, 300)}`);
  return res.json;
}

async function tenantClient(tenant) {
  await postJson(gw.port, '/v1/tenants', { tenantId: tenant, tier: 'standard' }, { headers: bearer(admin) });
  const c = await created(await postJson(gw.port, `/v1/tenants/${tenant}/clients`,
    { name: `${tenant}-mcp`, roles: ['Agent.Invoke'] }, { headers: bearer(admin) }), `client of ${tenant}`);
  return clientToken(gw, c.clientId, c.clientSecret);
}

async function connect(token) {
  const client = new Client({ name: 'subscribe-test', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.port}/mcp`),
    { requestInit: { headers: bearer(token) } }));
  return client;
}

describe('MCP resource subscriptions through the gateway', () => {
  before(async () => {
    dir = makeTempDir();
    gw = await startGateway({ dir, config: gatewayConfig(dir) });
    admin = await adminToken(gw);
    conf = await startConformanceUpstream();   // declares resources.subscribe
    plain = await startMcpUpstream({ name: 'plain' });  // resources without subscribe
    other = await startConformanceUpstream();  // another tenant's
    acmeToken = await tenantClient('acme');
    await tenantClient('globex');
    await created(await postJson(gw.port, '/v1/tenants/acme/mcp-servers',
      { name: 'conf', url: conf.url, auth: { mode: 'none' } }, { headers: bearer(admin) }), 'conf');
    await created(await postJson(gw.port, '/v1/tenants/acme/mcp-servers',
      { name: 'plain', url: plain.url, auth: { mode: 'none' } }, { headers: bearer(admin) }), 'plain');
    await created(await postJson(gw.port, '/v1/tenants/globex/mcp-servers',
      { name: 'other', url: other.url, auth: { mode: 'none' } }, { headers: bearer(admin) }), 'other');
  });

  after(async () => {
    await conf?.close();
    await plain?.close();
    await other?.close();
    await gw?.stop();
    removeDir(dir);
  });

  it('declares resources.subscribe and forwards subscribe/unsubscribe to the owning server', async () => {
    const client = await connect(acmeToken);
    try {
      assert.equal(client.getServerCapabilities()?.resources?.subscribe, true);
      assert.deepEqual(await client.subscribeResource({ uri: 'test://watched-resource' }), {});
      assert.deepEqual(await client.unsubscribeResource({ uri: 'test://watched-resource' }), {});
    } finally {
      await client.close();
    }
  });

  it('refuses a server without subscribe support, an unknown URI and a bad request', async () => {
    const client = await connect(acmeToken);
    try {
      await assert.rejects(client.subscribeResource({ uri: 'plain://readme' }), (e) => e.code === -32601, 'no subscribe');
      await assert.rejects(client.subscribeResource({ uri: 'nope://x' }), (e) => e.code === -32002, 'unknown URI');
      await assert.rejects(client.request({ method: 'resources/subscribe', params: {} }, EmptyResultSchema),
        (e) => e.code === -32602, 'no uri');
    } finally {
      await client.close();
    }
  });

  it('another tenant\'s resource cannot be subscribed to', async () => {
    // globex2 has no server; globex's (and acme's) offer test://watched-resource: both invisible.
    const globex = await tenantClient('globex2');
    const client = await connect(globex);
    try {
      await assert.rejects(client.subscribeResource({ uri: 'test://watched-resource' }), (e) => e.code === -32002);
    } finally {
      await client.close();
    }
  });
});
