// Three gateway nodes on one PostgreSQL database and one Redis (support/cluster.mjs), as the issue
// asks (docs/cluster.md): a suspension through node 1 refuses on node 3 within 1 s; a key rotated
// on node 2 verifies on nodes 1 and 3 within 1 s; agent sessions, async jobs, MCP sessions and A2A
// tasks made through one node are usable through another; an MCP server registered through node 1
// is usable on node 2 within 1 s; Redis killed under load spread over the three nodes (nothing
// hangs, no 5xx, every node logs it and reports it, the poll carries changes, and on reconnect
// every node refreshes everything once); PostgreSQL restarted under load (a cluster with a server
// of its own): writes answer 503 with a JSON error while it is down, none hangs, every
// acknowledged write is there afterwards, and the nodes recover without a restart.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import {
  request, postJson, waitFor, adminToken, demoToken, bearer, decodeJwt, sleep, startAgent, runBinary,
} from './harness.mjs';
import {
  startCluster, metricOf, send, msUntil, median, startLoad, suspensionTrials,
} from './support/cluster.mjs';
import { psql } from './support/postgres.mjs';
import { startMcpUpstream } from './support/mcp_upstream.mjs';
import { startA2aRuntime } from './support/a2a_runtime.mjs';
import { sendTask, rpc, assertRpcTaskNotFound, registerAgent, newClient } from './support/a2a_raw.mjs';

const LIMIT_MS = 1000; // the bound for a change to reach every node
const ROOMY = Object.fromEntries(['basic', 'standard', 'premium'].map((t) => [t, { rps: 1000000, burst: 1000000, max_concurrent: 10000 }]));
const JOBS = { workers: 2, timeout_ms: 2000, max_attempts: 3, backoff_initial_ms: 50, backoff_max_ms: 200, lease_ms: 2000, poll_interval_ms: 50 };

const note = (line) => process.stdout.write(`# ${line}\n`);

// One JSON-RPC message to POST /mcp of a node (JSON answers; the gateway answers JSON unless asked
// for a stream).
async function mcp(gw, token, body, session) {
  const headers = { accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25', ...(session ? { 'mcp-session-id': session } : {}) };
  return send(gw, 'POST', '/mcp', body, token, { headers });
}

describe('three nodes on one PostgreSQL and one Redis', { timeout: 120000 }, () => {
  let cluster;
  let n1;
  let n2;
  let n3;
  let agent;
  let mcpUp;
  let a2aRt;
  let jwks;

  before(async () => {
    agent = await startAgent();
    mcpUp = await startMcpUpstream({ name: 'nodesmcp' });
    // The cluster's one issuer id is this address, where the nodes' JWKS is served (taken from
    // node 1: every node has the same keys), so the A2A runtime verifies the identity tokens of
    // any node. One task store for everyone: only the gateway's bindings keep tenants apart.
    jwks = http.createServer((req, res) => {
      request(n1.port, { path: '/.well-known/jwks.json' }).then((r) => {
        res.writeHead(r.status, { 'content-type': 'application/json' });
        res.end(r.body);
      }, () => { res.writeHead(502); res.end(); });
    });
    await new Promise((r) => jwks.listen(0, '127.0.0.1', r));
    const issuer = `http://127.0.0.1:${jwks.address().port}`;
    a2aRt = await startA2aRuntime({ agent: 'nodes-a2a', gateway: issuer, shareTasks: true });
    cluster = await startCluster({
      issuer,
      nodes: 3,
      redis: { password: 'n0des-pw' },
      demoAgent: agent.url,
      limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 10000, max_connections: 200 },
      extraServer: { jobs: JOBS },
      extra: { tiers: ROOMY },
    });
    [n1, n2, n3] = cluster.nodes;
  });

  after(async () => {
    if (cluster) await cluster.stop();
    await agent?.stop();
    await mcpUp?.close();
    await a2aRt?.stop();
    jwks?.close();
  });

  it('a suspension through node 1 refuses on node 3 within 1 s (five trials)', async () => {
    const tok = await demoToken(n1);
    const adm = await adminToken(n1);
    const took = await suspensionTrials(n1, n3, { token: tok, adminTok: adm });
    note(`suspension 1→3 refused after ${took.join(', ')} ms (median ${median(took)})`);
    for (const t of took) assert.ok(t < LIMIT_MS, `node 3 refused only after ${t} ms: ${took}`);
  });

  it('a key rotated on node 2 signs at once there and verifies on nodes 1 and 3 within 1 s', async () => {
    const adm = await adminToken(n2);
    const before = decodeJwt(await demoToken(n2)).header.kid;
    const t0 = Date.now();
    const rot = await send(n2, 'POST', '/v1/platform/keys/rotate', undefined, adm);
    assert.equal(rot.status, 201, rot.body);
    const fresh = await demoToken(n2);
    assert.notEqual(decodeJwt(fresh).header.kid, before, 'node 2 signs with the new key at once');
    const took = [];
    for (const g of [n1, n3]) {
      took.push(await msUntil(t0, async () => (await send(g, 'GET', '/v1/agents', undefined, fresh)).status === 200, 'the new key verifies'));
    }
    note(`key rotation on 2 verified on 1 after ${took[0]} ms, on 3 after ${took[1]} ms`);
    for (const t of took) assert.ok(t < LIMIT_MS, `${took}`);
    // The offline `portcullis keys rotate` (run beside node 2, on the shared config) signals the
    // nodes too: within 1 s of it ending, node 3 signs with the key it made and node 1 verifies it.
    const cli = await runBinary(['keys', 'rotate', '--config', n2.configPath], { timeoutMs: 15000 });
    const tCli = Date.now();
    assert.equal(cli.code, 0, cli.output);
    assert.match(cli.stdout, /gateways sharing this store were signalled/, cli.output);
    const kid = cli.stdout.match(/new signing key (\S+) is active/)?.[1];
    assert.ok(kid, cli.stdout);
    const tokOf3 = await waitFor(async () => {
      const t = await demoToken(n3);
      return decodeJwt(t).header.kid === kid ? t : null;
    }, 6000, { interval: 10, what: 'node 3 signs with the key the CLI made' });
    const offline = Date.now() - tCli;
    // Node 1 hears the same signal as node 3 but refreshes on its own thread: that node 3 signs
    // with the new key says nothing of node 1 yet (measured 401 here under load). Node 1 gets its
    // own measure, under the same 1 s bound.
    const offline1 = await msUntil(tCli, async () => (await send(n1, 'GET', '/v1/agents', undefined, tokOf3)).status === 200,
      'node 1 verifies the key the CLI made');
    note(`offline keys rotate: node 3 signs with the new key ${offline} ms, node 1 verifies it ${offline1} ms after the command ended`);
    assert.ok(offline < LIMIT_MS, `${offline} ms`);
    assert.ok(offline1 < LIMIT_MS, `node 1: ${offline1} ms`);
    // A forged token (the new kid, a signature of nobody's key) is still refused on every node.
    const [h, p] = fresh.split('.');
    for (const g of cluster.nodes) assert.equal((await send(g, 'GET', '/v1/agents', undefined, `${h}.${p}.${'A'.repeat(86)}`)).status, 401);
  });

  it('an agent session opened on node 1 is read on node 2 and continued on node 3', async () => {
    const tok = await demoToken(n1);
    const first = await send(n1, 'POST', '/v1/agents/echo/invoke', { input: { text: 'hello' } }, tok);
    assert.equal(first.status, 200, first.body);
    const sid = first.json.sessionId;
    const t0 = Date.now();
    // Written behind (agents/sessions.h: another node knows it after the write linger + a commit).
    const seen = await msUntil(t0, async () => (await send(n2, 'GET', `/v1/sessions/${sid}`, undefined, tok)).status === 200,
      'node 2 knows the session', 3000);
    const cont = await send(n3, 'POST', '/v1/agents/echo/invoke', { input: { text: 'again' }, sessionId: sid }, tok);
    assert.equal(cont.status, 200, cont.body);
    assert.equal(cont.json.sessionId, sid);
    // Another tenant presenting the id is told it does not exist, on any node.
    const acme = await demoToken(n1, 'acme');
    assert.equal((await send(n3, 'GET', `/v1/sessions/${sid}`, undefined, acme)).status, 404);
    note(`agent session from node 1 visible on node 2 after ${seen} ms`);
    assert.ok(seen < LIMIT_MS, `${seen} ms`);
  });

  it('an async job accepted on node 1 is polled on node 2 and its result read on node 3', async () => {
    const tok = await demoToken(n1);
    const r = await send(n1, 'POST', '/v1/agents/echo/invoke', { input: { text: 'job' }, mode: 'async' }, tok);
    assert.equal(r.status, 202, r.body);
    const { jobId } = r.json;
    const done = await waitFor(async () => {
      const j = await send(n2, 'GET', `/v1/jobs/${jobId}`, undefined, tok);
      assert.equal(j.status, 200, j.body);
      return j.json.status === 'succeeded' ? j.json : null;
    }, 10000, { what: 'the job succeeded (seen on node 2)' });
    const on3 = await send(n3, 'GET', `/v1/jobs/${jobId}`, undefined, tok);
    assert.equal(on3.status, 200);
    assert.deepEqual(on3.json.result, done.result);
    assert.equal((await send(n3, 'GET', `/v1/jobs/${jobId}`, undefined, await demoToken(n3, 'acme'))).status, 404);
  });

  it('an MCP server registered through node 1 is usable on node 2 within 1 s; an MCP session made on node 1 works on 2 and 3', async () => {
    const adm = await adminToken(n1);
    const tok = await demoToken(n1);
    const init = async (g) => {
      const r = await mcp(g, tok, { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'nodes', version: '1' } } });
      assert.equal(r.status, 200, r.body);
      const sid = r.headers['mcp-session-id'];
      assert.ok(sid);
      assert.equal((await mcp(g, tok, { jsonrpc: '2.0', method: 'notifications/initialized' }, sid)).status, 202);
      return sid;
    };
    const tools = async (g, sid) => {
      const r = await mcp(g, tok, { jsonrpc: '2.0', id: 2, method: 'tools/list', params: {} }, sid);
      assert.equal(r.status, 200, r.body);
      return (r.json?.result?.tools ?? []).map((t) => t.name);
    };
    const sid2 = await init(n2); // a session on node 2 before the server exists
    assert.ok(!(await tools(n2, sid2)).includes('nodesmcp_info'));
    const t0 = Date.now();
    const reg = await postJson(n1.port, '/v1/platform/mcp-servers', { name: 'nodesmcp', url: mcpUp.url, auth: { mode: 'none' } }, { headers: bearer(adm) });
    assert.equal(reg.status, 201, reg.body);
    const took = await msUntil(t0, async () => (await tools(n2, sid2)).includes('nodesmcp_info'), 'node 2 lists the new server\'s tools');
    const reloaded = n2.logLines().find((l) => l.msg === 'mcp servers reloaded' && Date.parse(l.ts ?? l.time) >= t0 - 50);
    note(`MCP server registered on node 1, its tools listed on node 2 after ${took} ms (registry reloaded there after ${reloaded ? Date.parse(reloaded.ts ?? reloaded.time) - t0 : '?'} ms)`);
    assert.ok(took < LIMIT_MS, `${took} ms`);

    const sid = await init(n1);
    for (const g of [n2, n3]) {
      const call = await mcp(g, tok, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'nodesmcp_info', arguments: {} } }, sid);
      assert.equal(call.status, 200, call.body);
      assert.equal(call.json?.result?.content?.[0]?.text, 'server nodesmcp', call.body);
    }
    // Another tenant presenting the id: 404 on another node, as on the one that made it.
    const acme = await demoToken(n1, 'acme');
    assert.equal((await mcp(n3, acme, { jsonrpc: '2.0', id: 4, method: 'tools/list', params: {} }, sid)).status, 404);
    // Ended on node 3: refused on node 3 at once (and on the others after their recheck).
    assert.equal((await send(n3, 'DELETE', '/mcp', undefined, tok, { headers: { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-11-25' } })).status, 204);
    assert.equal((await mcp(n3, tok, { jsonrpc: '2.0', id: 5, method: 'tools/list', params: {} }, sid)).status, 404);
  });

  it('an A2A task sent through node 1 is read (GetTask) through node 2; another tenant gets TaskNotFound on node 3', async () => {
    const adm = await adminToken(n1);
    await registerAgent(n1, adm, 'nodes-a2a', a2aRt.url);
    const bob = await newClient(n1, adm, 'demo', 'nodes-a2a-client', ['Agent.Invoke', 'Machine.Invoke']);
    const eve = await newClient(n1, adm, 'acme', 'nodes-a2a-eve', ['Agent.Invoke', 'Machine.Invoke']);
    await waitFor(async () => (await rpc(n1, 'nodes-a2a', 'GetTask', { id: 'x' }, { token: bob.token })).status === 200, 10000,
      { what: 'the a2a agent served on node 1' });
    const { task } = await sendTask(n1, 'nodes-a2a', 'hello', { token: bob.token });
    const got = await waitFor(async () => {
      const r = await rpc(n2, 'nodes-a2a', 'GetTask', { id: task.id }, { token: bob.token });
      return r.json?.result ? r : null;
    }, 5000, { what: 'GetTask on node 2' });
    assert.equal(got.json.result.id, task.id);
    assertRpcTaskNotFound(await rpc(n3, 'nodes-a2a', 'GetTask', { id: task.id }, { token: eve.token }), 'acme on node 3');
  });
});

describe('three nodes: Redis killed and restarted under load', { timeout: 120000 }, () => {
  let cluster;
  let n1;
  let n2;
  let n3;

  before(async () => {
    cluster = await startCluster({ nodes: 3, redis: { password: 'n0des-pw' }, extra: { tiers: ROOMY } });
    [n1, n2, n3] = cluster.nodes;
  });

  after(async () => {
    if (cluster) await cluster.stop();
  });

  it('nothing hangs, no 5xx, every node says so; the poll carries changes; on reconnect every node refreshes once and signals work again', async () => {
    const { nodes, redis } = cluster;
    const tok = await demoToken(n1);
    const acmeTok = await demoToken(n1, 'acme');
    const adm = await adminToken(n1);
    const resync0 = await Promise.all(nodes.map((g) => metricOf(g, 'portcullis_cluster_changes_total', { event: 'resync' })));
    const load = startLoad(nodes, tok);
    try {
      const marks = nodes.map((g) => g.mark());
      await sleep(300);
      await redis.kill();
      const tKill = Date.now();
      for (const [i, g] of nodes.entries()) {
        await waitFor(() => /"msg":"redis: unavailable; retrying with backoff"/.test(g.logsSince(marks[i])), 3000, { what: `node ${i + 1}: the down log line` });
        await waitFor(async () => (await metricOf(g, 'portcullis_redis_up', { connection: 'subscriber' })) === 0
          && (await metricOf(g, 'portcullis_redis_up', { connection: 'commands' })) === 0, 3000, { what: `node ${i + 1}: the gauges at 0` });
      }
      // Redis down: a suspension through node 1 reaches node 3 by the poll (≤ 2 s + a refresh),
      // and so does an MCP server registered through node 2 (the registry's own poll).
      let t0 = Date.now();
      assert.equal((await send(n1, 'PATCH', '/v1/tenants/acme', { status: 'suspended' }, adm)).status, 200);
      const viaPoll = await msUntil(t0, async () => (await send(n3, 'GET', '/v1/agents', undefined, acmeTok)).status === 401,
        'node 3 sees the suspension by polling', 5000);
      assert.equal((await send(n1, 'PATCH', '/v1/tenants/acme', { status: 'active' }, adm)).status, 200);
      assert.ok(viaPoll <= 3500, `the poll took ${viaPoll} ms`);

      const restartMarks = nodes.map((g) => g.mark());
      await redis.restart();
      const tUp = Date.now();
      for (const [i, g] of nodes.entries()) {
        await waitFor(() => /"msg":"cluster: subscribed; refreshing once/.test(g.logsSince(restartMarks[i])), 6000, { what: `node ${i + 1}: the resync log line` });
        await waitFor(async () => (await metricOf(g, 'portcullis_redis_up', { connection: 'subscriber' })) === 1
          && (await metricOf(g, 'portcullis_redis_up', { connection: 'commands' })) === 1, 3000, { what: `node ${i + 1}: the gauges at 1` });
        const resync = await metricOf(g, 'portcullis_cluster_changes_total', { event: 'resync' });
        assert.ok(resync >= resync0[i] + 1, `node ${i + 1} did not refresh on reconnect (${resync0[i]} → ${resync})`);
      }
      const reconnectMs = Date.now() - tUp;
      const stats = await load.stop();
      note(`Redis down ${tUp - tKill} ms under load on 3 nodes: ${stats.n} requests, ${stats.bad.length} not 200/401, slowest ${stats.maxMs} ms; change by poll ${viaPoll} ms; all nodes resubscribed and refreshed ${reconnectMs} ms after the restart`);
      assert.deepEqual(stats.bad, []);
      assert.ok(stats.n > 100, `only ${stats.n} requests under load`);
      assert.ok(stats.maxMs < 1000, `a request took ${stats.maxMs} ms while Redis was away`);

      // Signals again: a suspension through node 2 refuses on node 1 within 1 s (three trials).
      const again = [];
      for (let i = 0; i < 3; ++i) {
        t0 = Date.now();
        assert.equal((await send(n2, 'PATCH', '/v1/tenants/acme', { status: 'suspended' }, adm)).status, 200);
        again.push(await msUntil(t0, async () => (await send(n1, 'GET', '/v1/agents', undefined, acmeTok)).status === 401, 'node 1 refuses after recovery'));
        assert.equal((await send(n2, 'PATCH', '/v1/tenants/acme', { status: 'active' }, adm)).status, 200);
        await waitFor(async () => (await send(n1, 'GET', '/v1/agents', undefined, acmeTok)).status === 200, 6000, { interval: 10, what: 'node 1 serves acme again' });
      }
      note(`after Redis came back: suspension 2→1 in ${again.join(', ')} ms`);
      for (const t of again) assert.ok(t < LIMIT_MS, `after recovery: ${again} ms`);
    } finally {
      await load.stop().catch(() => {});
    }
  });
});

describe('three nodes: PostgreSQL restarted under load (a server of the test\'s own)', { timeout: 120000 }, () => {
  let cluster;
  let agent;

  before(async () => {
    agent = await startAgent();
    cluster = await startCluster({
      nodes: 3, pg: 'own', redis: {}, demoAgent: agent.url, extra: { tiers: ROOMY }, extraServer: { jobs: JOBS },
      limits: { max_body_bytes: 65536, header_timeout_ms: 2000, idle_timeout_ms: 20000, max_connections: 200 },
    });
  });

  after(async () => {
    if (cluster) await cluster.stop();
    await agent?.stop();
  });

  it('while it is down writes answer 503 with a JSON error (none hangs), reads keep working; every acknowledged write is there afterwards; the nodes recover by themselves', async () => {
    const { nodes } = cluster;
    const server = cluster.pg.server;
    const tok = await demoToken(nodes[0]);
    const adm = await adminToken(nodes[0]);
    const WRITE_BOUND_MS = 6000; // no write may take longer, whatever the store does
    const writes = []; // {kind, node, status, ms, id, body}
    let writing = true;
    let seq = 0;
    const writer = async (w) => {
      while (writing) {
        const g = nodes[seq % nodes.length];
        const n = seq++;
        const t = Date.now();
        const kind = n % 2 ? 'job' : 'client';
        let r;
        try {
          r = kind === 'client'
            ? await send(g, 'POST', '/v1/tenants/acme/clients', { name: `pg-bot-${n}`, roles: ['Agent.Invoke'] }, adm, { timeoutMs: WRITE_BOUND_MS + 4000 })
            : await send(g, 'POST', '/v1/agents/echo/invoke', { input: { n }, mode: 'async' }, tok, { timeoutMs: WRITE_BOUND_MS + 4000 });
        } catch (e) {
          r = { status: 0, body: String(e.message) };
        }
        writes.push({ kind, name: `pg-bot-${n}`, node: nodes.indexOf(g) + 1, w, at: t, ms: Date.now() - t, status: r.status, body: r.body,
          id: kind === 'client' ? r.json?.clientId : r.json?.jobId, json: r.json });
        await sleep(20);
      }
    };
    const load = startLoad(nodes, tok, { perNode: 2 });
    const writers = [writer(1), writer(2), writer(3)];
    let tDown;
    let tUp;
    let marks;
    try {
      await sleep(600);
      marks = nodes.map((g) => g.mark());
      tDown = Date.now();
      await server.halt('fast');
      await sleep(2000);
      await server.start();
      tUp = Date.now();
      // Recovery: every node takes writes again by itself.
      const recovered = await Promise.all(nodes.map((g, i) => msUntil(tUp, async () => (await send(g, 'POST', '/v1/tenants/acme/clients',
        { name: `pg-after-${i}`, roles: ['Agent.Invoke'] }, adm)).status === 201, `node ${i + 1} takes writes again`, 20000)));
      await sleep(300);
      writing = false;
      await Promise.all(writers);
      const stats = await load.stop();
      const during = writes.filter((x) => x.at >= tDown && x.at < tUp);
      const by = (s) => writes.filter((x) => x.status === s).length;
      note(`PostgreSQL down ${tUp - tDown} ms: ${writes.length} writes (${by(201)} × 201, ${by(202)} × 202, ${by(503)} × 503, ${writes.length - by(201) - by(202) - by(503)} other), slowest write ${Math.max(...writes.map((x) => x.ms))} ms; reads ${stats.n} (${stats.bad.length} not 200/401, slowest ${stats.maxMs} ms); nodes took writes again ${recovered.join(', ')} ms after the restart`);
      // Clear errors: every refused write is a 503 with the SPEC §5 error body, none hangs.
      const odd = writes.filter((x) => ![201, 202, 503].includes(x.status));
      assert.deepEqual(odd.map((x) => `${x.kind} on ${x.node}: ${x.status} ${String(x.body).slice(0, 200)}`), []);
      for (const x of writes.filter((y) => y.status === 503)) {
        assert.ok(x.json?.error?.code && x.json.error.message, `503 without a JSON error body: ${x.body}`);
      }
      assert.ok(Math.max(...writes.map((x) => x.ms)) < WRITE_BOUND_MS, 'a write hung');
      assert.ok(during.some((x) => x.status === 503), 'no write was refused while PostgreSQL was down (was it?)');
      // Reads (GET /v1/agents: memory only) never noticed.
      assert.deepEqual(stats.bad, []);
      // No acknowledged write lost: every 201 client and 202 job is there, read through every node.
      const acked = writes.filter((x) => x.status === 201 || x.status === 202);
      assert.ok(acked.length > 10, `only ${acked.length} acknowledged writes`);
      const stored = new Set(psql(cluster.pg.url, "SELECT client_id FROM clients WHERE tenant_id = 'acme'").trim().split('\n'));
      // A change whose own transaction committed but whose request's audit event could not be
      // written is answered 503 (api/audit_trail.cpp: "a change that may have been applied"):
      // not a lost write, but a retry makes a second client. Measured, reported.
      const names = new Set(psql(cluster.pg.url, "SELECT name FROM clients WHERE tenant_id = 'acme'").trim().split('\n'));
      const refusedButThere = writes.filter((x) => x.kind === 'client' && x.status === 503 && names.has(x.name)).length;
      for (const x of writes.filter((y) => y.kind === 'client' && y.status === 503 && names.has(y.name))) {
        assert.match(x.json.error.message, /may have been applied/, `a 503 for a change that was made must say so: ${x.body}`);
      }
      note(`clients answered 503 that were created all the same: ${refusedButThere} of ${writes.filter((x) => x.kind === 'client' && x.status === 503).length}`);
      for (const x of acked) {
        assert.ok(x.id, `an acknowledged ${x.kind} without an id: ${x.body}`);
        if (x.kind === 'client') {
          assert.ok(stored.has(x.id), `acknowledged client ${x.id} (node ${x.node}) is not in the store`);
          continue;
        }
        const r = await send(nodes[x.node % nodes.length], 'GET', `/v1/jobs/${x.id}`, undefined, tok); // read through another node
        assert.equal(r.status, 200, `acknowledged job ${x.id} (node ${x.node}) is gone: ${r.body}`);
      }
      // ... and every accepted job runs to its end once the store is back (none stuck in a lease).
      const jobs = acked.filter((x) => x.kind === 'job');
      const tJobs = Date.now();
      await waitFor(async () => {
        for (const x of jobs) {
          const r = await send(nodes[0], 'GET', `/v1/jobs/${x.id}`, undefined, tok);
          if (r.json?.status !== 'succeeded') return false;
        }
        return true;
      }, 20000, { interval: 100, what: 'every accepted job succeeded' });
      note(`all ${jobs.length} accepted jobs succeeded ${Date.now() - tJobs} ms after the check began`);
      for (const g of nodes) assert.equal(g.exitInfo(), null, 'a node exited');
      // The jobs dispatcher (polling every 50 ms here) says it once each way, not per poll.
      for (const [i, g] of nodes.entries()) {
        const text = g.logsSince(marks[i]);
        const failed = text.split('jobs: claiming due jobs failed').length - 1;
        assert.ok(failed >= 1 && failed <= 3, `node ${i + 1} logged the claim failure ${failed} times`);
        assert.match(text, /jobs: claiming due jobs works again/);
      }
    } finally {
      writing = false;
      await Promise.allSettled(writers);
      await load.stop().catch(() => {});
    }
  });
});
