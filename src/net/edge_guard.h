// The edge's checks on a connection and a request (issue 12, area "edge"; docs/edge.md), in the
// order the connection loop applies them:
//   accept:  open connections per peer address (trusted proxies exempt)      → 503 overloaded
//   head:    client address (X-Forwarded-For from trusted proxies only),
//            requests per client address                                     → 429 rate_limited
//            the token endpoint's and the admin API's own per-address budget → 429 rate_limited
//            WAF rules that need no body                                     → 403 request_blocked
//   body:    WAF rules with a body pattern                                   → 403 request_blocked
// All before routing and authentication: a refused request costs a table lookup and a pattern
// scan, never a token verification, a store round trip or a work-pool slot. The connection
// closes after a refusal (its unread bytes are drained briefly so the answer arrives).
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "core/config.h"
#include "net/edge_address.h"
#include "net/edge_budget.h"
#include "net/http.h"
#include "net/waf.h"

namespace pc::net {

// The configuration compiled (proxies parsed, WAF databases built): immutable, one per
// configuration, shared by the connections' settings snapshots.
struct EdgeRules {
  explicit EdgeRules(const core::ServerConfig& server);  // throws std::invalid_argument
  core::EdgeConfig config;
  TrustedProxies trusted;
  std::unique_ptr<const Waf> waf;  // null without rules
};

// Which budget a request path spends, besides the per-address one.
enum class EdgeClass { other, token, admin, push };  // push: /a2a-push/… (plans, issue 12)
EdgeClass edge_class(std::string_view path);

struct EdgeRefusal {
  int status;
  std::string_view code;
  std::string_view message;
  std::chrono::milliseconds retry_after{0};  // > 0: sent as Retry-After (seconds, rounded up)
};

// The live tables, one set per server, kept across reloads.
class EdgeGuard {
 public:
  explicit EdgeGuard(std::size_t max_tracked_ips);

  // A new connection from `peer`. Counted under `key` (set when counted; release it when the
  // connection ends); false when that address has its share of connections open already.
  bool admit_connection(std::string_view peer, const EdgeRules& rules, std::string& key);
  void release_connection(const std::string& key) { connections_.close(key); }

  // After the head is parsed: sets req.peer_address and req.remote_address (the client), then
  // applies the budgets and the head's WAF rules.
  std::optional<EdgeRefusal> admit_head(Request& req, const EdgeRules& rules, Waf::Scan& scan);
  // After the body is read, when scan.body_needed.
  std::optional<EdgeRefusal> admit_body(const Request& req, const EdgeRules& rules, Waf::Scan& scan);

  IpRateTable& requests() { return requests_; }
  IpConnectionTable& connections() { return connections_; }

 private:
  IpConnectionTable connections_;
  IpRateTable requests_, token_, admin_, push_;
};

}  // namespace pc::net
