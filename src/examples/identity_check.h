// How the example agent checks X-Portcullis-Identity (docs/agent-identity.md): the way any agent
// runtime should, with nothing but the gateway's public JWKS. ES256 only, typ JWT, iss = the
// gateway's issuer, aud = "agent:<its own name>", not expired, lifetime at most five minutes.
// The key set is fetched lazily (the gateway may start after the agent) and refetched when a token
// names a key it lacks, at most once a second (the kid comes from the caller).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json.hpp>

#include "jose/jwks.h"

namespace pc::examples {

class IdentityCheck {
 public:
  // GET of a URL → body; throws on failure or a status other than 200. Injected for tests.
  using Fetch = std::function<std::string(const std::string& url)>;
  // The production fetch: net::fetch, 5 s, https verified against `ca_file` (or the system store),
  // plain http to loopback only.
  static Fetch default_fetch(std::string ca_file);

  // `gateway_url` without a trailing slash; `issuer` empty = the gateway URL.
  IdentityCheck(std::string gateway_url, std::string issuer, std::string agent_name, Fetch fetch);
  // Any other receiver of act-on-behalf tokens (issue 10: an MCP server, whose audience is its own
  // URL): the audience given exactly.
  struct Audience {
    std::string value;
  };
  IdentityCheck(std::string gateway_url, std::string issuer, Audience audience, Fetch fetch);

  enum class Outcome { ok, refused, need_keys };
  struct Result {
    Outcome outcome = Outcome::refused;
    boost::json::object claims;  // ok: the verified payload
    std::string reason;          // refused: why (safe to show: never quotes the token)
  };

  // CPU only, thread-safe. need_keys: no key set yet, or the token names a kid the set lacks —
  // call refresh() (blocking) off the I/O thread, then check again.
  Result check(std::string_view token, std::int64_t now);

  // Fetches <gateway>/.well-known/jwks.json. Rate-limited (one fetch a second, however many
  // callers ask): returns false without fetching when one ran less than a second ago. Blocking.
  bool refresh();

  const std::string& audience() const { return audience_; }

 private:
  const std::string jwks_url_;
  const std::string issuer_;
  const std::string audience_;
  const Fetch fetch_;
  std::mutex keys_mu_;
  std::shared_ptr<const jose::JwkSet> keys_;
  std::mutex fetch_mu_;  // one fetch at a time; later callers see its result
  std::chrono::steady_clock::time_point last_fetch_{};
  bool fetched_ = false;
  // Tokens already verified, until they expire: the same caller's token is reused for minutes (the
  // gateway caches it), so most calls cost a lookup instead of an ECDSA verification.
  std::mutex cache_mu_;
  std::unordered_map<std::string, std::pair<std::int64_t, boost::json::object>> verified_;
};

}  // namespace pc::examples
