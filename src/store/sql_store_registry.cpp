// SqlStore: capabilities, agents and their versions (platform rows).
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {
namespace {

constexpr std::string_view kSelectCapability =
    "SELECT name, enabled, rollout_percentage, tier_allow_list, tenant_allow_list, killed, description, updated_at "
    "FROM capabilities";
constexpr std::string_view kSelectAgent =
    "SELECT name, description, tier_minimum, protocol, created_at, updated_at FROM agents";
constexpr std::string_view kSelectVersion =
    "SELECT agent, version, endpoint, status, created_at, updated_at FROM agent_versions";

// Columns from `first` on, in kSelectAgent's order.
AgentRecord read_agent(Statement& q, int first = 0) {
  AgentRecord a;
  a.name = q.column_text(first + 0);
  a.description = q.column_text(first + 1);
  a.tier_minimum = q.column_text(first + 2);
  a.protocol = q.column_text(first + 3);
  a.created_at = q.column_text(first + 4);
  a.updated_at = q.column_text(first + 5);
  return a;
}

// Columns from `first` on, in kSelectVersion's order.
AgentVersionRecord read_version(Statement& q, int first = 0) {
  AgentVersionRecord v;
  v.agent = q.column_text(first + 0);
  v.version = q.column_text(first + 1);
  v.endpoint = q.column_text(first + 2);
  v.status = q.column_text(first + 3);
  v.created_at = q.column_text(first + 4);
  v.updated_at = q.column_text(first + 5);
  return v;
}

std::vector<AgentRecord> read_agents(Statement& q) {
  std::vector<AgentRecord> out;
  while (q.step()) out.push_back(read_agent(q));
  return out;
}

}  // namespace

void SqlStore::upsert_capability(const CapabilityRecord& r) {
  auto c = conn();
  Statement q = c->prepare(
      "INSERT INTO capabilities(name, enabled, rollout_percentage, tier_allow_list, tenant_allow_list, killed, "
      "description, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (name) DO UPDATE SET enabled = excluded.enabled, rollout_percentage = excluded.rollout_percentage, "
      "tier_allow_list = excluded.tier_allow_list, tenant_allow_list = excluded.tenant_allow_list, "
      "killed = excluded.killed, description = excluded.description, updated_at = excluded.updated_at");
  q.bind_text(1, r.name)
      .bind_int64(2, r.enabled ? 1 : 0)
      .bind_int64(3, r.rollout_percentage)
      .bind_text(4, to_json_array(r.tier_allow_list))
      .bind_text(5, to_json_array(r.tenant_allow_list))
      .bind_int64(6, r.killed ? 1 : 0)
      .bind_text(7, r.description)
      .bind_text(8, core::rfc3339_now());
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("upsert capability " + r.name + ": ");
  }
}

bool SqlStore::delete_capability(std::string_view name) {
  auto c = conn();
  c->prepare("DELETE FROM capabilities WHERE name = ?1").bind_text(1, name).run();
  return c->changes() == 1;
}

std::vector<CapabilityRecord> SqlStore::list_capabilities() {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectCapability) + " ORDER BY name");
  std::vector<CapabilityRecord> out;
  while (q.step()) {
    CapabilityRecord r;
    r.name = q.column_text(0);
    r.enabled = q.column_int64(1) != 0;
    r.rollout_percentage = static_cast<int>(q.column_int64(2));
    r.tier_allow_list = from_json_array(q.column_text(3), "tier_allow_list", r.name);
    r.tenant_allow_list = from_json_array(q.column_text(4), "tenant_allow_list", r.name);
    r.killed = q.column_int64(5) != 0;
    r.description = q.column_text(6);
    r.updated_at = q.column_text(7);
    out.push_back(std::move(r));
  }
  return out;
}

void SqlStore::insert_agent(const AgentRecord& a) {
  auto c = conn();
  const std::string now = core::rfc3339_now();
  Statement q = c->prepare(
      "INSERT INTO agents(name, description, tier_minimum, protocol, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  q.bind_text(1, a.name)
      .bind_text(2, a.description)
      .bind_text(3, a.tier_minimum)
      .bind_text(4, a.protocol)
      .bind_text(5, a.created_at.empty() ? now : a.created_at)
      .bind_text(6, now);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert agent " + a.name + ": ");
  }
}

std::optional<AgentRecord> SqlStore::find_agent(std::string_view name) {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectAgent) + " WHERE name = ?1");
  q.bind_text(1, name);
  if (!q.step()) return std::nullopt;
  return read_agent(q);
}

std::vector<AgentRecord> SqlStore::list_agents() {
  auto c = conn();
  Statement q = c->prepare(std::string(kSelectAgent) + " ORDER BY name");
  return read_agents(q);
}

bool SqlStore::update_agent(const AgentRecord& a) {
  auto c = conn();
  Statement q = c->prepare(
      "UPDATE agents SET description = ?2, tier_minimum = ?3, protocol = ?4, updated_at = ?5 WHERE name = ?1");
  q.bind_text(1, a.name)
      .bind_text(2, a.description)
      .bind_text(3, a.tier_minimum)
      .bind_text(4, a.protocol)
      .bind_text(5, core::rfc3339_now());
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("update agent " + a.name + ": ");
  }
  return c->changes() == 1;
}

bool SqlStore::delete_agent(std::string_view name) {
  auto c = conn();
  Transaction tx(*c);
  // Versions first and explicitly: ON DELETE CASCADE acts only where foreign keys are enforced,
  // and left-over versions (a promoted one among them) would resurface under a new agent that
  // reuses the name.
  c->prepare("DELETE FROM agent_versions WHERE agent = ?1").bind_text(1, name).run();
  c->prepare("DELETE FROM agents WHERE name = ?1").bind_text(1, name).run();
  bool deleted = c->changes() == 1;
  tx.commit();
  return deleted;
}

void SqlStore::insert_agent_version(const AgentVersionRecord& v) {
  auto c = conn();
  const std::string now = core::rfc3339_now();
  Statement q = c->prepare(
      "INSERT INTO agent_versions(agent, version, endpoint, status, created_at, updated_at) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  q.bind_text(1, v.agent)
      .bind_text(2, v.version)
      .bind_text(3, v.endpoint)
      .bind_text(4, v.status)
      .bind_text(5, v.created_at.empty() ? now : v.created_at)
      .bind_text(6, now);
  try {
    q.run();
  } catch (const StoreError& e) {
    throw e.prefixed("insert agent version " + v.agent + "@" + v.version + ": ");
  }
}

std::vector<AgentVersionRecord> SqlStore::agent_versions(std::string_view agent) {
  auto c = conn();
  // Version strings do not sort as versions ("1.10" < "1.9"); creation time does. The version
  // breaks ties between versions registered in the same millisecond.
  Statement q = c->prepare(std::string(kSelectVersion) + " WHERE agent = ?1 ORDER BY created_at DESC, version DESC");
  q.bind_text(1, agent);
  std::vector<AgentVersionRecord> out;
  while (q.step()) out.push_back(read_version(q));
  return out;
}

bool SqlStore::promote_agent_version(std::string_view agent, std::string_view version,
                                     std::string_view previous_status, std::string_view expected_live) {
  const std::string what = "promote agent version " + std::string(agent) + "@" + std::string(version);
  if (previous_status == "promoted")
    throw StoreError(what + ": the previously promoted version cannot stay promoted");
  auto c = conn();
  try {
    Transaction tx(*c);
    // Two promotions at once (two admins, two gateways) must not both demote before either
    // promotes: on PostgreSQL the one-promoted index would refuse the second with a duplicate.
    c->lock_for_write("agent_versions");
    if (!expected_live.empty()) {
      // Checked under the lock: of callers that all read the same live version, one changes it.
      Statement live = c->prepare("SELECT version FROM agent_versions WHERE agent = ?1 AND status = 'promoted'");
      live.bind_text(1, agent);
      const bool same = live.step() && live.column_text(0) == expected_live;
      live.reset();
      if (!same)
        throw StoreError("the live version is no longer " + std::string(expected_live) + " (a concurrent change won)",
                         StoreError::Kind::conflict);
    }
    Statement current = c->prepare("SELECT status FROM agent_versions WHERE agent = ?1 AND version = ?2");
    current.bind_text(1, agent).bind_text(2, version);
    if (!current.step()) return false;
    const bool already_promoted = current.column_text(0) == "promoted";
    current.reset();  // finished before the table it reads is written
    // Promoting the promoted version again changes nothing: demoting it first would briefly mark
    // it superseded by itself and touch its updated_at.
    if (already_promoted) return true;
    const std::string now = core::rfc3339_now();
    // Demote before promoting: the one-promoted-per-agent index is checked per statement.
    c->prepare("UPDATE agent_versions SET status = ?2, updated_at = ?3 WHERE agent = ?1 AND status = 'promoted'")
        .bind_text(1, agent)
        .bind_text(2, previous_status)
        .bind_text(3, now)
        .run();
    c->prepare("UPDATE agent_versions SET status = 'promoted', updated_at = ?3 WHERE agent = ?1 AND version = ?2")
        .bind_text(1, agent)
        .bind_text(2, version)
        .bind_text(3, now)
        .run();
    tx.commit();
    return true;
  } catch (const StoreError& e) {
    throw e.prefixed(what + ": ");
  }
}

std::vector<std::pair<AgentRecord, AgentVersionRecord>> SqlStore::promoted_agents() {
  auto c = conn();
  Statement q = c->prepare(
      "SELECT a.name, a.description, a.tier_minimum, a.protocol, a.created_at, a.updated_at, "
      "v.agent, v.version, v.endpoint, v.status, v.created_at, v.updated_at "
      "FROM agents a JOIN agent_versions v ON v.agent = a.name AND v.status = 'promoted' ORDER BY a.name");
  std::vector<std::pair<AgentRecord, AgentVersionRecord>> out;
  while (q.step()) out.emplace_back(read_agent(q, 0), read_version(q, 6));
  return out;
}

}  // namespace pc::store
