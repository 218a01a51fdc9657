// Whether a URL may be registered as a webhook target (SPEC §5, docs/webhooks.md "SSRF"): https
// (http only when configured), no credentials in it, a host that resolves, and — unless private
// targets are allowed — no address it resolves to that is loopback, private, link-local, CGNAT,
// multicast, unspecified or reserved (net/address_policy.h). The same address rule is applied
// again to every address at connect time, on each delivery (DNS may answer differently later).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pc::agents {

struct TargetRules {
  bool allow_private_targets = false;
  bool allow_http = false;
};

inline constexpr std::size_t kMaxWebhookUrlLength = 2048;

// The reason `url` is refused, for the caller's 400 answer; nullopt when it is acceptable.
// Blocking: it resolves the host name (getaddrinfo).
std::optional<std::string> refuse_webhook_url(std::string_view url, const TargetRules& rules);

// The connect-time address check for net::FetchOptions::address_allowed (empty function when
// private targets are allowed).
std::function<bool(std::string_view)> webhook_address_policy(const TargetRules& rules);

}  // namespace pc::agents
