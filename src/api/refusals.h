// What a refused request costs (issue 8 item 4). A flood of garbage tokens is cheap to send and
// every refusal used to cost an audit row and a warn line: 44,000 refusals/s grew the database
// by about 47 MB/s. Here every refusal is still counted exactly
// (portcullis_auth_failures_total{reason}), but within a window (10 s by default):
// - audit: per source — (kind, reason, tenant, subject, client /24 or /64) — the first few
//   refusals (5 anonymous ones, 200 of an authenticated principal) are recorded one by one with their request id; the rest of that window becomes one
//   summary event of the same action with {"summary":true,"count":N,…}. Tenant-access
//   violations are always recorded one by one. Individual events go through the audit trail's
//   own bounded budget (AuditTrail::refusal), so refusals never use up the queue that served
//   calls need;
// - log: the first few warn lines per kind, then one "refusals not logged" line with the count.
// The number of distinct sources tracked per window is bounded; beyond it, one overflow source.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

#include "auth/principal.h"
#include "net/http.h"

namespace pc::api {

class AuditTrail;

struct RefusalOptions {
  std::chrono::milliseconds window{10000};
  std::size_t audited_per_source = 5;       // individual audit events per anonymous source and window
  std::size_t audited_per_principal = 200;  // … per authenticated principal's source and window
  std::size_t max_sources = 1024;      // sources tracked per window; the rest share one
  std::size_t logged_per_window = 20;  // individual warn lines per kind and window
};

class RefusalRecorder {
 public:
  using Options = RefusalOptions;


  explicit RefusalRecorder(const AuditTrail* trail, Options o = {});
  RefusalRecorder(const RefusalRecorder&) = delete;
  RefusalRecorder& operator=(const RefusalRecorder&) = delete;

  // A stage refused `req` with `answer` (401, 403, …). `who` is the principal when one was
  // authenticated; `reason` a short fixed label; `detail` safe to log (never the token).
  void refused(const net::Request& req, const auth::Principal* who, const net::Response& answer, std::string_view reason,
               std::string_view detail = {});
  // Cheap when nothing is pending: closes the window once it is over (summaries, the suppressed
  // count). Called on served requests and by the gateway's background loop.
  void tick();
  // Closes the window now (shutdown, tests).
  void flush();

 private:
  struct Source {
    std::string action, tenant, actor, reason, network, route, first_request_id;
    int status = 0;
    std::uint64_t audited = 0, summarized = 0;
  };
  using Clock = std::chrono::steady_clock;

  void close_window_locked(Clock::time_point now);

  const AuditTrail* trail_;
  const Options opts_;
  std::mutex mu_;
  Clock::time_point window_end_{};
  std::map<std::string, Source> sources_;
  std::uint64_t logged_[2] = {0, 0}, unlogged_[2] = {0, 0};  // [0] 401s, [1] other refusals
  std::atomic<bool> pending_{false};
};

// The network a refusal is attributed to: "a.b.c.0/24" for IPv4, the first four groups "/64"
// for IPv6, the address itself when it is neither.
std::string client_network(std::string_view address);

}  // namespace pc::api
