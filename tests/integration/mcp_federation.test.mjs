// The MCP federation through the gateway (issue 10), with the official TypeScript SDK as the
// client and two SDK upstream servers (support/mcp_upstream.mjs, area "tools") plus a third that
// belongs to another tenant: clashing names prefixed, routing, the one rule set (what is not
// listed cannot be called), prompts and resources, progress and logging relayed, sampling and
// elicitation relayed and answered back, cancellation forwarded, act-on-behalf credentials (the
// client's token never reaches the upstream), and tenant isolation of servers.
//
// Needs the transport (/mcp), servers (Admin API) and tools (support/mcp_upstream.mjs, the SDK in
// package.json) areas merged: until then it fails (never skips).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, postJson, adminToken, clientToken, bearer, decodeJwt, waitFor,
} from './harness.mjs';
import { startMcpUpstream } from './support/mcp_upstream.mjs';

let dir, gw, admin, alpha, beta, gamma, acmeToken, globexToken, issuer;

async function created(res, what) {
  assert.ok(res.status === 201 || res.status === 200, `${what}: ${res.status} ${res.body?.slice?.(0, 300)}`);
  return res.json;
}

async function tenantClient(tenant, roles = ['Agent.Invoke']) {
  await postJson(gw.port, '/v1/tenants', { tenantId: tenant, tier: 'standard' }, { headers: bearer(admin) });
  const c = await created(
    await postJson(gw.port, `/v1/tenants/${tenant}/clients`, { name: `${tenant}-mcp`, roles }, { headers: bearer(admin) }),
    `client of ${tenant}`);
  return clientToken(gw, c.clientId, c.clientSecret);
}

async function connect(token, { handlers = true } = {}) {
  const client = new Client({ name: 'federation-test', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: {} } });
  const events = { logs: [] };
  if (handlers) {
    client.setRequestHandler(CreateMessageRequestSchema, async (req) => ({
      role: 'assistant',
      model: 'test-model',
      content: { type: 'text', text: `echo(${req.params.messages[0].content.text})` },
    }));
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { answer: 'yes' } }));
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => events.logs.push(n.params));
  }
  const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${gw.port}/mcp`),
    { requestInit: { headers: bearer(token) } });
  await client.connect(transport);
  return { client, transport, events };
}

const textOf = (r) => r.content?.[0]?.text;

describe('MCP federation through the gateway', () => {
  before(async () => {
    dir = makeTempDir();
    gw = await startGateway({ dir, config: gatewayConfig(dir) });
    admin = await adminToken(gw);
    issuer = decodeJwt(admin).payload.iss;
    const jwksUrl = `http://127.0.0.1:${gw.port}/.well-known/jwks.json`;
    alpha = await startMcpUpstream({ name: 'alpha' });
    beta = await startMcpUpstream({ name: 'beta', auth: { jwksUrl, issuer } });
    gamma = await startMcpUpstream({ name: 'gamma' });
    acmeToken = await tenantClient('acme');
    globexToken = await tenantClient('globex');
    // alpha: acme's own; beta: global, verifies the act-on-behalf token; gamma: globex's own.
    await created(await postJson(gw.port, '/v1/tenants/acme/mcp-servers',
      { name: 'alpha', url: alpha.url, auth: { mode: 'none' } }, { headers: bearer(admin) }), 'alpha');
    await created(await postJson(gw.port, '/v1/platform/mcp-servers',
      { name: 'beta', url: beta.url, auth: { mode: 'act_on_behalf' } }, { headers: bearer(admin) }), 'beta');
    await created(await postJson(gw.port, '/v1/tenants/globex/mcp-servers',
      { name: 'gamma', url: gamma.url, auth: { mode: 'none' } }, { headers: bearer(admin) }), 'gamma');
  });

  after(async () => {
    await alpha?.close();
    await beta?.close();
    await gamma?.close();
    await gw?.stop();
    removeDir(dir);
  });

  it('lists tools across servers, prefixing only the clashing ones, and routes calls', async () => {
    const { client } = await connect(acmeToken);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('alpha__search') && names.includes('beta__search'), names.join());
      assert.ok(!names.includes('search'), 'a clashing name is never shown bare');
      assert.ok(names.includes('alpha_info') && names.includes('beta_info'), names.join());
      assert.ok(!names.some((n) => n.includes('gamma')), 'another tenant\'s server is invisible');
      assert.equal(textOf(await client.callTool({ name: 'alpha__search', arguments: { query: 'q' } })), 'alpha: results for q');
      assert.equal(textOf(await client.callTool({ name: 'beta__search', arguments: { query: 'q' } })), 'beta: results for q');
      assert.equal(textOf(await client.callTool({ name: 'alpha_info', arguments: {} })), 'server alpha');
      assert.equal(textOf(await client.callTool({ name: 'alpha__alpha_info', arguments: {} })), 'server alpha');
      // Ambiguous, absent and another tenant's tools all answer the same "Unknown tool".
      for (const name of ['search', 'nope', 'gamma_info', 'gamma__search']) {
        await assert.rejects(client.callTool({ name, arguments: {} }),
          (e) => e.code === -32602 && e.message.includes(`Unknown tool: ${name}`), name);
      }
    } finally {
      await client.close();
    }
  });

  it('the upstream gets an act-on-behalf token for itself, never the client\'s token', async () => {
    const { client } = await connect(acmeToken);
    try {
      const r = await client.callTool({ name: 'beta__whoami', arguments: {} });
      const claims = r.structuredContent?.claims ?? JSON.parse(textOf(r)).claims;
      assert.ok(claims, 'beta verified a token');
      assert.equal(claims.aud, beta.url);
      assert.equal(claims.tenantid, 'acme');
      assert.ok(!alpha.seen.authorization.some((h) => h && h.includes(acmeToken)), 'auth none: nothing forwarded');
      assert.ok(!beta.seen.authorization.some((h) => h && h.includes(acmeToken)), 'never the client\'s token');
    } finally {
      await client.close();
    }
  });

  it('prompts and resources across servers', async () => {
    const { client } = await connect(acmeToken);
    try {
      const prompts = (await client.listPrompts()).prompts.map((p) => p.name);
      assert.ok(prompts.includes('alpha__greet') && prompts.includes('beta__greet'), prompts.join());
      const got = await client.getPrompt({ name: 'alpha__greet', arguments: { who: 'Ada' } });
      assert.equal(got.messages[0].content.text, 'alpha greets Ada');
      const resources = (await client.listResources()).resources.map((r) => r.uri);
      assert.ok(resources.includes('alpha://readme') && resources.includes('beta://readme'), resources.join());
      const read = await client.readResource({ uri: 'alpha://readme' });
      assert.ok(read.contents[0].text.length > 0);
      await assert.rejects(client.readResource({ uri: 'gamma://readme' }));
    } finally {
      await client.close();
    }
  });

  it('relays progress and logging, sampling and elicitation', async () => {
    const { client, events } = await connect(acmeToken);
    try {
      const progress = [];
      const r = await client.callTool({ name: 'alpha__progress', arguments: { steps: 3 } }, undefined,
        { onprogress: (p) => progress.push(p.progress) });
      assert.match(textOf(r), /done after 3 steps/);
      assert.deepEqual(progress, [1, 2, 3]);
      await waitFor(() => events.logs.length >= 3, 3000, { what: 'log messages relayed' });
      const s = await client.callTool({ name: 'alpha__sample', arguments: { prompt: 'hi' } });
      assert.match(JSON.stringify(s), /echo\(hi\)/);
      const e = await client.callTool({ name: 'alpha__elicit', arguments: { question: 'ok?' } });
      assert.match(JSON.stringify(e), /yes/);
    } finally {
      await client.close();
    }
  });

  it('forwards a cancellation with the upstream\'s request id', async () => {
    const { client } = await connect(acmeToken);
    try {
      const ac = new AbortController();
      const call = client.callTool({ name: 'alpha__wait', arguments: { ms: 5000 } }, undefined, { signal: ac.signal });
      await waitFor(() => alpha.seen.requests.some((r) => r.rpc === 'tools/call'), 3000, { what: 'call upstream' });
      await new Promise((res) => setTimeout(res, 100));
      ac.abort('user stop');
      await assert.rejects(call);
      await waitFor(() => alpha.seen.cancelled.length > 0, 3000, { what: 'cancel forwarded' });
    } finally {
      await client.close();
    }
  });

  it('another tenant sees only its own and the global servers', async () => {
    const { client } = await connect(globexToken);
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      assert.ok(names.includes('gamma__search') && names.includes('beta__search'), names.join());
      assert.ok(!names.some((n) => n.startsWith('alpha')), names.join());
      await assert.rejects(client.callTool({ name: 'alpha__search', arguments: { query: 'x' } }),
        (e) => e.code === -32602);
    } finally {
      await client.close();
    }
  });
});
