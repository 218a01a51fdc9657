#include "audit/audit_log.h"

#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <utility>

#include "audit/chain.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

namespace pc::audit {
namespace {

// A failed batch is retried after these pauses (a busy database, a PostgreSQL failover), then
// given up: its callers hear durable(false) within about a third of a second rather than hang
// while requests pile up behind them.
constexpr std::chrono::milliseconds kRetryPauses[] = {std::chrono::milliseconds(20), std::chrono::milliseconds(250)};

struct Metrics {
  core::Counter& events;
  core::Counter& batches;
  core::Counter& failures;
  core::Counter& rejected;
  core::Gauge& depth;
};

// Looked up once: the registry's families live as long as the process, and every AuditLog
// (there is one per gateway; tests make several) adds to the same series.
Metrics& metrics() {
  static Metrics m{
      core::metrics().counter("portcullis_audit_events_total", "Audit events written (durable).").get(),
      core::metrics()
          .counter("portcullis_audit_batches_total", "Audit batches committed (one transaction each).")
          .get(),
      core::metrics()
          .counter("portcullis_audit_write_failures_total",
                   "Audit batches that could not be written after retries; their events were answered not durable.")
          .get(),
      core::metrics()
          .counter("portcullis_audit_rejected_total",
                   "Audit events refused because the queue was full or the log stopped.")
          .get(),
      core::metrics().gauge("portcullis_audit_queue_depth", "Audit events waiting to be written.").get(),
  };
  return m;
}

}  // namespace

AuditLog::AuditLog(store::Store& store) : AuditLog(store, Options{}) {}

AuditLog::AuditLog(store::Store& store, Options o) : store_(store), opts_(o) {
  if (opts_.max_batch == 0 || opts_.max_queue == 0)
    throw std::invalid_argument("audit log: max_batch and max_queue must be positive");
  metrics();  // register the series before the first event, so /metrics shows them at zero
  writer_ = std::thread([this] { run(); });
}

AuditLog::~AuditLog() { stop(); }

bool AuditLog::record(Event e, std::function<void(bool ok)> durable) {
  store::AuditRecord r;
  r.tenant_id = std::move(e.tenant_id);
  r.actor = std::move(e.actor);
  r.action = std::move(e.action);
  r.resource = std::move(e.resource);
  r.outcome = std::move(e.outcome);
  r.request_id = std::move(e.request_id);
  r.details = e.details.empty() ? std::string("{}") : std::move(e.details);

  // Formatted before the lock (every request records an event, so the lock stays short); the
  // lock only keeps times from going backwards along the queue.
  std::string time = core::rfc3339_now();
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    if (stopping_ || queue_.size() >= opts_.max_queue) {
      metrics().rejected.inc();
      return false;
    }
    // Clamped under the lock, so times never go backwards along the queue (and so along seq,
    // which purge_audit_before relies on: it removes a prefix by time).
    if (time < last_time_) time = last_time_;
    else last_time_ = time;
    r.time = std::move(time);
    const bool waited_on = static_cast<bool>(durable);
    queue_.push_back(Pending{std::move(r), std::move(durable)});
    ++queued_;
    metrics().depth.set(static_cast<double>(queue_.size()));
    // Only the first event after the writer went to sleep pays for a wake-up; the rest of a
    // burst just queues behind it and goes out in the same batch. An event someone waits on
    // also cuts a linger short.
    if (waited_on && !urgent_) {
      urgent_ = true;
      wake = true;
    }
    if (writer_idle_) {
      writer_idle_ = false;
      wake = true;
    }
  }
  if (wake) work_.notify_one();
  return true;
}

bool AuditLog::record_sync(Event e) {
  std::promise<bool> done;
  std::future<bool> result = done.get_future();
  if (!record(std::move(e), [&done](bool ok) { done.set_value(ok); })) return false;
  return result.get();
}

void AuditLog::flush() {
  std::unique_lock lk(mu_);
  urgent_ = true;
  work_.notify_one();
  const std::uint64_t target = queued_;
  progress_.wait(lk, [&] { return finished_ >= target; });
}

void AuditLog::stop() {
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
  }
  work_.notify_one();
  // call_once: two threads stopping at once both return only after the writer is gone.
  std::call_once(joined_, [this] {
    if (writer_.joinable()) writer_.join();
  });
}

void AuditLog::run() {
  std::vector<Pending> batch;
  std::vector<store::AuditRecord> records;
  for (;;) {
    batch.clear();
    {
      std::unique_lock lk(mu_);
      while (queue_.empty() && !stopping_) {
        writer_idle_ = true;
        work_.wait(lk);
      }
      writer_idle_ = false;
      if (queue_.empty()) return;  // stopping, and everything queued was written
      // Linger: events nobody waits on gather for a moment, so that a stream of reads costs
      // one commit per few milliseconds instead of one per request.
      if (!urgent_ && !stopping_ && queue_.size() < opts_.max_batch)
        work_.wait_for(lk, opts_.linger, [&] { return urgent_ || stopping_ || queue_.size() >= opts_.max_batch; });
      urgent_ = false;
      // Group commit: everything waiting, up to max_batch, goes out in one transaction.
      const std::size_t n = std::min(queue_.size(), opts_.max_batch);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      metrics().depth.set(static_cast<double>(queue_.size()));
    }

    records.clear();
    records.reserve(batch.size());
    for (Pending& p : batch) records.push_back(std::move(p.record));
    const bool ok = write(records);

    for (Pending& p : batch) {
      if (!p.durable) continue;
      try {
        p.durable(ok);
      } catch (const std::exception& e) {
        // A caller's bug must not kill the writer: every later event would then hang.
        log::error("audit durable callback threw", {{"reason", e.what()}});
      } catch (...) {
        log::error("audit durable callback threw", {{"reason", "unknown exception"}});
      }
    }
    {
      std::lock_guard lk(mu_);
      finished_ += batch.size();
    }
    progress_.notify_all();
  }
}

bool AuditLog::write(std::vector<store::AuditRecord>& records) {
  const std::size_t attempts = std::size(kRetryPauses) + 1;
  for (std::size_t attempt = 1;; ++attempt) {
    try {
      // The store assigns seq and links each record inside its transaction; a failed
      // transaction leaves nothing behind (no seq is used up), so a retry cannot leave a gap.
      store_.append_audit(records, link);
      metrics().batches.inc();
      metrics().events.inc(static_cast<double>(records.size()));
      return true;
    } catch (const std::exception& e) {
      // The reason only: event fields may carry what the log must not (resource names, ids).
      if (attempt >= attempts) {
        metrics().failures.inc();
        log::error("audit batch not written; its events are reported not durable",
                   {{"reason", e.what()}, {"events", records.size()}, {"attempts", attempt}});
        return false;
      }
      log::warn("audit batch write failed, retrying",
                {{"reason", e.what()}, {"events", records.size()}, {"attempt", attempt}});
      std::this_thread::sleep_for(kRetryPauses[attempt - 1]);
    }
  }
}

}  // namespace pc::audit
