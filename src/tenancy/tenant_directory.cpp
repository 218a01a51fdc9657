#include "tenancy/tenant_directory.h"

#include "tenancy/tenant_id.h"

namespace pc::tenancy {

TenantDirectory::TenantDirectory() {
  auto s = std::make_shared<Snapshot>();
  std::string platform(kPlatformTenant);
  s->by_id.emplace(platform, TenantInfo{platform, "premium", "active", 0});
  snapshot_.publish(std::move(s));
}

const TenantInfo* TenantDirectory::find(std::string_view tenant_id) const {
  const Snapshot* s = snapshot_.read();
  auto it = s->by_id.find(tenant_id);
  return it == s->by_id.end() ? nullptr : &it->second;
}

bool TenantDirectory::client_blocked(std::string_view client_id) const {
  const Snapshot* s = snapshot_.read();
  return !s->blocked_clients.empty() && s->blocked_clients.find(client_id) != s->blocked_clients.end();
}

void TenantDirectory::apply(const store::TenantRecord& row) { publish_rows({row}, 0); }

void TenantDirectory::apply_client(const std::string& client_id, const std::string& status) {
  std::lock_guard lock(write_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_.load());
  if (status == "active") next->blocked_clients.erase(client_id);
  else next->blocked_clients.insert(client_id);
  snapshot_.publish(std::move(next));
}

std::size_t TenantDirectory::refresh(store::Store& store) {
  // Blocked clients changed by other gateways sharing the store. Read under the writer lock: a
  // local apply_client then publishes either before the read (and the read sees its commit) or
  // after this publish, so a stale read never unblocks a client this process just blocked.
  {
    std::lock_guard lock(write_mu_);
    auto blocked = store.blocked_clients();
    auto current = snapshot_.load();
    decltype(Snapshot::blocked_clients) next_blocked(blocked.begin(), blocked.end());
    if (next_blocked != current->blocked_clients) {
      auto next = std::make_shared<Snapshot>(*current);
      next->blocked_clients = std::move(next_blocked);
      snapshot_.publish(std::move(next));
    }
  }
  auto rows = store.tenants_changed_since(revision());
  if (rows.empty()) return 0;
  publish_rows(rows, rows.back().revision);
  return rows.size();
}

// `seen` is the store revision a refresh has read up to (0 for apply). Only refreshes advance
// it: a row applied locally may be newer than rows other gateways wrote meanwhile, and skipping
// to its revision would skip theirs.
void TenantDirectory::publish_rows(const std::vector<store::TenantRecord>& rows, std::int64_t seen) {
  std::lock_guard lock(write_mu_);
  auto next = std::make_shared<Snapshot>(*snapshot_.load());
  for (const auto& r : rows) {
    if (r.tenant_id == kPlatformTenant) continue;  // reserved: never from the store
    auto it = next->by_id.find(r.tenant_id);
    // A refresh that read a row before a local apply of a newer state must not undo it.
    if (it != next->by_id.end() && it->second.revision > r.revision) continue;
    next->by_id[r.tenant_id] = TenantInfo{r.tenant_id, r.tier, r.status, r.revision};
  }
  if (seen > next->revision) next->revision = seen;
  snapshot_.publish(std::move(next));
}

std::int64_t TenantDirectory::revision() const { return snapshot_.load()->revision; }
std::size_t TenantDirectory::size() const { return snapshot_.load()->by_id.size(); }

}  // namespace pc::tenancy
