// An A2A agent runtime built on the official @a2a-js/sdk 1.3.0 server (express 5), for the A2A
// tests and bench/a2a.sh: the agent behind the gateway's /a2a/{agent}.
//
// - JSON-RPC at /a2a/jsonrpc and HTTP+JSON (REST) at /a2a/rest, both with the v0.3 compat layer on
//   (`legacyCompat`), so 1.0 and 0.3 requests reach the same executor; the card at
//   /.well-known/agent-card.json (and /.well-known/agent.json, the 0.3 path) lists both interfaces
//   (1.0; the compat layer shows 0.3 clients a 0.3 card), with streaming and push notifications.
//   The paths are not the gateway's (/a2a/{agent}): the gateway must call the paths the card names.
// - Every JSON-RPC/REST request must carry an X-Portcullis-Identity the gateway signed: ES256,
//   verified with the gateway's JWKS (jose), issuer the gateway, audience "agent:<name>". Without
//   one, or with a bad one, the answer is 401 and the executor never runs. The card is public (the
//   gateway fetches it in the background, with no caller).
// - What it received is recorded for assertions: `requests` (method, path, headers, verified
//   claims or the refusal), `messages` (the text, task/context ids, A2A version, claims),
//   `pushConfigs` (push-notification configs the gateway registered).
// - The executor is chosen by the first word of the message's text:
//     echo <text>     (default) a completed task with one artifact "echo: <text>"
//     reply <text>    a direct Message answer, no task
//     stream <N> [ms] a task, working, then N updates of artifact "stream" with the text "event <i>"
//                     (ms apart, default 0), completed
//     slow [ms]       a task that works for ms (default 30000) in 20 ms steps; cancellable
//     crash [N]       a task, N (default 2) events, then the runtime dies mid-stream: in-process
//                     the connection carrying the request is destroyed; as a child process
//                     (`--crash-exits`) the process exits
//     push [ms]       a task that goes working, waits ms (default 300) so a push config set after
//                     creation still sees updates, then an artifact and completed
//
// In-process:  const rt = await startA2aRuntime({ agent: 'helper', gateway: gw.baseUrl });
//              ... rt.origin, rt.card(), rt.messages, rt.requests; rt.trustGateway(url); await rt.stop();
// As a process (bench/a2a.sh): node a2a_runtime.mjs --agent NAME [--gateway URL] [--no-identity]
//              [--crash-exits] [--port N]; prints one JSON line {"listening": "127.0.0.1:<port>"}
//              then serves; GET /__runtime/records answers the records (child processes only).

import http from 'node:http';
import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import express from 'express';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { A2A_PROTOCOL_VERSION, AGENT_CARD_PATH, TaskState, Role } from '@a2a-js/sdk';
import {
  AgentEvent, DefaultRequestHandler, InMemoryPushNotificationStore, InMemoryTaskStore,
} from '@a2a-js/sdk/server';
import { agentCardHandler, jsonRpcHandler, restHandler } from '@a2a-js/sdk/server/express';
import { createLegacyAwarePushNotificationSender } from '@a2a-js/sdk/compat/v0_3/server';

export const JSONRPC_PATH = '/a2a/jsonrpc';
export const REST_PATH = '/a2a/rest';
const A2A_LEGACY_VERSION = '0.3';
const LEGACY_CARD_PATH = '/.well-known/agent.json';
const MAX_RECORDS = 10_000; // the bench sends far more; tests look at the latest ones

const now = () => new Date().toISOString();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const textPart = (value) => ({ content: { $case: 'text', value }, metadata: undefined, filename: '', mediaType: 'text/plain' });

function textOf(message) {
  return (message?.parts ?? [])
    .map((p) => (p.content?.$case === 'text' ? p.content.value : ''))
    .join('');
}

function agentMessage(taskId, contextId, text) {
  return {
    role: Role.ROLE_AGENT, messageId: randomUUID(), parts: [textPart(text)], taskId, contextId,
    extensions: [], metadata: {}, referenceTaskIds: [],
  };
}

// The identity checked by the middleware, for the executor (the SDK's User carries only a name).
class IdentityUser {
  constructor(claims) { this.claims = claims; }
  get isAuthenticated() { return Boolean(this.claims); }
  get userName() { return this.claims?.sub ?? ''; }
}

export async function startA2aRuntime({
  agent = 'a2a-runtime',
  gateway = null,              // the gateway's base URL (issuer, JWKS); trustGateway() sets it later
  requireIdentity = true,      // false: no identity needed (bench's direct runs before the proxy)
  crashExits = false,          // "crash" ends the process instead of one connection
  recordsEndpoint = false,     // GET /__runtime/records answers the records (a child process's)
  port = 0,
  name = 'Portcullis SDK test agent',
  skills = [{ id: 'echo', name: 'Echo', description: 'Echoes the text back' },
    { id: 'stream', name: 'Stream', description: 'Streams N events' }],
  extendedCard = null,         // an extra skill list for the authenticated extended card, if any
  log = () => {},
} = {}) {
  const als = new AsyncLocalStorage();
  const requests = [];
  const messages = [];
  const pushConfigs = [];
  const cancelled = new Set();
  const record = (list, entry) => {
    list.push(entry);
    if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
  };

  let trust = null; // { issuer, audience, jwks }
  const trustGateway = (base) => {
    const issuer = String(base).replace(/\/+$/, '');
    trust = { issuer, audience: `agent:${agent}`, jwks: createRemoteJWKSet(new URL(`${issuer}/.well-known/jwks.json`)) };
  };
  if (gateway) trustGateway(gateway);

  let origin = ''; // set once listening; the card's URLs are the runtime's own
  const card = () => {
    const iface = (url, protocolBinding, protocolVersion = A2A_PROTOCOL_VERSION) => ({ url, protocolBinding, tenant: '', protocolVersion });
    return {
      name,
      description: 'An @a2a-js/sdk 1.3.0 agent runtime for Portcullis tests: echo, stream, slow, crash, push',
      // 1.0 first (preferred); the 0.3 entries are what the compat layer needs to serve 0.3 clients.
      supportedInterfaces: [
        iface(`${origin}${JSONRPC_PATH}`, 'JSONRPC'), iface(`${origin}${REST_PATH}`, 'HTTP+JSON'),
        iface(`${origin}${JSONRPC_PATH}`, 'JSONRPC', A2A_LEGACY_VERSION), iface(`${origin}${REST_PATH}`, 'HTTP+JSON', A2A_LEGACY_VERSION),
      ],
      provider: { organization: 'Portcullis tests', url: 'https://example.invalid/portcullis' },
      version: '1.0.0',
      capabilities: { streaming: true, pushNotifications: true, extensions: [], extendedAgentCard: Boolean(extendedCard) },
      // The runtime's own scheme: the gateway must replace it with its own in the card it serves.
      securitySchemes: { runtimeKey: { scheme: { $case: 'apiKeySecurityScheme', value: { description: 'runtime-only', location: 'header', name: 'X-Runtime-Key' } } } },
      securityRequirements: [{ schemes: { runtimeKey: { list: [] } } }],
      defaultInputModes: ['text'],
      defaultOutputModes: ['text', 'task-status'],
      skills: skills.map((s) => ({ tags: [], examples: [], inputModes: [], outputModes: [], securityRequirements: [], ...s })),
      documentationUrl: '',
      signatures: [],
    };
  };

  // ------------------------------------------------------------------ executors
  const executor = {
    cancelTask: async (taskId, bus) => {
      cancelled.add(taskId);
      void bus; // the executing loop publishes the final canceled status itself
    },
    execute: async (rc, bus) => {
      const text = textOf(rc.userMessage);
      const [word = 'echo', ...rest] = text.trim().split(/\s+/);
      const arg = rest.join(' ');
      const { taskId, contextId } = rc;
      const claims = rc.context?.user?.claims ?? null;
      record(messages, {
        text, taskId, contextId, existingTask: Boolean(rc.task), version: rc.context?.requestedVersion,
        claims, request: als.getStore()?.entry ?? null, at: Date.now(),
      });
      const status = (state, final, msg) => bus.publish(AgentEvent.statusUpdate({
        taskId, contextId, status: { state, timestamp: now(), message: msg ? agentMessage(taskId, contextId, msg) : undefined }, metadata: {},
      }));
      // Each artifact update carries when it was produced (ms, wall clock with sub-ms precision):
      // bench/a2a.sh measures how long a relayed event takes to reach the client.
      const artifact = (i, value, lastChunk = true, artifactId = `artifact-${i}`) => bus.publish(AgentEvent.artifactUpdate({
        taskId, contextId,
        artifact: { artifactId, name: artifactId, description: '', parts: [textPart(value)], metadata: {}, extensions: [] },
        append: false, lastChunk, metadata: { producedAt: performance.timeOrigin + performance.now() },
      }));
      const openTask = (state = TaskState.TASK_STATE_SUBMITTED) => {
        if (rc.task) return;
        bus.publish(AgentEvent.task({
          id: taskId, contextId, status: { state, timestamp: now(), message: undefined },
          artifacts: [], history: [rc.userMessage], metadata: {},
        }));
      };

      switch (word.toLowerCase()) {
        case 'reply':
          bus.publish(AgentEvent.message(agentMessage(undefined, contextId, `reply: ${arg}`)));
          break;
        case 'stream': {
          const n = Math.max(0, Number.parseInt(rest[0] ?? '3', 10) || 0);
          const gap = Math.max(0, Number.parseInt(rest[1] ?? '0', 10) || 0);
          openTask();
          status(TaskState.TASK_STATE_WORKING);
          for (let i = 1; i <= n; i++) {
            if (cancelled.has(taskId)) { status(TaskState.TASK_STATE_CANCELED, true, 'canceled'); return; }
            // One artifact replaced by each event: the SDK's task store copies the whole task per
            // event, so N distinct artifacts would cost the runtime O(N²) for a long stream.
            artifact(i, `event ${i}`, i === n, 'stream');
            if (gap) await sleep(gap); else if (i % 64 === 0) await new Promise(setImmediate);
          }
          status(TaskState.TASK_STATE_COMPLETED, true, `streamed ${n}`);
          break;
        }
        case 'slow': {
          const ms = Number.parseInt(rest[0] ?? '30000', 10) || 30000;
          openTask();
          status(TaskState.TASK_STATE_WORKING, false, 'working slowly');
          const until = Date.now() + ms;
          while (Date.now() < until) {
            if (cancelled.has(taskId)) { status(TaskState.TASK_STATE_CANCELED, true, 'canceled'); return; }
            await sleep(20);
          }
          artifact(1, 'slow done');
          status(TaskState.TASK_STATE_COMPLETED, true, 'done');
          break;
        }
        case 'crash': {
          const n = Number.parseInt(rest[0] ?? '2', 10) || 2;
          openTask();
          status(TaskState.TASK_STATE_WORKING);
          for (let i = 1; i <= n; i++) artifact(i, `event ${i}`);
          await sleep(50); // let the events reach the wire first
          log(`crash: dying mid-stream of task ${taskId}`);
          if (crashExits) process.exit(3);
          als.getStore()?.res?.socket?.destroy();
          // The SDK would otherwise keep the task open: end it so nothing leaks in the test process.
          status(TaskState.TASK_STATE_FAILED, true, 'crashed');
          break;
        }
        case 'push': {
          const ms = Number.parseInt(rest[0] ?? '300', 10) || 300;
          openTask();
          status(TaskState.TASK_STATE_WORKING);
          await sleep(ms);
          artifact(1, `push: ${rest.slice(1).join(' ')}`);
          status(TaskState.TASK_STATE_COMPLETED, true, 'pushed');
          break;
        }
        default: {
          openTask(TaskState.TASK_STATE_WORKING);
          artifact(1, `echo: ${word.toLowerCase() === 'echo' ? arg : text}`);
          status(TaskState.TASK_STATE_COMPLETED, true, 'done');
        }
      }
      cancelled.delete(taskId);
    },
  };

  // ------------------------------------------------------------------ SDK wiring
  const taskStore = new InMemoryTaskStore();
  const pushStore = new InMemoryPushNotificationStore();
  // Record what the gateway registers (its relay URL and token, never the client's URL).
  const save = pushStore.save?.bind(pushStore);
  if (save) {
    pushStore.save = async (taskId, context, config) => {
      record(pushConfigs, { taskId, config: structuredClone(config), version: context?.requestedVersion, at: Date.now() });
      return save(taskId, context, config);
    };
  }
  const pushSender = createLegacyAwarePushNotificationSender(pushStore, { timeout: 5000, tokenHeaderName: 'X-A2A-Notification-Token' });
  const extended = extendedCard ? async () => ({ ...card(), skills: [...card().skills, ...extendedCard] }) : undefined;
  const handler = new DefaultRequestHandler(card(), taskStore, executor, undefined, pushStore, pushSender, extended);
  // The handler keeps the card it was built with; serve the live one (its URLs know the port).
  handler.getAgentCard = async () => card();

  // ------------------------------------------------------------------ identity
  async function verifyIdentity(req) {
    const token = req.get('x-portcullis-identity');
    if (!token) return { error: 'no X-Portcullis-Identity' };
    if (!trust) return { error: 'no gateway to trust yet (trustGateway)' };
    try {
      const { payload, protectedHeader } = await jwtVerify(token, trust.jwks, {
        issuer: trust.issuer, audience: trust.audience, typ: 'JWT', algorithms: ['ES256'],
      });
      return { claims: payload, header: protectedHeader };
    } catch (e) {
      return { error: `${e.code ?? 'invalid'}: ${e.message}` };
    }
  }

  const app = express();
  app.disable('x-powered-by');
  const identity = async (req, res, next) => {
    const entry = { method: req.method, path: req.originalUrl, headers: { ...req.headers }, claims: null, refused: null, at: Date.now() };
    record(requests, entry);
    const v = requireIdentity || req.get('x-portcullis-identity') ? await verifyIdentity(req) : { claims: null };
    if (v.error) {
      entry.refused = v.error;
      log(`refused ${req.method} ${req.originalUrl}: ${v.error}`);
      res.status(401).json({ error: { code: 'identity_invalid', message: v.error } });
      return;
    }
    entry.claims = v.claims;
    req.portcullisClaims = v.claims;
    als.run({ entry, req, res }, next);
  };
  const userBuilder = async (req) => new IdentityUser(req.portcullisClaims ?? null);

  if (recordsEndpoint) {
    app.get('/__runtime/records', (req, res) => res.json({ requests, messages, pushConfigs }));
  }
  const cardHandler = agentCardHandler({ agentCardProvider: handler, legacyCompat: { enabled: true } });
  app.use(`/${AGENT_CARD_PATH}`, cardHandler);
  app.use(LEGACY_CARD_PATH, cardHandler);
  app.use(JSONRPC_PATH, identity, jsonRpcHandler({ requestHandler: handler, userBuilder, legacyCompat: { enabled: true } }));
  app.use(REST_PATH, identity, restHandler({ requestHandler: handler, userBuilder, legacyCompat: { enabled: true } }));

  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  const sockets = new Set();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const boundPort = server.address().port;
  origin = `http://127.0.0.1:${boundPort}`;

  let stopped = false;
  return {
    agent,
    port: boundPort,
    origin,
    url: origin, // what to register as the agent's URL
    jsonRpcUrl: `${origin}${JSONRPC_PATH}`,
    restUrl: `${origin}${REST_PATH}`,
    card,
    requests,
    messages,
    pushConfigs,
    taskStore,
    trustGateway,
    // Forget what was recorded so far (between tests).
    clear() { requests.length = 0; messages.length = 0; pushConfigs.length = 0; },
    // Headers of the latest request that reached the JSON-RPC or REST handler (lower-case keys).
    lastHeaders() { return requests.at(-1)?.headers ?? null; },
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const t of [...cancelled]) cancelled.delete(t);
      await new Promise((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}

// ------------------------------------------------------------------ as a process
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const opt = (flag) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rt = await startA2aRuntime({
    agent: opt('--agent') ?? 'a2a-runtime',
    gateway: opt('--gateway') ?? null,
    requireIdentity: !args.includes('--no-identity'),
    crashExits: true,
    recordsEndpoint: true,
    port: Number(opt('--port') ?? 0),
    log: (m) => process.stderr.write(`a2a-runtime: ${m}\n`),
  });
  process.stdout.write(`${JSON.stringify({ listening: `127.0.0.1:${rt.port}`, agent: rt.agent })}\n`);
  for (const sig of ['SIGINT', 'SIGTERM']) process.once(sig, () => rt.stop().then(() => process.exit(0)));
}
