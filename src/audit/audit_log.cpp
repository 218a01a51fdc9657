#include "audit/audit_log.h"

#include <chrono>
#include <future>
#include <utility>

#include "audit/canonical.h"
#include "audit/chain.h"
#include "core/clock.h"
#include "core/metrics.h"

namespace pc::audit {
namespace {

// Looked up once: the registry's families live as long as the process, and every AuditLog
// (there is one per gateway; tests make several) adds to the same series.
const store::BatchMetrics& metrics() {
  static const store::BatchMetrics m{
      &core::metrics().counter("portcullis_audit_events_total", "Audit events written (durable).").get(),
      &core::metrics()
           .counter("portcullis_audit_batches_total", "Audit batches committed (one transaction each).")
           .get(),
      &core::metrics()
           .counter("portcullis_audit_write_failures_total",
                    "Audit events that could not be written after retries (parked ones included); they were "
                    "answered not durable.")
           .get(),
      &core::metrics()
           .counter("portcullis_audit_rejected_total",
                    "Audit events refused because the queue was full (count or bytes) or the log stopped.")
           .get(),
      &core::metrics()
           .counter("portcullis_audit_parked_total",
                    "Audit events the database refused on their own; the rest of their batch was written.")
           .get(),
      &core::metrics().gauge("portcullis_audit_queue_depth", "Audit events waiting to be written.").get(),
      &core::metrics().gauge("portcullis_audit_queue_bytes", "Bytes of audit events waiting to be written.").get(),
  };
  return m;
}

std::size_t size_of(const store::AuditRecord& r) {
  return sizeof(store::AuditRecord) + r.time.size() + r.tenant_id.size() + r.actor.size() + r.action.size() +
         r.resource.size() + r.outcome.size() + r.request_id.size() + r.details.size();
}

}  // namespace

AuditLog::AuditLog(store::Store& store) : AuditLog(store, Options{}) {}

AuditLog::AuditLog(store::Store& store, Options o)
    : store_(store),
      writer_(
          store::BatchWriter<Pending>::Options{
              "audit",
              o.max_batch,
              o.max_queue,
              o.max_queue_bytes,
              o.linger,
              // A failed batch is retried after these pauses (a busy database, a PostgreSQL
              // failover), then given up: its callers hear durable(false) within about a third of
              // a second rather than hang while requests pile up behind them.
              {std::chrono::milliseconds(20), std::chrono::milliseconds(250)},
          },
          store::BatchWriter<Pending>::Hooks{
              [](const Pending& p) { return size_of(p.record); },
              [this](std::vector<Pending>& batch) { write(batch); },
              // maybe is not durable as far as anyone can tell: the caller answers as if not
              // (a change's 503 already says it "may have been applied").
              [](Pending& p, store::Written w) {
                if (p.durable) p.durable(w == store::Written::yes);
              },
              [](const Pending& p) { return static_cast<bool>(p.durable); },
              [](const Pending& p) { return "request " + p.record.request_id + " action " + p.record.action; },
          },
          metrics()) {}

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
  // Stamped here, outside any lock; the writer keeps times from going backwards along its
  // queue (write()).
  r.time = core::rfc3339_now();
  // Before hashing: what is hashed is what every backend stores and exports.
  canonicalize(r);
  return writer_.push(Pending{std::move(r), std::move(durable)});
}

bool AuditLog::record_sync(Event e) {
  std::promise<bool> done;
  std::future<bool> result = done.get_future();
  if (!record(std::move(e), [&done](bool ok) { done.set_value(ok); })) return false;
  return result.get();
}

void AuditLog::flush() { writer_.flush(); }

void AuditLog::stop() { writer_.stop(); }

void AuditLog::write(std::vector<Pending>& batch) {
  // Moved out and back rather than copied (every event's strings, per batch, showed in
  // profiles). The store assigns seq and links each record inside its transaction; a failed
  // transaction leaves nothing behind and clears the links, so a retry cannot leave a gap.
  records_.clear();
  records_.reserve(batch.size());
  for (Pending& p : batch) {
    // Two callers may stamp and queue in opposite orders: clamped in queue order, so times never
    // go backwards along seq (purge_audit_before removes a prefix by time).
    if (p.record.time < last_time_) p.record.time = last_time_;
    else last_time_ = p.record.time;
    records_.push_back(std::move(p.record));
  }
  auto give_back = [&] {
    for (std::size_t i = 0; i < batch.size(); ++i) batch[i].record = std::move(records_[i]);
  };
  try {
    store_.append_audit(records_, link);
  } catch (...) {
    give_back();
    throw;
  }
  give_back();
}

}  // namespace pc::audit
