// MCP sessions (Streamable HTTP `Mcp-Session-Id`, SPEC §7, docs/mcp.md): created at initialize,
// bound to the tenant, subject and client of the token that initialized them. Anyone else
// presenting the id — another client or subject of the tenant, another tenant — is told it does
// not exist (404), and a real id of another tenant is also a tenant-access violation.
//
// The store is the truth shared by every node (any node resumes a session); each node keeps a
// cache in front of it, the approach of agents::SessionService (agents/sessions.h):
//  - a new session is written to the store BEFORE initialize is answered (one insert per
//    session), so the client's next request may land on any node at once. Unlike an agent
//    session (created on the invoke hot path), an MCP session is created once and used for many
//    calls, so the write is cheap where it matters;
//  - a cached session is trusted for `recheck` (default 5 s); after that the store is read again
//    on the work pool, so a session ended on another node is refused here within `recheck`;
//  - last_seen_at is written behind in batches (store::BatchWriter), at most once per
//    `touch_every` per session: the idle expiry is in minutes, so that imprecision is harmless;
//  - the federation's per-upstream state (SessionState::set_upstream) is applied to the cache at
//    once and written behind in the same batches; another node sees it after that write (a few
//    ms, the writer's linger), and until its own `recheck` ran out if it had the session cached.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>

#include "mcp/dispatch.h"
#include "store/batch_writer.h"
#include "store/records.h"

namespace pc::store {
class Store;
}
namespace pc::core {
class WorkPool;
}

namespace pc::mcp {

// Who a session belongs to; every field must match for the session to be usable.
struct SessionOwner {
  std::string tenant;
  std::string subject;
  std::string client;
};

// Why a session id is refused. The transport answers both with the same 404; the distinction
// exists only so that a real id of another tenant is audited as a tenant-access violation.
enum class SessionRefusal { not_found, foreign_tenant };

using SessionLookup = std::variant<McpSession, SessionRefusal>;

// True when `id` could be one of ours (43 base64url characters: 256 random bits). Anything
// else is refused without a store read.
bool is_mcp_session_id(std::string_view id);

class McpSessions final : public SessionState {
 public:
  struct Options {
    std::chrono::seconds idle{3600};  // mcp.session_idle_seconds
    std::chrono::milliseconds recheck{5000};
    std::chrono::seconds touch_every{30};  // capped at idle/4 (a short idle expiry in tests)
    std::chrono::milliseconds write_linger{20};
    std::size_t max_cached = 100000;
    std::size_t max_queue = 1 << 16;
  };
  // `pool` runs the store reads of cache misses; it must outlive this.
  McpSessions(store::Store& store, core::WorkPool& pool, Options options);
  ~McpSessions() override;  // stop()
  McpSessions(const McpSessions&) = delete;
  McpSessions& operator=(const McpSessions&) = delete;

  // Blocking (a store write; run on a work pool): a new session for `owner`, stored before it
  // returns. Throws StoreError (kind gone: the tenant was deleted).
  McpSession create(const SessionOwner& owner, std::string protocol_version, boost::json::object client_capabilities,
                    boost::json::object client_info);

  // The session `id` for `owner`, its last-seen refreshed. `done` runs on the calling thread when
  // the cache answers, else on a pool thread; a full pool calls `overloaded` instead (503).
  void open(const SessionOwner& owner, const std::string& id, std::function<void(SessionLookup)> done,
            std::function<void()> overloaded);

  // Blocking: ends the session (DELETE /mcp) when it belongs to `owner`; the refusal otherwise.
  // The session as it was is returned, so the caller can tell the federation.
  SessionLookup end(const SessionOwner& owner, const std::string& id);

  // SessionState: the federation's state for one upstream server of a session (empty: forget).
  void set_upstream(const std::string& session_id, const std::string& key, const std::string& value) override;

  // Blocking: removes sessions idle past the expiry from the store; returns how many.
  std::int64_t purge_expired();

  void set_idle(std::chrono::seconds idle);
  std::chrono::seconds idle() const { return std::chrono::seconds(idle_seconds_.load()); }
  // Blocks until every write queued so far is done.
  void flush();
  void stop();

 private:
  struct Entry {
    store::McpSessionRecord rec;
    std::chrono::steady_clock::time_point checked;  // when the store last confirmed it
    std::chrono::steady_clock::time_point touched;  // when last_seen_at was last queued
  };
  struct Write {
    enum Kind { touch, upstream } kind = touch;
    std::string session_id;
    std::string a;  // touch: the time; upstream: the key
    std::string b;  // upstream: the value ("" removes it)
  };

  SessionLookup admit_locked(Entry& e, const SessionOwner& owner, bool touch);
  SessionLookup load(const SessionOwner& owner, const std::string& id, bool touch);
  McpSession view_of(const store::McpSessionRecord& rec) const;
  void evict_locked();
  void queue(Write w);
  void write(std::vector<Write>& batch);
  std::chrono::seconds touch_every() const;

  store::Store& store_;
  core::WorkPool& pool_;
  Options opts_;
  std::atomic<std::int64_t> idle_seconds_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
  store::BatchWriter<Write> writer_;  // last: its thread uses the members above
};

}  // namespace pc::mcp
