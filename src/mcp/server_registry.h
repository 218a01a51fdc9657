// The registry of upstream MCP servers (SPEC §7, area "servers"): global (platform) servers and
// each tenant's own, kept in the store and published as an immutable snapshot the federation
// reads on every request (mcp::ServerDirectory). Every change here republishes at once; a poll
// thread re-reads the table every few seconds so that changes made on other nodes arrive too.
// Registering a server creates its capability `tools.<name>`, enabled, unless it exists.
//
// It is also where the federation reports what it learned of a server (mcp::ServerHealthSink):
// reports may come from an I/O thread, so they are queued and written behind by one background
// writer (store::BatchWriter), coalesced, never on the caller's thread.
//
// Admin calls (create, update, remove, get, list) block on the store: call them from a WorkPool.
// `tenant` "" means the globals; a tenant's rows are reached only through a store::TenantStore
// bound to that tenant, so a server id of another tenant is a tenant-access violation.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "core/published.h"
#include "mcp/server.h"
#include "store/store.h"

namespace pc::store {
template <class Item>
class BatchWriter;
}

namespace pc::mcp {

// A refused change; `kind` picks the HTTP status (invalid 400, not_found 404, conflict 409).
class ServerError : public std::runtime_error {
 public:
  enum class Kind { invalid, not_found, conflict };
  ServerError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// A registration (POST) or a change (PATCH: unset fields stay as they are).
struct ServerSpec {
  std::optional<std::string> name;  // POST only
  std::optional<std::string> url;
  std::optional<std::string> auth_mode;
  std::optional<std::string> auth_secret;
  std::optional<std::string> auth_header;
  std::optional<std::string> tier_minimum;
  std::optional<bool> enabled;
  std::optional<std::vector<std::string>> disabled_tools;
  std::optional<std::int64_t> timeout_ms;
};

// A server id ("mcps_" + hex) as the Admin API shows it; a path segment of that shape names a
// server by id instead of by name (names cannot contain '_').
bool is_server_id(std::string_view s);

class ServerRegistry final : public ServerDirectory, public ServerHealthSink {
 public:
  struct Options {
    std::chrono::milliseconds poll_interval{2000};
    // Whether a tier is configured (tierMinimum must name one). Default: tenancy::tier_rank >= 0.
    std::function<bool(const std::string&)> tier_exists;
    // Health reports: a report like the last one written for that server (same outcome and
    // reason, no tools) within this interval is dropped, so per-call reports cost no write.
    std::chrono::milliseconds health_min_interval{10000};
    std::size_t health_queue = 4096;
  };

  ServerRegistry(store::Store& store, Options options);
  ~ServerRegistry() override;  // stop()
  ServerRegistry(const ServerRegistry&) = delete;
  ServerRegistry& operator=(const ServerRegistry&) = delete;

  // The poll thread; stop_poll() ends it, stop() also writes the queued health reports and
  // refuses later ones. Both idempotent; nothing starts again after either.
  void start();
  void stop_poll();
  void stop();
  // another node changed the table (a change signal, or Redis came back
  // after signals may have been lost): the poll thread re-reads it now instead of at its next
  // tick. Any thread, never blocks on the store.
  void reload_soon();

  // ---- admin (blocking). `audited` (audit::change_audit of the request) commits the change
  // with its event mcp_server.create / .update / .delete in one transaction.
  store::McpServerRecord create(const std::string& tenant, const ServerSpec& spec,
                                const store::AuditedChange& audited = {});
  store::McpServerRecord update(const std::string& tenant, const std::string& name_or_id, const ServerSpec& change,
                                const store::AuditedChange& audited = {});
  void remove(const std::string& tenant, const std::string& name_or_id, const store::AuditedChange& audited = {});
  // With health and tools. nullopt when the scope has no such server.
  std::optional<store::McpServerRecord> get(const std::string& tenant, const std::string& name_or_id);
  // One scope by name, names after `after`, at most `limit`.
  std::vector<store::McpServerRecord> list(const std::string& tenant, const std::string& after, std::size_t limit);

  // Re-reads the table and publishes it when it changed (the poll, and after each change here).
  // Returns whether it changed. Blocking.
  bool publish();

  // ---- ServerDirectory: never blocks (one snapshot load).
  std::shared_ptr<const std::vector<ServerEntry>> for_tenant(std::string_view tenant) const override;

  // ---- ServerHealthSink: never blocks; queued (dropped and counted when the queue is full).
  void report(std::string_view server_tenant, std::string_view name, bool ok, std::string_view reason,
              std::string_view tools_json) override;
  // Blocks until the reports queued so far are written (tests, shutdown).
  void flush_health();

  // The entry the federation would see for a row (url parts filled in); nullopt for a row whose
  // url no longer parses (it is left out of the snapshot rather than trusted).
  static std::optional<ServerEntry> entry_of(const store::McpServerRecord& row);

 private:
  struct Snapshot;
  struct HealthItem;

  std::optional<store::McpServerRecord> find(const std::string& tenant, const std::string& name_or_id);
  void validate(store::McpServerRecord& row) const;
  void run_poll();

  store::Store& store_;
  Options opts_;
  core::Published<Snapshot> snapshot_;
  std::mutex publish_mu_;                        // one reload at a time; never an older one after a newer
  std::vector<store::McpServerRecord> loaded_;   // what the last publish() read, to skip no-op reloads

  std::mutex health_mu_;
  struct LastReport {
    bool ok;
    std::string reason;
    std::chrono::steady_clock::time_point at;
  };
  std::map<std::pair<std::string, std::string>, LastReport> last_report_;
  std::unique_ptr<store::BatchWriter<HealthItem>> health_;

  std::mutex poll_mu_;
  std::condition_variable poll_cv_;
  bool stopping_ = false;
  bool reload_requested_ = false;  // reload_soon() was called
  std::thread poll_;
};

}  // namespace pc::mcp
