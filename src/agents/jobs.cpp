#include "agents/jobs.h"

#include <boost/json.hpp>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <random>
#include <set>
#include <thread>

#include "agents/invocation_log.h"
#include "core/thread_priority.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "net/http_client.h"
#include "store/batch_writer.h"
#include "store/store.h"
#include "store/tenant_store.h"
#include "vault/data_keys.h"

namespace pc::agents {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::int64_t unix_ms() {
  return std::chrono::duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Bound to tenant, table, row and column, as invocation content is: a sealed request or result
// copied to another job or tenant does not open.
std::string request_aad(const store::JobRecord& j) {
  return crypto::row_aad(j.tenant_id, "jobs", j.job_id, "request_sealed");
}
std::string result_aad(const store::JobRecord& j) {
  return crypto::row_aad(j.tenant_id, "jobs", j.job_id, "result_sealed");
}

struct Metrics {
  core::Counter& accepted;
  core::Counter& refused;
  core::Counter& attempts;
  core::Counter& retries;
  core::CounterFamily& finished;
  core::Gauge& running;
  store::BatchMetrics writer;
};

Metrics& metrics() {
  static Metrics m{
      core::metrics().counter("portcullis_jobs_accepted_total", "Async jobs stored and acknowledged (202)").get(),
      core::metrics()
          .counter("portcullis_jobs_refused_total", "Async jobs refused: queue full, stopped, or not stored")
          .get(),
      core::metrics().counter("portcullis_jobs_attempts_total", "Runtime calls made for async jobs").get(),
      core::metrics().counter("portcullis_jobs_retries_total", "Async job attempts scheduled again after a failure").get(),
      core::metrics().counter("portcullis_jobs_finished_total", "Async jobs finished, by final status", {"status"}),
      core::metrics().gauge("portcullis_jobs_running", "Async job attempts in flight on this node").get(),
      store::BatchMetrics{
          nullptr,
          &core::metrics().counter("portcullis_jobs_batches_total", "Transactions of the job acceptance writer").get(),
          nullptr,
          nullptr,
          &core::metrics()
               .counter("portcullis_jobs_parked_total", "Accepted jobs the store refused on their own (answered 503)")
               .get(),
          &core::metrics().gauge("portcullis_jobs_queue_depth", "Async jobs waiting to be stored").get(),
          nullptr,
      },
  };
  return m;
}

double jitter_fraction() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.5, 1.0)(rng);
}

std::string host_for_url(const std::string& host) {
  return host.find(':') != std::string::npos && host.front() != '[' ? "[" + host + "]" : host;
}

boost::json::value optional_count(const std::optional<std::int64_t>& n) {
  return n ? boost::json::value(*n) : boost::json::value(nullptr);
}

}  // namespace

struct Pending {
  store::JobRecord row;
  std::string body;
  JobService::Done done;
};

struct JobService::Impl {
  Impl(store::Store& s, vault::DataKeys& k, InvocationLog* inv, Options o, Hooks h)
      : store(s),
        keys(k),
        invocations(inv),
        opt(std::move(o)),
        hooks(std::move(h)),
        node(opt.node_id.empty() ? "node-" + crypto::random_hex(8) : opt.node_id),
        writer(store::BatchWriter<Pending>::Options{"jobs", opt.max_batch, opt.max_queue, opt.max_queue_bytes,
                                                    milliseconds(2), {milliseconds(50), milliseconds(200)}},
               store::BatchWriter<Pending>::Hooks{
                   [](const Pending& p) { return sizeof(Pending) + p.body.size() + p.row.job_id.size() * 4; },
                   [this](std::vector<Pending>& batch) { write(batch); },
                   [this](Pending& p, store::Written w) { written(p, w); },
                   [](const Pending&) { return true; },  // every job has a caller waiting for its 202
                   [](const Pending& p) { return "job " + p.row.job_id; },
               },
               metrics().writer) {}

  store::Store& store;
  vault::DataKeys& keys;
  InvocationLog* invocations;
  const Options opt;
  const Hooks hooks;
  const std::string node;

  std::mutex mu;
  std::condition_variable dispatcher_cv;
  std::condition_variable workers_cv;
  std::deque<store::JobRecord> ready;  // claimed, waiting for a worker
  std::set<std::string> held;          // ids claimed by this node and not finished (leases to renew)
  unsigned busy = 0;                   // claimed and not finished
  bool hint = false;                   // something changed: claim now rather than at the next poll
  bool started = false;
  bool stopping = false;
  std::thread dispatcher;
  std::vector<std::thread> workers;
  std::once_flag stop_once;

  store::BatchWriter<Pending> writer;  // last: its thread uses everything above

  // ---- acceptance (writer thread)
  void write(std::vector<Pending>& batch) {
    std::vector<store::JobRecord> rows;
    rows.reserve(batch.size());
    for (const auto& p : batch) {
      store::JobRecord r = p.row;
      // Throws (the batch is then written one by one): a job without its request cannot run.
      r.request_sealed = keys.seal(r.tenant_id, vault::kInvocationClass, request_aad(r), p.body);
      rows.push_back(std::move(r));
    }
    store.insert_jobs(rows);
  }

  void written(Pending& p, store::Written w) {
    if (w == store::Written::no) {
      metrics().refused.inc();
      p.done(JobError{503, "unavailable", "the job could not be stored; try again later"});
      return;
    }
    if (w == store::Written::maybe) {
      // Its commit may have gone through: then it runs. The id lets the caller look instead of
      // submitting a second copy.
      metrics().refused.inc();
      p.done(JobError{503, "store_unavailable",
                      "the store went away while the job was being stored; it may have been accepted as " +
                          p.row.job_id + ": check GET /v1/jobs/" + p.row.job_id + " before retrying"});
      return;
    }
    metrics().accepted.inc();
    p.done(AcceptedJob{p.row.job_id, p.row.created_at});
    {
      std::lock_guard lk(mu);
      hint = true;
    }
    dispatcher_cv.notify_one();
  }

  // ---- dispatcher: claims due jobs for idle workers, renews the leases of held ones
  void dispatch() {
    const milliseconds renew_every = std::max(milliseconds(100), opt.lease / 3);
    auto next_renew = Clock::now() + renew_every;
    // with the store down the dispatcher fails at every poll (twice a
    // second by default, on every node): one line when it starts failing and one when it works
    // again, not a line per poll (measured with PostgreSQL restarted under load).
    bool claim_failing = false;
    std::unique_lock lk(mu);
    while (!stopping) {
      hint = false;
      const unsigned free = opt.workers > busy ? opt.workers - busy : 0;
      if (free > 0) {
        lk.unlock();
        std::vector<store::JobRecord> got;
        try {
          got = store.claim_jobs(node, unix_ms(), opt.lease.count(), free, hooks.max_running);
          if (claim_failing) log::info("jobs: claiming due jobs works again");
          claim_failing = false;
        } catch (const std::exception& e) {
          if (!claim_failing)
            log::warn("jobs: claiming due jobs failed; retrying at every poll (logged again once it works)",
                      {{"error", e.what()}});
          claim_failing = true;
        }
        lk.lock();
        for (auto& j : got) {
          held.insert(j.job_id);
          ready.push_back(std::move(j));
          ++busy;
        }
        if (!got.empty()) workers_cv.notify_all();
      }
      if (Clock::now() >= next_renew) {
        std::vector<std::string> ids(held.begin(), held.end());
        lk.unlock();
        renew(ids);
        lk.lock();
        next_renew = Clock::now() + renew_every;
      }
      if (stopping) break;
      dispatcher_cv.wait_until(lk, std::min(Clock::now() + opt.poll_interval, next_renew),
                               [&] { return stopping || hint; });
    }
  }

  void renew(const std::vector<std::string>& ids) {
    const std::int64_t until = unix_ms() + opt.lease.count();
    for (const auto& id : ids) {
      try {
        if (!store.renew_job_lease(id, node, until))
          log::warn("jobs: lease lost; another node runs the job now and only its result counts", {{"job_id", id}});
      } catch (const std::exception& e) {
        log::warn("jobs: lease renewal failed", {{"job_id", id}, {"error", e.what()}});
      }
    }
  }

  // ---- workers
  void work() {
    for (;;) {
      store::JobRecord job;
      {
        std::unique_lock lk(mu);
        workers_cv.wait(lk, [&] { return stopping || !ready.empty(); });
        // Stopping: claimed jobs not started stay claimed and are taken over after their lease.
        if (stopping) return;
        job = std::move(ready.front());
        ready.pop_front();
      }
      metrics().running.inc();
      try {
        run(job);
      } catch (const std::exception& e) {
        // The job keeps its lease until it runs out; then it is claimed again.
        log::error("jobs: attempt failed inside the gateway", {{"job_id", job.job_id}, {"error", e.what()}});
      }
      metrics().running.dec();
      {
        std::lock_guard lk(mu);
        held.erase(job.job_id);
        --busy;
        hint = true;
      }
      dispatcher_cv.notify_one();
    }
  }

  void run(store::JobRecord& job) {
    if (job.attempts > job.max_attempts) {
      // Its node died during the last attempt: the runtime may have run it, but no answer came.
      if (job.error.empty()) job.error = "upstream_unavailable";
      job.error_message = "no attempt left: the gateway stopped during the last one";
      finish(job, "failed", std::nullopt, AttemptOutcome{}, 0, "");
      return;
    }
    std::string body;
    try {
      body = keys.open(job.tenant_id, vault::kInvocationClass, request_aad(job), job.request_sealed);
    } catch (const std::exception& e) {
      log::error("jobs: the job's request does not open", {{"job_id", job.job_id}, {"error", e.what()}});
      job.error = "internal";
      job.error_message = "the job's request could not be read";
      finish(job, "failed", std::nullopt, AttemptOutcome{}, 0, "");
      return;
    }

    net::FetchOptions o;
    o.method = "POST";
    o.body = body;
    o.timeout = job.timeout_ms > 0 ? milliseconds(job.timeout_ms) : opt.timeout;
    o.max_body_bytes = opt.max_response_bytes;
    // The runtime is the operator's (registered through the Admin API), as for the proxy: plain
    // http to any address it names, https verified against the upstream trust anchors.
    o.ca_file = hooks.ca_file ? hooks.ca_file() : opt.ca_file;
    o.allow_http_any = true;
    o.headers = {{"Content-Type", "application/json"},
                 {"Accept", "application/json"},
                 {"Idempotency-Key", job.idempotency_key},
                 {"X-Portcullis-Job-Id", job.job_id}};
    if (net::is_valid_request_id(job.request_id)) o.headers.push_back({"X-Request-Id", job.request_id});
    if (!job.session_id.empty()) o.headers.push_back({"X-Portcullis-Session-Id", job.session_id});
    if (hooks.headers_for)
      for (auto& h : hooks.headers_for(job)) o.headers.push_back(std::move(h));
    const std::string url = job.scheme + "://" + host_for_url(job.host) + ":" + std::to_string(job.port) + "/invocations";

    metrics().attempts.inc();
    const auto start = Clock::now();
    AttemptOutcome out;
    try {
      net::FetchResult r = net::fetch(url, o);
      out = classify_answer(r.status, r.body);
    } catch (const net::FetchError& e) {
      const bool timed_out = std::string_view(e.what()).find("timed out") != std::string_view::npos;
      out.verdict = AttemptOutcome::Verdict::retry;
      out.error = timed_out ? "upstream_timeout" : "upstream_unavailable";
      out.message = timed_out ? "the agent's runtime did not answer within " + std::to_string(o.timeout.count()) + " ms"
                              : "the agent's runtime could not be reached";
      log::warn("jobs: attempt failed", {{"job_id", job.job_id}, {"attempt", job.attempts}, {"error", e.what()}});
    }
    const std::int64_t latency = std::chrono::duration_cast<milliseconds>(Clock::now() - start).count();

    job.http_status = out.http_status;
    job.error = out.error;
    job.error_message = out.message;
    job.updated_at = core::rfc3339_now();
    if (out.verdict == AttemptOutcome::Verdict::retry && job.attempts < job.max_attempts) {
      const auto pause = milliseconds(static_cast<std::int64_t>(
          static_cast<double>(job_backoff(job.attempts, opt.backoff_initial, opt.backoff_max).count()) *
          jitter_fraction()));
      if (store.retry_job(job, node, unix_ms() + pause.count())) {
        metrics().retries.inc();
        log::info("jobs: attempt failed; retrying",
                  {{"job_id", job.job_id}, {"attempt", job.attempts}, {"error", job.error}, {"retry_in_ms", pause.count()}});
      } else {
        log::warn("jobs: lease lost before the retry was scheduled; the node holding it decides", {{"job_id", job.job_id}});
      }
      return;
    }
    const bool ok = out.verdict == AttemptOutcome::Verdict::succeeded;
    finish(job, ok ? "succeeded" : "failed", ok ? std::optional<std::string>(out.output) : std::nullopt, out, latency, body);
  }

  // Stores the final state (only if this node still holds the job), then records the invocation
  // and tells the hook.
  void finish(store::JobRecord& job, const std::string& status, const std::optional<std::string>& output,
              const AttemptOutcome& out, std::int64_t latency_ms, const std::string& input) {
    job.status = status;
    job.updated_at = core::rfc3339_now();
    const std::string invocation_id = job.invocation_id.empty() ? new_invocation_id() : job.invocation_id;
    if (output) {
      job.error.clear();
      job.error_message.clear();
      boost::json::object r;
      r["invocationId"] = invocation_id;
      r["agentName"] = job.agent;
      r["agentVersion"] = job.agent_version;
      r["mode"] = "async";
      r["status"] = "succeeded";
      boost::json::error_code ec;
      r["output"] = boost::json::parse(*output, ec);
      r["sessionId"] = job.session_id.empty() ? boost::json::value(nullptr) : boost::json::value(job.session_id);
      r["usage"] = {{"inputTokens", optional_count(out.input_tokens)},
                    {"outputTokens", optional_count(out.output_tokens)},
                    {"latencyMs", latency_ms}};
      r["timestamp"] = job.updated_at;
      job.result_sealed = keys.seal(job.tenant_id, vault::kInvocationClass, result_aad(job), boost::json::serialize(r));
    }
    if (!store.finish_job(job, node)) {
      log::warn("jobs: lease lost before the result was stored; the node holding the job decides",
                {{"job_id", job.job_id}});
      return;
    }
    metrics().finished.labels({status}).inc();
    log::info("jobs: finished", {{"job_id", job.job_id}, {"status", status}, {"attempts", job.attempts},
                                 {"error", job.error}, {"request_id", job.request_id}});
    if (invocations) {
      Invocation inv;
      inv.invocation_id = invocation_id;
      inv.tenant_id = job.tenant_id;
      inv.agent = job.agent;
      inv.agent_version = job.agent_version;
      inv.session_id = job.session_id;
      inv.principal = job.principal;
      // The runtime's status; a call that got none is a gateway-made 504 or 502.
      inv.http_status = job.http_status != 0 ? job.http_status : (job.error == "upstream_timeout" ? 504 : 502);
      inv.mode = "async";
      inv.status = job.status;
      inv.error = job.error;
      inv.latency_ms = latency_ms;
      inv.created_at = job.created_at;
      inv.input = input;
      if (output) inv.output = *output;
      inv.input_tokens = out.input_tokens;
      inv.output_tokens = out.output_tokens;
      invocations->record(std::move(inv));
    }
    if (hooks.on_finished) {
      try {
        hooks.on_finished(job);
      } catch (const std::exception& e) {
        log::error("jobs: on_finished hook failed", {{"job_id", job.job_id}, {"error", e.what()}});
      }
    }
  }
};

JobService::JobService(store::Store& store, vault::DataKeys& keys, InvocationLog* invocations, Options options,
                       Hooks hooks)
    : impl_(std::make_unique<Impl>(store, keys, invocations, std::move(options), std::move(hooks))) {
  if (impl_->opt.workers == 0) throw std::invalid_argument("jobs: workers must be at least 1");
  if (impl_->opt.max_attempts < 1) throw std::invalid_argument("jobs: max_attempts must be at least 1");
}

JobService::~JobService() { stop(); }

const std::string& JobService::node_id() const { return impl_->node; }

void JobService::accept(JobSpec spec, Done done) {
  Impl& p = *impl_;
  store::JobRecord r;
  r.job_id = new_job_id();
  r.tenant_id = std::move(spec.tenant);
  r.agent = std::move(spec.agent);
  r.agent_version = std::move(spec.agent_version);
  r.session_id = std::move(spec.session_id);
  r.principal = std::move(spec.principal);
  r.client_id = std::move(spec.client);
  r.actor_chain = std::move(spec.actor_chain);
  r.scopes = std::move(spec.scopes);
  r.tier = std::move(spec.tier);
  r.scheme = spec.scheme.empty() ? "http" : std::move(spec.scheme);
  r.host = std::move(spec.host);
  r.port = spec.port;
  r.idempotency_key = spec.idempotency_key.empty() ? r.job_id : std::move(spec.idempotency_key);
  r.webhook_id = std::move(spec.webhook_id);
  r.request_id = std::move(spec.request_id);
  r.invocation_id = std::move(spec.invocation_id);
  r.timeout_ms = (spec.timeout.count() > 0 ? spec.timeout : p.opt.timeout).count();
  r.max_attempts = spec.max_attempts > 0 ? spec.max_attempts : p.opt.max_attempts;
  r.status = "accepted";
  r.next_run_at = unix_ms();
  r.created_at = core::rfc3339_now();
  r.updated_at = r.created_at;
  Done keep = done;  // push() drops the item when it refuses it
  if (!p.writer.push(Pending{std::move(r), std::move(spec.body), std::move(done)})) {
    metrics().refused.inc();
    keep(JobError{503, "overloaded", "the job queue is full; try again later"});
  }
}

JobLookup JobService::find(std::string_view tenant, std::string_view job_id) {
  JobLookup out;
  std::optional<store::JobRecord> j;
  try {
    j = store::TenantStore(impl_->store, std::string(tenant)).find_job(job_id);
  } catch (const store::TenantAccessViolation&) {
    out.foreign = true;  // counted by the handle; the caller learns nothing more than "not found"
    return out;
  }
  if (!j) return out;
  out.job = view(*j);
  return out;
}

JobView JobService::view(const store::JobRecord& job) {
  const store::JobRecord* j = &job;
  JobView v;
  v.job_id = j->job_id;
  v.status = j->status;
  v.agent = j->agent;
  v.agent_version = j->agent_version;
  v.session_id = j->session_id;
  v.created_at = j->created_at;
  v.updated_at = j->updated_at;
  v.attempts = j->attempts;
  v.error = j->error;
  v.error_message = j->error_message;
  v.http_status = j->http_status;
  if (j->result_sealed) {
    try {
      v.result = impl_->keys.open(j->tenant_id, vault::kInvocationClass, result_aad(*j), *j->result_sealed);
    } catch (const std::exception& e) {
      log::error("jobs: a stored result does not open", {{"job_id", j->job_id}, {"error", e.what()}});
      v.error = "internal";
      v.error_message = "the job's result could not be read";
    }
  }
  return v;
}

void JobService::start() {
  Impl& p = *impl_;
  std::lock_guard lk(p.mu);
  if (p.started || p.stopping) return;
  p.started = true;
  // Polling the store and calling runtimes only has to keep up: below the I/O threads, like the
  // writers (core/thread_priority.h), so a claim transaction never delays a client's answer.
  p.dispatcher = std::thread([&p] {
    core::name_this_thread("jobs-dispatch");
    core::lower_this_thread_priority(core::kWriterNice);
    p.dispatch();
  });
  for (unsigned i = 0; i < p.opt.workers; ++i)
    p.workers.emplace_back([&p] {
      core::name_this_thread("jobs-worker");
      core::lower_this_thread_priority(core::kWriterNice);
      p.work();
    });
}

void JobService::stop() {
  Impl& p = *impl_;
  std::call_once(p.stop_once, [&p] {
    p.writer.stop();  // queued jobs are committed and answered first
    {
      std::lock_guard lk(p.mu);
      p.stopping = true;
    }
    p.dispatcher_cv.notify_all();
    p.workers_cv.notify_all();
    if (p.dispatcher.joinable()) p.dispatcher.join();
    for (auto& t : p.workers)
      if (t.joinable()) t.join();
  });
}

}  // namespace pc::agents
