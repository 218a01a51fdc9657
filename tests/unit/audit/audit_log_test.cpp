#include "audit/audit_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "audit/audit_test_support.h"
#include "audit/verify.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "support/test_store.h"

namespace pc::audit {
namespace {

using testing::all_records;
using testing::FailingStore;
using testing::GatedStore;

// The process-wide series; tests compare values before and after (gtest runs them one by one).
double counter(const char* name) { return core::metrics().counter(name, "").get().value(); }
double gauge(const char* name) { return core::metrics().gauge(name, "").get().value(); }

Event event(std::string tenant, std::string action, std::string resource = "/v1/x") {
  Event e;
  e.tenant_id = std::move(tenant);
  e.actor = "client:test";
  e.action = std::move(action);
  e.resource = std::move(resource);
  e.outcome = "success";
  e.request_id = "req";
  return e;
}

class AuditLogTest : public pc::testing::BackendTest {};

TEST_P(AuditLogTest, ManyThreadsAllDurableInOneGaplessChainWithGroupCommit) {
  constexpr int kThreads = 8, kPerThread = 1250, kTotal = kThreads * kPerThread;
  const double batches_before = counter("portcullis_audit_batches_total");
  const double events_before = counter("portcullis_audit_events_total");
  std::atomic<int> durable_ok{0}, durable_failed{0}, refused{0};
  {
    AuditLog log(store());
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kPerThread; ++i) {
          // The resource names the thread and its event index, to check per-thread order below.
          bool queued = log.record(event("tenant-" + std::to_string(t), "test.write",
                                         std::to_string(t) + "/" + std::to_string(i)),
                                   [&](bool ok) { (ok ? durable_ok : durable_failed)++; });
          if (!queued) refused++;
        }
      });
    for (auto& th : threads) th.join();
    log.flush();
    // flush() returned: every callback has run.
    EXPECT_EQ(durable_ok.load(), kTotal);
    EXPECT_EQ(durable_failed.load(), 0);
    EXPECT_EQ(refused.load(), 0);
  }

  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(kTotal));
  std::map<std::string, int> next_index;  // per thread: events keep the order they were recorded in
  for (std::size_t i = 0; i < rows.size(); ++i) {
    ASSERT_EQ(rows[i].seq, static_cast<std::int64_t>(i + 1)) << "gap or duplicate in seq";
    if (i > 0) {
      EXPECT_LE(rows[i - 1].time, rows[i].time) << "time went backwards at seq " << rows[i].seq;
    }
    const auto slash = rows[i].resource.find('/');
    const std::string thread = rows[i].resource.substr(0, slash);
    EXPECT_EQ(rows[i].tenant_id, "tenant-" + thread);
    EXPECT_EQ(std::stoi(rows[i].resource.substr(slash + 1)), next_index[thread]++);
  }
  const VerifyResult v = verify(store());
  EXPECT_TRUE(v.ok) << v.reason << " at " << v.first_broken_seq;
  EXPECT_EQ(v.checked, kTotal);

  const double batches = counter("portcullis_audit_batches_total") - batches_before;
  EXPECT_EQ(counter("portcullis_audit_events_total") - events_before, kTotal);
  EXPECT_GE(batches, 1);
  EXPECT_LT(batches, kTotal) << "every event had its own transaction: no group commit";
}

// Deterministic group commit: while the writer is inside one transaction, everything recorded
// goes out together in the next one.
TEST_P(AuditLogTest, EventsQueuedDuringACommitShareTheNextTransaction) {
  GatedStore gated(store());
  AuditLog log(gated);
  ASSERT_TRUE(log.record(event("acme", "first")));
  gated.wait_calls(1);  // the writer holds event 1 and waits at the gate
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(log.record(event("acme", "queued")));
  gated.open();
  log.flush();
  EXPECT_EQ(gated.batch_sizes(), (std::vector<std::size_t>{1, 100}));
  EXPECT_EQ(all_records(store()).size(), 101u);
}

TEST_P(AuditLogTest, MaxBatchBoundsATransaction) {
  GatedStore gated(store());
  AuditLog log(gated, AuditLog::Options{.max_batch = 10, .max_queue = 1000});
  ASSERT_TRUE(log.record(event("acme", "first")));
  gated.wait_calls(1);
  for (int i = 0; i < 35; ++i) ASSERT_TRUE(log.record(event("acme", "queued")));
  gated.open();
  log.flush();
  EXPECT_EQ(gated.batch_sizes(), (std::vector<std::size_t>{1, 10, 10, 10, 5}));
  EXPECT_EQ(verify(store()).checked, 36);
}

TEST_P(AuditLogTest, FullQueueRefusesAndNeverCallsDurable) {
  GatedStore gated(store());
  AuditLog log(gated, AuditLog::Options{.max_batch = 100, .max_queue = 4});
  std::atomic<int> called{0};
  auto count = [&](bool) { called++; };
  ASSERT_TRUE(log.record(event("acme", "held"), count));
  gated.wait_calls(1);  // event 1 left the queue: four places free
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(log.record(event("acme", "queued"), count)) << i;
  EXPECT_EQ(gauge("portcullis_audit_queue_depth"), 4);

  const double rejected_before = counter("portcullis_audit_rejected_total");
  std::atomic<bool> refused_called{false};
  EXPECT_FALSE(log.record(event("acme", "refused"), [&](bool) { refused_called = true; }));
  EXPECT_FALSE(log.record_sync(event("acme", "refused too")));
  EXPECT_EQ(counter("portcullis_audit_rejected_total") - rejected_before, 2);

  gated.open();
  log.flush();
  EXPECT_EQ(called.load(), 5);
  EXPECT_FALSE(refused_called.load());
  EXPECT_EQ(gauge("portcullis_audit_queue_depth"), 0);
  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), 5u);
  for (const auto& r : rows) EXPECT_NE(r.action.substr(0, 7), "refused");
}

TEST_P(AuditLogTest, RecordAfterStopIsRefused) {
  AuditLog log(store());
  ASSERT_TRUE(log.record_sync(event("acme", "before")));
  log.stop();
  log.stop();  // idempotent
  bool called = false;
  EXPECT_FALSE(log.record(event("acme", "after"), [&](bool) { called = true; }));
  EXPECT_FALSE(log.record_sync(event("acme", "after")));
  log.flush();  // nothing pending: returns at once
  EXPECT_FALSE(called);
  EXPECT_EQ(all_records(store()).size(), 1u);
}

TEST_P(AuditLogTest, StopWritesEverythingQueuedFirst) {
  GatedStore gated(store());
  std::atomic<int> ok{0};
  AuditLog log(gated);
  ASSERT_TRUE(log.record(event("acme", "held"), [&](bool d) { ok += d; }));
  gated.wait_calls(1);
  for (int i = 0; i < 500; ++i) ASSERT_TRUE(log.record(event("acme", "queued"), [&](bool d) { ok += d; }));
  std::thread stopper([&] { log.stop(); });
  // stop() has begun once new events are refused; only then let the writer go on.
  while (log.record(event("acme", "probe"), [&](bool d) { ok += d; })) std::this_thread::yield();
  gated.open();
  stopper.join();
  // Probes that slipped in before stop() count too: everything accepted was written.
  const auto rows = all_records(store());
  EXPECT_GE(rows.size(), 501u);
  EXPECT_EQ(ok.load(), static_cast<int>(rows.size()));
  EXPECT_TRUE(verify(store()).ok);
}

// Issue 8 item 8: a request path with invalid UTF-8 failed the whole batch INSERT on
// PostgreSQL (every other caller's event in it lost); on SQLite the row was stored with bytes
// an export cannot carry, so the exported row no longer matched its hash. The fields are made
// canonical before hashing: the stored text is the hashed text on both backends.
TEST_P(AuditLogTest, InvalidUtf8IsStoredCanonicallyAndNeverFailsItsBatch) {
  using namespace std::string_literals;
  int ok = 0, failed = 0;
  {
    AuditLog::Options o;
    o.linger = std::chrono::milliseconds(200);  // the three share one batch
    AuditLog log(store(), o);
    std::mutex mu;
    auto done = [&](bool good) {
      std::lock_guard lk(mu);
      (good ? ok : failed)++;
    };
    ASSERT_TRUE(log.record(event("acme", "http.GET /v1/x", "/v1/before")));
    ASSERT_TRUE(log.record(event("acme", "http.GET /v1/x", "/v1/tenants/acme/\xFF\xFE/x\0y"s)));
    ASSERT_TRUE(log.record(event("globex", "http.POST /v1/y", "/v1/after"), done));
    log.flush();
  }
  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].resource, "/v1/before");
  EXPECT_EQ(rows[1].resource, "/v1/tenants/acme/%FF%FE/x%00y");
  EXPECT_EQ(rows[2].resource, "/v1/after");
  EXPECT_EQ(ok, 1);
  EXPECT_EQ(failed, 0);
  EXPECT_TRUE(verify(store()).ok);
}

// A store that refuses any batch holding an event with action "poison", as PostgreSQL refused a
// whole batch for one bad value.
class PoisonStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  void append_audit(std::vector<store::AuditRecord>& batch, const AuditLinker& link) override {
    for (const auto& r : batch)
      if (r.action == "poison") throw store::StoreError("invalid byte sequence (injected)", store::StoreError::Kind::invalid);
    real_.append_audit(batch, link);
  }
};

// Issue 8 item 8: one record the database refuses never takes its batch down: the others are
// written (durable), the bad one is parked (not durable, counted, logged).
TEST_P(AuditLogTest, ARecordTheDatabaseRefusesIsParkedAndTheRestOfItsBatchIsWritten) {
  PoisonStore poison(store());
  const double parked_before = counter("portcullis_audit_parked_total");
  std::mutex mu;
  std::map<std::string, bool> outcome;
  {
    AuditLog::Options o;
    o.linger = std::chrono::milliseconds(200);
    AuditLog log(poison, o);
    for (std::string a : {"one", "two", "poison", "three"}) {
      auto done = [&, a](bool ok) {
        std::lock_guard lk(mu);
        outcome[a] = ok;
      };
      // Only the last is waited on (earlier waiters would cut the linger short): one batch.
      if (a == "three") ASSERT_TRUE(log.record(event("acme", a), done));
      else ASSERT_TRUE(log.record(event("acme", a)));
    }
    ASSERT_TRUE(log.record(event("acme", "poison"), [&](bool ok) {
      std::lock_guard lk(mu);
      outcome["poison (waited)"] = ok;
    }));
    log.flush();
  }
  EXPECT_TRUE(outcome["three"]);
  EXPECT_FALSE(outcome["poison (waited)"]);
  const auto rows = all_records(store());
  std::vector<std::string> actions;
  for (const auto& r : rows) actions.push_back(r.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_EQ(counter("portcullis_audit_parked_total") - parked_before, 2);
  EXPECT_TRUE(verify(store()).ok);
}

TEST_P(AuditLogTest, FailedWritesAreReportedNotDurableAndLeaveNoGap) {
  FailingStore failing(store());
  AuditLog log(failing);
  const double failures_before = counter("portcullis_audit_write_failures_total");

  std::promise<bool> answer;
  ASSERT_TRUE(log.record(event("acme", "lost"), [&](bool ok) { answer.set_value(ok); }));
  EXPECT_FALSE(answer.get_future().get());
  EXPECT_GE(failing.attempts(), 2) << "no retry before giving up";
  EXPECT_FALSE(log.record_sync(event("acme", "lost too")));
  EXPECT_EQ(counter("portcullis_audit_write_failures_total") - failures_before, 2);
  EXPECT_TRUE(all_records(store()).empty());

  // The store is back: the chain starts at seq 1, the failed batches used up nothing.
  failing.set_failing(false);
  EXPECT_TRUE(log.record_sync(event("acme", "kept")));
  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].seq, 1);
  EXPECT_EQ(rows[0].action, "kept");
  EXPECT_TRUE(verify(store()).ok);
}

TEST_P(AuditLogTest, AThrowingCallbackDoesNotStopTheWriter) {
  AuditLog log(store());
  ASSERT_TRUE(log.record(event("acme", "one"), [](bool) { throw std::runtime_error("caller bug"); }));
  EXPECT_TRUE(log.record_sync(event("acme", "two")));
  EXPECT_EQ(all_records(store()).size(), 2u);
}

TEST_P(AuditLogTest, StoresTheEventAsGivenWithATimeStamp) {
  AuditLog log(store());
  Event e;
  e.tenant_id = "platform";
  e.actor = "admin@example.com";
  e.action = "http.POST /v1/tenants";
  e.resource = "/v1/tenants";
  e.outcome = "201";
  e.request_id = "0123456789abcdef";
  e.details = R"({"tenantId":"acme"})";
  Event empty_details = event("acme", "tenant.create");
  empty_details.details = "";  // stored as the empty object, so every details is an object
  const auto before = core::rfc3339_now();
  ASSERT_TRUE(log.record_sync(e));
  ASSERT_TRUE(log.record_sync(empty_details));
  const auto after = core::rfc3339_now();

  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), 2u);
  const auto& r = rows[0];
  EXPECT_EQ(r.tenant_id, e.tenant_id);
  EXPECT_EQ(r.actor, e.actor);
  EXPECT_EQ(r.action, e.action);
  EXPECT_EQ(r.resource, e.resource);
  EXPECT_EQ(r.outcome, e.outcome);
  EXPECT_EQ(r.request_id, e.request_id);
  EXPECT_EQ(r.details, e.details);
  EXPECT_TRUE(std::regex_match(r.time, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)"))) << r.time;
  EXPECT_LE(before, r.time);
  EXPECT_LE(r.time, after);
  EXPECT_EQ(r.prev_hash, "");
  EXPECT_EQ(r.hash, link_hash(r, ""));
  EXPECT_EQ(rows[1].details, "{}");
  EXPECT_EQ(rows[1].prev_hash, r.hash);
}

TEST_P(AuditLogTest, ContinuesTheChainOfAnEarlierWriter) {
  // A restart (or a second node): a new AuditLog on the same store links to the last entry.
  ASSERT_TRUE(AuditLog(store()).record_sync(event("acme", "first run")));
  {
    AuditLog log(store());
    ASSERT_TRUE(log.record_sync(event("acme", "second run")));
  }
  const auto rows = all_records(store());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].seq, 2);
  EXPECT_EQ(rows[1].prev_hash, rows[0].hash);
}

PC_ALL_BACKENDS(AuditLogTest);

}  // namespace
}  // namespace pc::audit
