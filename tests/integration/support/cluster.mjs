// N gateway nodes as one cluster, started on loopback: one PostgreSQL database (the store, the
// truth), one redis-server (the change signal and the shared counters), one token issuer id (so a
// token from any node verifies on every node, as behind a balancer), one config file for all.
//
//   const c = await startCluster({ nodes: 3, redis: { password: 'pw', tls: true }, extra: { tiers: … } });
//   c.nodes[0] … c.nodes[2]   harness gateway handles (node 1 ran --demo: demo tenants, admin)
//   c.redis                   support/redis.mjs handle (kill/restart), or null with redis: false
//   c.pg                      {url, name, server}: the database; `server` is set when the cluster
//                             runs its own PostgreSQL (pg: 'own'; restart() it mid-load)
//   await c.stop()            stops the nodes and Redis, drops the database / stops the server
//
// PostgreSQL: `pg: 'shared'` (default) creates a fresh database on PORTCULLIS_TEST_PG_URL (set by
// scripts/with-postgres.sh under `make test`) and drops it at stop(); without that variable it
// starts a server of its own (needs initdb), so the cluster never silently falls back to SQLite
// and never skips. `pg: 'own'` always starts one — for tests that restart PostgreSQL.
import assert from 'node:assert/strict';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, closedPort, getMetrics, waitFor, request, bearer, RawConn,
} from '../harness.mjs';
import { startRedis } from './redis.mjs';
import { startPostgres, createDatabase } from './postgres.mjs';

// Two-level merge: top-level sections of `b` merged into those of `a` (config sections are maps of
// keys whose values the harness renders as flow maps).
function mergeSections(a, b) {
  const out = { ...a };
  for (const [k, v] of Object.entries(b ?? {})) {
    const isMap = (x) => x && typeof x === 'object' && !Array.isArray(x);
    out[k] = isMap(v) && isMap(out[k]) ? { ...out[k], ...v } : v;
  }
  return out;
}

// Value of one /metrics sample (labels must all match), undefined when absent.
export async function metricOf(gw, name, labels = {}) {
  const { samples } = await getMetrics(gw.port);
  const s = samples.find((x) => x.name === name && Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s ? s.value : undefined;
}

// One request to a node with a bearer token (and a JSON body when `body` is given).
export function send(gw, method, path, body, token, { timeoutMs = 5000, headers = {} } = {}) {
  const text = body === undefined ? undefined : JSON.stringify(body);
  return request(gw.port, {
    method, path, body: text, timeoutMs,
    headers: { ...(text ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) } : {}), ...bearer(token), ...headers },
  });
}

// GET on a kept-alive harness RawConn (the change must be seen by a connection that was open).
export async function connGet(conn, path, token) {
  await conn.write(`GET ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n\r\n`);
  const r = await conn.readResponse({ timeoutMs: 5000 });
  assert.ok(r, `no response to GET ${path}`);
  return r;
}

// Polls `check` (true = the change is visible) every ~10 ms; returns the ms since `t0`.
export async function msUntil(t0, check, what, limit = 6000) {
  await waitFor(check, limit, { interval: 10, what });
  return Date.now() - t0;
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// Suspends `tenant` through node `via` and measures how long until a kept-alive connection of
// `token` (a principal of that tenant) on node `on` is refused; reactivates and waits until it is
// served again; `trials` times, spread over the 2 s poll's phase. Resolves the times in ms.
export async function suspensionTrials(via, on, { token, adminTok, tenant = 'demo', trials = 5 }) {
  const conn = await RawConn.connect(on.port);
  const took = [];
  try {
    for (let i = 0; i < trials; ++i) {
      assert.equal((await connGet(conn, '/v1/agents', token)).status, 200);
      const t0 = Date.now();
      assert.equal((await send(via, 'PATCH', `/v1/tenants/${tenant}`, { status: 'suspended' }, adminTok)).status, 200);
      took.push(await msUntil(t0, async () => (await connGet(conn, '/v1/agents', token)).status === 401, 'the other node refuses'));
      assert.equal((await send(via, 'PATCH', `/v1/tenants/${tenant}`, { status: 'active' }, adminTok)).status, 200);
      await waitFor(async () => (await connGet(conn, '/v1/agents', token)).status === 200, 6000, { interval: 10, what: 'served again' });
      await new Promise((r) => setTimeout(r, 137 * i));
    }
  } finally {
    conn.destroy();
  }
  return took;
}

// Background load: `perNode` keep-alive clients per node sending GET /v1/agents back to back
// until stop(), which resolves {n, bad: [statuses other than 200/401], maxMs}.
export function startLoad(nodes, token, { perNode = 3 } = {}) {
  let running = true;
  const stats = { n: 0, bad: [], maxMs: 0 };
  const worker = async (g) => {
    const conn = await RawConn.connect(g.port);
    try {
      while (running) {
        const t = Date.now();
        const r = await connGet(conn, '/v1/agents', token);
        stats.n += 1;
        stats.maxMs = Math.max(stats.maxMs, Date.now() - t);
        if (r.status !== 200 && r.status !== 401) stats.bad.push(r.status);
      }
    } finally {
      conn.destroy();
    }
  };
  const workers = nodes.flatMap((g) => Array.from({ length: perNode }, () => worker(g)));
  return {
    stats,
    stop: async () => {
      running = false;
      const res = await Promise.allSettled(workers);
      const failed = res.find((x) => x.status === 'rejected');
      if (failed) throw failed.reason;
      return stats;
    },
  };
}

// Options:
//   nodes        how many gateways (default 3)
//   redis        {password, tls} for redis-server, or false for none (default {})
//   pg           'shared' | 'own' (see above)
//   extra        further config sections merged over the cluster's (tiers, agents, cluster, …)
//   limits       server.limits overrides (harness defaults otherwise)
//   extraServer  further keys of the server section (jobs, upstream timeouts, …)
//   demo         node 1 runs --demo (default true); demoAgent: the URL of the demo agent (default:
//                a closed loopback port — invokes then answer 502, listing works)
//   args         extra arguments for every node
export async function startCluster({
  nodes = 3, redis: redisOpts = {}, pg = 'shared', extra = {}, limits = {}, extraServer = {}, demo = true, demoAgent, args = [],
  issuer = 'http://127.0.0.1:9/pc-cluster',
} = {}) {
  const c = { nodes: [], redis: null, pg: null, dir: makeTempDir('portcullis-cluster-') };
  c.stop = async () => {
    await Promise.allSettled(c.nodes.map((g) => g.stop()));
    if (c.redis) await c.redis.stop();
    if (c.pg?.drop) c.pg.drop();
    if (c.pg?.server) await c.pg.server.stop();
    removeDir(c.dir);
  };
  try {
    const serverUrl = pg === 'shared' ? process.env.PORTCULLIS_TEST_PG_URL : undefined;
    if (serverUrl) {
      c.pg = createDatabase(serverUrl, 'pc_cluster');
    } else {
      const server = await startPostgres();
      c.pg = { name: 'postgres', url: server.url, server };
    }
    const base = {
      tokens: { issuer },
      storage: { backend: 'postgres', postgres: { url: c.pg.url } },
    };
    if (redisOpts) {
      c.redis = await startRedis(redisOpts);
      base.cluster = { redis: { url: c.redis.url(), ...(c.redis.caFile ? { ca_file: c.redis.caFile } : {}) } };
    }
    const config = gatewayConfig(c.dir, { limits, extraServer, extra: mergeSections(base, extra) });
    const firstArgs = demo ? ['--demo', '--demo-agent', demoAgent ?? `http://127.0.0.1:${await closedPort()}`] : [];
    // Node 1 first: it migrates the schema and seeds the demo; the others share its config file
    // (and data_dir, where --demo wrote the credentials files the harness reads).
    c.nodes.push(await startGateway({ dir: c.dir, config, args: [...firstArgs, ...args] }));
    const rest = await Promise.all(Array.from({ length: nodes - 1 },
      () => startGateway({ configPath: c.nodes[0].configPath, args })));
    c.nodes.push(...rest);
    if (c.redis) {
      for (const g of c.nodes) {
        await waitFor(async () => (await metricOf(g, 'portcullis_redis_up', { connection: 'subscriber' })) === 1, 5000,
          { what: `node on port ${g.port}: the Redis subscriber up` });
      }
    }
    return c;
  } catch (e) {
    await c.stop();
    throw e;
  }
}
