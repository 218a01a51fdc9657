// The MCP endpoint with the official TypeScript SDK as the client (issue 10, area transport):
// initialize + ping + close (DELETE) through the gateway with a bearer token, and the OAuth
// client-credentials flow found from a bare 401 alone (RFC 9728 resource_metadata → the
// built-in issuer's RFC 8414 metadata → its token endpoint, asked for the /mcp resource).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';

import { startGateway, gatewayConfig, makeTempDir, removeDir, demoToken, demoCredentials, decodeJwt } from './harness.mjs';

describe('MCP transport with the official SDK client', () => {
  let dir;
  let gw;

  before(async () => {
    dir = makeTempDir('portcullis-mcp-sdk-');
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { limits: { max_body_bytes: 65536, idle_timeout_ms: 20000, max_connections: 100 } }),
      args: ['--demo'],
    });
  });

  after(async () => {
    await gw?.stop();
    removeDir(dir);
  });

  it('connects with a bearer token, negotiates 2025-11-25, pings and ends the session', async () => {
    const token = await demoToken(gw, 'demo');
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.baseUrl}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    });
    const client = new Client({ name: 'portcullis-it', version: '1.0.0' });
    await client.connect(transport);
    try {
      assert.match(transport.sessionId ?? '', /^[A-Za-z0-9_-]{43}$/);
      assert.equal(transport.protocolVersion, '2025-11-25');
      assert.equal(client.getServerVersion()?.name, 'portcullis');
      assert.deepEqual(await client.ping(), {});
      const sid = transport.sessionId;
      await transport.terminateSession();  // DELETE /mcp
      const after = await fetch(`${gw.baseUrl}/mcp`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, accept: 'application/json, text/event-stream',
          'content-type': 'application/json', 'mcp-session-id': sid },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
      });
      assert.equal(after.status, 404, 'the SDK ended the session');
    } finally {
      await client.close();
    }
  });

  it('finds the token endpoint from a bare 401 and gets a token by client credentials', async () => {
    const creds = (await demoCredentials(gw)).tenants.demo;
    const provider = new ClientCredentialsProvider({ clientId: creds.client_id, clientSecret: creds.client_secret });
    const transport = new StreamableHTTPClientTransport(new URL(`${gw.baseUrl}/mcp`), { authProvider: provider });
    const client = new Client({ name: 'portcullis-it-oauth', version: '1.0.0' });
    try {
      await client.connect(transport);
    } catch (e) {
      // The SDK's flow: the first attempt answers 401, auth() runs, the caller retries.
      assert.equal(e?.constructor?.name, 'UnauthorizedError', String(e));
      await client.connect(transport);
    }
    try {
      const tokens = provider.tokens();
      assert.ok(tokens?.access_token, 'the provider got a token from the discovered token endpoint');
      const { payload } = decodeJwt(tokens.access_token);
      assert.equal(payload.iss, gw.baseUrl);
      assert.equal(payload.tenantid, 'demo');
      assert.ok([payload.aud].flat().includes(`${gw.baseUrl}/mcp`), `aud ${JSON.stringify(payload.aud)}`);
      assert.deepEqual(await client.ping(), {});
    } finally {
      await client.close();
    }
  });
});
