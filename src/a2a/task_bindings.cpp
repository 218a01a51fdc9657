#include "a2a/task_bindings.h"

#include <list>
#include <mutex>
#include <unordered_map>

#include "core/base64url.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "store/store.h"

namespace pc::a2a {
namespace {

core::Counter& cache_counter(std::string_view result) {
  static core::CounterFamily& f = core::metrics().counter(
      "portcullis_a2a_binding_lookups_total",
      "A2A task and context binding lookups in this node's cache (hit) or needing a store read (miss)",
      {"result"});
  return f.labels({result});
}

// What a node remembers of one bound id. Owner, context and session never change once bound
// (bindings are insert-if-absent and only the tenant's purge removes them), so an entry is never
// wrong about who owns the id; only `state` may lag what another node saw.
struct Entry {
  std::string key;
  std::string tenant;
  std::string principal;
  std::string context_id;  // tasks
  std::string session_id;
  std::string state;  // tasks
  std::string created_at;
  std::string updated_at;
};

// Tasks and contexts share one cache; their keys cannot collide (the kind is the first byte, the
// agent name ends at a NUL, which no agent name holds).
std::string key_of(char kind, std::string_view agent, std::string_view id) {
  std::string k;
  k.reserve(2 + agent.size() + id.size());
  k.push_back(kind);
  k.append(agent);
  k.push_back('\0');
  k.append(id);
  return k;
}

Lookup classify(const Owner& who, const Entry& e) {
  if (e.tenant != who.tenant) return Lookup::foreign_tenant;
  if (e.principal != who.principal) return Lookup::foreign_principal;
  return Lookup::mine;
}

void fill(const Entry& e, std::string_view task_id, TaskRecord* out) {
  if (!out) return;
  out->task_id = std::string(task_id);
  out->context_id = e.context_id;
  out->session_id = e.session_id;
  out->state = e.state;
  out->created_at = e.created_at;
  out->updated_at = e.updated_at;
}

Entry task_entry(std::string key, const store::A2aTaskRecord& r) {
  return Entry{std::move(key), r.tenant_id, r.principal, r.context_id, r.session_id, r.state, r.created_at, r.updated_at};
}

Entry context_entry(std::string key, const store::A2aContextRecord& r) {
  return Entry{std::move(key), r.tenant_id, r.principal, "", r.session_id, "", r.created_at, r.created_at};
}

// The cursor is opaque to clients: base64url of "created_at \n agent \n task_id" of the last row.
std::optional<store::A2aTaskQuery::Key> decode_cursor(std::string_view cursor) {
  auto raw = core::base64url_decode(cursor);
  if (!raw) return std::nullopt;
  const auto a = raw->find('\n');
  if (a == std::string::npos) return std::nullopt;
  const auto b = raw->find('\n', a + 1);
  if (b == std::string::npos || b + 1 >= raw->size()) return std::nullopt;
  return store::A2aTaskQuery::Key{raw->substr(0, a), raw->substr(a + 1, b - a - 1), raw->substr(b + 1)};
}

}  // namespace

// A bounded LRU in front of the store. Unknown ids are never cached: another node may bind one a
// moment later, and a cached "unknown" would then let this node take it for a second owner.
struct TaskBindings::Impl {
  store::Store& store;
  std::size_t capacity;
  mutable std::mutex mu;
  mutable std::list<Entry> lru;  // most recently used first
  std::unordered_map<std::string, std::list<Entry>::iterator> index;

  Impl(store::Store& s, std::size_t cap) : store(s), capacity(cap == 0 ? 1 : cap) {}

  // Copies the entry out (the caller uses it without the lock).
  std::optional<Entry> get(const std::string& key) const {
    std::lock_guard lock(mu);
    auto it = index.find(key);
    if (it == index.end()) return std::nullopt;
    lru.splice(lru.begin(), lru, it->second);
    return *it->second;
  }

  void put(Entry e) {
    std::lock_guard lock(mu);
    if (auto it = index.find(e.key); it != index.end()) {
      *it->second = std::move(e);
      lru.splice(lru.begin(), lru, it->second);
      return;
    }
    lru.push_front(std::move(e));
    index.emplace(lru.front().key, lru.begin());
    while (lru.size() > capacity) {
      index.erase(lru.back().key);
      lru.pop_back();
    }
  }

  void set_state(const std::string& key, std::string_view state, const std::string& at) {
    std::lock_guard lock(mu);
    auto it = index.find(key);
    if (it == index.end()) return;
    it->second->state = std::string(state);
    it->second->updated_at = at;
  }

  std::optional<Entry> probe(const std::string& key) const {
    auto e = get(key);
    cache_counter(e ? "hit" : "miss").inc();
    return e;
  }
};

TaskBindings::TaskBindings(store::Store& store, std::size_t cache_entries)
    : impl_(std::make_unique<Impl>(store, cache_entries)) {}
TaskBindings::~TaskBindings() = default;

std::optional<Lookup> TaskBindings::task_cached(const Owner& owner, std::string_view task_id, TaskRecord* out) const {
  auto e = impl_->probe(key_of('t', owner.agent, task_id));
  if (!e) return std::nullopt;
  const Lookup l = classify(owner, *e);
  if (l == Lookup::mine) fill(*e, task_id, out);
  return l;
}

std::optional<Lookup> TaskBindings::context_cached(const Owner& owner, std::string_view context_id,
                                                   std::string* session_id) const {
  auto e = impl_->probe(key_of('c', owner.agent, context_id));
  if (!e) return std::nullopt;
  const Lookup l = classify(owner, *e);
  if (l == Lookup::mine && session_id) *session_id = e->session_id;
  return l;
}

Lookup TaskBindings::task(const Owner& owner, std::string_view task_id, TaskRecord* out) {
  if (auto hit = task_cached(owner, task_id, out)) return *hit;
  auto row = impl_->store.find_a2a_task(owner.agent, task_id);
  if (!row) return Lookup::unknown;
  Entry e = task_entry(key_of('t', owner.agent, task_id), *row);
  const Lookup l = classify(owner, e);
  // Only the owner's own answers carry the record: a foreign caller learns nothing about the task.
  if (l == Lookup::mine) fill(e, task_id, out);
  impl_->put(std::move(e));
  return l;
}

Lookup TaskBindings::context(const Owner& owner, std::string_view context_id, std::string* session_id) {
  if (auto hit = context_cached(owner, context_id, session_id)) return *hit;
  auto row = impl_->store.find_a2a_context(owner.agent, context_id);
  if (!row) return Lookup::unknown;
  Entry e = context_entry(key_of('c', owner.agent, context_id), *row);
  const Lookup l = classify(owner, e);
  if (l == Lookup::mine && session_id) *session_id = e.session_id;
  impl_->put(std::move(e));
  return l;
}

bool TaskBindings::bind_context(const Owner& owner, std::string_view context_id, std::string_view session_id) {
  std::string key = key_of('c', owner.agent, context_id);
  if (auto e = impl_->get(key)) return classify(owner, *e) == Lookup::mine;  // bound already: no write
  store::A2aContextRecord r;
  r.agent = owner.agent;
  r.context_id = std::string(context_id);
  r.tenant_id = owner.tenant;
  r.principal = owner.principal;
  r.session_id = std::string(session_id);
  r.created_at = core::rfc3339_now();
  Entry e = context_entry(std::move(key), impl_->store.bind_a2a_context(r));  // the row that stands
  const bool mine = classify(owner, e) == Lookup::mine;
  impl_->put(std::move(e));
  return mine;
}

bool TaskBindings::bind_task(const Owner& owner, std::string_view task_id, std::string_view context_id,
                             std::string_view session_id, std::string_view state) {
  if (!context_id.empty() && !bind_context(owner, context_id, session_id)) return false;
  std::string key = key_of('t', owner.agent, task_id);
  if (auto e = impl_->get(key)) {
    if (classify(owner, *e) != Lookup::mine) return false;
    if (!state.empty() && e->state != state) set_state(owner, task_id, state);
    return true;
  }
  store::A2aTaskRecord r;
  r.agent = owner.agent;
  r.task_id = std::string(task_id);
  r.tenant_id = owner.tenant;
  r.principal = owner.principal;
  r.context_id = std::string(context_id);
  r.session_id = std::string(session_id);
  r.state = std::string(state);
  r.created_at = core::rfc3339_now();
  r.updated_at = r.created_at;
  Entry e = task_entry(std::move(key), impl_->store.bind_a2a_task(r));
  const bool mine = classify(owner, e) == Lookup::mine;
  const bool stale_state = mine && !state.empty() && e.state != state;  // bound earlier, moved on since
  impl_->put(std::move(e));
  if (stale_state) set_state(owner, task_id, state);
  return mine;
}

void TaskBindings::set_state(const Owner& owner, std::string_view task_id, std::string_view state) {
  if (state.empty()) return;
  const std::string key = key_of('t', owner.agent, task_id);
  if (auto e = impl_->get(key)) {
    // A stream repeats its state in every status event: only a change is written.
    if (classify(owner, *e) != Lookup::mine || e->state == state) return;
  }
  const std::string at = core::rfc3339_now();
  if (impl_->store.set_a2a_task_state(owner.agent, task_id, owner.tenant, owner.principal, state, at))
    impl_->set_state(key, state, at);
}

std::vector<TaskRecord> TaskBindings::list(std::string_view tenant, std::string_view agent, std::string_view cursor,
                                           std::size_t limit) {
  store::A2aTaskQuery q;
  q.tenant_id = std::string(tenant);
  q.agent = std::string(agent);
  if (!cursor.empty()) q.before = decode_cursor(cursor);
  q.limit = limit;
  std::vector<TaskRecord> out;
  for (auto& r : impl_->store.list_a2a_tasks(q)) {
    TaskRecord t;
    t.task_id = std::move(r.task_id);
    t.context_id = std::move(r.context_id);
    t.session_id = std::move(r.session_id);
    t.state = std::move(r.state);
    t.created_at = std::move(r.created_at);
    t.updated_at = std::move(r.updated_at);
    t.agent = std::move(r.agent);
    t.principal = std::move(r.principal);
    out.push_back(std::move(t));
  }
  return out;
}

std::string TaskBindings::next_cursor(const TaskRecord& last) {
  return core::base64url_encode(last.created_at + '\n' + last.agent + '\n' + last.task_id);
}

bool TaskBindings::valid_cursor(std::string_view cursor) { return cursor.empty() || decode_cursor(cursor).has_value(); }

std::size_t TaskBindings::cached_entries() const {
  std::lock_guard lock(impl_->mu);
  return impl_->lru.size();
}

}  // namespace pc::a2a
