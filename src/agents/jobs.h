// Durable async jobs (SPEC §5 `mode: "async"`, docs/jobs.md). The invoke route hands a job to
// accept(); the 202 goes out only once the job's row is committed, so a job the client was told
// about survives a crash. From then on the store drives it: a bounded pool of workers on every
// node claims due jobs under a lease, calls the runtime's POST /invocations (blocking
// net::fetch, with the same Idempotency-Key on every attempt), and records the outcome once —
// a retry with exponential backoff on network errors, timeouts, 408, 429 and 5xx; failed at
// once on other answers; failed after max_attempts. A node that dies mid-call loses its jobs
// when their lease runs out, and another node (or the same one restarted) runs them again:
// at least once to the runtime, exactly once to the client (only the lease holder's result is
// stored).
//
// Acceptance is group-committed: accepted jobs queue to one writer thread (store::BatchWriter,
// like the audit log's), which seals each request and inserts the whole batch in one
// transaction, then answers every caller of the batch.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "net/http.h"
#include "store/records.h"

namespace pc::store {
class Store;
}
namespace pc::vault {
class DataKeys;
}

namespace pc::agents {

class InvocationLog;

// What the invoke route knows of an async call.
struct JobSpec {
  std::string tenant;
  std::string principal;                 // subject of the caller
  std::string client;                    // client_id of the caller's token
  std::vector<std::string> actor_chain;  // act.sub, act.act.sub, ...
  std::vector<std::string> scopes;
  std::string tier;
  std::string agent;
  std::string agent_version;
  std::string scheme = "http";
  std::string host;
  int port = 0;
  std::string session_id;
  std::string body;             // the JSON sent to POST /invocations
  std::string idempotency_key;  // "" = the job id
  std::string webhook_id;       // "" = none
  std::string request_id;
  std::string invocation_id;  // "" = one is made when the job finishes
  std::chrono::milliseconds timeout{0};  // per attempt; 0 = the service's default
  int max_attempts = 0;                  // 0 = the service's default
};

struct AcceptedJob {
  std::string job_id;
  std::string created_at;
};

// Why a job was not accepted: the answer to send (503 overloaded / unavailable, 404 for a
// deleted tenant).
struct JobError {
  int status = 503;
  std::string code;
  std::string message;
};

// A job as its owner sees it (GET /v1/jobs/{id}).
struct JobView {
  std::string job_id;
  std::string status;
  std::string agent;
  std::string agent_version;
  std::string session_id;
  std::string created_at;
  std::string updated_at;
  int attempts = 0;
  std::optional<std::string> result;  // JSON text, the sync answer's shape (succeeded jobs)
  std::string error;                  // code ("" = none)
  std::string error_message;
  int http_status = 0;
};

// find(): the job, or nothing; `foreign` when the id is a real job of another tenant (counted
// as a tenant-access violation already; the caller answers 404 all the same and audits it).
struct JobLookup {
  std::optional<JobView> job;
  bool foreign = false;
};

// "job_" + 12 hex digits of milliseconds since the epoch + 16 random hex digits.
std::string new_job_id();

// The longest pause before the retry that follows `failed_attempts` failed attempts (1, 2, ...):
// initial × 2^(failed_attempts − 1), at most `max`. The service waits a random time between half
// of it and all of it (jitter), so jobs that failed together do not retry together.
std::chrono::milliseconds job_backoff(int failed_attempts, std::chrono::milliseconds initial,
                                      std::chrono::milliseconds max);

// What one attempt's answer means.
struct AttemptOutcome {
  enum class Verdict { succeeded, retry, failed };
  Verdict verdict = Verdict::failed;
  int http_status = 0;    // the runtime's status; 0 when none came
  std::string error;      // "" | upstream_unavailable | upstream_timeout | agent_error | upstream_bad_response
  std::string message;
  std::string output;     // succeeded: JSON text of the output
  std::optional<std::int64_t> input_tokens;   // as the runtime reported them; unknown ≠ 0
  std::optional<std::int64_t> output_tokens;
};
// A runtime answer (status and body) read as the invocation contract says: 2xx with JSON
// `{output, usage?}` (anything else JSON: the whole of it is the output); 408, 429 and 5xx are
// worth a retry; any other status fails the job.
AttemptOutcome classify_answer(int status, std::string_view body);

class JobService {
 public:
  struct Options {
    unsigned workers = 4;
    std::chrono::milliseconds timeout{30000};
    int max_attempts = 3;
    std::chrono::milliseconds backoff_initial{1000};
    std::chrono::milliseconds backoff_max{60000};
    std::chrono::milliseconds lease{30000};
    std::chrono::milliseconds poll_interval{500};
    std::string node_id;  // "" = a random one per process
    std::size_t max_batch = 1024;
    std::size_t max_queue = 1 << 16;
    std::size_t max_queue_bytes = 64 << 20;
    std::size_t max_response_bytes = 4 << 20;
    // PEM trust anchors for https runtimes (server.upstream.ca_file); empty = the system store.
    std::string ca_file;
  };
  struct Hooks {
    // Extra headers for one attempt (the identity token, minted at run time). Optional.
    std::function<std::vector<net::Header>(const store::JobRecord&)> headers_for;
    // After a job's final state is stored (on a worker thread; keep it short: webhooks enqueue).
    std::function<void(const store::JobRecord&)> on_finished;
    // The trust anchors for https runtimes as configured now (server.upstream.ca_file, which a
    // reload may change). Unset: Options::ca_file.
    std::function<std::string()> ca_file;
    // how many jobs of a tenant (of a tier) this node runs at once at
    // most (its plan's max_concurrent, per node like the cap on calls); unset or 0 = no cap. The
    // claim also takes tenants round-robin (store::Store::claim_jobs), so with or without it one
    // tenant's backlog does not keep another tenant's due job from the next free worker.
    std::function<std::size_t(std::string_view tenant, std::string_view tier)> max_running;
  };
  using Done = std::function<void(std::variant<AcceptedJob, JobError>)>;

  // `invocations` may be null (no invocation records). The writer runs from here on; the
  // workers from start().
  JobService(store::Store& store, vault::DataKeys& keys, InvocationLog* invocations, Options options, Hooks hooks);
  ~JobService();  // stop()
  JobService(const JobService&) = delete;
  JobService& operator=(const JobService&) = delete;

  // Queues the job for the group commit; `done` runs once, on the writer thread, after the row
  // is durable (AcceptedJob) or was not written (JobError) — or at once, on this thread, when the
  // queue is full or the service stopped. Never blocks.
  void accept(JobSpec spec, Done done);

  // The job if it belongs to `tenant`. Blocking (store): from a work pool.
  JobLookup find(std::string_view tenant, std::string_view job_id);
  // A record as its owner sees it, the result opened (for on_finished: a webhook's payload).
  JobView view(const store::JobRecord& job);

  // Starts the dispatcher (claims due jobs, renews leases) and the workers. Idempotent.
  void start();
  // Refuses new jobs, commits the queued ones (their callbacks run), then stops the dispatcher
  // and waits for the workers' attempts in flight (each bounded by its timeout). Jobs left
  // claimed are taken over after their lease. Idempotent.
  void stop();

  const std::string& node_id() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::agents
