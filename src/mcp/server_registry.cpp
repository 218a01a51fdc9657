#include "mcp/server_registry.h"

#include <algorithm>
#include <ctime>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/random.h"
#include "mcp/server_rules.h"
#include "store/batch_writer.h"
#include "store/run_audited.h"
#include "store/tenant_store.h"
#include "tenancy/capabilities.h"
#include "tenancy/tiers.h"

namespace pc::mcp {
namespace {

using Kind = ServerError::Kind;

constexpr std::string_view kIdPrefix = "mcps_";
constexpr std::size_t kMaxReason = 500;
constexpr std::size_t kMaxTools = 1000;
constexpr std::size_t kMaxDescription = 1000;

// Cut at `max` bytes without splitting a UTF-8 sequence (the text is shown in JSON answers).
std::string clip(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n));
}

// "2026-12-05T11:07:51.123Z" → unix ms; 0 when it does not parse.
std::int64_t unix_ms(const std::string& t) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d.%3dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) < 6)
    return 0;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<std::int64_t>(::timegm(&tm)) * 1000 + ms;
}

std::string scope_of(const std::string& tenant) { return tenant.empty() ? "platform" : tenant; }

std::string resource_of(const std::string& tenant, const std::string& name) {
  return "mcp_server/" + scope_of(tenant) + "/" + name;
}

bool same_configuration(const store::McpServerRecord& a, const store::McpServerRecord& b) {
  return a.server_id == b.server_id && a.tenant_id == b.tenant_id && a.name == b.name && a.url == b.url &&
         a.auth_mode == b.auth_mode && a.auth_secret == b.auth_secret && a.auth_header == b.auth_header &&
         a.tier_minimum == b.tier_minimum && a.enabled == b.enabled && a.disabled_tools == b.disabled_tools &&
         a.timeout_ms == b.timeout_ms && a.updated_at == b.updated_at;
}

// The tools of a tools/list answer as operators see them: name and description only, bounded.
// nullopt when `raw` is not a JSON array (the report's tools are then ignored).
std::optional<std::string> reduce_tools(std::string_view raw) {
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(raw, ec);
  if (ec || !v.is_array()) return std::nullopt;
  boost::json::array out;
  for (const auto& t : v.get_array()) {
    if (out.size() == kMaxTools) break;
    const auto* o = t.if_object();
    if (!o) continue;
    const auto* name = o->if_contains("name");
    if (!name || !name->is_string()) continue;
    const auto& n = name->get_string();
    boost::json::object item{{"name", clip(std::string_view(n.data(), n.size()), 256)}};
    if (const auto* d = o->if_contains("description"); d && d->is_string()) {
      const auto& text = d->get_string();
      item["description"] = clip(std::string_view(text.data(), text.size()), kMaxDescription);
    }
    out.push_back(std::move(item));
  }
  return boost::json::serialize(out);
}

core::Counter& health_dropped() {
  static core::Counter& c = core::metrics()
                                .counter("portcullis_mcp_server_health_dropped_total",
                                         "MCP server health reports dropped: the write-behind queue was full", {})
                                .labels({});
  return c;
}

}  // namespace

struct ServerRegistry::Snapshot {
  std::shared_ptr<const std::vector<ServerEntry>> globals;
  // Per tenant with servers of its own: the globals and its own, by name.
  std::map<std::string, std::shared_ptr<const std::vector<ServerEntry>>, std::less<>> tenants;
};

struct ServerRegistry::HealthItem {
  store::McpServerHealth health;
  std::string raw_tools;  // the report's tools array as received; reduced on the writer thread
  bool has_tools = false;
};

bool is_server_id(std::string_view s) {
  return s.size() > kIdPrefix.size() && s.substr(0, kIdPrefix.size()) == kIdPrefix && s.size() <= 64 &&
         std::all_of(s.begin() + kIdPrefix.size(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

std::optional<ServerEntry> ServerRegistry::entry_of(const store::McpServerRecord& row) {
  auto url = parse_server_url(row.url);
  if (!url) return std::nullopt;
  ServerEntry e;
  e.tenant = row.tenant_id;
  e.name = row.name;
  e.url = row.url;
  e.auth = row.auth_mode == "act_on_behalf" ? UpstreamAuth::act_on_behalf
           : row.auth_mode == "vault_secret" ? UpstreamAuth::vault_secret
                                             : UpstreamAuth::none;
  if (row.auth_mode != "none" && row.auth_mode != "act_on_behalf" && row.auth_mode != "vault_secret")
    return std::nullopt;  // the table's CHECK says otherwise; a hand-edited row is not guessed at
  e.secret = row.auth_secret;
  e.header = row.auth_header;
  e.tier_minimum = row.tier_minimum;
  e.enabled = row.enabled;
  e.disabled_tools = row.disabled_tools;
  e.timeout_ms = row.timeout_ms;
  e.created_at = unix_ms(row.created_at);
  e.updated_at = unix_ms(row.updated_at);
  e.scheme = url->scheme;
  e.host = url->host;
  e.port = url->port;
  e.path = url->path;
  return e;
}

ServerRegistry::ServerRegistry(store::Store& store, Options options)
    : store_(store), opts_(std::move(options)), snapshot_(std::make_shared<const Snapshot>(Snapshot{
                                                     std::make_shared<const std::vector<ServerEntry>>(), {}})) {
  if (!opts_.tier_exists) opts_.tier_exists = [](const std::string& t) { return tenancy::tier_rank(t) >= 0; };
  store::BatchWriter<HealthItem>::Options wo;
  wo.name = "mcp server health";
  wo.max_batch = 256;
  wo.max_queue = opts_.health_queue;
  wo.max_queue_bytes = 16 << 20;
  wo.linger = std::chrono::milliseconds(50);
  store::BatchWriter<HealthItem>::Hooks hooks;
  hooks.size = [](const HealthItem& i) { return sizeof(HealthItem) + i.raw_tools.size() + i.health.last_error.size(); };
  hooks.write = [this](std::vector<HealthItem>& batch) {
    std::vector<store::McpServerHealth> rows;
    rows.reserve(batch.size());
    for (auto& item : batch) {
      store::McpServerHealth h = item.health;
      if (item.has_tools) {
        h.tools = reduce_tools(item.raw_tools);
        if (!h.tools) log::warn("mcp server reported tools that are not a JSON array; ignored",
                                {{"tenant", h.tenant_id}, {"server", h.name}});
      }
      rows.push_back(std::move(h));
    }
    store_.record_mcp_server_health(rows);
  };
  hooks.describe = [](const HealthItem& i) { return scope_of(i.health.tenant_id) + "/" + i.health.name; };
  health_ = std::make_unique<store::BatchWriter<HealthItem>>(std::move(wo), std::move(hooks), store::BatchMetrics{});
}

ServerRegistry::~ServerRegistry() { stop(); }

void ServerRegistry::start() {
  std::lock_guard lock(poll_mu_);
  if (poll_.joinable() || stopping_) return;
  poll_ = std::thread([this] { run_poll(); });
}

void ServerRegistry::stop_poll() {
  {
    std::lock_guard lock(poll_mu_);
    stopping_ = true;
  }
  poll_cv_.notify_all();
  if (poll_.joinable()) poll_.join();
}

void ServerRegistry::stop() {
  stop_poll();
  if (health_) health_->stop();
}

void ServerRegistry::reload_soon() {
  {
    std::lock_guard lock(poll_mu_);
    reload_requested_ = true;
  }
  poll_cv_.notify_all();
}

void ServerRegistry::run_poll() {
  std::unique_lock lock(poll_mu_);
  for (;;) {
    poll_cv_.wait_for(lock, opts_.poll_interval, [this] { return stopping_ || reload_requested_; });
    if (stopping_) break;
    reload_requested_ = false;  // a request during the reload below asks for one more
    lock.unlock();
    try {
      if (publish()) log::info("mcp servers reloaded");
    } catch (const std::exception& e) {
      log::warn("mcp server refresh failed; keeping the loaded servers", {{"error", e.what()}});
    }
    lock.lock();
  }
}

void ServerRegistry::validate(store::McpServerRecord& row) const {
  if (!is_valid_server_name(row.name))
    throw ServerError(Kind::invalid,
                      "name must be 3 to 32 characters of a-z, 0-9 and '-', starting with a letter and ending with a "
                      "letter or digit");
  if (!parse_server_url(row.url))
    throw ServerError(Kind::invalid,
                      "url must be an http:// or https:// URL with a host, an optional port and path, and no "
                      "user info or fragment");
  if (row.auth_mode == "vault_secret" && row.auth_header.empty()) row.auth_header = std::string(kDefaultAuthHeader);
  if (auto why = check_auth(row.auth_mode, row.auth_secret, row.auth_header)) throw ServerError(Kind::invalid, *why);
  if (!opts_.tier_exists(row.tier_minimum))
    throw ServerError(Kind::invalid, "tierMinimum must name a configured tier");
  if (auto why = check_timeout(row.timeout_ms)) throw ServerError(Kind::invalid, *why);
  if (auto why = check_disabled_tools(row.disabled_tools)) throw ServerError(Kind::invalid, *why);
  // Duplicates say nothing more; order is kept as given.
  std::vector<std::string> unique;
  for (auto& t : row.disabled_tools)
    if (std::find(unique.begin(), unique.end(), t) == unique.end()) unique.push_back(std::move(t));
  row.disabled_tools = std::move(unique);
}

std::optional<store::McpServerRecord> ServerRegistry::find(const std::string& tenant, const std::string& name_or_id) {
  if (is_server_id(name_or_id)) {
    if (!tenant.empty()) return store::TenantStore(store_, tenant).find_mcp_server(name_or_id);
    auto row = store_.find_mcp_server(name_or_id);
    if (row && !row->tenant_id.empty()) return std::nullopt;  // a tenant's server is not under /v1/platform
    return row;
  }
  if (!tenant.empty()) return store::TenantStore(store_, tenant).find_mcp_server_named(name_or_id);
  return store_.find_mcp_server_named("", name_or_id);
}

store::McpServerRecord ServerRegistry::create(const std::string& tenant, const ServerSpec& spec,
                                              const store::AuditedChange& audited) {
  store::McpServerRecord row;
  row.tenant_id = tenant;
  if (!spec.name) throw ServerError(Kind::invalid, "name is required");
  if (!spec.url) throw ServerError(Kind::invalid, "url is required");
  row.name = *spec.name;
  row.url = *spec.url;
  row.auth_mode = spec.auth_mode.value_or("none");
  row.auth_secret = spec.auth_secret.value_or("");
  row.auth_header = spec.auth_header.value_or("");
  row.tier_minimum = spec.tier_minimum.value_or("basic");
  row.enabled = spec.enabled.value_or(true);
  row.disabled_tools = spec.disabled_tools.value_or(std::vector<std::string>{});
  row.timeout_ms = spec.timeout_ms.value_or(0);
  validate(row);
  row.server_id = std::string(kIdPrefix) + crypto::random_hex(12);
  row.created_at = row.updated_at = core::rfc3339_now();
  try {
    store::run_audited(audited, scope_of(tenant), "mcp_server.create", resource_of(tenant, row.name), [&] {
      if (tenant.empty()) store_.insert_mcp_server(row);
      else store::TenantStore(store_, tenant).insert_mcp_server(row);
    });
  } catch (const store::StoreError& e) {
    using SK = store::StoreError::Kind;
    if (e.kind() == SK::duplicate)
      throw ServerError(Kind::conflict, "an MCP server named '" + row.name + "' exists" +
                                            (tenant.empty() ? " among the global servers" : " for this tenant"));
    // Which tenant holds the name is not said: a global's registrant learns only that it is taken.
    if (e.kind() == SK::conflict)
      throw ServerError(Kind::conflict, tenant.empty() ? "the name '" + row.name + "' is used by a tenant's own MCP server"
                                                       : "the name '" + row.name + "' is taken by a global MCP server");
    throw;
  }
  // Deny by default covers capabilities: the server's tools get their own switch, on for
  // everyone; one that exists already (set up before, or shared with another tenant's server of
  // the same name) is left as the operator set it.
  try {
    tenancy::ensure_capability(store_, "tools." + row.name, "use the tools of the MCP server " + row.name);
  } catch (const store::StoreError& e) {
    if (e.kind() != store::StoreError::Kind::duplicate) throw;  // created concurrently: fine
  }
  publish();
  log::info("mcp server registered", {{"scope", scope_of(tenant)}, {"server", row.name}, {"url", row.url}});
  return *find(tenant, row.server_id);
}

store::McpServerRecord ServerRegistry::update(const std::string& tenant, const std::string& name_or_id,
                                              const ServerSpec& change, const store::AuditedChange& audited) {
  if (change.name) throw ServerError(Kind::invalid, "a server's name cannot be changed; register a new one");
  auto row = find(tenant, name_or_id);
  if (!row) throw ServerError(Kind::not_found, "no MCP server '" + name_or_id + "'");
  if (change.url) row->url = *change.url;
  if (change.auth_mode) {  // the auth object is replaced whole
    row->auth_mode = *change.auth_mode;
    row->auth_secret = change.auth_secret.value_or("");
    row->auth_header = change.auth_header.value_or("");
  } else if (change.auth_secret || change.auth_header) {
    throw ServerError(Kind::invalid, "auth.mode is required when auth is given");
  }
  if (change.tier_minimum) row->tier_minimum = *change.tier_minimum;
  if (change.enabled) row->enabled = *change.enabled;
  if (change.disabled_tools) row->disabled_tools = *change.disabled_tools;
  if (change.timeout_ms) row->timeout_ms = *change.timeout_ms;
  validate(*row);
  row->updated_at = core::rfc3339_now();
  store::run_audited(audited, scope_of(tenant), "mcp_server.update", resource_of(tenant, row->name), [&] {
    const bool changed = tenant.empty() ? store_.update_mcp_server(*row)
                                        : store::TenantStore(store_, tenant).update_mcp_server(*row);
    if (!changed) throw ServerError(Kind::not_found, "no MCP server '" + name_or_id + "'");
  });
  publish();
  log::info("mcp server updated", {{"scope", scope_of(tenant)}, {"server", row->name}});
  return *find(tenant, row->server_id);
}

void ServerRegistry::remove(const std::string& tenant, const std::string& name_or_id,
                            const store::AuditedChange& audited) {
  auto row = find(tenant, name_or_id);
  if (!row) throw ServerError(Kind::not_found, "no MCP server '" + name_or_id + "'");
  store::run_audited(audited, scope_of(tenant), "mcp_server.delete", resource_of(tenant, row->name), [&] {
    const bool removed = tenant.empty() ? store_.delete_mcp_server(row->server_id)
                                        : store::TenantStore(store_, tenant).delete_mcp_server(row->server_id);
    if (!removed) throw ServerError(Kind::not_found, "no MCP server '" + name_or_id + "'");
  });
  publish();
  log::info("mcp server deleted", {{"scope", scope_of(tenant)}, {"server", row->name}});
}

std::optional<store::McpServerRecord> ServerRegistry::get(const std::string& tenant, const std::string& name_or_id) {
  return find(tenant, name_or_id);
}

std::vector<store::McpServerRecord> ServerRegistry::list(const std::string& tenant, const std::string& after,
                                                         std::size_t limit) {
  if (tenant.empty()) return store_.list_mcp_servers("", after, limit);
  return store::TenantStore(store_, tenant).mcp_servers(after, limit);
}

bool ServerRegistry::publish() {
  // Held across the read: a poll that read the table before a change must not publish its older
  // view after the change's own publish.
  std::lock_guard lock(publish_mu_);
  auto rows = store_.all_mcp_servers();
  if (rows.size() == loaded_.size() && std::equal(rows.begin(), rows.end(), loaded_.begin(), same_configuration))
    return false;
  std::vector<ServerEntry> globals;
  std::map<std::string, std::vector<ServerEntry>, std::less<>> own;
  for (const auto& row : rows) {
    auto e = entry_of(row);
    if (!e) {
      log::warn("mcp server row left out: its url or auth mode is not valid",
                {{"scope", scope_of(row.tenant_id)}, {"server", row.name}});
      continue;
    }
    if (row.tenant_id.empty()) globals.push_back(std::move(*e));
    else own[row.tenant_id].push_back(std::move(*e));
  }
  auto by_name = [](const ServerEntry& a, const ServerEntry& b) { return a.name < b.name; };
  std::sort(globals.begin(), globals.end(), by_name);
  Snapshot next;
  for (auto& [tenant, entries] : own) {
    entries.insert(entries.end(), globals.begin(), globals.end());
    std::sort(entries.begin(), entries.end(), by_name);
    next.tenants.emplace(tenant, std::make_shared<const std::vector<ServerEntry>>(std::move(entries)));
  }
  next.globals = std::make_shared<const std::vector<ServerEntry>>(std::move(globals));
  snapshot_.publish(std::make_shared<const Snapshot>(std::move(next)));
  loaded_ = std::move(rows);
  return true;
}

std::shared_ptr<const std::vector<ServerEntry>> ServerRegistry::for_tenant(std::string_view tenant) const {
  const Snapshot* s = snapshot_.read();
  auto it = s->tenants.find(tenant);
  return it != s->tenants.end() ? it->second : s->globals;
}

void ServerRegistry::report(std::string_view server_tenant, std::string_view name, bool ok, std::string_view reason,
                            std::string_view tools_json) {
  const auto now = std::chrono::steady_clock::now();
  std::string why = ok ? std::string() : clip(reason, kMaxReason);
  {
    std::lock_guard lock(health_mu_);
    auto key = std::make_pair(std::string(server_tenant), std::string(name));
    auto it = last_report_.find(key);
    if (tools_json.empty() && it != last_report_.end() && it->second.ok == ok && it->second.reason == why &&
        now - it->second.at < opts_.health_min_interval)
      return;  // nothing new to say yet
    last_report_[key] = LastReport{ok, why, now};
  }
  HealthItem item;
  item.health.tenant_id = std::string(server_tenant);
  item.health.name = std::string(name);
  item.health.status = ok ? "ok" : "error";
  item.health.checked_at = core::rfc3339_now();
  item.health.last_error = std::move(why);
  item.has_tools = !tools_json.empty();
  item.raw_tools = std::string(tools_json);
  if (!health_->push(std::move(item))) health_dropped().inc();
}

void ServerRegistry::flush_health() { health_->flush(); }

}  // namespace pc::mcp
