#include "agents/registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>

#include "core/clock.h"
#include "store/run_audited.h"
#include "tenancy/capabilities.h"
#include "tenancy/tiers.h"

namespace pc::agents {
namespace {

using Kind = RegistryError::Kind;

bool is_valid_version(const std::string& v) {
  if (v.empty() || v.size() > 64) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_' || c == '+';
  });
}

void check_fields(const store::AgentRecord& a) {
  if (tenancy::tier_rank(a.tier_minimum) < 0)
    throw RegistryError(Kind::invalid, "tierMinimum must be basic, standard or premium");
  if (a.protocol != "http" && a.protocol != "a2a") throw RegistryError(Kind::invalid, "protocol must be http or a2a");
  if (a.description.size() > 1000) throw RegistryError(Kind::invalid, "description is longer than 1000 characters");
}

bool duplicate(const store::StoreError& e) { return e.kind() == store::StoreError::Kind::duplicate; }

}  // namespace

bool is_valid_agent_name(const std::string& name) {
  // Same shape as a tenant id: it appears in paths and in the capability name agents.<name>.
  if (name.size() < 2 || name.size() > 64 || !(name.front() >= 'a' && name.front() <= 'z')) return false;
  if (name.back() == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

std::optional<Endpoint> parse_endpoint(const std::string& url) {
  Endpoint e;
  std::string_view rest;
  std::uint16_t default_port = 0;  // 0: the port is required
  if (url.rfind("http://", 0) == 0) {
    e.scheme = "http";
    rest = std::string_view(url).substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    // TLS to the runtime: the proxy verifies its certificate (server.upstream.ca_file, else the
    // system trust store) against this host, so the port may default as a browser's would.
    e.scheme = "https";
    rest = std::string_view(url).substr(8);
    default_port = 443;
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find('/');
  // The invocation contract lives at the runtime's root (POST /invocations): a base path would
  // be dropped silently, so it is refused.
  if (slash != std::string_view::npos && rest.substr(slash) != "/") return std::nullopt;
  rest = rest.substr(0, slash);
  std::string_view port;
  bool has_port = false;
  if (!rest.empty() && rest.front() == '[') {
    // An IPv6 literal in brackets (RFC 3986 §3.2.2), kept without them: the proxy, the job
    // client and the health check put them back where a URL or a Host line needs them.
    const auto close = rest.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    e.host = std::string(rest.substr(1, close - 1));
    // Only hex digits, ':' and '.' (an embedded IPv4 tail): no zone id ("%eth0"), nothing else.
    if (e.host.empty() || !std::all_of(e.host.begin(), e.host.end(), [](char c) {
          return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
        }))
      return std::nullopt;
    in6_addr addr{};
    if (::inet_pton(AF_INET6, e.host.c_str(), &addr) != 1) return std::nullopt;
    const auto after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return std::nullopt;
      port = after.substr(1);
      has_port = true;
    }
  } else {
    const auto colon = rest.rfind(':');
    if (colon == 0) return std::nullopt;
    e.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      has_port = true;
    }
    // A host name or IPv4 address only: the host goes into the forwarded request's Host line, so
    // anything else (userinfo, spaces, control characters, an IPv6 literal without brackets) is
    // refused.
    if (e.host.empty() || !std::all_of(e.host.begin(), e.host.end(), [](char c) {
          return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
        }))
      return std::nullopt;
  }
  if (!has_port) {
    if (default_port == 0) return std::nullopt;  // http: the port is required
    e.port = default_port;
    return e;
  }
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535)
    return std::nullopt;
  e.port = static_cast<std::uint16_t>(value);
  return e;
}

Registry::Registry(store::Store& store, AgentCatalog& catalog) : store_(store), catalog_(catalog) {}

store::AgentRecord Registry::create(const store::AgentRecord& in) {
  if (!is_valid_agent_name(in.name))
    throw RegistryError(Kind::invalid, "name must be 2 to 64 characters of a-z, 0-9 and '-', starting with a letter");
  check_fields(in);
  store::AgentRecord a = in;
  a.created_at = a.updated_at = core::rfc3339_now();
  try {
    store_.insert_agent(a);
  } catch (const store::StoreError& e) {
    if (duplicate(e)) throw RegistryError(Kind::conflict, "agent '" + a.name + "' exists");
    throw;
  }
  // Deny by default applies to capabilities, so a new agent gets its own switch, on for
  // everyone; an existing switch (set up before the agent) is left as the operator set it.
  tenancy::ensure_capability(store_, "agents." + a.name, "invoke the agent " + a.name);
  return a;
}

store::AgentRecord Registry::update(const std::string& name, const std::optional<std::string>& description,
                                    const std::optional<std::string>& tier_minimum,
                                    const std::optional<std::string>& protocol) {
  auto a = store_.find_agent(name);
  if (!a) throw RegistryError(Kind::not_found, "no agent '" + name + "'");
  if (description) a->description = *description;
  if (tier_minimum) a->tier_minimum = *tier_minimum;
  if (protocol) a->protocol = *protocol;
  check_fields(*a);
  a->updated_at = core::rfc3339_now();
  if (!store_.update_agent(*a)) throw RegistryError(Kind::not_found, "no agent '" + name + "'");
  publish();
  return *a;
}

void Registry::remove(const std::string& name) {
  if (!store_.delete_agent(name)) throw RegistryError(Kind::not_found, "no agent '" + name + "'");
  publish();
}

std::optional<AgentView> Registry::get(const std::string& name) {
  auto a = store_.find_agent(name);
  if (!a) return std::nullopt;
  AgentView v{*a, store_.agent_versions(name), std::nullopt};
  for (const auto& ver : v.versions)
    if (ver.status == "promoted") v.promoted_version = ver.version;
  return v;
}

std::vector<AgentView> Registry::list() {
  std::vector<AgentView> out;
  auto promoted = store_.promoted_agents();
  for (auto& a : store_.list_agents()) {
    AgentView v{std::move(a), {}, std::nullopt};
    for (const auto& [pa, pv] : promoted)
      if (pa.name == v.agent.name) v.promoted_version = pv.version;
    out.push_back(std::move(v));
  }
  return out;
}

store::AgentVersionRecord Registry::add_version(const std::string& name, const std::string& version,
                                                const std::string& endpoint) {
  if (!store_.find_agent(name)) throw RegistryError(Kind::not_found, "no agent '" + name + "'");
  if (!is_valid_version(version))
    throw RegistryError(Kind::invalid, "version must be 1 to 64 characters of letters, digits and . - _ +");
  if (!parse_endpoint(endpoint))
    throw RegistryError(Kind::invalid, "endpoint must be an http://host:port or https://host[:port] URL of the agent's runtime (an IPv6 address in brackets)");
  store::AgentVersionRecord v;
  v.agent = name;
  v.version = version;
  v.endpoint = endpoint;
  v.status = "built";
  v.created_at = v.updated_at = core::rfc3339_now();
  try {
    store_.insert_agent_version(v);
  } catch (const store::StoreError& e) {
    if (duplicate(e)) throw RegistryError(Kind::conflict, "version '" + version + "' of '" + name + "' exists");
    throw;
  }
  return v;
}

store::AgentVersionRecord Registry::promote(const std::string& name, const std::string& version,
                                            const store::AuditedChange& audited) {
  if (!store_.find_agent(name)) throw RegistryError(Kind::not_found, "no agent '" + name + "'");
  store::run_audited(audited, "platform", "agent.promote", "agent/" + name + "@" + version, [&] {
    if (!store_.promote_agent_version(name, version, "superseded"))
      throw RegistryError(Kind::not_found, "no version '" + version + "' of '" + name + "'");
  });
  publish();
  for (auto& v : store_.agent_versions(name))
    if (v.version == version) return v;
  throw RegistryError(Kind::not_found, "no version '" + version + "' of '" + name + "'");
}

store::AgentVersionRecord Registry::rollback(const std::string& name, const store::AuditedChange& audited) {
  if (!store_.find_agent(name)) throw RegistryError(Kind::not_found, "no agent '" + name + "'");
  auto versions = store_.agent_versions(name);  // newest first
  // The version live before the current one is the one superseded last (the newest
  // updated_at), not the newest by creation: versions may be promoted in any order.
  auto target = versions.end();
  for (auto it = versions.begin(); it != versions.end(); ++it)
    if (it->status == "superseded" && (target == versions.end() || it->updated_at > target->updated_at)) target = it;
  if (target == versions.end())
    throw RegistryError(Kind::conflict, "agent '" + name + "' has no earlier promoted version to roll back to");
  std::string live;
  for (const auto& v : versions)
    if (v.status == "promoted") live = v.version;
  try {
    // Conditional on the live version read above: of N rollbacks racing from the same state one
    // wins, the others get 409 instead of promoting the same target again (a lost update).
    store::run_audited(audited, "platform", "agent.rollback", "agent/" + name + "@" + target->version, [&] {
      if (!store_.promote_agent_version(name, target->version, "rolled_back", live))
        throw RegistryError(Kind::not_found, "no version '" + target->version + "' of '" + name + "'");
    });
  } catch (const store::StoreError& e) {
    if (e.kind() != store::StoreError::Kind::conflict) throw;
    throw RegistryError(Kind::conflict, "agent '" + name + "' was promoted or rolled back concurrently; try again");
  }
  publish();
  for (auto& v : store_.agent_versions(name))
    if (v.version == target->version) return v;
  return *target;
}

bool Registry::publish() {
  // Held across the read: a background refresh that read the store before a promotion must
  // not publish its older view after the promotion's own publish.
  std::lock_guard lock(mu_);
  std::vector<AgentEntry> entries;
  for (const auto& [a, v] : store_.promoted_agents()) {
    auto ep = parse_endpoint(v.endpoint);
    if (!ep) continue;  // validated on insert; a hand-edited row is skipped rather than trusted
    AgentEntry e;
    e.name = a.name;
    e.description = a.description;
    e.tier_minimum = a.tier_minimum;
    e.protocol = a.protocol;
    e.version = v.version;
    e.scheme = ep->scheme;
    e.host = ep->host;
    e.port = ep->port;
    entries.push_back(std::move(e));
  }
  std::sort(entries.begin(), entries.end(), [](const auto& x, const auto& y) { return x.name < y.name; });
  if (entries == published_) return false;
  published_ = entries;
  catalog_.publish(std::move(entries));
  return true;
}

}  // namespace pc::agents
