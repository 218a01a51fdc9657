#include "agents/invocation_log.h"

#include <chrono>
#include <cstdio>

#include "core/log.h"
#include "core/metrics.h"
#include "crypto/associated_data.h"
#include "crypto/random.h"
#include "store/store.h"
#include "vault/data_keys.h"

namespace pc::agents {
namespace {

struct Metrics {
  core::Counter& written = core::metrics()
                               .counter("portcullis_invocation_records_total", "Invocation records written to the store", {})
                               .labels({});
  core::Counter& dropped = core::metrics()
                               .counter("portcullis_invocation_records_dropped_total",
                                        "Invocation records not written (queue full, stopped, or a failed batch)", {})
                               .labels({});
  static Metrics& get() {
    static Metrics m;
    return m;
  }
};

}  // namespace

std::string new_invocation_id() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  char prefix[32];
  std::snprintf(prefix, sizeof prefix, "inv_%012llx", static_cast<unsigned long long>(ms));
  return prefix + crypto::random_hex(8);
}

InvocationLog::InvocationLog(store::Store& store, vault::DataKeys& keys) : InvocationLog(store, keys, Options{}) {}

InvocationLog::InvocationLog(store::Store& store, vault::DataKeys& keys, Options options)
    : store_(store), keys_(keys), opts_(options) {
  Metrics::get();
  writer_ = std::thread([this] { run(); });
}

InvocationLog::~InvocationLog() { stop(); }

bool InvocationLog::record(Invocation inv) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ || queue_.size() >= opts_.max_queue) {
      Metrics::get().dropped.inc();
      return false;
    }
    queue_.push_back(std::move(inv));
    ++queued_;
    // The writer sleeps until the first record and lingers for the rest (run()): waking it per
    // record would cost a context switch per invocation on a busy core.
    if (queue_.size() != 1 && queue_.size() != opts_.max_batch) return true;
  }
  work_.notify_one();
  return true;
}

void InvocationLog::flush() {
  std::unique_lock lock(mu_);
  urgent_ = true;
  work_.notify_one();
  const std::uint64_t target = queued_;
  progress_.wait(lock, [&] { return finished_ >= target; });
}

void InvocationLog::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  work_.notify_all();
  std::call_once(joined_, [this] {
    if (writer_.joinable()) writer_.join();
  });
}

void InvocationLog::run() {
  for (;;) {
    std::deque<Invocation> batch;
    {
      std::unique_lock lock(mu_);
      work_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is written
      // Nobody waits for these records: let a batch gather (one commit for many invocations).
      if (!urgent_ && !stopping_ && queue_.size() < opts_.max_batch)
        work_.wait_for(lock, opts_.linger, [&] { return urgent_ || stopping_ || queue_.size() >= opts_.max_batch; });
      urgent_ = false;
      const std::size_t n = std::min(queue_.size(), opts_.max_batch);
      batch.insert(batch.end(), std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.begin() + n));
      queue_.erase(queue_.begin(), queue_.begin() + n);
    }
    const std::size_t n = batch.size();
    write(batch);
    {
      std::lock_guard lock(mu_);
      finished_ += n;
    }
    progress_.notify_all();
  }
}

void InvocationLog::write(std::deque<Invocation>& batch) {
  std::vector<store::InvocationRecord> rows;
  rows.reserve(batch.size());
  for (auto& inv : batch) {
    store::InvocationRecord r;
    try {
      // Bound to tenant, table, row and column: a sealed input copied to another row or tenant
      // does not open.
      const std::string aad = crypto::row_aad(inv.tenant_id, "invocations", inv.invocation_id, "content_sealed");
      r.content_sealed = keys_.seal(inv.tenant_id, vault::kInvocationClass, aad, inv.input);
    } catch (const std::exception& e) {
      // Metadata without content rather than no record at all; never plaintext.
      log::error("invocation content could not be sealed; stored without it",
                 {{"invocation_id", inv.invocation_id}, {"error", e.what()}});
    }
    r.invocation_id = std::move(inv.invocation_id);
    r.tenant_id = std::move(inv.tenant_id);
    r.agent = std::move(inv.agent);
    r.agent_version = std::move(inv.agent_version);
    r.session_id = std::move(inv.session_id);
    r.principal = std::move(inv.principal);
    r.http_status = inv.http_status;
    r.status = inv.http_status >= 200 && inv.http_status < 300 ? "completed" : "failed";
    r.latency_ms = inv.latency_ms;
    r.created_at = std::move(inv.created_at);
    rows.push_back(std::move(r));
  }
  try {
    store_.insert_invocations(rows);
    Metrics::get().written.inc(static_cast<double>(rows.size()));
  } catch (const std::exception& e) {
    Metrics::get().dropped.inc(static_cast<double>(rows.size()));
    log::error("invocation records lost: the batch could not be written",
               {{"records", static_cast<std::int64_t>(rows.size())}, {"error", e.what()}});
  }
}

}  // namespace pc::agents
