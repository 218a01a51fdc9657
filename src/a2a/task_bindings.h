// Which tenant (and principal) owns an A2A task, context or push config (SPEC §5, §6;
// docs/a2a.md). A runtime is shared by every tenant allowed to use its agent and knows nothing of
// tenants, so the gateway records the owner of every task and context id it relays and checks it
// on every later request that names one: an id bound to someone else — or never seen — is the A2A
// "task not found" error, and a real id of another tenant is also a tenant-access violation.
//
// The store is the truth shared by every node; each node keeps a bounded cache in front of it.
// A binding is durable before the answer that reveals the id goes to the client, so the client's
// next request may land on any node. Blocking calls (store): from a work pool, never an I/O thread.
// Owner: "bindings".
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::store {
class Store;
}

namespace pc::a2a {

struct Owner {
  std::string tenant;
  std::string principal;  // subject of the token that created it
  std::string agent;
};

enum class Lookup { mine, unknown, foreign_tenant, foreign_principal };

struct TaskRecord {
  std::string task_id;
  std::string context_id;
  std::string session_id;  // the gateway session (X-Portcullis-Session-Id) of its context
  std::string state;       // last state seen: submitted | working | input-required | completed | … ("" unknown)
  std::string created_at;  // RFC 3339
  std::string updated_at;
  std::string agent;      // filled by list() (operators' view); lookups know it already
  std::string principal;  // filled by list()
};

class TaskBindings {
 public:
  // `store` must outlive this object. cache_entries bounds the per-node cache.
  explicit TaskBindings(store::Store& store, std::size_t cache_entries = 100000);
  ~TaskBindings();
  TaskBindings(const TaskBindings&) = delete;
  TaskBindings& operator=(const TaskBindings&) = delete;

  // Who may use `task_id` / `context_id` of `owner.agent`: mine only when tenant AND principal
  // match. A foreign_tenant answer is counted as a tenant-access violation by the caller.
  Lookup task(const Owner& owner, std::string_view task_id, TaskRecord* out = nullptr);
  Lookup context(const Owner& owner, std::string_view context_id, std::string* session_id = nullptr);
  // The same answers from this node's cache only, without blocking (safe on an I/O thread):
  // nullopt on a cache miss (then call task()/context() from a pool). Only bound ids are cached,
  // so `unknown` never comes from here. A cached task's `state` may lag a transition another node
  // saw; owner, context and session never change once bound.
  std::optional<Lookup> task_cached(const Owner& owner, std::string_view task_id, TaskRecord* out = nullptr) const;
  std::optional<Lookup> context_cached(const Owner& owner, std::string_view context_id,
                                       std::string* session_id = nullptr) const;

  // Binds the ids an answer revealed (insert if absent; bind_task binds its context too when one is
  // given, first, so a task placed in another owner's context is refused as well). False when one of them is already bound
  // to another owner: the caller must not relay that answer (a runtime reusing ids across tenants).
  bool bind_context(const Owner& owner, std::string_view context_id, std::string_view session_id);
  bool bind_task(const Owner& owner, std::string_view task_id, std::string_view context_id,
                 std::string_view session_id, std::string_view state);
  // A state transition seen in an answer or event (metadata only, never content).
  void set_state(const Owner& owner, std::string_view task_id, std::string_view state);

  // Operators' view (Admin API): one tenant's tasks, newest first, ids after `cursor`.
  // `cursor` is "" or next_cursor() of the previous page's last row; a malformed one starts over.
  std::vector<TaskRecord> list(std::string_view tenant, std::string_view agent, std::string_view cursor,
                               std::size_t limit);
  static std::string next_cursor(const TaskRecord& last);
  // Whether `cursor` is one next_cursor() could have made (the route answers 400 otherwise).
  static bool valid_cursor(std::string_view cursor);

  std::size_t cached_entries() const;  // tasks and contexts in this node's cache (≤ cache_entries)

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::a2a
