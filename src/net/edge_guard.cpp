#include "net/edge_guard.h"

#include <vector>

#include "core/log.h"
#include "core/metrics.h"

namespace pc::net {
namespace {

core::CounterFamily& refusals() {
  static core::CounterFamily& f = core::metrics().counter(
      "portcullis_edge_refusals_total", "Connections and requests refused at the edge, by reason", {"reason"});
  return f;
}

core::GaugeFamily& tracked() {
  static core::GaugeFamily& f = core::metrics().gauge(
      "portcullis_edge_tracked_addresses", "Client addresses held by each per-address budget's table", {"budget"});
  return f;
}

core::CounterFamily& evicted() {
  static core::CounterFamily& f = core::metrics().counter(
      "portcullis_edge_evictions_total",
      "Addresses forgotten by a full per-address budget table (least recently seen first)", {"budget"});
  return f;
}

constexpr EdgeRefusal kTooManyConnections{503, "overloaded", "too many connections from this address; try again later"};
constexpr EdgeRefusal kRateLimited{429, "rate_limited", "too many requests from this address; retry later"};
constexpr EdgeRefusal kTokenLimited{429, "rate_limited", "too many token requests from this address; retry later"};
constexpr EdgeRefusal kAdminLimited{429, "rate_limited", "too many admin API requests from this address; retry later"};
constexpr EdgeRefusal kPushLimited{429, "rate_limited", "too many push notifications from this address; retry later"};
constexpr EdgeRefusal kBlocked{403, "request_blocked", "the request was blocked by a gateway rule"};

bool under(std::string_view path, std::string_view prefix) {
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

}  // namespace

EdgeRules::EdgeRules(const core::ServerConfig& server)
    : config(server.edge), trusted(server.trusted_proxies) {
  if (!config.waf.empty()) waf = std::make_unique<const Waf>(config.waf);
}

EdgeClass edge_class(std::string_view path) {
  if (path == "/oauth2/token") return EdgeClass::token;
  if (under(path, "/v1/tenants") || under(path, "/v1/platform")) return EdgeClass::admin;
  if (path.starts_with("/a2a-push/")) return EdgeClass::push;
  return EdgeClass::other;
}

EdgeGuard::EdgeGuard(std::size_t cap)
    : requests_(cap, &tracked().labels({"requests"}), &evicted().labels({"requests"})),
      token_(cap, &tracked().labels({"token_endpoint"}), &evicted().labels({"token_endpoint"})),
      admin_(cap, &tracked().labels({"admin_api"}), &evicted().labels({"admin_api"})),
      push_(cap, &tracked().labels({"a2a_push"}), &evicted().labels({"a2a_push"})) {
  for (auto reason : {"connections_per_ip", "requests_per_ip", "token_endpoint", "admin_api", "a2a_push", "waf"})
    refusals().labels({reason});
}

bool EdgeGuard::admit_connection(std::string_view peer, const EdgeRules& rules, std::string& key) {
  key.clear();
  const std::size_t cap = rules.config.max_connections_per_ip;
  if (cap == 0 || rules.trusted.contains(peer)) return true;  // a proxy carries many clients
  std::string k = ip_key(peer);
  if (!connections_.try_open(k, cap)) {
    refusals().labels({"connections_per_ip"}).inc();
    return false;
  }
  key = std::move(k);
  return true;
}

std::optional<EdgeRefusal> EdgeGuard::admit_head(Request& req, const EdgeRules& rules, Waf::Scan& scan) {
  req.peer_address = req.remote_address;
  if (!rules.trusted.empty()) {
    // the one header the operator's proxies write (server.edge.forwarded_header).
    const bool rfc7239 = rules.config.forwarded_header == "forwarded";
    std::vector<std::string_view> xff;
    for (const auto& h : req.headers)
      if (iequals(h.name, rfc7239 ? "forwarded" : "x-forwarded-for")) xff.push_back(h.value);
    if (rfc7239) xff = forwarded_for_values(xff);
    req.remote_address = client_address(req.peer_address, xff, rules.trusted);
  }
  const auto& c = rules.config;
  const auto cls = edge_class(req.path);
  const bool any_budget = c.requests_per_ip.rps > 0 || (cls == EdgeClass::token && c.token_endpoint.rps > 0) ||
                          (cls == EdgeClass::admin && c.admin_api.rps > 0) ||
                          (cls == EdgeClass::push && c.a2a_push.rps > 0);
  if (any_budget) {
    const std::string key = ip_key(req.remote_address);
    const auto now = IpRateTable::Clock::now();
    for (auto* t : {&requests_, &token_, &admin_, &push_}) t->set_capacity(c.max_tracked_ips);
    auto refuse = [](EdgeRefusal r, std::string_view reason, std::chrono::milliseconds wait) {
      refusals().labels({reason}).inc();
      r.retry_after = wait;
      return r;
    };
    if (auto d = requests_.take(key, c.requests_per_ip.rps, c.requests_per_ip.burst, now); !d.allowed)
      return refuse(kRateLimited, "requests_per_ip", d.retry_after);
    if (cls == EdgeClass::token) {
      if (auto d = token_.take(key, c.token_endpoint.rps, c.token_endpoint.burst, now); !d.allowed)
        return refuse(kTokenLimited, "token_endpoint", d.retry_after);
    } else if (cls == EdgeClass::admin) {
      if (auto d = admin_.take(key, c.admin_api.rps, c.admin_api.burst, now); !d.allowed)
        return refuse(kAdminLimited, "admin_api", d.retry_after);
    } else if (cls == EdgeClass::push) {
      if (auto d = push_.take(key, c.a2a_push.rps, c.a2a_push.burst, now); !d.allowed)
        return refuse(kPushLimited, "a2a_push", d.retry_after);
    }
  }
  if (rules.waf) {
    if (rules.waf->check_head(req, scan)) {
      refusals().labels({"waf"}).inc();
      return kBlocked;
    }
  } else {
    scan.body_needed = false;
  }
  return std::nullopt;
}

std::optional<EdgeRefusal> EdgeGuard::admit_body(const Request& req, const EdgeRules& rules, Waf::Scan& scan) {
  if (!rules.waf || !scan.body_needed) return std::nullopt;
  if (rules.waf->check_body(req, scan)) {
    refusals().labels({"waf"}).inc();
    return kBlocked;
  }
  return std::nullopt;
}

}  // namespace pc::net
