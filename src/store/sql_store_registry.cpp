// SqlStore: capabilities, agents and their versions.
#include "core/clock.h"
#include "store/sql_store.h"

namespace pc::store {

void SqlStore::upsert_capability(const CapabilityRecord&) {
  throw StoreError("not built yet");
}

bool SqlStore::delete_capability(std::string_view) {
  throw StoreError("not built yet");
}

std::vector<CapabilityRecord> SqlStore::list_capabilities() {
  throw StoreError("not built yet");
}

void SqlStore::insert_agent(const AgentRecord&) {
  throw StoreError("not built yet");
}

std::optional<AgentRecord> SqlStore::find_agent(std::string_view) {
  throw StoreError("not built yet");
}

std::vector<AgentRecord> SqlStore::list_agents() {
  throw StoreError("not built yet");
}

bool SqlStore::update_agent(const AgentRecord&) {
  throw StoreError("not built yet");
}

bool SqlStore::delete_agent(std::string_view) {
  throw StoreError("not built yet");
}

void SqlStore::insert_agent_version(const AgentVersionRecord&) {
  throw StoreError("not built yet");
}

std::vector<AgentVersionRecord> SqlStore::agent_versions(std::string_view) {
  throw StoreError("not built yet");
}

bool SqlStore::promote_agent_version(std::string_view, std::string_view, std::string_view) {
  throw StoreError("not built yet");
}

std::vector<std::pair<AgentRecord, AgentVersionRecord>> SqlStore::promoted_agents() {
  throw StoreError("not built yet");
}

}  // namespace pc::store
