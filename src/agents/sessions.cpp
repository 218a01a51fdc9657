#include "agents/sessions.h"

#include <ctime>
#include <optional>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/work_pool.h"
#include "crypto/random.h"
#include "store/store.h"
#include "store/tenant_store.h"

namespace pc::agents {
namespace {

using Clock = std::chrono::steady_clock;

const store::BatchMetrics& metrics() {
  static const store::BatchMetrics m{
      &core::metrics().counter("portcullis_session_writes_total", "Session rows created or touched in the store").get(),
      nullptr,
      &core::metrics()
           .counter("portcullis_sessions_dropped_total",
                    "Session writes not made (queue full, stopped, or a failed batch): the session is known to this node only")
           .get(),
      &core::metrics()
           .counter("portcullis_sessions_dropped_total",
                    "Session writes not made (queue full, stopped, or a failed batch): the session is known to this node only")
           .get(),
      nullptr,
      &core::metrics().gauge("portcullis_session_queue_depth", "Session writes waiting to be written.").get(),
      nullptr,
  };
  return m;
}

// "2026-11-23T13:05:00.123Z" (the store's fixed format) → a time point; nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(std::string_view s) {
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  auto num = [&](std::size_t at, std::size_t n) -> int {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  std::tm tm{};
  tm.tm_year = num(0, 4) - 1900;
  tm.tm_mon = num(5, 2) - 1;
  tm.tm_mday = num(8, 2);
  tm.tm_hour = num(11, 2);
  tm.tm_min = num(14, 2);
  tm.tm_sec = num(17, 2);
  if (tm.tm_year < 0 || tm.tm_mon < 0 || tm.tm_mday < 0 || tm.tm_hour < 0 || tm.tm_min < 0 || tm.tm_sec < 0)
    return std::nullopt;
  int ms = 0;
  if (s.size() >= 24 && s[19] == '.') ms = std::max(0, num(20, 3));
  return std::chrono::system_clock::from_time_t(timegm(&tm)) + std::chrono::milliseconds(ms);
}

}  // namespace

bool is_session_id(std::string_view id) {
  if (id.size() != 36) return false;
  for (std::size_t i = 0; i < id.size(); ++i) {
    const char c = id[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
      return false;
    }
  }
  return true;
}

SessionService::SessionService(store::Store& store, core::WorkPool& pool, Options options)
    : store_(store),
      pool_(pool),
      opts_(options),
      ttl_seconds_(std::chrono::duration_cast<std::chrono::seconds>(options.idle_ttl).count()),
      writer_(store::BatchWriter<Write>::Options{"session", 1024, options.max_queue, 64u << 20, options.write_linger, {}},
              store::BatchWriter<Write>::Hooks{
                  [](const Write& w) {
                    return sizeof(Write) + w.rec.session_id.size() + w.rec.tenant_id.size() +
                           w.rec.principal.size() + w.rec.agent.size();
                  },
                  [this](std::vector<Write>& batch) { write(batch); },
                  [this](Write& w, store::Written ok) {
                    if (!w.insert) return;
                    if (ok != store::Written::yes)
                      log::error(ok == store::Written::no ? "session not stored; it is known to this node only"
                                                          : "session may not be stored; it may be known to this node only",
                                 {{"tenant", w.rec.tenant_id}, {"session", w.rec.session_id}});
                    std::lock_guard lock(mu_);
                    auto it = cache_.find(w.rec.session_id);
                    if (it != cache_.end()) it->second.pending = false;
                  },
                  nullptr,
                  [](const Write& w) { return w.rec.session_id; }},
              metrics()) {}

SessionService::~SessionService() { stop(); }

void SessionService::stop() { writer_.stop(); }
void SessionService::flush() { writer_.flush(); }

void SessionService::set_idle_ttl(std::chrono::hours ttl) {
  ttl_seconds_ = std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
}

void SessionService::write(std::vector<Write>& batch) {
  std::vector<store::SessionRecord> inserts;
  std::vector<std::pair<std::string, std::string>> touches;
  for (const auto& w : batch) {
    if (w.insert)
      inserts.push_back(w.rec);
    else
      touches.emplace_back(w.rec.session_id, w.rec.last_seen_at);
  }
  // Inserts first: a touch of a session created in the same batch must find its row.
  store_.insert_sessions(inserts);
  store_.touch_sessions(touches);
}

void SessionService::queue(Write w) {
  if (!writer_.push(std::move(w)))
    log::warn("session write dropped: the queue is full", {});
}

SessionView SessionService::view_of(const store::SessionRecord& rec, bool created) const {
  SessionView v;
  v.session_id = rec.session_id;
  v.agent = rec.agent;
  v.status = rec.status;
  v.created_at = rec.created_at;
  v.last_seen_at = rec.last_seen_at;
  if (auto seen = parse_rfc3339(rec.last_seen_at))
    v.expires_at = core::rfc3339(*seen + std::chrono::seconds(ttl_seconds_.load()));
  v.created = created;
  return v;
}

SessionResult SessionService::admit_locked(Entry& e, std::string_view tenant, std::string_view principal,
                                           const std::string* agent, bool touch) {
  const store::SessionRecord& r = e.rec;
  if (r.tenant_id != tenant) {
    // A real session of another tenant: refused like an unknown id, and counted (SPEC §6).
    store::count_tenant_access_violation();
    log::warn("tenant access violation", {{"tenant", std::string(tenant)}, {"resource", "session"}, {"owner", r.tenant_id}});
    return SessionRefusal::foreign_tenant;
  }
  if (r.principal != principal || (agent && r.agent != *agent) || r.status != "active")
    return SessionRefusal::not_found;
  const auto now = std::chrono::system_clock::now();
  // Fixed-width RFC 3339 compares as text.
  if (r.last_seen_at < core::rfc3339(now - std::chrono::seconds(ttl_seconds_.load()))) return SessionRefusal::not_found;
  if (touch) {
    e.rec.last_seen_at = core::rfc3339(now);
    const auto steady = Clock::now();
    if (!e.pending && steady - e.touched >= opts_.touch_every) {
      e.touched = steady;
      Write w;
      w.rec.session_id = r.session_id;
      w.rec.last_seen_at = e.rec.last_seen_at;
      // Pushed under mu_: the writer's done hook takes mu_ only for inserts' completion, never
      // while holding its own queue lock, so the order is safe.
      queue(std::move(w));
    }
  }
  return view_of(e.rec, false);
}

void SessionService::evict_locked() {
  if (cache_.size() < opts_.max_cached) return;
  // Settled entries only: a pending one is the only copy of its session until written. Which
  // ones go does not matter for correctness (the store answers a miss), so take them in order.
  const std::size_t target = opts_.max_cached - opts_.max_cached / 10;
  for (auto it = cache_.begin(); it != cache_.end() && cache_.size() > target;) {
    if (it->second.pending)
      ++it;
    else
      it = cache_.erase(it);
  }
}

void SessionService::open(const SessionOwner& owner, const std::string& requested_id,
                          std::function<void(SessionResult)> done, std::function<void()> overloaded) {
  if (requested_id.empty()) {
    Entry e;
    e.rec.session_id = crypto::uuid_v4();
    e.rec.tenant_id = owner.tenant;
    e.rec.principal = owner.principal;
    e.rec.agent = owner.agent;
    e.rec.status = "active";
    e.rec.created_at = core::rfc3339_now();
    e.rec.last_seen_at = e.rec.created_at;
    e.checked = e.touched = Clock::now();
    e.pending = true;
    SessionView v = view_of(e.rec, true);
    Write w;
    w.insert = true;
    w.rec = e.rec;
    {
      std::lock_guard lock(mu_);
      evict_locked();
      cache_.emplace(e.rec.session_id, std::move(e));
    }
    queue(std::move(w));
    return done(std::move(v));
  }
  if (!is_session_id(requested_id)) return done(SessionRefusal::not_found);
  std::optional<SessionResult> cached;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(requested_id);
    if (it != cache_.end() && (it->second.pending || Clock::now() - it->second.checked < opts_.recheck))
      cached = admit_locked(it->second, owner.tenant, owner.principal, &owner.agent, true);
  }
  // Answered outside the lock: `done` goes on to start the forward.
  if (cached) return done(std::move(*cached));
  auto job = [this, owner, requested_id, done]() mutable {
    SessionResult r = SessionRefusal::not_found;
    try {
      r = load(owner.tenant, owner.principal, &owner.agent, requested_id, true);
    } catch (const std::exception& e) {
      log::error("session lookup failed", {{"session", requested_id}, {"error", e.what()}});
      // Fail closed: a session that cannot be confirmed is not used.
    }
    done(std::move(r));
  };
  if (!pool_.try_submit(std::move(job))) overloaded();
}

SessionResult SessionService::load(std::string_view tenant, std::string_view principal, const std::string* agent,
                                   const std::string& id, bool touch) {
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    // Not yet in the store: the cache is the truth for it.
    if (it != cache_.end() && it->second.pending) return admit_locked(it->second, tenant, principal, agent, touch);
  }
  auto rec = store_.find_session(id);
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
  // Keep this node's later last-seen (its touch may still be queued).
  const std::string seen = std::max(e.rec.last_seen_at, rec->last_seen_at);
  e.rec = std::move(*rec);
  e.rec.last_seen_at = seen;
  e.checked = Clock::now();
  return admit_locked(e, tenant, principal, agent, touch);
}

SessionResult SessionService::get(std::string_view tenant, std::string_view principal, const std::string& id) {
  if (!is_session_id(id)) return SessionRefusal::not_found;
  return load(tenant, principal, nullptr, id, false);
}

SessionResult SessionService::end(std::string_view tenant, std::string_view principal, const std::string& id) {
  if (!is_session_id(id)) return SessionRefusal::not_found;
  bool pending = false;
  {
    std::lock_guard lock(mu_);
    auto it = cache_.find(id);
    pending = it != cache_.end() && it->second.pending;
  }
  if (pending) flush();  // the row must exist before it can be ended
  SessionResult r = load(tenant, principal, nullptr, id, false);
  if (!std::holds_alternative<SessionView>(r)) return r;
  store_.end_session(id);
  std::lock_guard lock(mu_);
  auto it = cache_.find(id);
  if (it != cache_.end()) it->second.rec.status = "ended";
  auto& v = std::get<SessionView>(r);
  v.status = "ended";
  return r;
}

}  // namespace pc::agents
