#include "examples/identity_check.h"

#include <stdexcept>

#include "jose/jws.h"
#include "net/http_client.h"

namespace pc::examples {
namespace {

constexpr std::int64_t kLeewaySeconds = 5;
constexpr std::int64_t kMaxLifetimeSeconds = 300;
constexpr std::size_t kMaxVerified = 10000;
constexpr auto kRefetchInterval = std::chrono::seconds(1);

std::string trim_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

IdentityCheck::Fetch IdentityCheck::default_fetch(std::string ca_file) {
  return [ca_file](const std::string& url) {
    net::FetchOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    o.max_body_bytes = jose::kMaxJwksSize;
    o.ca_file = ca_file;
    o.headers.push_back({"Accept", "application/json"});
    net::FetchResult r = net::fetch(url, o);
    if (r.status != 200) throw std::runtime_error("GET " + url + " answered " + std::to_string(r.status));
    return std::move(r.body);
  };
}

IdentityCheck::IdentityCheck(std::string gateway_url, std::string issuer, std::string agent_name, Fetch fetch)
    : jwks_url_(trim_slash(gateway_url) + "/.well-known/jwks.json"),
      issuer_(issuer.empty() ? trim_slash(gateway_url) : std::move(issuer)),
      audience_("agent:" + agent_name),
      fetch_(std::move(fetch)) {}

IdentityCheck::IdentityCheck(std::string gateway_url, std::string issuer, Audience audience, Fetch fetch)
    : jwks_url_(trim_slash(gateway_url) + "/.well-known/jwks.json"),
      issuer_(issuer.empty() ? trim_slash(gateway_url) : std::move(issuer)),
      audience_(std::move(audience.value)),
      fetch_(std::move(fetch)) {}

IdentityCheck::Result IdentityCheck::check(std::string_view token, std::int64_t now) {
  Result r;
  {
    std::lock_guard lock(cache_mu_);
    auto it = verified_.find(std::string(token));
    if (it != verified_.end()) {
      if (now < it->second.first + kLeewaySeconds) {
        r.outcome = Outcome::ok;
        r.claims = it->second.second;
        return r;
      }
      verified_.erase(it);
    }
  }
  std::shared_ptr<const jose::JwkSet> keys;
  {
    std::lock_guard lock(keys_mu_);
    keys = keys_;
  }
  if (!keys) {
    r.outcome = Outcome::need_keys;
    return r;
  }
  jose::VerifyOptions opts;
  opts.jws.require_typ = true;
  opts.claims.issuer = issuer_;
  opts.claims.audiences = {audience_};
  opts.claims.leeway_seconds = kLeewaySeconds;
  opts.claims.now = now;
  opts.claims.max_lifetime_seconds = kMaxLifetimeSeconds;
  jose::JwksVerifyResult v = jose::verify_jws_with_set(token, *keys, {jose::Alg::ES256}, opts);
  if (v.unknown_kid) {
    r.outcome = Outcome::need_keys;
    r.reason = "the token is signed with a key the gateway does not publish";
    return r;
  }
  if (!v.ok) {
    r.reason = v.reason;
    return r;
  }
  // An access token of the gateway (typ at+jwt) is not an identity, even with a matching audience.
  const auto* typ = v.header.if_contains("typ");
  if (!typ || !typ->is_string() || typ->get_string() != "JWT") {
    r.reason = "not an identity token (typ)";
    return r;
  }
  // One receiver only: a token whose audience is a list naming others too could be replayed there.
  const auto* aud = v.payload.if_contains("aud");
  if (!aud || !aud->is_string()) {
    r.reason = "the token is not for this receiver alone (aud)";
    return r;
  }
  const auto* sub = v.payload.if_contains("sub");
  const auto* tenant = v.payload.if_contains("tenantid");
  if (!sub || !sub->is_string() || sub->get_string().empty() || !tenant || !tenant->is_string() ||
      tenant->get_string().empty()) {
    r.reason = "the identity names no subject or tenant";
    return r;
  }
  r.outcome = Outcome::ok;
  r.claims = v.payload;
  const auto exp = static_cast<std::int64_t>(v.payload.at("exp").to_number<double>());
  std::lock_guard lock(cache_mu_);
  if (verified_.size() >= kMaxVerified) verified_.clear();
  verified_.emplace(std::string(token), std::make_pair(exp, r.claims));
  return r;
}

bool IdentityCheck::refresh() {
  std::lock_guard lock(fetch_mu_);
  const auto now = std::chrono::steady_clock::now();
  if (fetched_ && now - last_fetch_ < kRefetchInterval) return false;
  fetched_ = true;
  last_fetch_ = now;
  auto set = std::make_shared<const jose::JwkSet>(jose::JwkSet::parse(fetch_(jwks_url_)));
  {
    std::lock_guard keys_lock(keys_mu_);
    keys_ = std::move(set);
  }
  // A key the gateway stopped publishing must stop verifying at once.
  std::lock_guard cache_lock(cache_mu_);
  verified_.clear();
  return true;
}

}  // namespace pc::examples
