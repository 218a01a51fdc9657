// Sessions (SPEC §8): a conversation with one agent, bound to the tenant, principal and agent
// that opened it. The gateway creates the id (UUID v4 from the CSPRNG); anyone else presenting
// it — another principal, another tenant, another agent — is told it does not exist, as is a
// session that ended or stayed idle longer than retention.sessions_hours.
//
// The store is the truth shared by every node; each node keeps a cache in front of it, because
// `open` runs for every invocation on an I/O thread:
//  - a new session is answered at once and written behind, in batches (store::BatchWriter, linger
//    `write_linger`). Bound: another node may not know the id for up to write_linger plus one
//    batch commit after the answer that returned it (this node knows it at once). A failed write
//    is logged and counted (portcullis_sessions_dropped_total); the session then lives on this
//    node only, until its cache entry is evicted.
//  - a cached session is trusted for `recheck` (default 5 s); after that, the store is read again
//    on the work pool, so a session ended on another node is refused here within `recheck`.
//  - last_seen_at is written behind too, at most once per `touch_every` per session (default
//    60 s): the idle TTL is hours, so a minute's imprecision is harmless and saves a write per call.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "store/batch_writer.h"
#include "store/records.h"

namespace pc::store {
class Store;
}
namespace pc::core {
class WorkPool;
}

namespace pc::agents {

// Who a session belongs to; every field must match for the session to be usable.
struct SessionOwner {
  std::string tenant;
  std::string principal;  // the caller's subject
  std::string agent;
};

struct SessionView {
  std::string session_id;
  std::string agent;
  std::string status;  // "active" (an ended or expired session is never returned)
  std::string created_at;
  std::string last_seen_at;
  std::string expires_at;  // last_seen_at + the idle TTL
  bool created = false;    // open() made it just now
};

// Why a session id is refused. The API answers both with the same 404: the distinction exists
// only so that a real id of another tenant is audited as a tenant-access violation.
enum class SessionRefusal { not_found, foreign_tenant };

using SessionResult = std::variant<SessionView, SessionRefusal>;

// True when `id` has the canonical lowercase UUID form (any version): ids that cannot be ours
// are refused without a store read.
bool is_session_id(std::string_view id);

class SessionService {
 public:
  struct Options {
    std::chrono::hours idle_ttl{24};  // retention.sessions_hours
    std::chrono::milliseconds recheck{5000};
    std::chrono::seconds touch_every{60};
    std::chrono::milliseconds write_linger{20};
    std::size_t max_cached = 200000;  // entries; beyond it, settled entries are evicted
    std::size_t max_queue = 1 << 16;  // writes waiting
  };
  // `pool` runs the store reads of cache misses; it must outlive the service.
  SessionService(store::Store& store, core::WorkPool& pool, Options options);
  ~SessionService();  // stop()
  SessionService(const SessionService&) = delete;
  SessionService& operator=(const SessionService&) = delete;

  // The session for an invocation. `requested_id` empty: a new session is created. Otherwise the
  // session must exist, be active, not idle past the TTL, and belong to `owner` (tenant, principal
  // and agent); its last-seen time is refreshed. `done` runs on the calling thread when the cache
  // answers, else on a pool thread; a full pool answers std::nullopt-like: `overloaded` is called
  // instead (the route answers 503).
  void open(const SessionOwner& owner, const std::string& requested_id, std::function<void(SessionResult)> done,
            std::function<void()> overloaded);

  // Blocking (run on a work pool): GET /v1/sessions/{id} and DELETE. The agent is not checked —
  // the owner is the tenant and principal. end() answers not_found like get() does; ending twice
  // is refused the second time (the session no longer exists for the caller).
  SessionResult get(std::string_view tenant, std::string_view principal, const std::string& id);
  SessionResult end(std::string_view tenant, std::string_view principal, const std::string& id);

  void set_idle_ttl(std::chrono::hours ttl);
  // Blocks until every write queued so far is done.
  void flush();
  void stop();

 private:
  struct Entry {
    store::SessionRecord rec;
    std::chrono::steady_clock::time_point checked;  // when the store (or creation) last confirmed it
    std::chrono::steady_clock::time_point touched;  // when last_seen_at was last queued for the store
    bool pending = false;  // created here, not yet written: never evicted, never re-read
  };
  struct Write {
    bool insert = false;
    store::SessionRecord rec;  // insert: the whole row; touch: session_id and last_seen_at
  };

  // Checks the entry against the owner (agent: nullptr = any) and the TTL; with `touch`,
  // refreshes last-seen (queued for the store at most once per touch_every). Under mu_.
  SessionResult admit_locked(Entry& e, std::string_view tenant, std::string_view principal, const std::string* agent,
                             bool touch);
  // Reads the session from the store into the cache, then admits it. Blocking.
  SessionResult load(std::string_view tenant, std::string_view principal, const std::string* agent,
                     const std::string& id, bool touch);
  SessionView view_of(const store::SessionRecord& rec, bool created) const;
  void evict_locked();
  void queue(Write w);
  void write(std::vector<Write>& batch);

  store::Store& store_;
  core::WorkPool& pool_;
  Options opts_;
  std::atomic<std::int64_t> ttl_seconds_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
  store::BatchWriter<Write> writer_;  // last: its thread uses the members above
};

}  // namespace pc::agents
