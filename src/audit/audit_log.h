// The audit log's writer (SPEC §6: every API call and security event, append-only,
// hash-chained). Callers on any thread record() an Event; one background thread writes what is
// queued in batches, one Store::append_audit transaction per batch (group commit), so a burst
// of N events costs a handful of commits instead of N. The store assigns seq and calls
// audit::link inside that transaction, which keeps the chain in commit order across every
// writer on the same store (other gateway nodes included).
//
// Acknowledged only once durable (DESIGN.md): `durable(ok)` runs after the batch holding the
// event committed, or failed for good. The queue is bounded: when it is full record() returns
// false at once and the caller answers 503 rather than serve a request it cannot audit.
//
// Metrics: portcullis_audit_events_total (written), portcullis_audit_batches_total (commits),
// portcullis_audit_write_failures_total (batches lost after retries),
// portcullis_audit_rejected_total (queue full or stopped), portcullis_audit_queue_depth.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "store/store.h"

namespace pc::audit {

// What callers fill; `time` is stamped by the log when the event is recorded.
struct Event {
  std::string tenant_id;  // "platform" for platform actions
  std::string actor;      // subject of the principal, or "system"
  std::string action;     // "tenant.create", "http.POST /v1/tenants", "security.tenant_access_violation", ...
  std::string resource;
  std::string outcome;  // "success" | "denied" | "failure" | HTTP status as text
  std::string request_id;
  std::string details = "{}";  // JSON object text
};

class AuditLog {
 public:
  struct Options {
    std::size_t max_batch = 4096;      // events per transaction at most
    std::size_t max_queue = 1 << 18;   // events waiting at most; beyond it record() refuses
    // How long events nobody waits on (no `durable` callback: reads, refusals) may wait for
    // company before they are written. A commit per handful of events costs more than the
    // events themselves, and waking the writer per request costs a context switch on a busy
    // core; an event someone waits on (or flush()) is written at once.
    std::chrono::milliseconds linger{5};
  };

  explicit AuditLog(store::Store& store);
  AuditLog(store::Store& store, Options o);
  ~AuditLog();  // stop()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues the event. `durable(ok)` runs on the writer thread once the batch holding it
  // committed (ok = true) or failed (ok = false, after a log line and a bounded retry); keep it
  // short, and never call record_sync() or flush() from it (the writer would wait on itself).
  // Returns false (and never calls durable) when the queue is full or the log is stopped: the
  // caller answers 503.
  bool record(Event e, std::function<void(bool ok)> durable = {});
  // Blocks until the event is durable; false on a failed write, a full queue or a stopped log.
  bool record_sync(Event e);
  // Blocks until everything queued before the call is written (or failed for good).
  void flush();
  // Refuses new events, writes everything queued, then joins the writer. Idempotent.
  void stop();

 private:
  struct Pending {
    store::AuditRecord record;
    std::function<void(bool)> durable;
  };

  void run();
  bool write(std::vector<store::AuditRecord>& records);

  store::Store& store_;
  const Options opts_;

  std::mutex mu_;
  std::condition_variable work_;      // the writer waits here for events (or stop)
  std::condition_variable progress_;  // flush() waits here for batches to finish
  std::deque<Pending> queue_;
  bool stopping_ = false;
  bool writer_idle_ = false;  // the writer is (about to be) asleep on work_: wake it
  bool urgent_ = false;
  std::string last_time_;     // the newest time stamped so far (RFC 3339 compares as text)       // a queued event has a waiter (or flush() was called): no lingering
  std::uint64_t queued_ = 0;    // events ever accepted
  std::uint64_t finished_ = 0;  // events whose batch committed or failed for good

  std::once_flag joined_;
  std::thread writer_;
};

}  // namespace pc::audit
