// The agent registry (SPEC §8): agents, their versions and promotion, kept in the store and
// published into the AgentCatalog the request path reads. Only a promoted version is invoked.
// Registering an agent also creates its capability `agents.<name>` (enabled for everyone), so a
// new agent is reachable once promoted; operators narrow or kill it through the capability.
// Blocking (store): call it from a WorkPool.
#pragma once

#include <functional>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "agents/catalog.h"
#include "store/store.h"

namespace pc::agents {

// A refused change; `kind` picks the HTTP status (invalid 400, not_found 404, conflict 409).
class RegistryError : public std::runtime_error {
 public:
  enum class Kind { invalid, not_found, conflict };
  RegistryError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct AgentView {
  store::AgentRecord agent;
  std::vector<store::AgentVersionRecord> versions;  // newest first
  std::optional<std::string> promoted_version;
};

// "http://host:port" or "https://host[:port]" (443 when absent), the host a name, an IPv4
// address or an IPv6 address in brackets (kept without them), a trailing "/" allowed → catalog
// endpoint parts; nullopt for anything else (another scheme, http without a port, a base path, a
// query, userinfo, an IPv6 zone id, odd characters in the host).
struct Endpoint {
  std::string scheme = "http";  // "http" or "https"
  std::string host;             // IPv6 without brackets
  std::uint16_t port = 0;
};
std::optional<Endpoint> parse_endpoint(const std::string& url);

class Registry {
 public:
  Registry(store::Store& store, AgentCatalog& catalog);

  store::AgentRecord create(const store::AgentRecord& a);
  store::AgentRecord update(const std::string& name, const std::optional<std::string>& description,
                            const std::optional<std::string>& tier_minimum, const std::optional<std::string>& protocol);
  void remove(const std::string& name);
  std::optional<AgentView> get(const std::string& name);
  std::vector<AgentView> list();

  store::AgentVersionRecord add_version(const std::string& name, const std::string& version, const std::string& endpoint);
  // With an AuditedChange (audit::change_audit of the request), the promotion and its audit
  // event (agent.promote, agent.rollback) commit in one transaction.
  store::AgentVersionRecord promote(const std::string& name, const std::string& version,
                                    const store::AuditedChange& audited = {});
  // The promoted version becomes rolled_back; the newest superseded one is promoted again.
  // Conditional on the live version it read: a concurrent promotion or rollback that changed it
  // first makes this one a conflict (409) rather than a second promotion of the same target.
  store::AgentVersionRecord rollback(const std::string& name, const store::AuditedChange& audited = {});

  // Reloads promoted agents from the store into the catalog (start-up, background refresh,
  // after each change here). Returns whether the catalog changed.
  bool publish();

 private:
  store::Store& store_;
  AgentCatalog& catalog_;
  std::vector<AgentEntry> published_;  // what publish() last published, to skip no-op refreshes
  std::mutex mu_;
};

bool is_valid_agent_name(const std::string& name);

}  // namespace pc::agents
