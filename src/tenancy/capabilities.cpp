#include "tenancy/capabilities.h"

#include <openssl/sha.h>

#include <algorithm>

#include "core/clock.h"
#include "store/store.h"
#include "tenancy/tiers.h"

namespace pc::tenancy {
namespace {

bool contains(const std::vector<std::string>& list, std::string_view x) {
  return std::find(list.begin(), list.end(), x) != list.end();
}

}  // namespace

int rollout_bucket(std::string_view capability, std::string_view tenant_id) {
  // SHA-256 rather than std::hash: the bucket must be the same on every node, build and restart.
  std::string input;
  input.reserve(capability.size() + tenant_id.size() + 1);
  input.append(capability).push_back('\0');
  input.append(tenant_id);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  const std::uint32_t v = (std::uint32_t{digest[0]} << 24) | (std::uint32_t{digest[1]} << 16) |
                          (std::uint32_t{digest[2]} << 8) | std::uint32_t{digest[3]};
  return static_cast<int>(v % 100);
}

CapabilityDecision evaluate(const store::CapabilityRecord* c, std::string_view tenant_id, std::string_view tier) {
  if (!c) return {false, "missing"};
  if (c->killed) return {false, "killed"};
  if (!c->enabled) return {false, "disabled"};
  if (c->rollout_percentage < 0 || c->rollout_percentage > 100) return {false, "invalid"};
  if (!c->tier_allow_list.empty() && !contains(c->tier_allow_list, tier)) return {false, "tier"};
  if (!c->tenant_allow_list.empty() && !contains(c->tenant_allow_list, tenant_id)) return {false, "tenant"};
  // At 100% every bucket is in: skip the hash (this runs on every agent request).
  if (c->rollout_percentage < 100 && rollout_bucket(c->name, tenant_id) >= c->rollout_percentage)
    return {false, "rollout"};
  return {true, "allowed"};
}

bool is_valid_capability_name(std::string_view name) {
  if (name.empty() || name.size() > 128 || name.front() == '.' || name.back() == '.') return false;
  char prev = 0;
  for (char ch : name) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '_';
    if (!ok || (ch == '.' && prev == '.')) return false;
    prev = ch;
  }
  return true;
}

void ensure_capability(store::Store& store, const std::string& name, const std::string& description) {
  for (const auto& c : store.list_capabilities())
    if (c.name == name) return;
  store::CapabilityRecord c;
  c.name = name;
  c.enabled = true;
  c.description = description;
  c.updated_at = core::rfc3339_now();
  store.upsert_capability(c);
}

Capabilities::Capabilities() : table_(std::make_shared<const std::vector<store::CapabilityRecord>>()) {}

void Capabilities::publish(std::vector<store::CapabilityRecord> all) {
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  table_.publish(std::make_shared<const std::vector<store::CapabilityRecord>>(std::move(all)));
}

CapabilityDecision Capabilities::evaluate(std::string_view name, std::string_view tenant_id, std::string_view tier) const {
  const auto* table = table_.read();
  auto it = std::lower_bound(table->begin(), table->end(), name,
                             [](const store::CapabilityRecord& c, std::string_view n) { return c.name < n; });
  const store::CapabilityRecord* rec = (it != table->end() && it->name == name) ? &*it : nullptr;
  return tenancy::evaluate(rec, tenant_id, tier);
}

std::vector<store::CapabilityRecord> Capabilities::all() const { return *table_.load(); }

}  // namespace pc::tenancy
