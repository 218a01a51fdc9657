#include "auth/remote_keys.h"

#include "auth/jwks_origin.h"

#include <algorithm>
#include <charconv>
#include <stdexcept>

#include <boost/json.hpp>

#include "core/log.h"
#include "net/http_client.h"

namespace pc::auth {
namespace {

constexpr std::uint32_t kDefaultTtl = 300;
// After a failed refresh, try again after this long (or min_seconds, if that is shorter), so
// an IdP that comes back is noticed soon without being hammered while it is down.
constexpr std::uint32_t kRetrySeconds = 10;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string discovery_url(std::string issuer) {
  while (!issuer.empty() && issuer.back() == '/') issuer.pop_back();
  return issuer + "/.well-known/openid-configuration";  // OpenID Connect Discovery 1.0 §4
}

}  // namespace

FetchFn default_fetch() {
  return [](const std::string& url) {
    net::FetchOptions o;
    o.timeout = std::chrono::milliseconds(5000);
    o.max_body_bytes = jose::kMaxJwksSize;
    o.headers.push_back({"Accept", "application/json"});
    net::FetchResult r = net::fetch(url, o);
    FetchedDocument d;
    d.status = r.status;
    if (const std::string* cc = r.header("cache-control")) d.cache_control = *cc;
    d.body = std::move(r.body);
    return d;
  };
}

RemoteKeys::RemoteKeys(core::IssuerConfig config, FetchFn fetch, std::function<void()> on_change)
    : config_(std::move(config)), fetch_(std::move(fetch)), on_change_(std::move(on_change)) {}

std::uint32_t RemoteKeys::ttl_seconds(std::string_view cache_control, const core::JwksCacheConfig& c) {
  const std::string cc = lower(cache_control);
  std::uint32_t ttl = kDefaultTtl;
  if (cc.find("no-store") != std::string::npos || cc.find("no-cache") != std::string::npos) {
    ttl = c.min_seconds;
  } else if (auto at = cc.find("max-age="); at != std::string::npos) {
    const char* p = cc.data() + at + 8;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(p, cc.data() + cc.size(), v);
    if (ec == std::errc() && end != p) ttl = static_cast<std::uint32_t>(std::min<std::uint64_t>(v, UINT32_MAX));
    else if (ec == std::errc::result_out_of_range) ttl = UINT32_MAX;
  }
  return std::clamp(ttl, c.min_seconds, c.max_seconds);
}

std::string RemoteKeys::jwks_url() {
  if (!config_.discovery) return config_.jwks_uri;
  const std::string url = discovery_url(config_.issuer);
  FetchedDocument d = fetch_(url);
  if (d.status != 200) throw std::runtime_error("discovery: " + url + " answered " + std::to_string(d.status));
  boost::system::error_code ec;
  boost::json::parse_options opts;
  opts.max_depth = 16;
  boost::json::value v = boost::json::parse(d.body, ec, {}, opts);
  if (ec || !v.is_object()) throw std::runtime_error("discovery: " + url + " is not a JSON object");
  const auto& o = v.get_object();
  const auto* iss = o.if_contains("issuer");
  // OpenID Connect Discovery §4.3: the document's issuer must be exactly the one we asked about;
  // otherwise a document copied to (or served by) another host could name someone else's keys.
  if (!iss || !iss->is_string() || iss->get_string() != config_.issuer)
    throw std::runtime_error("discovery: " + url + " names a different issuer");
  const auto* jwks = o.if_contains("jwks_uri");
  if (!jwks || !jwks->is_string() || jwks->get_string().empty())
    throw std::runtime_error("discovery: " + url + " has no jwks_uri");
  // The keys must come from the issuer itself (auth/jwks_origin.h); the URL is not echoed.
  if (!jwks_uri_allowed(config_.issuer, jwks->get_string()))
    throw std::runtime_error("discovery: " + url + " names a jwks_uri outside the issuer's origin (refused)");
  return std::string(jwks->get_string());
}

std::string RemoteKeys::refresh(Clock::time_point now) {
  const auto& cache = config_.jwks_cache;
  auto schedule = [&](std::uint32_t seconds) {
    std::lock_guard lock(mu_);
    next_refresh_ = now + std::chrono::seconds(seconds);
  };
  std::uint64_t generation;
  {
    std::lock_guard lock(mu_);
    generation = ++started_generation_;
  }
  try {
    const std::string url = jwks_url();
    FetchedDocument d = fetch_(url);
    if (d.status != 200) throw std::runtime_error("jwks: " + url + " answered " + std::to_string(d.status));
    std::vector<std::string> skipped;
    auto set = std::make_shared<jose::JwkSet>(jose::JwkSet::parse(d.body, &skipped));
    for (const auto& why : skipped)
      log::warn("jwks: key skipped", {{"issuer", config_.name}, {"reason", why}});
    if (set->empty()) throw std::runtime_error("jwks: " + url + " has no usable signing key");
    bool changed;
    std::size_t count = set->size();
    {
      // Compare and publish in one step: a refresh that started earlier but ends later than
      // another must not replace the other's (newer) keys with the ones it fetched before.
      std::lock_guard lock(mu_);
      if (generation < published_generation_) return "";
      published_generation_ = generation;
      next_refresh_ = now + std::chrono::seconds(ttl_seconds(d.cache_control, cache));
      changed = d.body != last_jwks_text_;
      if (changed) {
        last_jwks_text_ = std::move(d.body);
        keys_.publish(std::move(set));
      }
    }
    if (changed) {
      log::info("jwks: keys updated", {{"issuer", config_.name}, {"keys", count}});
      if (on_change_) on_change_();
    }
    return "";
  } catch (const std::exception& e) {
    schedule(std::min(kRetrySeconds, cache.min_seconds));
    return e.what();
  }
}

RemoteKeys::Clock::time_point RemoteKeys::next_refresh() const {
  std::lock_guard lock(mu_);
  return next_refresh_;
}

bool RemoteKeys::allow_refetch(Clock::time_point now) {
  std::lock_guard lock(mu_);
  const auto interval = std::chrono::seconds(config_.jwks_cache.refetch_interval_seconds);
  if (last_refetch_ && now - *last_refetch_ < interval) return false;
  last_refetch_ = now;
  return true;
}

}  // namespace pc::auth
