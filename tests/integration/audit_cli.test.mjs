// `portcullis audit verify` (SPEC §2) against a real SQLite file. The entries are written with
// the `sqlite3` CLI and chained by the hash below, an independent implementation of the
// encoding in src/audit/chain.h: if the two disagree, a good log fails to verify here.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import path from 'node:path';

import { runBinary, makeTempDir, removeDir, writeConfig } from './harness.mjs';

const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });
function tmp() {
  const d = makeTempDir('portcullis-audit-');
  dirs.push(d);
  return d;
}

// Netstrings of the fields after a version tag; lengths in bytes (UTF-8), not characters.
function linkHash(e, prevHash) {
  const fields = [prevHash, String(e.seq), e.time, e.tenantId, e.actor, e.action, e.resource,
    e.outcome, e.requestId, e.details];
  let enc = 'portcullis-audit-v1\n';
  for (const f of fields) enc += `${Buffer.byteLength(f, 'utf8')}:${f},`;
  return crypto.createHash('sha256').update(enc, 'utf8').digest('hex');
}

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const sqlite = (db, sql) => execFileSync('sqlite3', [db, sql], { encoding: 'utf8' });

// A data dir with its config; the database path is the default <data_dir>/portcullis.db.
function dataDir() {
  const dir = tmp();
  const cfg = writeConfig(dir, `data_dir: ${JSON.stringify(dir)}\nlog: { level: warn }\n`);
  return { dir, cfg, db: path.join(dir, 'portcullis.db') };
}

function insertChain(db, count) {
  let prev = '';
  const rows = [];
  for (let seq = 1; seq <= count; seq++) {
    const e = {
      seq,
      time: `2026-03-01T10:00:0${seq}.000Z`,
      tenantId: seq % 2 ? 'acme' : 'platform',
      actor: seq === 2 ? 'zoë@example.com' : 'client:ci',  // non-ASCII: byte lengths must agree
      action: seq === 3 ? 'tenant.suspend' : 'http.GET /v1/agents',
      resource: `/v1/things/${seq}`,
      outcome: seq === 3 ? 'denied' : '200',
      requestId: `req-${seq}`,
      details: seq === 4 ? '{"note":"it\'s, \\"quoted\\""}' : '{}',
    };
    const hash = linkHash(e, prev);
    const values = [e.seq, e.time, e.tenantId, e.actor, e.action, e.resource, e.outcome, e.requestId,
      e.details, prev, hash].map((v, i) => (i === 0 ? String(v) : q(v)));
    rows.push('INSERT INTO audit_log(seq, time, tenant_id, actor, action, resource, outcome, request_id, ' +
              `details, prev_hash, hash) VALUES (${values.join(', ')});`);
    prev = hash;
  }
  sqlite(db, `BEGIN; ${rows.join(' ')} COMMIT;`);
}

describe('portcullis audit verify', { timeout: 30000 }, () => {
  it('a fresh data dir → OK, 0 events, exit 0', async () => {
    const { cfg } = dataDir();
    const r = await runBinary(['audit', 'verify', '--config', cfg]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /^audit log OK: 0 events checked$/m);
  });

  it('a good chain → OK with the count; one edited row → exit 1 naming its seq', async () => {
    const { cfg, db } = dataDir();
    // The first run creates and migrates the database; the rows go in behind it.
    assert.equal((await runBinary(['audit', 'verify', '--config', cfg])).code, 0);
    insertChain(db, 5);

    let r = await runBinary(['audit', 'verify', '--config', cfg]);
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /^audit log OK: 5 events checked$/m);

    sqlite(db, "UPDATE audit_log SET outcome = 'success' WHERE seq = 3");
    r = await runBinary(['audit', 'verify', '--config', cfg]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stdout, /^audit log BROKEN at seq 3: /m);
    assert.match(r.stdout, /hash does not match/);
  });

  it('a deleted row → exit 1 at the missing seq', async () => {
    const { cfg, db } = dataDir();
    assert.equal((await runBinary(['audit', 'verify', '--config', cfg])).code, 0);
    insertChain(db, 5);
    sqlite(db, 'DELETE FROM audit_log WHERE seq = 2');
    const r = await runBinary(['audit', 'verify', '--config', cfg]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.stdout, /^audit log BROKEN at seq 2: entry missing/m);
  });

  it('bad config or flags → one line, exit 2, nothing written', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `data_dir: ${JSON.stringify(dir)}\nstorage: { backend: oracle }\n`);
    let r = await runBinary(['audit', 'verify', '--config', cfg]);
    assert.equal(r.code, 2, r.output);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /storage\.backend/);
    assert.equal(execFileSync('ls', ['-A', dir], { encoding: 'utf8' }).trim(), 'config.yaml');

    r = await runBinary(['audit', 'verify', '--config', cfg, '--bogus']);
    assert.equal(r.code, 2, r.output);
    r = await runBinary(['audit']);
    assert.equal(r.code, 2, r.output);
    r = await runBinary(['audit', 'verify', '--config', path.join(dir, 'missing.yaml')]);
    assert.equal(r.code, 2, r.output);
  });
});
