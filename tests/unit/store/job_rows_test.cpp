// The jobs table on both backends (issue 9): batched insert, claims under a lease that two
// stores racing never share, lease expiry and take-over, renew, retry scheduling, a finish that
// only the lease holder can make, tenant-bound reads, purge.
#include <gtest/gtest.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <thread>

#include "store/store.h"
#include "store/tenant_store.h"
#include "support/test_store.h"

namespace pc::store {
namespace {

class JobRowsTest : public pc::testing::BackendTest {};

JobRecord job(std::string id, std::string tenant = "acme", std::int64_t due = 1000) {
  JobRecord j;
  j.job_id = std::move(id);
  j.tenant_id = std::move(tenant);
  j.agent = "echo";
  j.agent_version = "v1";
  j.session_id = "s-1";
  j.principal = "client:ci";
  j.client_id = "ci";
  j.actor_chain = {"agent:a", "agent:b"};
  j.scopes = {"agents:invoke"};
  j.tier = "basic";
  j.host = "127.0.0.1";
  j.port = 9000;
  j.idempotency_key = "key-" + j.job_id;
  j.request_id = "req-1";
  j.invocation_id = "inv-" + j.job_id;
  j.timeout_ms = 5000;
  j.request_sealed = std::string("\x01\x00sealed\xff", 9);
  j.max_attempts = 3;
  j.next_run_at = due;
  return j;
}

TEST_P(JobRowsTest, ABatchIsInsertedAndReadBackWithEveryField) {
  store().insert_jobs({job("j1"), job("j2"), job("j3", "globex")});
  auto j = store().find_job("j1");
  ASSERT_TRUE(j);
  EXPECT_EQ(j->tenant_id, "acme");
  EXPECT_EQ(j->agent, "echo");
  EXPECT_EQ(j->agent_version, "v1");
  EXPECT_EQ(j->session_id, "s-1");
  EXPECT_EQ(j->client_id, "ci");
  EXPECT_EQ(j->actor_chain, (std::vector<std::string>{"agent:a", "agent:b"}));
  EXPECT_EQ(j->scopes, (std::vector<std::string>{"agents:invoke"}));
  EXPECT_EQ(j->port, 9000);
  EXPECT_EQ(j->idempotency_key, "key-j1");
  EXPECT_EQ(j->timeout_ms, 5000);
  EXPECT_EQ(j->invocation_id, "inv-j1");
  EXPECT_EQ(j->request_sealed, std::string("\x01\x00sealed\xff", 9));  // bytes, NULs included
  EXPECT_EQ(j->status, "accepted");
  EXPECT_EQ(j->attempts, 0);
  EXPECT_FALSE(j->result_sealed);
  EXPECT_FALSE(j->created_at.empty());
  EXPECT_TRUE(store().find_job("j3"));
  EXPECT_FALSE(store().find_job("nope"));
}

TEST_P(JobRowsTest, ABatchIsAllOrNothing) {
  store().insert_jobs({job("j1")});
  try {
    store().insert_jobs({job("j2"), job("j1")});
    FAIL() << "a duplicate job id was inserted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::duplicate) << e.what();
  }
  EXPECT_FALSE(store().find_job("j2")) << "half of a failed batch was committed";
}

TEST_P(JobRowsTest, AJobOfADeletedTenantIsRefusedNotSilentlyDropped) {
  TenantRecord t;
  t.tenant_id = "gone";
  t.display_name = "Gone";
  t.tier = "basic";
  store().insert_tenant(t);
  store().mark_tenant_deleted("gone", 0);
  try {
    store().insert_jobs({job("j1"), job("j2", "gone")});
    FAIL() << "a job was accepted into a deleted tenant";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::gone) << e.what();
  }
  EXPECT_FALSE(store().find_job("j1"));
}

TEST_P(JobRowsTest, AClaimTakesDueJobsOldestFirstAndStampsTheLease) {
  store().insert_jobs({job("late", "acme", 3000), job("old", "acme", 500), job("due", "acme", 1000)});
  auto got = store().claim_jobs("node-a", 2000, 30000, 10);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].job_id, "old");
  EXPECT_EQ(got[1].job_id, "due");
  for (const auto& j : got) {
    EXPECT_EQ(j.status, "running");
    EXPECT_EQ(j.claimed_by, "node-a");
    EXPECT_EQ(j.lease_until, 32000);
    EXPECT_EQ(j.attempts, 1);
    EXPECT_FALSE(j.request_sealed.empty());
  }
  auto stored = store().find_job("old");
  EXPECT_EQ(stored->status, "running");
  EXPECT_EQ(stored->claimed_by, "node-a");
  EXPECT_EQ(stored->attempts, 1);
  // Held under a live lease: nobody else gets them; the one not yet due stays put.
  EXPECT_TRUE(store().claim_jobs("node-b", 2500, 30000, 10).empty());
  EXPECT_EQ(store().claim_jobs("node-b", 3000, 30000, 10).size(), 1u);
  EXPECT_TRUE(store().claim_jobs("node-b", 2000, 30000, 0).empty());
}

TEST_P(JobRowsTest, TwoStoresClaimingAtOnceNeverTakeTheSameJob) {
  std::vector<JobRecord> rows;
  for (int i = 0; i < 60; ++i) rows.push_back(job("j" + std::to_string(100 + i)));
  store().insert_jobs(rows);
  auto other = open_again();
  std::mutex mu;
  std::multiset<std::string> taken;
  auto claimer = [&](Store& s, const std::string& node) {
    for (int round = 0; round < 100; ++round) {
      std::vector<JobRecord> got;
      for (;;) {
        try {
          got = s.claim_jobs(node, 2000, 30000, 4);
          break;
        } catch (const StoreError& e) {
          if (e.kind() != StoreError::Kind::busy) throw;  // SQLite: the other writer holds the lock
        }
      }
      std::lock_guard lk(mu);
      for (const auto& j : got) taken.insert(j.job_id);
      if (got.empty()) return;
    }
  };
  std::thread a([&] { claimer(store(), "node-a"); });
  std::thread b([&] { claimer(*other, "node-b"); });
  a.join();
  b.join();
  EXPECT_EQ(taken.size(), 60u);
  EXPECT_EQ(std::set<std::string>(taken.begin(), taken.end()).size(), 60u) << "a job was claimed twice";
}

TEST_P(JobRowsTest, AnExpiredLeaseIsTakenOverAndTheOldHolderCanNoLongerWrite) {
  store().insert_jobs({job("j1")});
  ASSERT_EQ(store().claim_jobs("node-a", 2000, 1000, 1).size(), 1u);
  EXPECT_TRUE(store().claim_jobs("node-b", 2999, 1000, 1).empty()) << "taken over before the lease ran out";
  auto got = store().claim_jobs("node-b", 3001, 1000, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].claimed_by, "node-b");
  EXPECT_EQ(got[0].attempts, 2);  // the dead node's attempt counts: a job that kills nodes cannot loop

  JobRecord done = got[0];
  done.status = "succeeded";
  done.result_sealed = "result-a";
  EXPECT_FALSE(store().renew_job_lease("j1", "node-a", 99999));
  EXPECT_FALSE(store().finish_job(done, "node-a")) << "a node without the lease stored a result";
  EXPECT_FALSE(store().retry_job(done, "node-a", 0));
  done.result_sealed = "result-b";
  EXPECT_TRUE(store().finish_job(done, "node-b"));
  EXPECT_FALSE(store().finish_job(done, "node-b")) << "a job finished twice";
  auto j = store().find_job("j1");
  EXPECT_EQ(j->status, "succeeded");
  EXPECT_EQ(*j->result_sealed, "result-b");
  EXPECT_EQ(j->claimed_by, "");
  EXPECT_TRUE(store().claim_jobs("node-c", 1'000'000, 1000, 5).empty()) << "a finished job was claimed";
}

TEST_P(JobRowsTest, RenewingKeepsTheJob) {
  store().insert_jobs({job("j1")});
  ASSERT_EQ(store().claim_jobs("node-a", 2000, 1000, 1).size(), 1u);
  EXPECT_TRUE(store().renew_job_lease("j1", "node-a", 10000));
  EXPECT_FALSE(store().renew_job_lease("j1", "node-b", 20000));
  EXPECT_TRUE(store().claim_jobs("node-b", 5000, 1000, 1).empty());
  EXPECT_EQ(store().find_job("j1")->lease_until, 10000);
}

TEST_P(JobRowsTest, ARetryIsDueAgainAtItsTimeAndKeepsTheFailure) {
  store().insert_jobs({job("j1")});
  auto got = store().claim_jobs("node-a", 2000, 30000, 1);
  ASSERT_EQ(got.size(), 1u);
  JobRecord j = got[0];
  j.error = "upstream_timeout";
  j.error_message = "no answer";
  j.http_status = 0;
  ASSERT_TRUE(store().retry_job(j, "node-a", 7000));
  auto stored = store().find_job("j1");
  EXPECT_EQ(stored->status, "accepted");
  EXPECT_EQ(stored->claimed_by, "");
  EXPECT_EQ(stored->next_run_at, 7000);
  EXPECT_EQ(stored->error, "upstream_timeout");
  EXPECT_TRUE(store().claim_jobs("node-a", 6999, 30000, 1).empty());
  auto again = store().claim_jobs("node-b", 7000, 30000, 1);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].attempts, 2);
}

TEST_P(JobRowsTest, ATenantHandleSeesOnlyItsOwnJobs) {
  store().insert_jobs({job("mine"), job("theirs", "globex")});
  TenantStore acme(store(), "acme");
  EXPECT_TRUE(acme.find_job("mine"));
  EXPECT_FALSE(acme.find_job("missing"));
  EXPECT_THROW(acme.find_job("theirs"), TenantAccessViolation);
}

TEST_P(JobRowsTest, APurgedTenantLeavesNoJob) {
  TenantRecord t;
  t.tenant_id = "acme";
  t.display_name = "Acme";
  t.tier = "basic";
  store().insert_tenant(t);
  store().insert_jobs({job("j1"), job("j2", "globex")});
  store().mark_tenant_deleted("acme", 0);
  store().purge_tenant("acme");
  EXPECT_FALSE(store().find_job("j1"));
  EXPECT_TRUE(store().find_job("j2"));
}

PC_ALL_BACKENDS(JobRowsTest);

// review M3 — a claim takes tenants round-robin and keeps each within
// its cap on this node, counting what the node already runs.
TEST_P(JobRowsTest, AClaimTakesTenantsRoundRobinNotOneTenantsBacklogFirst) {
  store().insert_jobs({job("a1", "acme", 100), job("a2", "acme", 200), job("a3", "acme", 300), job("g1", "globex", 900)});
  auto got = store().claim_jobs("node-a", 2000, 30000, 2);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].job_id, "a1");
  EXPECT_EQ(got[1].job_id, "g1") << "globex's job waited behind acme's backlog";
  // The node runs a1 and g1: the next free worker goes to acme's next job (nobody else is due).
  got = store().claim_jobs("node-a", 2000, 30000, 1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job_id, "a2");
}

TEST_P(JobRowsTest, AClaimKeepsATenantWithinItsCapOnThisNode) {
  store().insert_jobs({job("a1", "acme", 100), job("a2", "acme", 200), job("a3", "acme", 300), job("g1", "globex", 900)});
  const Store::JobCap cap = [](std::string_view tenant, std::string_view tier) -> std::size_t {
    EXPECT_EQ(tier, "basic");
    return tenant == "acme" ? 1 : 0;
  };
  auto got = store().claim_jobs("node-a", 2000, 30000, 4, cap);
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].job_id, "a1");
  EXPECT_EQ(got[1].job_id, "g1");
  EXPECT_TRUE(store().claim_jobs("node-a", 2000, 30000, 4, cap).empty()) << "acme passed its cap of 1";
  // Another node counts its own: it may run one of acme's too.
  got = store().claim_jobs("node-b", 2000, 30000, 4, cap);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job_id, "a2");
  // a1 finished: node-a may take acme's next.
  auto done = store().find_job("a1");
  done->status = "succeeded";
  ASSERT_TRUE(store().finish_job(*done, "node-a"));
  got = store().claim_jobs("node-a", 2000, 30000, 4, cap);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].job_id, "a3");
}

}  // namespace
}  // namespace pc::store
