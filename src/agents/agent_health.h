// AgentHealth (issue 9): is each promoted agent's runtime up? A background thread asks every
// agent in the catalog `GET /ping` every `interval` (server.upstream.health_check_interval_ms),
// several at a time, each bounded by `timeout`. The invoke route asks available() before it
// forwards, so callers of a runtime that is down get 503 agent_unavailable with Retry-After at
// once instead of waiting for a connect timeout; GET /v1/agents shows status().
//
// What counts as up: any HTTP answer below 500 (a runtime without a /ping route still answers
// 404, and is alive). Down: no connection, no answer within the timeout, or 5xx —
// `failures_to_mark_down` times in a row (one lost packet does not take an agent out); one good
// answer brings it back. Until the first ping an agent is "unknown", which counts as available:
// the checker never blocks traffic it has no evidence against.
//
// Status is per node (each gateway pings for itself) and follows the catalog: an agent whose
// promoted endpoint changed is "unknown" until its new endpoint was pinged. The metric
// portcullis_agents_unavailable counts the agents down now.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "agents/catalog.h"

namespace pc::agents {

inline constexpr std::string_view kAvailable = "available";
inline constexpr std::string_view kUnavailable = "unavailable";
inline constexpr std::string_view kUnknown = "unknown";

class AgentHealth {
 public:
  struct Options {
    std::chrono::milliseconds interval{3000};
    std::chrono::milliseconds timeout{0};  // per ping; 0 = min(interval, 2 s)
    int failures_to_mark_down = 2;
    unsigned parallel = 8;  // pings at once
    // PEM trust anchors for https runtimes (server.upstream.ca_file); empty = the system store.
    std::string ca_file;
  };
  // Whether the runtime at host:port answers (see above); blocking, at most `timeout`.
  using Probe = std::function<bool(const AgentEntry& agent, std::chrono::milliseconds timeout)>;

  // `catalog` must outlive this object. The default probe is ping().
  AgentHealth(const AgentCatalog& catalog, Options options);
  AgentHealth(const AgentCatalog& catalog, Options options, Probe probe);
  ~AgentHealth();  // stop()
  AgentHealth(const AgentHealth&) = delete;
  AgentHealth& operator=(const AgentHealth&) = delete;

  void start();  // the background thread; idempotent
  void stop();   // idempotent
  void check_now();  // one round now, blocking (start-up, tests)

  // kAvailable, kUnavailable or kUnknown, for the agent as the catalog has it now. Cheap (a
  // short lock), fine on an I/O thread.
  std::string_view status(const AgentEntry& agent) const;
  std::string_view status(std::string_view name) const;  // looks the agent up in the catalog
  bool available(const AgentEntry& agent) const { return status(agent) != kUnavailable; }
  // For Retry-After on a 503: the next check is at most one interval away.
  int retry_after_seconds() const;

  // GET http://host:port/ping over a plain socket: true on any HTTP status below 500.
  static bool ping(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout);
  // GET https://host:port/ping with net::fetch: TLS 1.2+, the certificate verified against
  // `ca_file` (empty: the system store) and `host`, as the proxy will; a runtime whose
  // certificate is refused is down (the proxy would refuse it too). Bounded by `timeout`.
  static bool ping_https(const std::string& host, std::uint16_t port, const std::string& ca_file,
                         std::chrono::milliseconds timeout);

 private:
  struct State {
    std::string scheme;
    std::string host;
    std::uint16_t port = 0;
    int failures = 0;
    bool checked = false;
    bool down = false;
  };
  void run();
  std::chrono::milliseconds ping_timeout() const;

  const AgentCatalog& catalog_;
  const Options options_;
  const Probe probe_;
  mutable std::mutex mu_;
  std::map<std::string, State, std::less<>> states_;  // by agent name
  std::mutex run_mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pc::agents
