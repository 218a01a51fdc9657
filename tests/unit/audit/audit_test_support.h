// Helpers shared by the audit tests: reading a whole log back, records made by hand, and two
// ForwardingStores that stage append_audit (one holds it at a gate, one makes it fail).
#pragma once

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

#include "audit/chain.h"
#include "store/store.h"
#include "support/forwarding_store.h"

namespace pc::audit::testing {

// Every stored entry (of `tenant` when given), in seq order, read in small pages so that the
// paging of query_audit is exercised too.
inline std::vector<store::AuditRecord> all_records(store::Store& s, const std::string& tenant = "") {
  std::vector<store::AuditRecord> out;
  store::AuditQuery q;
  q.tenant_id = tenant;
  q.limit = 500;
  for (;;) {
    auto page = s.query_audit(q);
    if (page.empty()) return out;
    q.after_seq = page.back().seq;
    for (auto& r : page) out.push_back(std::move(r));
  }
}

// An entry as a caller would have it before the store links it.
inline store::AuditRecord make_record(std::string time, std::string tenant, std::string action,
                                      std::string outcome = "success") {
  store::AuditRecord r;
  r.time = std::move(time);
  r.tenant_id = std::move(tenant);
  r.actor = "client:ci";
  r.action = std::move(action);
  r.resource = "/v1/things";
  r.outcome = std::move(outcome);
  r.request_id = "req-" + r.action;
  r.details = R"({"n":1})";
  return r;
}

// Appends `records` in one transaction, linked by audit::link, as the writer does.
inline void append(store::Store& s, std::vector<store::AuditRecord> records) { s.append_audit(records, audit::link); }

// Holds every append_audit at a gate until open() (the first one is the one that matters: the
// writer is then busy and everything recorded meanwhile queues up). Records each batch's size.
class GatedStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void append_audit(std::vector<store::AuditRecord>& batch, const AuditLinker& link) override {
    {
      std::unique_lock lk(mu_);
      sizes_.push_back(batch.size());
      cv_.notify_all();
      cv_.wait(lk, [&] { return open_; });
    }
    real_.append_audit(batch, link);
  }

  // Waits until `n` append_audit calls have arrived (at the gate or through it).
  void wait_calls(std::size_t n) {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return sizes_.size() >= n; });
  }
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  std::vector<std::size_t> batch_sizes() {
    std::lock_guard lk(mu_);
    return sizes_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  std::vector<std::size_t> sizes_;
};

// append_audit throws (as a database that went away does) while `failing` is set.
class FailingStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;

  void append_audit(std::vector<store::AuditRecord>& batch, const AuditLinker& link) override {
    {
      std::lock_guard lk(mu_);
      ++attempts_;
      if (failing_) throw store::StoreError("disk I/O error (injected)");
    }
    real_.append_audit(batch, link);
  }
  void set_failing(bool f) {
    std::lock_guard lk(mu_);
    failing_ = f;
  }
  int attempts() {
    std::lock_guard lk(mu_);
    return attempts_;
  }

 private:
  std::mutex mu_;
  bool failing_ = true;
  int attempts_ = 0;
};

}  // namespace pc::audit::testing
