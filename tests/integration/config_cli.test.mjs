// `check-config` and `serve` with bad configuration or flags.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

import {
  runBinary, gatewayConfig, makeTempDir, removeDir, writeConfig, closedPort, toYaml, DEFAULT_LIMITS, startGateway, waitFor,
  getMetrics, request,
} from './harness.mjs';

const dirs = [];
after(() => { for (const d of dirs) removeDir(d); });
function tmp() {
  const d = makeTempDir('portcullis-cli-');
  dirs.push(d);
  return d;
}

// A line of the form `<key.path>: <reason>` (optionally indented or bulleted).
function errorLine(output, key) {
  const esc = key.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return output.split('\n').find((l) => new RegExp(`^[\\s*\\-]*${esc}: \\S`).test(l));
}

function connectRefused(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => { s.destroy(); resolve(false); }, 1000);
    s.once('connect', () => { clearTimeout(t); s.destroy(); resolve(false); });
    s.once('error', (e) => { clearTimeout(t); resolve(e.code === 'ECONNREFUSED'); });
  });
}

describe('check-config', { timeout: 30000 }, () => {
  it('valid config → exit 0 and prints something', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, gatewayConfig(dir));
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 0, r.output);
    assert.ok(r.output.trim().length > 0, 'check-config printed nothing');
  });

  it('a minimal config (every key has a default) is valid', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `data_dir: ${JSON.stringify(dir)}\n`);
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 0, r.output);
  });

  it('the full SPEC §3 section set is valid', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, [
      `data_dir: ${JSON.stringify(dir)}`,
      'server:',
      '  listen: "127.0.0.1:0"',
      '  threads: 0',
      '  limits: { max_header_bytes: 16384, max_body_bytes: 1048576, max_connections: 10000, header_timeout_ms: 10000, idle_timeout_ms: 60000, body_timeout_ms: 30000 }',
      '  upstream: { connect_timeout_ms: 2000, response_timeout_ms: 30000 }',
      '  drain_timeout_ms: 10000',
      'storage: { backend: sqlite, sqlite: { path: ' + JSON.stringify(path.join(dir, 'p.db')) + ' } }',
      'tiers:',
      '  basic:    { rps: 10,  burst: 100,  daily_quota: 1000 }',
      '  standard: { rps: 50,  burst: 500,  daily_quota: 10000 }',
      '  premium:  { rps: 500, burst: 2000, daily_quota: 0 }',
      'retention: { invocation_content_days: 90, audit_years: 7, sessions_hours: 24 }',
      'redaction: { builtin: [email, phone, credit_card, iban, us_ssn, uk_nino, aws_key, jwt] }',
      'log: { level: info, format: json }',
      '',
    ].join('\n'));
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 0, r.output);
  });

  it('${ENV_VAR} is expanded', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, [
      'data_dir: ${PC_IT_DIR}',
      'server:',
      '  listen: ${PC_IT_LISTEN}',
      '  limits:',
      '    max_body_bytes: ${PC_IT_BODY}',
      '',
    ].join('\n'));
    const good = await runBinary(['check-config', '--config', cfg], { env: { PC_IT_DIR: dir, PC_IT_LISTEN: '127.0.0.1:0', PC_IT_BODY: '2048' } });
    assert.equal(good.code, 0, good.output);
    // The expanded value is validated like a literal one.
    const bad = await runBinary(['check-config', '--config', cfg], { env: { PC_IT_DIR: dir, PC_IT_LISTEN: '127.0.0.1:0', PC_IT_BODY: '-5' } });
    assert.equal(bad.code, 1, bad.output);
    assert.match(bad.output, /server\.limits\.max_body_bytes/);
  });

  it('unknown key → exit 1 naming server.listen_addr', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `data_dir: ${JSON.stringify(dir)}\nserver: {listen_addr: x}\n`);
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 1, r.output);
    assert.ok(errorLine(r.output, 'server.listen_addr'), `no "server.listen_addr: <reason>" line in:\n${r.output}`);
  });

  it('invalid config → exit 1 and every error on its own line as <key.path>: <reason>', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, toYaml({
      data_dir: dir,
      server: {
        listen_addr: 'x',
        limits: { ...DEFAULT_LIMITS, max_body_bytes: -5, max_connections: 'lots' },
      },
      bogus_section: { a: 1 },
    }));
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 1, r.output);
    const keys = ['server.listen_addr', 'server.limits.max_body_bytes', 'server.limits.max_connections', 'bogus_section'];
    for (const k of keys) {
      assert.ok(errorLine(r.output, k), `no "${k}: <reason>" line in:\n${r.output}`);
    }
    // One per line: no line names two of them.
    for (const l of r.output.split('\n')) {
      const named = keys.filter((k) => l.includes(`${k}:`));
      assert.ok(named.length <= 1, `several errors on one line: ${l}`);
    }
  });

  it('YAML syntax error → exit 1', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, 'server: {listen: "127.0.0.1:0"\n  limits: [\n');
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 1, r.output);
    assert.ok(r.output.trim().length > 0);
  });

  it('unset ${ENV_VAR} → exit 1', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `data_dir: ${JSON.stringify(dir)}\nserver:\n  listen: "\${PC_IT_SURELY_UNSET_VAR_X}"\n`);
    const r = await runBinary(['check-config', '--config', cfg]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /PC_IT_SURELY_UNSET_VAR_X|server\.listen/);
  });
});

// Issue 8 item 20: keys whose subsystem does not exist yet must not look active. Since issue 12
// cluster.redis.url is read (src/cluster/, docs/cluster.md): set, it gives no notice, and a
// gateway whose Redis is unreachable still starts and says so (log line, metric), never hangs.
describe('keys that used to be accepted but not used', { timeout: 30000 }, () => {
  const CLUSTER_AND_REDACTION = async () => ({
    cluster: { redis: { url: `redis://127.0.0.1:${await closedPort()}` } },
    // redaction is used since issue 10 (MCP response guards): set, it gives no notice.
    redaction: { builtin: ['email'], custom: [{ name: 'ticket', pattern: 'T-[0-9]+' }] },
  });

  it('check-config prints no notice for cluster.redis.url or redaction (exit 0)', async () => {
    const dir = tmp();
    const r = await runBinary(['check-config', '--config', writeConfig(dir, gatewayConfig(dir, { extra: await CLUSTER_AND_REDACTION() }))]);
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /notice:/);
    assert.doesNotMatch(r.output, /accepted but not used yet/);
    assert.match(r.output, /configuration is valid/);
    assert.doesNotMatch(r.output, /^error/m);
  });

  it('check-config refuses an unreadable cluster.redis.ca_file, naming the key', async () => {
    const dir = tmp();
    const extra = { cluster: { redis: { url: 'rediss://127.0.0.1:6380', ca_file: path.join(dir, 'missing-ca.pem') } } };
    const r = await runBinary(['check-config', '--config', writeConfig(dir, gatewayConfig(dir, { extra }))]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /^cluster\.redis\.ca_file: cannot read .*missing-ca\.pem/m);
  });

  it('a malformed cluster.redis.url: check-config names the key (never the password); serve starts nothing, writes nothing', async () => {
    for (const url of ['redis://:pw-secret@127.0.0.1:99999/abc', 'redis://:pw-secret@127.0.0.1:6379/abc', 'rediss://:pw-secret@/0']) {
      const dir = tmp();
      const dataDir = path.join(dir, 'data');
      const port = await closedPort();
      const cfg = writeConfig(dir, toYaml({
        data_dir: dataDir,
        server: { listen: `127.0.0.1:${port}`, limits: { ...DEFAULT_LIMITS } },
        cluster: { redis: { url } },
      }));
      const c = await runBinary(['check-config', '--config', cfg]);
      assert.equal(c.code, 1, `${url}: ${c.output}`);
      assert.ok(errorLine(c.output, 'cluster.redis.url'), `${url}: ${c.output}`);
      assert.doesNotMatch(c.output, /pw-secret/);
      const r = await runBinary(['serve', '--config', cfg], { timeoutMs: 8000 });
      assert.equal(r.code, 2, `${url}: exit ${r.code}/${r.signal}:\n${r.output}`);
      assert.match(r.output, /cluster\.redis\.url/);
      assert.doesNotMatch(r.output, /pw-secret|signing key/);
      assert.equal(await connectRefused(port), true, 'something is listening on the configured port');
      assert.equal(fs.existsSync(dataDir), false, `${url}: serve wrote to data_dir despite a bad config`);
    }
  });

  it('serve with an unreachable Redis starts, logs it at warn, reports it in /metrics, no notice', async () => {
    const dir = tmp();
    const gw = await startGateway({ dir, config: gatewayConfig(dir, { extra: await CLUSTER_AND_REDACTION() }) });
    try {
      await waitFor(() => /redis: unavailable/.test(gw.logs()), 5000, { what: 'the Redis log line' });
      const line = gw.logs().split('\n').find((l) => l.includes('redis: unavailable'));
      assert.equal(JSON.parse(line).level, 'warn', line);
      assert.ok(!gw.logs().includes('accepted but not used yet'));
      const { samples } = await getMetrics(gw.port);
      const up = samples.filter((x) => x.name === 'portcullis_redis_up');
      assert.deepEqual(up.map((x) => [x.labels.connection, x.value]).sort(), [['commands', 0], ['subscriber', 0]]);
      assert.equal((await request(gw.port, { path: '/healthz' })).status, 200);
    } finally {
      await gw.stop();
    }
  });
});

describe('serve with bad configuration', { timeout: 30000 }, () => {
  it('invalid config → exit 2, one-line message naming the key, nothing listening, nothing written', async () => {
    const dir = tmp();
    const dataDir = path.join(dir, 'data');
    const port = await closedPort();
    const cfg = writeConfig(dir, toYaml({
      data_dir: dataDir,
      server: { listen: `127.0.0.1:${port}`, limits: { ...DEFAULT_LIMITS, max_body_bytes: -5 } },
    }));
    const r = await runBinary(['serve', '--config', cfg], { timeoutMs: 8000 });
    assert.equal(r.code, 2, `exit ${r.code}/${r.signal}:\n${r.output}`);
    const lines = r.output.split('\n').filter((l) => l.trim());
    assert.equal(lines.length, 1, `expected a one-line message, got:\n${r.output}`);
    assert.match(lines[0], /server\.limits\.max_body_bytes/);
    assert.equal(await connectRefused(port), true, 'something is listening on the configured port');
    assert.equal(fs.existsSync(dataDir), false, 'serve wrote to data_dir despite a bad config');
  });

  it('unknown key → exit 2 naming server.listen_addr', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, `data_dir: ${JSON.stringify(path.join(dir, 'data'))}\nserver: {listen_addr: x}\n`);
    const r = await runBinary(['serve', '--config', cfg], { timeoutMs: 8000 });
    assert.equal(r.code, 2, r.output);
    assert.match(r.output, /server\.listen_addr/);
    assert.equal(fs.existsSync(path.join(dir, 'data')), false);
  });

  it('missing config file → exit 2', async () => {
    const dir = tmp();
    const r = await runBinary(['serve', '--config', path.join(dir, 'does-not-exist.yaml')], { timeoutMs: 8000 });
    assert.equal(r.code, 2, r.output);
    assert.ok(r.output.trim().length > 0);
  });

  it('unknown flag → exit 2, nothing started', async () => {
    const dir = tmp();
    const cfg = writeConfig(dir, gatewayConfig(path.join(dir, 'data')));
    const r = await runBinary(['serve', '--config', cfg, '--no-such-flag'], { timeoutMs: 8000 });
    assert.equal(r.code, 2, r.output);
    assert.doesNotMatch(r.output, /"msg":"listening"/);
  });
});

// Issue 8 item 20: the version and the git revision it was built from.
describe('portcullis --version', () => {
  it('prints the version and git revision and exits 0', async () => {
    const r = await runBinary(['--version']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.stdout, /^portcullis \d+\.\d+\.\d+ \(revision [0-9a-zA-Z._-]+\)\n$/);
  });
});
