// The audit log's writer (SPEC §6: every API call and security event, append-only,
// hash-chained). Callers on any thread record() an Event; one background thread writes what is
// queued in batches, one Store::append_audit transaction per batch (group commit), so a burst
// of N events costs a handful of commits instead of N. The store assigns seq and calls
// audit::link inside that transaction, which keeps the chain in commit order across every
// writer on the same store (other gateway nodes included).
//
// Acknowledged only once durable (DESIGN.md): `durable(ok)` runs after the batch holding the
// event committed, or failed for good. The queue (store::BatchWriter, shared with the
// invocation log) is bounded by count and bytes: when it is full record() returns false at once
// and the caller answers 503 rather than serve a request it cannot audit. Every text field is
// made canonical (audit/canonical.h) before it is hashed, so what is stored is what was hashed
// on every backend; an event the database still refuses is parked alone, never with its batch.
//
// Metrics: portcullis_audit_events_total (written), portcullis_audit_batches_total (commits),
// portcullis_audit_write_failures_total (events given up after retries, parked ones included),
// portcullis_audit_parked_total (events refused by the database on their own),
// portcullis_audit_rejected_total (queue full or stopped), portcullis_audit_queue_depth,
// portcullis_audit_queue_bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "store/batch_writer.h"
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
    std::size_t max_queue_bytes = 64 << 20;  // and bytes waiting at most (long paths, details)
    // How long events nobody waits on (no `durable` callback: reads, refusals) may wait for
    // company before they are written. A commit per handful of events costs more than the
    // events themselves, and waking the writer per request costs a context switch on a busy
    // core; an event someone waits on (or flush()) is written at once. 5 ms: at 40,000 reads a
    // second that is ~200 events a commit, and the writer's turn on a core it shares with the
    // I/O thread stays short. Measured on GET /v1/agents, everything on one core (bench/run.sh,
    // alternating runs): 20 ms gave 1.92-1.95x HAProxy with a p99 of 5.2-5.3 ms (each batch held
    // the core for milliseconds); 5 ms 1.91-2.03x, p99 3.4-3.7 ms; 2 ms 1.70-1.91x, p99 3.1-3.8 ms.
    // A crash loses at most this window of events that nobody was promised were durable.
    std::chrono::milliseconds linger{5};
  };

  explicit AuditLog(store::Store& store);
  AuditLog(store::Store& store, Options o);
  ~AuditLog();  // stop()
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;

  // Queues the event. `durable(ok)` runs on the writer thread once the batch holding it
  // committed (ok = true) or failed (ok = false, after a log line and a bounded retry; an event
  // the database refuses on its own is parked and answered false, the rest of its batch is
  // written); keep it short, and never call record_sync() or flush() from it (the writer would
  // wait on itself). Returns false (and never calls durable) when the queue is full (by count or
  // bytes) or the log is stopped: the caller answers 503, or drops and counts a refusal's event.
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

  void write(std::vector<Pending>& batch);

  store::Store& store_;
  std::vector<store::AuditRecord> records_;  // the writer thread's batch buffer
  std::string last_time_;                    // the newest time written so far (writer thread)
  store::BatchWriter<Pending> writer_;       // last: its thread uses the members above
};

}  // namespace pc::audit
