// Capabilities (SPEC §6): named switches such as `agents.invoke`, `agents.<name>`,
// `tools.<name>`, evaluated for a tenant on every request against an immutable snapshot of the
// capability table (readers never lock; the gateway republishes it when the table changes).
//
// Deny by default: a capability that is missing, disabled, killed, outside its rollout, or
// restricted to other tiers or tenants is denied, and so is one whose record is malformed.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/published.h"
#include "store/records.h"

namespace pc::store {
class Store;
}

namespace pc::tenancy {

struct CapabilityDecision {
  bool allowed = false;
  std::string reason;  // "allowed", "missing", "disabled", "killed", "tier", "tenant", "rollout", "invalid"
};

// The tenant's stable rollout bucket for one capability, 0..99: a tenant inside a 20% rollout
// stays inside when it grows to 50%. Hashing the capability name with the tenant id gives each
// capability its own early adopters.
int rollout_bucket(std::string_view capability, std::string_view tenant_id);

// The rule itself, on one record (pure).
CapabilityDecision evaluate(const store::CapabilityRecord* record, std::string_view tenant_id, std::string_view tier);

// Capability names: lower-case dotted words, e.g. "agents.echo", "tools.search-web".
bool is_valid_capability_name(std::string_view name);

// Creates the capability `name`, enabled for everyone, unless it exists (whatever its state: an
// operator's choice is never overwritten). Blocking (store).
void ensure_capability(store::Store& store, const std::string& name, const std::string& description);

class Capabilities {
 public:
  Capabilities();
  void publish(std::vector<store::CapabilityRecord> all);
  CapabilityDecision evaluate(std::string_view name, std::string_view tenant_id, std::string_view tier) const;
  bool allows(std::string_view name, std::string_view tenant_id, std::string_view tier) const {
    return evaluate(name, tenant_id, tier).allowed;
  }
  std::vector<store::CapabilityRecord> all() const;

 private:
  core::Published<std::vector<store::CapabilityRecord>> table_;  // sorted by name
};

}  // namespace pc::tenancy
