#include "tenancy/tenant_directory.h"

#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"
#include "support/forwarding_store.h"
#include "support/temp_dir.h"

namespace pc::tenancy {
namespace {

store::TenantRecord row(std::string id, std::string tier, std::string status, std::int64_t revision) {
  store::TenantRecord r;
  r.tenant_id = std::move(id);
  r.display_name = r.tenant_id;
  r.tier = std::move(tier);
  r.status = std::move(status);
  r.revision = revision;
  return r;
}

// A store that answers tenants_changed_since from a snapshot taken earlier, as a refresh does when
// it read the rows just before this process committed (and applied) a newer change.
class StaleTenantsStore : public pc::testing::ForwardingStore {
 public:
  StaleTenantsStore(store::Store& real, std::vector<store::TenantRecord> rows)
      : ForwardingStore(real), rows_(std::move(rows)) {}
  std::vector<store::TenantRecord> tenants_changed_since(std::int64_t revision) override {
    std::vector<store::TenantRecord> out;
    for (const auto& r : rows_)
      if (r.revision > revision) out.push_back(r);
    return out;
  }

 private:
  std::vector<store::TenantRecord> rows_;
};

class TenantDirectoryStoreTest : public ::testing::Test {
 protected:
  pc::testing::TempDir dir{"pc-tenants"};
  std::string path = dir.file("portcullis.db");
  std::unique_ptr<store::Store> ours = store::Store::open_sqlite(path);
  // Another gateway process sharing the database file.
  std::unique_ptr<store::Store> theirs = store::Store::open_sqlite(path);
};

TEST(TenantDirectory, PlatformIsAlwaysPresentAndActive) {
  TenantDirectory d;
  const TenantInfo* p = d.find("platform");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->id, "platform");
  EXPECT_TRUE(p->active());
  EXPECT_EQ(p->tier, "premium");
  EXPECT_EQ(d.size(), 1u);
  EXPECT_EQ(d.revision(), 0);

  // The reserved tenant is never taken from a row, however new.
  d.apply(row("platform", "basic", "suspended", 1000));
  p = d.find("platform");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->active());
  EXPECT_EQ(p->tier, "premium");
  EXPECT_EQ(d.size(), 1u);
}

TEST(TenantDirectory, UnknownTenantIsNull) {
  TenantDirectory d;
  EXPECT_EQ(d.find("acme"), nullptr);
  EXPECT_EQ(d.find(""), nullptr);
  EXPECT_EQ(d.find("Platform"), nullptr);
}

TEST(TenantDirectory, ApplyPublishesAtOnce) {
  TenantDirectory d;
  d.apply(row("acme", "basic", "active", 3));
  const TenantInfo* t = d.find("acme");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->id, "acme");
  EXPECT_EQ(t->tier, "basic");
  EXPECT_TRUE(t->active());
  EXPECT_EQ(t->revision, 3);
  EXPECT_EQ(d.size(), 2u);
  // Only refreshes move the revision read up to (a local row may be newer than rows other
  // gateways wrote meanwhile).
  EXPECT_EQ(d.revision(), 0);

  d.apply(row("acme", "premium", "suspended", 4));
  t = d.find("acme");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->tier, "premium");
  EXPECT_EQ(t->status, "suspended");
  EXPECT_FALSE(t->active());
  EXPECT_EQ(d.size(), 2u);
}

TEST(TenantDirectory, DeletedTenantIsKnownButNotActive) {
  TenantDirectory d;
  d.apply(row("acme", "basic", "deleted", 1));
  const TenantInfo* t = d.find("acme");
  ASSERT_NE(t, nullptr);
  EXPECT_FALSE(t->active());
}

TEST(TenantDirectory, AnOlderRowNeverReplacesANewerOne) {
  TenantDirectory d;
  d.apply(row("acme", "basic", "suspended", 7));
  d.apply(row("acme", "basic", "active", 6));
  ASSERT_NE(d.find("acme"), nullptr);
  EXPECT_EQ(d.find("acme")->status, "suspended");
  EXPECT_EQ(d.find("acme")->revision, 7);
}

TEST_F(TenantDirectoryStoreTest, RefreshPicksUpRowsWrittenByAnotherProcess) {
  TenantDirectory d;
  EXPECT_EQ(d.refresh(*ours), 0u);

  theirs->insert_tenant(row("acme", "basic", "active", 0));
  theirs->insert_tenant(row("demo", "standard", "active", 0));
  EXPECT_EQ(d.refresh(*ours), 2u);
  ASSERT_NE(d.find("acme"), nullptr);
  EXPECT_EQ(d.find("acme")->tier, "basic");
  ASSERT_NE(d.find("demo"), nullptr);
  EXPECT_EQ(d.find("demo")->tier, "standard");
  EXPECT_EQ(d.size(), 3u);
  const auto rev = d.revision();
  EXPECT_EQ(rev, theirs->find_tenant("demo")->revision);

  // Nothing new: nothing applied, revision unchanged.
  EXPECT_EQ(d.refresh(*ours), 0u);
  EXPECT_EQ(d.revision(), rev);

  store::TenantPatch suspend;
  suspend.status = "suspended";
  theirs->update_tenant("acme", suspend);
  EXPECT_EQ(d.refresh(*ours), 1u);
  ASSERT_NE(d.find("acme"), nullptr);
  EXPECT_FALSE(d.find("acme")->active());
  EXPECT_GT(d.revision(), rev);
}

TEST_F(TenantDirectoryStoreTest, RefreshNeverTakesPlatformFromTheStore) {
  TenantDirectory d;
  theirs->insert_tenant(row("platform", "basic", "suspended", 0));
  d.refresh(*ours);
  ASSERT_NE(d.find("platform"), nullptr);
  EXPECT_TRUE(d.find("platform")->active());
  EXPECT_EQ(d.find("platform")->tier, "premium");
}

TEST_F(TenantDirectoryStoreTest, RefreshReturningAnOlderStateDoesNotUndoALocalApply) {
  TenantDirectory d;
  d.apply(ours->insert_tenant(row("acme", "basic", "active", 0)));
  ASSERT_TRUE(d.find("acme")->active());

  // A refresh reads the rows changed since its last look (acme, active)...
  auto before = ours->tenants_changed_since(d.revision());
  ASSERT_EQ(before.size(), 1u);
  // ...then this process suspends acme and applies the committed row at once...
  store::TenantPatch suspend;
  suspend.status = "suspended";
  auto updated = ours->update_tenant("acme", suspend);
  ASSERT_TRUE(updated);
  d.apply(*updated);
  ASSERT_FALSE(d.find("acme")->active());
  // ...and only then does the refresh publish what it read.
  StaleTenantsStore stale(*ours, before);
  d.refresh(stale);
  ASSERT_NE(d.find("acme"), nullptr);
  EXPECT_FALSE(d.find("acme")->active()) << "a stale refresh re-activated a suspended tenant";
  EXPECT_EQ(d.find("acme")->revision, updated->revision);

  // The next real refresh agrees.
  d.refresh(*ours);
  EXPECT_FALSE(d.find("acme")->active());
}

TEST_F(TenantDirectoryStoreTest, RefreshAfterALocalApplyStillSeesOtherWritersOlderRows) {
  TenantDirectory d;
  d.refresh(*ours);
  // Another gateway adds bravo (revision 1), then this one adds alpha (revision 2) and applies it.
  auto bravo = theirs->insert_tenant(row("bravo", "basic", "active", 0));
  auto alpha = ours->insert_tenant(row("alpha", "premium", "active", 0));
  ASSERT_LT(bravo.revision, alpha.revision);
  d.apply(alpha);
  EXPECT_EQ(d.find("bravo"), nullptr);

  d.refresh(*ours);
  ASSERT_NE(d.find("bravo"), nullptr) << "the local apply made the refresh skip another writer's row";
  EXPECT_EQ(d.find("bravo")->tier, "basic");
  ASSERT_NE(d.find("alpha"), nullptr);
  EXPECT_EQ(d.find("alpha")->tier, "premium");
  EXPECT_EQ(d.revision(), alpha.revision);
}

TEST_F(TenantDirectoryStoreTest, ReadersOnOtherThreadsSeeConsistentSnapshotsDuringUpdates) {
  TenantDirectory d;
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop.load()) {
      const TenantInfo* p = d.find("platform");
      if (!p || !p->active()) ++bad;
      if (const TenantInfo* t = d.find("acme"); t && t->id != "acme") ++bad;
    }
  });
  for (int i = 1; i <= 200; ++i) d.apply(row("acme", i % 2 ? "basic" : "premium", i % 2 ? "active" : "suspended", i));
  stop = true;
  reader.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(d.find("acme")->revision, 200);
}

}  // namespace
}  // namespace pc::tenancy
