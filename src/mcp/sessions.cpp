#include "mcp/sessions.h"

#include <boost/json/parse.hpp>
#include <optional>

#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/work_pool.h"
#include "crypto/random.h"
#include "store/store.h"
#include "store/tenant_store.h"

namespace pc::mcp {
namespace {

using Clock = std::chrono::steady_clock;

// 32 random bytes as base64url: 256 bits, visible ASCII (MCP: 0x21..0x7E), no padding.
constexpr std::size_t kIdBytes = 32;
constexpr std::size_t kIdChars = 43;

const store::BatchMetrics& metrics() {
  static const store::BatchMetrics m{
      &core::metrics()
           .counter("portcullis_mcp_session_writes_total", "MCP session touches and upstream-state changes written")
           .get(),
      nullptr,
      &core::metrics()
           .counter("portcullis_mcp_session_writes_dropped_total",
                    "MCP session writes not made (queue full, stopped, or a failed batch)")
           .get(),
      &core::metrics()
           .counter("portcullis_mcp_session_writes_dropped_total",
                    "MCP session writes not made (queue full, stopped, or a failed batch)")
           .get(),
      nullptr,
      &core::metrics().gauge("portcullis_mcp_session_queue_depth", "MCP session writes waiting to be written.").get(),
      nullptr,
  };
  return m;
}

core::Counter& sessions_created() {
  static core::Counter& c =
      core::metrics().counter("portcullis_mcp_sessions_created_total", "MCP sessions created (initialize)").get();
  return c;
}

boost::json::object parse_object(const std::string& text) {
  try {
    auto v = boost::json::parse(text);
    if (v.is_object()) return std::move(v.as_object());
  } catch (const std::exception&) {
  }
  return {};
}


}  // namespace

bool is_mcp_session_id(std::string_view id) {
  if (id.size() != kIdChars) return false;
  for (char c : id)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
      return false;
  return true;
}

McpSessions::McpSessions(store::Store& store, core::WorkPool& pool, Options options)
    : store_(store),
      pool_(pool),
      opts_(options),
      idle_seconds_(options.idle.count()),
      writer_(store::BatchWriter<Write>::Options{"mcp session", 1024, options.max_queue, 16u << 20,
                                                 options.write_linger, {}},
              store::BatchWriter<Write>::Hooks{
                  [](const Write& w) { return sizeof(Write) + w.session_id.size() + w.a.size() + w.b.size(); },
                  [this](std::vector<Write>& batch) { write(batch); },
                  nullptr,
                  nullptr,
                  // Never the id itself: it is the owner's bearer secret.
                  [](const Write& w) { return std::string(w.kind == Write::touch ? "touch" : "upstream ") + w.a; }},
              metrics()) {
  sessions_created();
}

McpSessions::~McpSessions() { stop(); }

void McpSessions::stop() { writer_.stop(); }
void McpSessions::flush() { writer_.flush(); }
void McpSessions::set_idle(std::chrono::seconds idle) { idle_seconds_ = idle.count(); }

std::chrono::seconds McpSessions::touch_every() const {
  return std::min(opts_.touch_every, std::chrono::seconds(std::max<std::int64_t>(idle_seconds_.load() / 4, 0)));
}

void McpSessions::write(std::vector<Write>& batch) {
  std::vector<std::pair<std::string, std::string>> touches;
  std::vector<store::McpUpstreamWrite> upstreams;
  for (const auto& w : batch) {
    if (w.kind == Write::touch)
      touches.emplace_back(w.session_id, w.a);
    else
      upstreams.push_back({w.session_id, w.a, w.b});
  }
  store_.touch_mcp_sessions(touches);
  store_.set_mcp_session_upstreams(upstreams);
}

void McpSessions::queue(Write w) {
  if (!writer_.push(std::move(w))) log::warn("mcp session write dropped: the queue is full", {});
}

McpSession McpSessions::view_of(const store::McpSessionRecord& rec) const {
  McpSession s;
  s.id = rec.session_id;
  s.tenant = rec.tenant_id;
  s.subject = rec.subject;
  s.client = rec.client_id;
  s.protocol_version = rec.protocol_version;
  s.client_capabilities = parse_object(rec.client_capabilities);
  s.client_info = parse_object(rec.client_info);
  s.upstream = rec.upstream;
  s.created_at = rec.created_ms;
  return s;
}

McpSession McpSessions::create(const SessionOwner& owner, std::string protocol_version,
                               boost::json::object client_capabilities, boost::json::object client_info) {
  store::McpSessionRecord rec;
  rec.session_id = crypto::random_token(kIdBytes);
  rec.tenant_id = owner.tenant;
  rec.subject = owner.subject;
  rec.client_id = owner.client;
  rec.protocol_version = std::move(protocol_version);
  rec.client_capabilities = core::json_text(client_capabilities);
  rec.client_info = core::json_text(client_info);
  const auto now = std::chrono::system_clock::now();
  rec.created_at = core::rfc3339(now);
  rec.created_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  rec.last_seen_at = rec.created_at;
  // Through the tenant-bound handle: the row can only be written for the caller's own tenant.
  store::TenantStore(store_, owner.tenant).insert_mcp_session(rec);
  sessions_created().inc();
  Entry e;
  e.rec = rec;
  e.checked = e.touched = Clock::now();
  McpSession s = view_of(rec);
  std::lock_guard lock(mu_);
  evict_locked();
  cache_.insert_or_assign(rec.session_id, std::move(e));
  return s;
}

SessionLookup McpSessions::admit_locked(Entry& e, const SessionOwner& owner, bool touch) {
  const store::McpSessionRecord& r = e.rec;
  if (r.tenant_id != owner.tenant) {
    // A real session of another tenant: refused like an unknown id, and counted (SPEC §6).
    store::count_tenant_access_violation();
    log::warn("tenant access violation", {{"tenant", owner.tenant}, {"resource", "mcp session"}, {"owner", r.tenant_id}});
    return SessionRefusal::foreign_tenant;
  }
  if (r.subject != owner.subject || r.client_id != owner.client) return SessionRefusal::not_found;
  const auto now = std::chrono::system_clock::now();
  // Fixed-width RFC 3339 compares as text.
  if (r.last_seen_at < core::rfc3339(now - std::chrono::seconds(idle_seconds_.load()))) return SessionRefusal::not_found;
  if (touch) {
    e.rec.last_seen_at = core::rfc3339(now);
    const auto steady = Clock::now();
    if (steady - e.touched >= touch_every()) {
      e.touched = steady;
      queue(Write{Write::touch, r.session_id, e.rec.last_seen_at, {}});
    }
  }
  return view_of(e.rec);
}

void McpSessions::evict_locked() {
  if (cache_.size() < opts_.max_cached) return;
  // Every entry is in the store (created ones are written before they are cached), so which go
  // does not matter for correctness: a miss reads the store.
  const std::size_t target = opts_.max_cached - opts_.max_cached / 10;
  for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;) it = cache_.erase(it);
}

void McpSessions::open(const SessionOwner& owner, const std::string& id, std::function<void(SessionLookup)> done,
                       std::function<void()> overloaded) {
  if (!is_mcp_session_id(id)) return done(SessionRefusal::not_found);
  std::optional<SessionLookup> cached;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    if (it != cache_.end() && Clock::now() - it->second.checked < opts_.recheck)
      cached = admit_locked(it->second, owner, true);
  }
  if (cached) return done(std::move(*cached));
  auto job = [this, owner, id, done]() mutable {
    SessionLookup r = SessionRefusal::not_found;
    try {
      r = load(owner, id, true);
    } catch (const std::exception& e) {
      // Fail closed: a session that cannot be confirmed is not used.
      log::error("mcp session lookup failed", {{"tenant", owner.tenant}, {"error", e.what()}});
    }
    done(std::move(r));
  };
  if (!pool_.try_submit(std::move(job))) overloaded();
}

SessionLookup McpSessions::load(const SessionOwner& owner, const std::string& id, bool touch) {
  std::optional<store::McpSessionRecord> rec;
  try {
    rec = store::TenantStore(store_, owner.tenant).find_mcp_session(id);
  } catch (const store::TenantAccessViolation&) {
    // Counted and logged by the handle. The cache keeps no copy for this caller.
    return SessionRefusal::foreign_tenant;
  }
  std::lock_guard lock(mu_);
  if (!rec) {
    cache_.erase(id);
    return SessionRefusal::not_found;
  }
  auto it = cache_.find(id);
  if (it == cache_.end()) {
    evict_locked();
    it = cache_.emplace(id, Entry{}).first;
    it->second.touched = Clock::now();
  }
  Entry& e = it->second;
  // Keep this node's later last-seen (its touch may still be queued), and upstream keys this
  // node set whose write is still queued are in the store's copy after that write; until then
  // the store's map is the one everyone agrees on.
  const std::string seen = std::max(e.rec.last_seen_at, rec->last_seen_at);
  e.rec = std::move(*rec);
  e.rec.last_seen_at = seen;
  e.checked = Clock::now();
  return admit_locked(e, owner, touch);
}

SessionLookup McpSessions::end(const SessionOwner& owner, const std::string& id) {
  if (!is_mcp_session_id(id)) return SessionRefusal::not_found;
  flush();  // upstream state set just before is in the store, and is what the caller is given
  SessionLookup r = load(owner, id, false);
  if (!std::holds_alternative<McpSession>(r)) return r;
  store_.delete_mcp_session(id);
  std::lock_guard lock(mu_);
  cache_.erase(id);
  return r;
}

void McpSessions::set_upstream(const std::string& session_id, const std::string& key, const std::string& value) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(session_id);
    if (it != cache_.end()) {
      if (value.empty())
        it->second.rec.upstream.erase(key);
      else
        it->second.rec.upstream[key] = value;
    }
  }
  queue(Write{Write::upstream, session_id, key, value});
}

std::int64_t McpSessions::purge_expired() {
  const auto before = core::rfc3339(std::chrono::system_clock::now() - std::chrono::seconds(idle_seconds_.load()));
  flush();  // touches queued here count
  return store_.purge_mcp_sessions_before(before);
}

}  // namespace pc::mcp
