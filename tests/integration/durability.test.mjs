// Durability of acknowledged changes (DESIGN.md: audit writes are acknowledged only once
// durable; SPEC §6: every API call is in the hash-chained audit log). A real gateway takes a
// burst of concurrent audited writes (PATCH /v1/tenants/{id}, POST /v1/tenants as the bootstrap
// platform admin) and is killed with SIGKILL in the middle of it, at a few different moments.
// After each restart on the same data dir: every request that got a 2xx answer has its audit
// event (by request id), the tenant changes it acknowledged are there, and
// `portcullis audit verify` passes. At the end one audit row is edited with the sqlite3 CLI and
// verify must fail naming that seq.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';

import {
  adminToken, bearer, gatewayConfig, makeTempDir, removeDir, request, runBinary, startGateway,
  withTimeout, writeConfig,
} from './harness.mjs';

const CONCURRENCY = 32;
// When to kill, per round: after `after` acknowledged writes, then `delayMs` later (0: from
// inside the response handler that saw the last of them). Answers come in group-commit batches,
// so the delays move the kill off the batch boundary: into a batch's commit, or between a
// change's commit and its audit event's.
const KILLS = [{ after: 300, delayMs: 0 }, { after: 450, delayMs: 1 }, { after: 700, delayMs: 3 }];
const RUN = crypto.randomBytes(3).toString('hex');  // request ids unique to this run

const dirs = [];
const gateways = [];
after(async () => {
  for (const gw of gateways) await gw.stop({ signal: 'SIGKILL', timeoutMs: 2000 }).catch(() => {});
  for (const d of dirs) removeDir(d);
});

const sqlite = (db, sql) => execFileSync('sqlite3', ['-batch', '-bail', db, sql], { encoding: 'utf8', timeout: 10000 });
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

// The HTTP call's audit row, by request id (read with the sqlite3 CLI, next to the restarted
// gateway: WAL readers do not block it); `changes` holds the request ids of the change events
// (tenant.create, tenant.update) written in the change's own transaction.
function auditRows(db) {
  const out = new Map();
  out.changes = new Set();
  const text = sqlite(db, "SELECT seq, request_id, action, resource, outcome FROM audit_log ORDER BY seq");
  for (const line of text.split('\n')) {
    if (!line) continue;
    const [seq, requestId, action, resource, outcome] = line.split('|');
    if (action.startsWith('tenant.')) out.changes.add(requestId);
    else out.set(requestId, { seq: Number(seq), action, resource, outcome });
  }
  return out;
}

// All tenants through the Admin API (paging), as the restarted gateway serves them.
async function listTenants(gw, token) {
  const all = new Map();
  let cursor = '';
  for (let page = 0; page < 100; page++) {
    const r = await request(gw.port, {
      path: `/v1/tenants?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
      headers: bearer(token),
    });
    assert.equal(r.status, 200, r.body);
    for (const t of r.json.tenants) all.set(t.tenantId, t);
    if (!r.json.nextCursor) return all;
    cursor = r.json.nextCursor;
  }
  throw new Error('GET /v1/tenants did not end within 100 pages');
}

function jsonRequest(gw, method, p, body, { token, agent, requestId }) {
  const text = JSON.stringify(body);
  return request(gw.port, {
    method,
    path: p,
    body: text,
    agent,
    timeoutMs: 10000,
    headers: {
      ...bearer(token),
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-request-id': requestId,
    },
  });
}

// CONCURRENCY workers, each alternating a PATCH of its own tenant (so the order of its names
// is known) and a POST of a new tenant, until the plan's number of writes was acknowledged; then
// the gateway gets SIGKILL (at once, from inside the response handler, or a millisecond or
// three later), with the other requests in flight. Answers read after the kill still count: the
// gateway wrote them, so it had acknowledged those writes.
async function burst(gw, token, { round, kill: plan, baseTenants }) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const acked = [];        // {requestId, method, tenantId, displayName}
  const sent = [];         // every write sent: {requestId, method, tenantId, displayName, worker}
  const patchOrder = baseTenants.map(() => []);  // per worker: PATCH names in sending order
  const lastAckedPatch = baseTenants.map(() => -1);
  let inFlight = 0;
  let inFlightAtKill = -1;
  let killed = false;
  let armed = false;
  let lost = 0;            // requests that got no answer (the kill cut them off)
  let failure = null;

  const kill = () => {
    if (killed) return;
    killed = true;
    inFlightAtKill = inFlight;
    gw.signal('SIGKILL');
  };

  const worker = async (w) => {
    for (let i = 0; !killed; i++) {
      const requestId = `dur-${RUN}-r${round}-w${w}-n${i}`;
      const create = i % 2 === 1;
      const op = create
        ? { method: 'POST', p: '/v1/tenants', tenantId: `r${round}-w${w}-n${i}`, displayName: `created ${requestId}` }
        : { method: 'PATCH', p: `/v1/tenants/${baseTenants[w]}`, tenantId: baseTenants[w], displayName: `patched ${requestId}` };
      const body = create
        ? { tenantId: op.tenantId, displayName: op.displayName, tier: 'basic' }
        : { displayName: op.displayName };
      sent.push({ requestId, method: op.method, tenantId: op.tenantId, displayName: op.displayName, worker: w });
      if (!create) patchOrder[w].push(op.displayName);
      inFlight++;
      let res;
      try {
        res = await jsonRequest(gw, op.method, op.p, body, { token, agent, requestId });
      } catch (e) {
        if (killed) { lost++; return; }
        throw e;
      } finally {
        inFlight--;
      }
      if (res.status < 200 || res.status > 299) {
        if (killed) { lost++; return; }
        throw new Error(`${op.method} ${op.p} answered ${res.status} before the kill: ${res.body.slice(0, 300)}`);
      }
      // The gateway's id for the request (it keeps a valid caller-supplied one).
      const id = res.headers['x-request-id'];
      assert.ok(id, `${op.method} ${op.p}: no X-Request-Id on a ${res.status}`);
      acked.push({ requestId: id, method: op.method, tenantId: op.tenantId, displayName: op.displayName, status: res.status });
      if (!create) lastAckedPatch[w] = patchOrder[w].length - 1;
      if (acked.length >= plan.after && !armed) {
        armed = true;
        if (plan.delayMs > 0) setTimeout(kill, plan.delayMs);
        else kill();
      }
    }
  };

  try {
    await withTimeout(Promise.all(baseTenants.map((_, w) => worker(w).catch((e) => {
      failure ??= e;
      kill();
    }))), 20000, `burst of round ${round}`);
  } finally {
    agent.destroy();
    kill();
  }
  if (failure) throw failure;
  return { acked, sent, patchOrder, lastAckedPatch, inFlightAtKill, lost };
}

describe('durability: kill -9 during a burst of audited writes', { timeout: 60000 }, () => {
  it('every acknowledged write is in the audit log and the store after a restart; verify passes, then catches an edit', async () => {
    const dir = makeTempDir('portcullis-dur-');
    dirs.push(dir);
    const configPath = writeConfig(dir, gatewayConfig(dir, {
      limits: { max_connections: 256, max_body_bytes: 4096, header_timeout_ms: 5000, idle_timeout_ms: 20000 },
      log: { access: false },
    }));
    const db = path.join(dir, 'portcullis.db');
    const start = async () => {
      const gw = await startGateway({ configPath, dir });
      gateways.push(gw);
      return { gw, token: await adminToken(gw) };
    };
    const verify = () => runBinary(['audit', 'verify', '--config', configPath], { timeoutMs: 15000 });

    // The tenants the workers PATCH, created (and acknowledged) before the first burst.
    const baseTenants = Array.from({ length: CONCURRENCY }, (_, w) => `dur-w${w}`);
    const allAcked = [];
    let { gw, token } = await start();
    for (const id of baseTenants) {
      const requestId = `dur-${RUN}-base-${id}`;
      const r = await jsonRequest(gw, 'POST', '/v1/tenants', { tenantId: id, tier: 'basic' }, { token, requestId });
      assert.equal(r.status, 201, r.body);
      allAcked.push({ requestId: r.headers['x-request-id'], method: 'POST', tenantId: id, displayName: id, status: 201 });
    }

    const createdAndAcked = new Map();  // tenantId -> displayName
    const stats = [];
    for (let round = 0; round < KILLS.length; round++) {
      const b = await burst(gw, token, { round, kill: KILLS[round], baseTenants });
      const exit = await gw.waitExit(5000);
      assert.equal(exit.signal, 'SIGKILL', `round ${round}: the gateway ended with ${JSON.stringify(exit)}`);
      // The kill came in the middle of the burst: other writes were still waiting for answers.
      assert.ok(b.inFlightAtKill > 0, `round ${round}: nothing was in flight at the kill`);
      assert.ok(b.acked.length >= KILLS[round].after, `round ${round}: ${b.acked.length} acknowledged`);
      allAcked.push(...b.acked);
      for (const a of b.acked) if (a.method === 'POST') createdAndAcked.set(a.tenantId, a.displayName);

      // Restart on the same data dir.
      ({ gw, token } = await start());

      // 1. Every acknowledged request (this round and all before) has its audit event.
      const rows = auditRows(db);
      const missing = allAcked.filter((a) => !rows.has(a.requestId));
      assert.deepEqual(missing.map((a) => `${a.method} ${a.tenantId} ${a.requestId}`), [],
        `round ${round}: ${missing.length} of ${allAcked.length} acknowledged writes have no audit event`);
      for (const a of allAcked) {
        const row = rows.get(a.requestId);
        const action = a.method === 'POST' ? 'http.POST /v1/tenants' : 'http.PATCH /v1/tenants/{id}';
        assert.equal(row.action, action, `audit event of ${a.requestId}`);
        assert.equal(row.outcome, String(a.status), `audit event of ${a.requestId}`);
        if (a.method === 'PATCH') assert.equal(row.resource, `/v1/tenants/${a.tenantId}`);
      }

      // 2. The acknowledged tenant changes are in the store, served by the restarted gateway.
      const tenants = await listTenants(gw, token);
      for (const [id, name] of createdAndAcked) {
        assert.ok(tenants.has(id), `round ${round}: acknowledged tenant ${id} is missing`);
        assert.equal(tenants.get(id).displayName, name, `tenant ${id}`);
      }
      for (let w = 0; w < baseTenants.length; w++) {
        const order = b.patchOrder[w];
        const last = b.lastAckedPatch[w];
        if (last < 0) continue;  // this worker's PATCH never got an answer this round
        // The last acknowledged name, or a later one whose answer the kill cut off (the change
        // was committed, its audit event not yet: it was never acknowledged).
        const allowed = order.slice(last);
        const now = tenants.get(baseTenants[w])?.displayName;
        assert.ok(allowed.includes(now),
          `round ${round}: tenant ${baseTenants[w]} is named ${JSON.stringify(now)}, expected one of ${JSON.stringify(allowed)}`);
      }

      // Changes the kill cut off after their commit but before their HTTP audit event was
      // durable: never acknowledged, so allowed; counted for the report.
      const ackedIds = new Set(b.acked.map((a) => a.requestId));
      const applied = (s) => (s.method === 'POST' ? tenants.has(s.tenantId) : tenants.get(s.tenantId)?.displayName === s.displayName);
      const unaudited = b.sent.filter((s) => !ackedIds.has(s.requestId) && !rows.has(s.requestId) && applied(s));
      // Issue 8 item 9: but every change in the store has its own audit event, written in the
      // change's transaction: none is applied and unaudited, whenever the kill came.
      const noChangeEvent = b.sent.filter((s) => applied(s) && !rows.changes.has(s.requestId));
      assert.deepEqual(noChangeEvent.map((s) => `${s.method} ${s.tenantId} ${s.requestId}`), [],
        `round ${round}: changes applied without their audit event`);

      // 3. The chain verifies (next to the running gateway, as the command allows).
      const v = await verify();
      assert.equal(v.code, 0, `round ${round}: audit verify failed on a log written by a killed gateway:\n${v.output}`);
      assert.match(v.stdout, /^audit log OK: \d+ events checked$/m);

      stats.push({ round, acked: b.acked.length, inFlightAtKill: b.inFlightAtKill, cutOff: b.lost,
        auditRows: rows.size, appliedUnaudited: unaudited.length });
    }
    process.stderr.write(`[durability] ${JSON.stringify(stats)}\n`);

    // 4. An edited row breaks the chain at its seq. The gateway is stopped first, so that the
    // edit is the only write.
    await gw.stop();
    const victim = allAcked[Math.floor(allAcked.length / 2)];
    const seq = Number(sqlite(db, `SELECT seq FROM audit_log WHERE request_id = ${q(victim.requestId)} AND action LIKE 'http.%'`).trim());
    assert.ok(seq > 0, `no seq for ${victim.requestId}`);
    sqlite(db, `UPDATE audit_log SET outcome = '500' WHERE seq = ${seq}`);
    const v = await verify();
    assert.equal(v.code, 1, v.output);
    assert.match(v.stdout, new RegExp(`^audit log BROKEN at seq ${seq}: `, 'm'));
  });
});

// Issue 8 item 10: a deleted tenant takes no more writes (a secret PUT re-created rows no purge
// would remove), a PATCH never revives it, and deleting it again does not move its purge.
describe('a deleted tenant stays deleted', { timeout: 30000 }, () => {
  it('secret PUT and client POST answer 404, PATCH 409, DELETE again 202 with the same purgeAfter', async () => {
    const dir = makeTempDir('portcullis-dead-');
    dirs.push(dir);
    const configPath = writeConfig(dir, gatewayConfig(dir, { log: { access: false } }));
    const gw = await startGateway({ configPath, dir });
    gateways.push(gw);
    const token = await adminToken(gw);
    let n = 0;
    const call = (method, p, body) => {
      const requestId = `dead-${RUN}-${n++}`;
      if (body !== undefined) return jsonRequest(gw, method, p, body, { token, requestId });
      return request(gw.port, { method, path: p, timeoutMs: 10000, headers: { ...bearer(token), 'x-request-id': requestId } });
    };

    assert.equal((await call('POST', '/v1/tenants', { tenantId: 'gone-soon', tier: 'basic' })).status, 201);
    assert.equal((await call('PUT', '/v1/tenants/gone-soon/secrets/db', { value: 'v1' })).status, 201);
    const del = await call('DELETE', '/v1/tenants/gone-soon');
    assert.equal(del.status, 202, del.body);
    const purgeAfter = JSON.parse(del.body).purgeAfter;
    assert.match(purgeAfter, /^20\d\d-/);

    const put = await call('PUT', '/v1/tenants/gone-soon/secrets/db2', { value: 'late' });
    assert.equal(put.status, 404, put.body);
    assert.equal(JSON.parse(put.body).error.code, 'not_found');
    const client = await call('POST', '/v1/tenants/gone-soon/clients', { name: 'late', roles: ['Machine.Invoke'] });
    assert.equal(client.status, 404, client.body);
    const patch = await call('PATCH', '/v1/tenants/gone-soon', { status: 'active' });
    assert.equal(patch.status, 409, patch.body);
    const again = await call('DELETE', '/v1/tenants/gone-soon');
    assert.equal(again.status, 202, again.body);
    assert.equal(JSON.parse(again.body).purgeAfter, purgeAfter);
    const t = await call('GET', '/v1/tenants/gone-soon');
    assert.equal(JSON.parse(t.body).status, 'deleted');

    // Nothing of the late writes reached the store.
    const db = path.join(dir, 'portcullis.db');
    assert.equal(sqlite(db, "SELECT COUNT(*) FROM secrets WHERE tenant_id = 'gone-soon' AND name = 'db2'").trim(), '0');
    assert.equal(sqlite(db, "SELECT COUNT(*) FROM clients WHERE tenant_id = 'gone-soon'").trim(), '0');
  });
});
