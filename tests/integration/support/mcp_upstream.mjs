// MCP test upstreams (issue 10) built with the official TypeScript SDK: an McpServer per session
// over StreamableHTTPServerTransport (stateful), on 127.0.0.1 and a port the OS picks. Two of them
// with different names make the federation's test bed: both offer the tool `search` and the prompt
// `greet` (clashing names), each has resources, a resource template, prompts with completion, and
// tools that exercise the server → client direction (progress, logging, sampling, elicitation,
// tools/list_changed) and record what the client sent back (notifications/cancelled, the
// Authorization header, the claims of a verified act-on-behalf token).
//
//   const up = await startMcpUpstream({ name: 'alpha' });
//   up.url        // http://127.0.0.1:PORT/mcp — the URL to register (and the token audience)
//   up.seen       // { requests, authorization, claims, cancelled, sampling, elicitation, sessions }
//   await up.close();
//
// Options:
//   name        server name, also the prefix of its resource URIs (`<name>://…`) and its own tool
//   auth        undefined: no check. { jwksUrl, issuer, audience? }: require an act-on-behalf token
//               (ES256, typ JWT) verified against that JWKS with `aud` exactly `audience` (default:
//               this server's own URL); 401 with WWW-Authenticate otherwise.
//               { header, value }: require that header to carry that value (a vault secret).
//   features    subset of ['tools', 'resources', 'prompts', 'completion', 'logging'] (default all)
import http from 'node:http';
import { randomUUID } from 'node:crypto';

import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { completable } from '@modelcontextprotocol/sdk/server/completable.js';
import { CreateMessageResultSchema, ElicitResultSchema, isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { z } from 'zod';

const ALL_FEATURES = ['tools', 'resources', 'prompts', 'completion', 'logging'];
const COLORS = ['red', 'green', 'blue', 'black'];
const MAX_BODY = 1024 * 1024;

function text(t) {
  return { content: [{ type: 'text', text: t }] };
}

function sleep(ms, signal) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(true);
    }, { once: true });
  });
}

// The tools, resources and prompts of one session's McpServer.
function buildServer(opts, seen, sessionRef) {
  const { name } = opts;
  const features = new Set(opts.features ?? ALL_FEATURES);
  const capabilities = {};
  if (features.has('logging')) capabilities.logging = {};
  if (features.has('completion')) capabilities.completions = {};
  const server = new McpServer({ name, version: '1.0.0', title: `Test upstream ${name}` }, { capabilities });

  if (features.has('tools')) {
    // Offered by every test upstream: the federation must prefix it.
    server.registerTool('search', {
      title: 'Search',
      description: `Searches ${name}`,
      inputSchema: { query: z.string() },
    }, async ({ query }) => text(`${name}: results for ${query}`));

    // Offered by this upstream only: keeps its bare name through the federation.
    server.registerTool(`${name}_info`, {
      description: `Describes ${name}`,
      inputSchema: {},
    }, async () => text(`server ${name}`));

    // An inputSchema with required, enum and bounds, for the argument validation interceptor.
    server.registerTool('paint', {
      description: 'Paints a number of items in a colour',
      inputSchema: {
        color: z.enum(COLORS),
        count: z.number().int().min(1).max(10),
        note: z.string().max(20).optional(),
      },
    }, async ({ color, count, note }) => text(`${name}: painted ${count} ${color}${note ? ` (${note})` : ''}`));

    // Who the request said it was: the Authorization header and the verified claims, if any.
    server.registerTool('whoami', {
      description: 'Reports the credentials this server saw on the call',
      inputSchema: {},
    }, async (_args, extra) => {
      const claims = extra.authInfo?.extra?.claims ?? null;
      return {
        ...text(JSON.stringify({ server: name, claims })),
        structuredContent: { server: name, claims },
      };
    });

    // Progress notifications (when the client sent a progressToken) and logging messages, then the result.
    server.registerTool('progress', {
      description: 'Sends progress notifications and log messages, then answers',
      inputSchema: { steps: z.number().int().min(1).max(20).default(3) },
    }, async ({ steps }, extra) => {
      const token = extra._meta?.progressToken;
      for (let i = 1; i <= steps; i++) {
        if (token !== undefined) {
          await extra.sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress: i, total: steps, message: `step ${i}` },
          });
        }
        await extra.sendNotification({
          method: 'notifications/message',
          params: { level: 'info', logger: name, data: `step ${i} of ${steps}` },
        });
      }
      return text(`${name}: done after ${steps} steps`);
    });

    // Asks the client's model (sampling) and returns what came back.
    server.registerTool('sample', {
      description: 'Asks the client for a model completion (sampling/createMessage)',
      inputSchema: { prompt: z.string() },
    }, async ({ prompt }, extra) => {
      const answer = await extra.sendRequest({
        method: 'sampling/createMessage',
        params: { messages: [{ role: 'user', content: { type: 'text', text: prompt } }], maxTokens: 50 },
      }, CreateMessageResultSchema);
      seen.sampling.push(answer);
      const got = answer.content?.type === 'text' ? answer.content.text : JSON.stringify(answer.content);
      return text(`${name}: the model said ${got}`);
    });

    // Asks the user for input (elicitation/create) and returns what came back.
    server.registerTool('elicit', {
      description: 'Asks the user for input (elicitation)',
      inputSchema: { question: z.string() },
    }, async ({ question }, extra) => {
      const answer = await extra.sendRequest({
        method: 'elicitation/create',
        params: {
          message: question,
          requestedSchema: { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'] },
        },
      }, ElicitResultSchema);
      seen.elicitation.push(answer);
      return text(`${name}: the user chose ${answer.action}${answer.content ? ` ${JSON.stringify(answer.content)}` : ''}`);
    });

    // Adds a tool to this session's server: the SDK sends notifications/tools/list_changed.
    let added = 0;
    server.registerTool('add_tool', {
      description: 'Adds a tool (notifications/tools/list_changed)',
      inputSchema: {},
    }, async () => {
      added += 1;
      const toolName = `${name}_extra_${added}`;
      server.registerTool(toolName, { description: 'added at run time', inputSchema: {} }, async () => text(toolName));
      return text(`${name}: added ${toolName}`);
    });

    // Waits until cancelled (notifications/cancelled aborts extra.signal) or `ms` passed.
    server.registerTool('wait', {
      description: 'Waits; records notifications/cancelled',
      inputSchema: { ms: z.number().int().min(0).max(60000) },
    }, async ({ ms }, extra) => {
      const cancelled = await sleep(ms, extra.signal);
      if (cancelled) {
        seen.cancelled.push({ requestId: extra.requestId, reason: String(extra.signal.reason ?? ''), sessionId: sessionRef.id });
        return text(`${name}: cancelled`);
      }
      return text(`${name}: waited ${ms} ms`);
    });
  }

  if (features.has('resources')) {
    server.registerResource('readme', `${name}://readme`, {
      title: `${name} readme`,
      description: `About ${name}`,
      mimeType: 'text/plain',
    }, async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'text/plain', text: `This is ${name}.` }] }));

    const ids = ['1', '2', '10', '20'];
    server.registerResource('item', new ResourceTemplate(`${name}://items/{id}`, {
      list: async () => ({ resources: ids.map((id) => ({ uri: `${name}://items/${id}`, name: `item ${id}` })) }),
      complete: features.has('completion') ? { id: (value) => ids.filter((id) => id.startsWith(value)) } : undefined,
    }), { description: `Items of ${name}`, mimeType: 'application/json' },
    async (uri, { id }) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ server: name, id }) }],
    }));
  }

  if (features.has('prompts')) {
    const nameArg = features.has('completion')
      ? completable(z.string(), (value) => ['Alice', 'Albert', 'Bob'].filter((n) => n.startsWith(value)))
      : z.string();
    // Offered by every test upstream, like `search`.
    server.registerPrompt('greet', {
      description: `Greets someone, from ${name}`,
      argsSchema: { who: nameArg },
    }, ({ who }) => ({
      messages: [{ role: 'user', content: { type: 'text', text: `${name} greets ${who}` } }],
    }));
    server.registerPrompt(`${name}_brief`, {
      description: `A brief about ${name}`,
    }, () => ({ messages: [{ role: 'user', content: { type: 'text', text: `Brief of ${name}` } }] }));
  }
  return server;
}

async function readBody(req) {
  const chunks = [];
  let size = 0;
  for await (const c of req) {
    size += c.length;
    if (size > MAX_BODY) throw Object.assign(new Error('body too large'), { status: 413 });
    chunks.push(c);
  }
  if (!size) return undefined;
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function reply(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

function rpcError(res, status, code, message) {
  reply(res, status, { jsonrpc: '2.0', id: null, error: { code, message } });
}

export async function startMcpUpstream(opts = {}) {
  const options = { name: 'upstream', ...opts };
  const seen = { requests: [], authorization: [], claims: [], refusals: [], cancelled: [], sampling: [], elicitation: [], sessions: 0 };
  const sessions = new Map(); // Mcp-Session-Id → { transport, server }
  let url;
  let jwks;

  // Returns the verified claims (or {} when no token is required), or null after answering 401.
  async function authenticate(req, res) {
    const auth = options.auth;
    const header = req.headers.authorization;
    seen.authorization.push(header ?? null);
    if (!auth) return {};
    const metadata = `${new URL(url).origin}/.well-known/oauth-protected-resource/mcp`;
    const refuse = (why, hadToken) => {
      seen.refusals.push(why);
      reply(res, 401, { error: hadToken ? 'invalid_token' : 'unauthorized' }, {
        'www-authenticate': `Bearer${hadToken ? ' error="invalid_token",' : ''} resource_metadata="${metadata}"`,
      });
      return null;
    };
    if (auth.header) {
      const value = req.headers[auth.header.toLowerCase()];
      return value === auth.value ? {} : refuse('header', value !== undefined);
    }
    if (!header?.startsWith('Bearer ')) return refuse('no token', false);
    jwks ??= createRemoteJWKSet(new URL(auth.jwksUrl));
    try {
      const { payload } = await jwtVerify(header.slice(7), jwks, {
        issuer: auth.issuer,
        audience: auth.audience ?? url,
        algorithms: ['ES256'],
        typ: 'JWT',
        maxTokenAge: '5m',
        requiredClaims: ['sub', 'tenantid', 'exp', 'jti'],
      });
      // Exactly one audience: a token also meant for another server could be replayed there.
      if (typeof payload.aud !== 'string') return refuse('aud is not a single string', true);
      seen.claims.push(payload);
      return payload;
    } catch (e) {
      return refuse(e.code ?? e.message, true);
    }
  }

  const httpServer = http.createServer(async (req, res) => {
    try {
      const path = new URL(req.url, 'http://x').pathname;
      if (req.method === 'GET' && path.startsWith('/.well-known/oauth-protected-resource')) {
        return reply(res, 200, {
          resource: url,
          authorization_servers: options.auth?.issuer ? [options.auth.issuer] : [],
          bearer_methods_supported: ['header'],
        });
      }
      if (path !== '/mcp') return reply(res, 404, { error: 'not_found' });
      const claims = await authenticate(req, res);
      if (claims === null) return;
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      seen.requests.push({ method: req.method, rpc: body?.method ?? null, sessionId: req.headers['mcp-session-id'] ?? null });
      // What the SDK hands tools as extra.authInfo (whoami reports it).
      req.auth = { token: '', clientId: claims.client_id ?? '', scopes: [], extra: { claims: options.auth ? claims : null } };

      const sid = req.headers['mcp-session-id'];
      let entry = sid ? sessions.get(sid) : undefined;
      if (!entry) {
        if (sid) return rpcError(res, 404, -32001, 'Session not found');
        if (req.method !== 'POST' || !isInitializeRequest(body))
          return rpcError(res, 400, -32000, 'Bad Request: no valid session ID provided');
        const sessionRef = { id: null };
        const transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessionRef.id = id;
            sessions.set(id, entry);
            seen.sessions += 1;
          },
        });
        transport.onclose = () => {
          if (transport.sessionId) sessions.delete(transport.sessionId);
        };
        const server = buildServer(options, seen, sessionRef);
        entry = { transport, server };
        await server.connect(transport);
      }
      await entry.transport.handleRequest(req, res, body);
    } catch (e) {
      if (!res.headersSent) {
        if (e instanceof SyntaxError) return rpcError(res, 400, -32700, 'Parse error');
        rpcError(res, e.status ?? 500, -32603, e.status ? e.message : 'Internal error');
      }
    }
  });

  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${httpServer.address().port}/mcp`;

  return {
    name: options.name,
    url,
    seen,
    sessions,
    async close() {
      for (const { transport, server } of sessions.values()) {
        await server.close().catch(() => {});
        await transport.close().catch(() => {});
      }
      sessions.clear();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
}
