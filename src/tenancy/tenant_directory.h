// Every tenant's status and tier, as an immutable in-memory snapshot, so the request path can
// answer "does this tenant exist, is it active, what is its tier" without touching the store.
//
// Kept current two ways: the process that changes a tenant applies the new row at once
// (apply), and a periodic refresh picks up changes made by other gateways sharing the store
// (refresh: only rows whose revision is newer than the last one seen). The reserved tenant
// "platform" is always present and active: platform principals act as it (SPEC §4).
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "core/published.h"
#include "store/store.h"

namespace pc::tenancy {

struct TenantInfo {
  std::string id;
  std::string tier;
  std::string status;  // active | suspended | deleted
  std::int64_t revision = 0;
  bool active() const { return status == "active"; }
};

class TenantDirectory {
 public:
  TenantDirectory();

  // The tenant, or nullptr when unknown. The pointer stays valid until this thread's next call
  // of find() (it points into the thread's current snapshot): copy what you keep.
  const TenantInfo* find(std::string_view tenant_id) const;

  // True when the built-in issuer's client `client_id` is disabled or deleted: its tokens are
  // refused at once, like a suspended tenant's.
  bool client_blocked(std::string_view client_id) const;

  // Publishes `row` (an insert or update this process just committed).
  void apply(const store::TenantRecord& row);
  // Publishes a client status this process just committed (active unblocks it).
  void apply_client(const std::string& client_id, const std::string& status);
  // Reads rows changed since the last refresh and publishes them, and re-reads the blocked
  // clients (a small set). Blocking (store): call it from a worker thread. Returns the number of
  // tenant rows applied.
  std::size_t refresh(store::Store& store);

  std::int64_t revision() const;
  std::size_t size() const;  // including "platform"

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  struct Snapshot {
    std::unordered_map<std::string, TenantInfo, Hash, std::equal_to<>> by_id;
    std::unordered_set<std::string, Hash, std::equal_to<>> blocked_clients;
    std::int64_t revision = 0;
  };
  void publish_rows(const std::vector<store::TenantRecord>& rows, std::int64_t seen);

  std::mutex write_mu_;  // one writer at a time builds the next snapshot
  core::Published<Snapshot> snapshot_;
};

}  // namespace pc::tenancy
