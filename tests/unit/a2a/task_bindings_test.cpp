// A2A task and context bindings (a2a/task_bindings.h) on every backend: the owner of an id is
// whoever bound it first, across nodes sharing one store; foreign tenant and foreign principal
// are told apart; unknown ids are never cached; the cache stays within its bound; state
// transitions, the operators' listing with its cursor, and the tenant purge.
#include "a2a/task_bindings.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "support/test_store.h"

namespace pc::a2a {
namespace {

const Owner kAlice{"acme", "alice", "echo"};
const Owner kBob{"acme", "bob", "echo"};          // same tenant, another principal
const Owner kMallory{"globex", "alice", "echo"};  // another tenant (same subject name on purpose)

store::TenantRecord tenant(std::string id) {
  store::TenantRecord t;
  t.tenant_id = std::move(id);
  t.display_name = t.tenant_id;
  t.tier = "basic";
  return t;
}

class TaskBindingsTest : public pc::testing::BackendTest {
 protected:
  void SetUp() override {
    BackendTest::SetUp();
    store().insert_tenant(tenant("acme"));
    store().insert_tenant(tenant("globex"));
  }
};

TEST_P(TaskBindingsTest, ABoundTaskIsMineWithItsContextAndSession) {
  TaskBindings b(store());
  ASSERT_TRUE(b.bind_task(kAlice, "task-1", "ctx-1", "sess-1", "submitted"));
  TaskRecord r;
  EXPECT_EQ(b.task(kAlice, "task-1", &r), Lookup::mine);
  EXPECT_EQ(r.task_id, "task-1");
  EXPECT_EQ(r.context_id, "ctx-1");
  EXPECT_EQ(r.session_id, "sess-1");
  EXPECT_EQ(r.state, "submitted");
  EXPECT_FALSE(r.created_at.empty());
  std::string session;
  EXPECT_EQ(b.context(kAlice, "ctx-1", &session), Lookup::mine);  // bind_task bound its context
  EXPECT_EQ(session, "sess-1");

  // Another node (a fresh cache on the same store) reads the same from the store.
  TaskBindings other(store());
  TaskRecord r2;
  EXPECT_EQ(other.task(kAlice, "task-1", &r2), Lookup::mine);
  EXPECT_EQ(r2.context_id, "ctx-1");
  EXPECT_EQ(r2.session_id, "sess-1");
  // Binding again by the owner is idempotent.
  EXPECT_TRUE(other.bind_task(kAlice, "task-1", "ctx-1", "sess-1", "submitted"));
}

TEST_P(TaskBindingsTest, ForeignTenantAndForeignPrincipalAreToldApartAndLearnNothing) {
  TaskBindings b(store());
  ASSERT_TRUE(b.bind_task(kAlice, "task-1", "ctx-1", "sess-1", "working"));
  for (TaskBindings* node : {&b}) {
    TaskRecord r;
    EXPECT_EQ(node->task(kMallory, "task-1", &r), Lookup::foreign_tenant);
    EXPECT_TRUE(r.context_id.empty() && r.session_id.empty() && r.state.empty());
    EXPECT_EQ(node->task(kBob, "task-1", &r), Lookup::foreign_principal);
    EXPECT_TRUE(r.session_id.empty());
    std::string session;
    EXPECT_EQ(node->context(kMallory, "ctx-1", &session), Lookup::foreign_tenant);
    EXPECT_EQ(node->context(kBob, "ctx-1", &session), Lookup::foreign_principal);
    EXPECT_TRUE(session.empty());
  }
  // The same from a node that has nothing cached (answers read from the store).
  TaskBindings cold(store());
  EXPECT_EQ(cold.task(kMallory, "task-1"), Lookup::foreign_tenant);
  TaskBindings cold2(store());
  EXPECT_EQ(cold2.task(kBob, "task-1"), Lookup::foreign_principal);
  // Nobody else can bind it, nor place a task in its context.
  EXPECT_FALSE(b.bind_task(kMallory, "task-1", "", "s", "working"));
  EXPECT_FALSE(b.bind_context(kBob, "ctx-1", "s"));
  EXPECT_FALSE(cold.bind_task(kMallory, "task-2", "ctx-1", "s", "submitted"));
  EXPECT_EQ(cold.task(kMallory, "task-2"), Lookup::unknown);  // refused before the task was bound
  EXPECT_EQ(cold.task(kAlice, "task-2"), Lookup::unknown);
  // Nor move its state.
  b.set_state(kMallory, "task-1", "canceled");
  TaskBindings fresh(store());
  TaskRecord r;
  ASSERT_EQ(fresh.task(kAlice, "task-1", &r), Lookup::mine);
  EXPECT_EQ(r.state, "working");
}

TEST_P(TaskBindingsTest, TheSameIdUnderAnotherAgentIsAnotherBinding) {
  TaskBindings b(store());
  ASSERT_TRUE(b.bind_task(kAlice, "task-1", "", "s", "submitted"));
  const Owner mallory_other_agent{"globex", "alice", "translator"};
  EXPECT_EQ(b.task(mallory_other_agent, "task-1"), Lookup::unknown);
  EXPECT_TRUE(b.bind_task(mallory_other_agent, "task-1", "", "s", "submitted"));
  EXPECT_EQ(b.task(kAlice, "task-1"), Lookup::mine);
  EXPECT_EQ(b.task(mallory_other_agent, "task-1"), Lookup::mine);
}

TEST_P(TaskBindingsTest, UnknownIsNeverCachedSoABindingOnAnotherNodeIsSeen) {
  auto second = open_again();  // another gateway on the same database
  TaskBindings node_a(store());
  TaskBindings node_b(*second);
  EXPECT_EQ(node_a.task(kMallory, "task-9"), Lookup::unknown);
  EXPECT_EQ(node_a.context(kMallory, "ctx-9"), Lookup::unknown);
  EXPECT_FALSE(node_a.task_cached(kMallory, "task-9").has_value());
  ASSERT_TRUE(node_b.bind_task(kAlice, "task-9", "ctx-9", "sess-9", "submitted"));
  EXPECT_EQ(node_a.task(kMallory, "task-9"), Lookup::foreign_tenant);
  EXPECT_EQ(node_a.context(kMallory, "ctx-9"), Lookup::foreign_tenant);
  EXPECT_FALSE(node_a.bind_context(kMallory, "ctx-9", "mine-now"));
}

TEST_P(TaskBindingsTest, TwoNodesBindingTheSameIdsAtOnceAgreeOnOneOwner) {
  auto second = open_again();
  TaskBindings node_a(store());
  TaskBindings node_b(*second);
  constexpr int kIds = 40;
  std::vector<int> a_won(kIds, 0), b_won(kIds, 0);
  std::atomic<bool> go{false};
  // Node A binds for acme, node B for globex, the same ids at the same moment.
  std::thread ta([&] {
    while (!go) std::this_thread::yield();
    for (int i = 0; i < kIds; ++i)
      a_won[i] = node_a.bind_task(kAlice, "t-" + std::to_string(i), "c-" + std::to_string(i), "sa", "submitted");
  });
  std::thread tb([&] {
    while (!go) std::this_thread::yield();
    for (int i = 0; i < kIds; ++i)
      b_won[i] = node_b.bind_task(kMallory, "t-" + std::to_string(i), "c-" + std::to_string(i), "sb", "submitted");
  });
  go = true;
  ta.join();
  tb.join();
  TaskBindings judge(store());  // a third node, reading only the store
  for (int i = 0; i < kIds; ++i) {
    const std::string id = "t-" + std::to_string(i);
    ASSERT_NE(a_won[i], b_won[i]) << id << ": exactly one owner";
    const Lookup for_acme = judge.task(kAlice, id);
    const Lookup for_globex = judge.task(kMallory, id);
    EXPECT_EQ(for_acme == Lookup::mine, a_won[i] == 1) << id;
    EXPECT_EQ(for_globex == Lookup::mine, b_won[i] == 1) << id;
    EXPECT_EQ(node_a.task(kAlice, id), for_acme) << id;  // each node agrees with the store
    EXPECT_EQ(node_b.task(kMallory, id), for_globex) << id;
    EXPECT_EQ(judge.context(kAlice, "c-" + std::to_string(i)), for_acme) << id;
  }
}

TEST_P(TaskBindingsTest, AClientChosenContextIsFirstCome) {
  TaskBindings b(store());
  EXPECT_EQ(b.context(kAlice, "my-ctx"), Lookup::unknown);
  EXPECT_TRUE(b.bind_context(kAlice, "my-ctx", "sess-a"));
  EXPECT_TRUE(b.bind_context(kAlice, "my-ctx", "sess-other"));  // mine already: keeps its session
  std::string session;
  EXPECT_EQ(b.context(kAlice, "my-ctx", &session), Lookup::mine);
  EXPECT_EQ(session, "sess-a");
  TaskBindings cold(store());
  EXPECT_FALSE(cold.bind_context(kMallory, "my-ctx", "sess-m"));
  EXPECT_EQ(cold.context(kAlice, "my-ctx", &session), Lookup::mine);
  EXPECT_EQ(session, "sess-a");
}

TEST_P(TaskBindingsTest, TheCacheStaysWithinItsBoundAndAnswersWithoutTheStore) {
  TaskBindings b(store(), 3);
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.bind_task(kAlice, "t-" + std::to_string(i), "", "s", "submitted"));
  EXPECT_LE(b.cached_entries(), 3u);
  // The newest are cached, the oldest evicted; evicted ones still answer from the store.
  EXPECT_EQ(b.task_cached(kAlice, "t-9"), Lookup::mine);
  EXPECT_EQ(b.task_cached(kMallory, "t-9"), Lookup::foreign_tenant);
  EXPECT_FALSE(b.task_cached(kAlice, "t-0").has_value());
  EXPECT_EQ(b.task(kAlice, "t-0"), Lookup::mine);
  EXPECT_EQ(b.task_cached(kAlice, "t-0"), Lookup::mine);  // read-through
  EXPECT_LE(b.cached_entries(), 3u);
  // Contexts share the bound.
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(b.bind_context(kAlice, "c-" + std::to_string(i), "s"));
  EXPECT_LE(b.cached_entries(), 3u);
  std::string session;
  EXPECT_EQ(b.context_cached(kAlice, "c-9", &session), Lookup::mine);
  EXPECT_EQ(session, "s");
  EXPECT_FALSE(b.context_cached(kAlice, "c-0").has_value());
  EXPECT_EQ(b.context(kAlice, "c-0"), Lookup::mine);
  // A zero bound still works (one entry).
  TaskBindings tiny(store(), 0);
  EXPECT_EQ(tiny.task(kAlice, "t-1"), Lookup::mine);
  EXPECT_EQ(tiny.task(kAlice, "t-2"), Lookup::mine);
  EXPECT_EQ(tiny.cached_entries(), 1u);
}

TEST_P(TaskBindingsTest, StateTransitionsAreStoredAndListed) {
  TaskBindings b(store());
  ASSERT_TRUE(b.bind_task(kAlice, "task-1", "ctx-1", "s", "submitted"));
  b.set_state(kAlice, "task-1", "working");
  b.set_state(kAlice, "task-1", "working");  // repeated: no change
  b.set_state(kAlice, "task-1", "completed");
  TaskBindings other(store());
  TaskRecord r;
  ASSERT_EQ(other.task(kAlice, "task-1", &r), Lookup::mine);
  EXPECT_EQ(r.state, "completed");
  EXPECT_GE(r.updated_at, r.created_at);
  // Another node that had it cached learns the state when it sets one itself; re-binding with a
  // newer state (an answer revealing it again) moves it too.
  EXPECT_TRUE(other.bind_task(kAlice, "task-1", "ctx-1", "s", "input-required"));
  auto rows = b.list("acme", "", "", 10);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].state, "input-required");
  EXPECT_EQ(rows[0].agent, "echo");
  EXPECT_EQ(rows[0].principal, "alice");
}

TEST_P(TaskBindingsTest, TheListingIsOneTenantsNewestFirstInStablePages) {
  TaskBindings b(store());
  for (int i = 0; i < 7; ++i) ASSERT_TRUE(b.bind_task(kAlice, "a-" + std::to_string(i), "", "s", "working"));
  const Owner alice_other_agent{"acme", "alice", "translator"};
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(b.bind_task(alice_other_agent, "x-" + std::to_string(i), "", "s", "working"));
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(b.bind_task(kMallory, "m-" + std::to_string(i), "", "s", "working"));

  std::vector<TaskRecord> all;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto rows = b.list("acme", "", cursor, 3);
    EXPECT_LE(rows.size(), 3u);
    for (auto& r : rows) all.push_back(r);
    if (rows.size() < 3) break;
    cursor = TaskBindings::next_cursor(rows.back());
    EXPECT_TRUE(TaskBindings::valid_cursor(cursor));
  }
  ASSERT_EQ(all.size(), 10u);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < all.size(); ++i) {
    EXPECT_TRUE(seen.insert(all[i].agent + "/" + all[i].task_id).second) << "duplicate " << all[i].task_id;
    EXPECT_NE(all[i].task_id[0], 'm') << "another tenant's task listed";
    if (i > 0) {
      EXPECT_GE(all[i - 1].created_at, all[i].created_at) << "newest first";
    }
  }
  EXPECT_EQ(b.list("acme", "translator", "", 100).size(), 3u);
  EXPECT_EQ(b.list("globex", "", "", 100).size(), 4u);
  EXPECT_TRUE(b.list("initech", "", "", 100).empty());
  EXPECT_FALSE(TaskBindings::valid_cursor("!!not-base64!!"));
  EXPECT_FALSE(TaskBindings::valid_cursor("YWJj"));  // base64url of "abc": not a key
  EXPECT_TRUE(TaskBindings::valid_cursor(""));
}

TEST_P(TaskBindingsTest, APurgedTenantsBindingsAreGoneAndADeletedTenantCannotBind) {
  TaskBindings b(store());
  ASSERT_TRUE(b.bind_task(kAlice, "task-1", "ctx-1", "s", "working"));
  ASSERT_TRUE(b.bind_task(kMallory, "task-2", "ctx-2", "s", "working"));
  ASSERT_TRUE(store().mark_tenant_deleted("acme", 0).has_value());
  try {
    b.bind_task(kAlice, "task-3", "", "s", "submitted");
    ADD_FAILURE() << "a deleted tenant bound a task";
  } catch (const store::StoreError& e) {
    EXPECT_EQ(e.kind(), store::StoreError::Kind::gone);
  }
  try {
    b.bind_context(kBob, "ctx-3", "s");
    ADD_FAILURE() << "a deleted tenant bound a context";
  } catch (const store::StoreError& e) {
    EXPECT_EQ(e.kind(), store::StoreError::Kind::gone);
  }
  store().purge_tenant("acme");
  TaskBindings fresh(store());
  EXPECT_EQ(fresh.task(kAlice, "task-1"), Lookup::unknown);
  EXPECT_EQ(fresh.context(kAlice, "ctx-1"), Lookup::unknown);
  EXPECT_TRUE(fresh.list("acme", "", "", 100).empty());
  EXPECT_EQ(fresh.task(kMallory, "task-2"), Lookup::mine);  // other tenants keep theirs
  EXPECT_EQ(fresh.list("globex", "", "", 100).size(), 1u);
}

PC_ALL_BACKENDS(TaskBindingsTest);

}  // namespace
}  // namespace pc::a2a
