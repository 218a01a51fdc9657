// Async jobs that name a webhook (issue 9, docs/jobs.md "Afterwards", docs/webhooks.md) with the
// real binary and the demo's example agent: a job that succeeds is delivered as a signed
// `job.succeeded` event, one the runtime fails with a 4xx (`fail_status` inside input) as
// `job.failed`; the receiver written here checks X-Portcullis-Signature with node:crypto. An
// unknown webhookId, and another tenant's real one, are refused with 400 before any job exists
// (the foreign one counted as a tenant-access violation) and nothing is delivered.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  startGateway, gatewayConfig, makeTempDir, removeDir, request, postJson, errorOf, waitFor, sleep, getMetrics,
  demoToken, bearer,
} from './harness.mjs';
import { verify, startReceiver } from './support/webhooks.mjs';

const INVOKE = '/v1/agents/echo/invoke';
const JOBS = { workers: 2, timeout_ms: 3000, max_attempts: 2, backoff_initial_ms: 50, backoff_max_ms: 200, lease_ms: 4000, poll_interval_ms: 50 };
// The receiver is on 127.0.0.1 over plain http: both switches on (see webhooks.test.mjs).
const WEBHOOKS = { allow_private_targets: true, allow_http: true, max_attempts: 3, backoff_initial_ms: 50, backoff_max_ms: 200, timeout_ms: 2000, poll_interval_ms: 50 };

const metric = (samples, name) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);

describe('async jobs deliver their end to the webhook they name', { timeout: 120000 }, () => {
  let dir;
  let gw;
  let rx;
  let demo;
  let acme;

  before(async () => {
    dir = makeTempDir('portcullis-job-webhooks-');
    rx = await startReceiver();
    gw = await startGateway({
      dir,
      config: gatewayConfig(dir, {
        limits: { max_body_bytes: 65536, header_timeout_ms: 5000, idle_timeout_ms: 5000 },
        extraServer: { jobs: JOBS, webhooks: WEBHOOKS },
      }),
      args: ['--demo'],
    });
    demo = await demoToken(gw, 'demo');
    acme = await demoToken(gw, 'acme');
  });

  after(async () => {
    if (gw) await gw.stop();
    if (rx) await rx.close();
    removeDir(dir);
  });

  const createWebhook = async (token, path) => {
    const body = JSON.stringify({ url: `http://127.0.0.1:${rx.port}${path}` });
    const r = await request(gw.port, { method: 'POST', path: '/v1/webhooks', body,
      headers: { ...bearer(token), 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    assert.equal(r.status, 201, r.body);
    return r.json;
  };
  const submit = (token, body) => postJson(gw.port, INVOKE, { mode: 'async', ...body }, { headers: bearer(token) });
  const finalJob = (token, jobId) => waitFor(async () => {
    const r = await request(gw.port, { path: `/v1/jobs/${jobId}`, headers: bearer(token) });
    assert.equal(r.status, 200, r.body);
    return ['succeeded', 'failed'].includes(r.json.status) ? r.json : null;
  }, 15000, { what: `job ${jobId} final` });
  // The one delivery at `path`, checked as a receiver must: signed with the webhook's secret.
  const deliveredTo = async (path, secret) => {
    const got = await waitFor(() => rx.on(path)[0], 10000, { what: `a delivery to ${path}` });
    assert.equal(got.method, 'POST');
    assert.match(got.headers['content-type'], /^application\/json/);
    assert.equal(verify(secret, got.headers, got.body), null, 'the signature does not verify with the webhook secret');
    assert.equal(verify('whsec_not_the_secret', got.headers, got.body), 'bad signature');
    return { got, event: JSON.parse(got.body.toString('utf8')) };
  };

  it('a job that succeeds: a signed job.succeeded event carrying the job and its result', async () => {
    const w = await createWebhook(demo, '/ok');
    const r = await submit(demo, { input: { text: 'deliver me' }, webhookId: w.webhookId });
    assert.equal(r.status, 202, r.body);
    const jobId = r.json.jobId;
    const job = await finalJob(demo, jobId);
    assert.equal(job.status, 'succeeded', JSON.stringify(job));

    const { got, event } = await deliveredTo('/ok', w.secret);
    assert.equal(got.headers['x-portcullis-event'], 'job.succeeded');
    assert.match(got.headers['x-portcullis-delivery-id'], /^dlv_[0-9a-f]{24}$/);
    assert.equal(event.id, got.headers['x-portcullis-delivery-id']);
    assert.equal(event.type, 'job.succeeded');
    assert.equal(event.webhookId, w.webhookId);
    assert.equal(event.data.jobId, jobId);
    assert.equal(event.data.status, 'succeeded');
    assert.equal(event.data.agentName, 'echo');
    assert.equal(event.data.error, undefined);
    assert.deepEqual(event.data.result.output.echo, { text: 'deliver me' });
    assert.equal(event.data.result.status, 'succeeded');
    assert.equal(event.data.result.mode, 'async');
    // docs/webhooks.md: data is the job as GET /v1/jobs/{jobId} shows it.
    assert.deepEqual(event.data, job);
    // Exactly one delivery for the job, and the gateway records it delivered.
    const d = await waitFor(async () => {
      const x = await request(gw.port, { path: `/v1/webhooks/${w.webhookId}/deliveries/${event.id}`, headers: bearer(demo) });
      return x.json?.status === 'delivered' ? x.json : null;
    }, 5000, { what: 'delivery recorded delivered' });
    assert.equal(d.eventType, 'job.succeeded');
    assert.equal(d.attempts, 1);
    await sleep(300);
    assert.equal(rx.on('/ok').length, 1);
  });

  it('a job the runtime fails (fail_status 4xx): a signed job.failed event with the error', async () => {
    const w = await createWebhook(demo, '/failed');
    const r = await submit(demo, { input: { fail_status: 422 }, webhookId: w.webhookId });
    assert.equal(r.status, 202, r.body);
    const job = await finalJob(demo, r.json.jobId);
    assert.equal(job.status, 'failed', JSON.stringify(job));
    assert.equal(job.attempts, 1, 'a 4xx is not retried');

    const { got, event } = await deliveredTo('/failed', w.secret);
    assert.equal(got.headers['x-portcullis-event'], 'job.failed');
    assert.equal(event.type, 'job.failed');
    assert.equal(event.webhookId, w.webhookId);
    assert.equal(event.data.jobId, r.json.jobId);
    assert.equal(event.data.status, 'failed');
    assert.equal(event.data.error.code, 'agent_error');
    assert.equal(event.data.error.agentStatus, 422);
    assert.equal(event.data.result, undefined);
    assert.deepEqual(event.data, job);
  });

  it('an unknown webhookId is 400 and no job is created', async () => {
    const m0 = (await getMetrics(gw.port)).samples;
    // The counter this test reads counts accepted jobs (two so far), so "unchanged" means something.
    assert.ok(metric(m0, 'portcullis_jobs_accepted_total') >= 2, 'portcullis_jobs_accepted_total is not counting');
    const r = await submit(demo, { input: { text: 'nowhere' }, webhookId: 'wh_000000000000000000000000' });
    assert.equal(r.status, 400, r.body);
    assert.equal(errorOf(r).code, 'invalid_request');
    assert.equal(r.json.jobId, undefined);
    await sleep(300);
    const m1 = (await getMetrics(gw.port)).samples;
    assert.equal(metric(m1, 'portcullis_jobs_accepted_total'), metric(m0, 'portcullis_jobs_accepted_total'), 'a job was accepted');
    assert.equal(metric(m1, 'portcullis_tenant_access_violations_total'), metric(m0, 'portcullis_tenant_access_violations_total'),
      'an unknown id was counted as a violation');
  });

  it("another tenant's real webhookId is the same 400, no job, nothing delivered, and a counted violation", async () => {
    const theirs = await createWebhook(acme, '/acme');
    const unknown = await submit(demo, { input: 'x', webhookId: 'wh_000000000000000000000000' });
    const m0 = (await getMetrics(gw.port)).samples;
    const r = await submit(demo, { input: { text: 'steal' }, webhookId: theirs.webhookId });
    assert.equal(r.status, 400, r.body);
    assert.equal(errorOf(r).code, 'invalid_request');
    assert.equal(errorOf(r).message, errorOf(unknown).message, 'a foreign id is told apart from an unknown one');
    assert.ok(!r.body.includes('acme'), 'the answer names the other tenant');
    assert.equal(r.json.jobId, undefined);
    const m1 = await waitFor(async () => {
      const s = (await getMetrics(gw.port)).samples;
      return metric(s, 'portcullis_tenant_access_violations_total') > metric(m0, 'portcullis_tenant_access_violations_total') ? s : null;
    }, 5000, { what: 'the violation counted' });
    assert.equal(metric(m1, 'portcullis_tenant_access_violations_total'), metric(m0, 'portcullis_tenant_access_violations_total') + 1);
    assert.equal(metric(m1, 'portcullis_jobs_accepted_total'), metric(m0, 'portcullis_jobs_accepted_total'), 'a job was accepted');
    await sleep(500);
    assert.equal(rx.on('/acme').length, 0, "something was delivered to the other tenant's receiver");
    // acme's own use of it still works.
    const own = await submit(acme, { input: { text: 'mine' }, webhookId: theirs.webhookId });
    assert.equal(own.status, 202, own.body);
    const { event } = await deliveredTo('/acme', theirs.secret);
    assert.equal(event.data.jobId, own.json.jobId);
    assert.deepEqual(event.data.result.output.echo, { text: 'mine' });
  });
});
