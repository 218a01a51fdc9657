// Records (issue 9) end to end with the real binary, for what does not need the new invoke route:
// `ops agents create --protocol` names only what the API accepts, a `--demo` restart keeps one
// demo version of the echo agent (whose endpoint follows the example agent's new port), the
// invocation record's usage is null — never 0 — when the runtime reported none, top-tenants and
// quotas carry token sums, and the agent health checker notices a runtime that is down.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  BIN, startGateway, gatewayConfig, makeTempDir, removeDir, request, postJson, runBinary,
  demoToken, adminToken, bearer, closedPort, waitFor, getMetrics,
} from './harness.mjs';

async function agentView(gw, token) {
  const r = await request(gw.port, { path: '/v1/platform/agents/echo', headers: bearer(token) });
  assert.equal(r.status, 200, r.body);
  return r.json;
}

describe('ops agents create --protocol', { timeout: 60000 }, () => {
  it('help names exactly the values the API accepts', async () => {
    const r = await runBinary(['ops', 'agents', 'create', '--help']);
    assert.equal(r.code, 0, r.stderr);
    const line = r.stdout.split('\n').find((l) => l.includes('--protocol'));
    assert.ok(line, r.stdout);
    assert.match(line, /http/);
    assert.match(line, /a2a/);
    assert.doesNotMatch(r.stdout, /invocation/, 'a value the API refuses must not be offered');
  });

  it('a value the API refuses is refused by the CLI before any call (exit 2)', async () => {
    const r = await runBinary(['ops', '--url', `http://127.0.0.1:${await closedPort()}`, 'agents', 'create', 'x',
      '--protocol', 'invocation']);
    assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stderr, /protocol/);
  });

  describe('against the API', () => {
    let dir;
    let gw;
    let admin;
    before(async () => {
      dir = makeTempDir('portcullis-records-ops-');
      gw = await startGateway({ dir, config: gatewayConfig(dir, { limits: { max_body_bytes: 65536 } }) });
      admin = await adminToken(gw);
    });
    after(async () => {
      if (gw) await gw.stop();
      removeDir(dir);
    });

    it('accepts http and a2a and refuses anything else with 400', async () => {
      for (const [name, protocol] of [['proto-http', 'http'], ['proto-a2a', 'a2a']]) {
        const r = await postJson(gw.port, '/v1/platform/agents', { name, protocol }, { headers: bearer(admin) });
        assert.equal(r.status, 201, r.body);
        assert.equal(r.json.protocol, protocol);
      }
      const bad = await postJson(gw.port, '/v1/platform/agents', { name: 'proto-bad', protocol: 'invocation' },
        { headers: bearer(admin) });
      assert.equal(bad.status, 400, bad.body);
    });
  });
});

describe('--demo restarts', { timeout: 120000 }, () => {
  let dir;
  let gw;
  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('keep one demo version of echo, moved to the new example agent, and invocations still work', async () => {
    dir = makeTempDir('portcullis-records-demo-');
    const config = gatewayConfig(dir, { limits: { max_body_bytes: 65536 } });
    const endpoints = [];
    for (let start = 0; start < 3; start++) {
      gw = await startGateway({ dir, config, args: ['--demo'] });
      const view = await agentView(gw, await adminToken(gw));
      assert.equal(view.versions.length, 1, `start ${start + 1}: ${JSON.stringify(view.versions)}`);
      const [v] = view.versions;
      assert.equal(v.version, 'demo');
      assert.equal(v.status, 'promoted');
      endpoints.push(v.endpoint);
      // The catalog routes to the example agent of this start.
      const token = await demoToken(gw);
      const r = await postJson(gw.port, '/v1/agents/echo/invoke', { input: { n: start } }, { headers: bearer(token) });
      assert.equal(r.status, 200, `start ${start + 1}: ${r.body}`);
      await gw.stop();
      gw = null;
    }
    assert.equal(new Set(endpoints).size, 3, `the example agent listens on a new port each start: ${endpoints}`);
  });
});

describe('usage in records and reports', { timeout: 60000 }, () => {
  let dir;
  let gw;
  let admin;
  let token;
  before(async () => {
    dir = makeTempDir('portcullis-records-usage-');
    gw = await startGateway({ dir, config: gatewayConfig(dir, { limits: { max_body_bytes: 65536 } }), args: ['--demo'] });
    admin = await adminToken(gw);
    token = await demoToken(gw);
  });
  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('an invocation whose runtime reported no usage shows null token counts, and the reports carry them', async () => {
    const r = await postJson(gw.port, '/v1/agents/echo/invoke', { input: 'hello' }, { headers: bearer(token) });
    assert.equal(r.status, 200, r.body);
    const listed = await waitFor(async () => {
      const l = await request(gw.port, { path: '/v1/platform/invocations?tenant=demo', headers: bearer(admin) });
      return l.status === 200 && l.json.invocations.length > 0 ? l.json.invocations : null;
    }, 5000, { what: 'invocation recorded' });
    const inv = listed[0];
    assert.equal(inv.mode, 'sync');
    assert.equal(inv.status, 'succeeded');
    assert.equal(inv.error, null);
    // Whatever this runtime reports, a count is a number or null — never a made-up 0 when absent.
    for (const k of ['inputTokens', 'outputTokens']) {
      assert.ok(inv.usage[k] === null || (Number.isInteger(inv.usage[k]) && inv.usage[k] >= 0), JSON.stringify(inv));
    }

    const top = await request(gw.port, { path: '/v1/platform/top-tenants', headers: bearer(admin) });
    assert.equal(top.status, 200, top.body);
    const demo = top.json.tenants.find((t) => t.tenantId === 'demo');
    assert.ok(demo, top.body);
    assert.equal(demo.invocations, 1);
    assert.ok('inputTokens' in demo && 'outputTokens' in demo, top.body);
    assert.equal(demo.inputTokens, inv.usage.inputTokens, 'the sum of one record is its count (or null)');

    const quotas = await request(gw.port, { path: '/v1/tenants/demo/quotas', headers: bearer(admin) });
    assert.equal(quotas.status, 200, quotas.body);
    assert.equal(quotas.json.usedToday, 1);
    assert.ok('inputTokensToday' in quotas.json && 'outputTokensToday' in quotas.json, quotas.body);

    const ops = await runBinary(['ops', '--config', gw.configPath, 'top-tenants']);
    assert.equal(ops.code, 0, ops.stderr);
    assert.match(ops.stdout, /INPUT TOKENS/);
  });

  it('another tenant sees neither the record nor the usage', async () => {
    const acme = await demoToken(gw, 'acme');
    const r = await request(gw.port, { path: '/v1/tenants/demo/quotas', headers: bearer(acme) });
    assert.ok(r.status === 403 || r.status === 404, `${r.status} ${r.body}`);
    const inv = await request(gw.port, { path: '/v1/tenants/demo/invocations', headers: bearer(acme) });
    assert.ok(inv.status === 403 || inv.status === 404, `${inv.status} ${inv.body}`);
  });
});

describe('agent health', { timeout: 60000 }, () => {
  let dir;
  let gw;
  after(async () => {
    if (gw) await gw.stop();
    removeDir(dir);
  });

  it('a runtime that is down is noticed by the background pings (metric), within a few intervals', async () => {
    dir = makeTempDir('portcullis-records-health-');
    const dead = `http://127.0.0.1:${await closedPort()}`;
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, { upstream: { health_check_interval_ms: 200 } }),
      args: ['--demo', '--demo-agent', dead],
    });
    const value = async () => (await getMetrics(gw.port)).samples.find((x) => x.name === 'portcullis_agents_unavailable');
    const first = await value();
    assert.ok(first, 'the metric is exported from the start');
    await waitFor(async () => (await value()).value >= 1, 10000, { what: 'portcullis_agents_unavailable >= 1' });
    assert.match(gw.logs(), /agent runtime is unavailable/);
  });

  it('refuses an interval below 100 ms at start', async () => {
    const d = makeTempDir('portcullis-records-health-bad-');
    try {
      const cfgPath = `${d}/config.yaml`;
      (await import('node:fs')).writeFileSync(cfgPath, gatewayConfig(d, { upstream: { health_check_interval_ms: 5 } }));
      const r = await runBinary(['check-config', '--config', cfgPath]);
      assert.notEqual(r.code, 0, r.stdout);
      assert.match(`${r.stdout}${r.stderr}`, /health_check_interval_ms/);
    } finally {
      removeDir(d);
    }
  });
});
