#include "auth/act_on_behalf.h"

#include <algorithm>
#include <atomic>
#include <stdexcept>
#include <unordered_map>

#include <boost/json.hpp>

#include "core/clock.h"
#include "crypto/random.h"
#include "jose/jws.h"
#include "jose/sign.h"

namespace pc::auth {
namespace {

std::atomic<std::uint64_t> g_instances{0};

// Length-prefixed, so no field's content can imitate a separator (subjects of external issuers are
// arbitrary strings).
void put(std::string& key, std::string_view field) {
  key += std::to_string(field.size());
  key += ':';
  key += field;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

boost::json::object nest_actors(const std::vector<std::string>& chain) {
  boost::json::object act;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    boost::json::object outer{{"sub", *it}};
    if (!act.empty()) outer["act"] = std::move(act);
    act = std::move(outer);
  }
  return act;
}

// One cache per thread, for the issuer that used it last (tests make several). Tokens are few per
// thread (one per caller × audience × session in the last five minutes), so a plain map with a
// bound is enough.
constexpr std::size_t kCacheEntriesPerThread = 4096;

struct CachedToken {
  std::string token;
  std::int64_t expires_at = 0;
};

struct ThreadCache {
  std::uint64_t owner = 0;
  std::uint64_t key_generation = 0;
  std::uint64_t issuer_generation = 0;
  std::unordered_map<std::string, CachedToken> tokens;
};

bool opt_string(const boost::json::object& o, std::string_view name, std::string& out) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) return false;
  out = std::string(v->get_string());
  return true;
}

}  // namespace

std::vector<std::string> actor_chain(const Principal& caller) {
  std::vector<std::string> chain;
  chain.reserve(2 + caller.prior_actors.size());
  const std::string& first = caller.client.empty() ? caller.app : caller.client;
  if (!first.empty()) chain.push_back(first);
  if (!caller.actor.empty() && caller.actor != first) chain.push_back(caller.actor);
  if (!caller.actor.empty()) chain.insert(chain.end(), caller.prior_actors.begin(), caller.prior_actors.end());
  return chain;
}

bool is_server_audience(std::string_view audience) {
  std::string_view rest;
  if (audience.starts_with("https://")) rest = audience.substr(8);
  else if (audience.starts_with("http://")) rest = audience.substr(7);
  else return false;
  if (rest.empty() || rest.front() == '/') return false;  // no host
  return std::none_of(audience.begin(), audience.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

OnBehalfIssuer::OnBehalfIssuer(const SigningKeys& keys, std::string issuer) : keys_(keys), instance_(++g_instances) {
  issuer_.publish(std::make_shared<const std::string>(std::move(issuer)));
}

void OnBehalfIssuer::set_issuer(std::string issuer) {
  if (*issuer_.load() == issuer) return;  // a reload that kept it keeps the cached tokens too
  issuer_.publish(std::make_shared<const std::string>(std::move(issuer)));
}

std::string OnBehalfIssuer::issuer() const { return *issuer_.load(); }

std::uint64_t OnBehalfIssuer::minted() const { return minted_.load(std::memory_order_relaxed); }

std::string OnBehalfIssuer::token_for(const Principal& caller, std::string_view tier, std::string_view audience,
                                      std::string_view session_id) const {
  return token_for(caller, tier, audience, session_id, core::unix_now());
}

std::string OnBehalfIssuer::server_token_for(const Principal& caller, std::string_view tier,
                                             std::string_view server_url, std::string_view mcp_session_id) const {
  return server_token_for(caller, tier, server_url, mcp_session_id, core::unix_now());
}

std::string OnBehalfIssuer::server_token_for(const Principal& caller, std::string_view tier,
                                             std::string_view server_url, std::string_view mcp_session_id,
                                             std::int64_t now) const {
  if (!is_server_audience(server_url)) throw std::invalid_argument("an MCP server's audience must be its http(s) URL");
  return token_for(caller, tier, server_url, mcp_session_id, now);
}

std::string OnBehalfIssuer::token_for(const Principal& caller, std::string_view tier, std::string_view audience,
                                      std::string_view session_id, std::int64_t now) const {
  if (audience.empty()) throw std::invalid_argument("an act-on-behalf token needs an audience");
  thread_local ThreadCache cache;
  const std::uint64_t key_gen = keys_.active_generation();
  const std::uint64_t iss_gen = issuer_.generation();
  if (cache.owner != instance_ || cache.key_generation != key_gen || cache.issuer_generation != iss_gen) {
    cache.tokens.clear();
    cache.owner = instance_;
    cache.key_generation = key_gen;
    cache.issuer_generation = iss_gen;
  }
  // Everything the token says about the caller is in the key, so a hit is always the token a miss
  // would have minted (but for jti and times).
  std::string key;
  key.reserve(160);
  put(key, caller.issuer);
  put(key, caller.tenant);
  put(key, caller.subject);
  put(key, caller.client);
  put(key, caller.app);
  put(key, caller.actor);
  for (const auto& a : caller.prior_actors) put(key, a);
  key += '|';
  for (const auto& s : caller.scopes) put(key, s);
  key += '|';
  put(key, tier);
  put(key, audience);
  put(key, session_id);

  auto it = cache.tokens.find(key);
  if (it != cache.tokens.end() && now < it->second.expires_at - kOnBehalfRenewBeforeSeconds &&
      (caller.expires_at == 0 || it->second.expires_at <= caller.expires_at))
    return it->second.token;

  std::int64_t expires_at = 0;
  std::string token = mint(caller, tier, audience, session_id, now, expires_at);
  if (cache.tokens.size() >= kCacheEntriesPerThread) {
    std::erase_if(cache.tokens,
                  [now](const auto& e) { return e.second.expires_at - kOnBehalfRenewBeforeSeconds <= now; });
    if (cache.tokens.size() >= kCacheEntriesPerThread) cache.tokens.clear();
  }
  cache.tokens[std::move(key)] = CachedToken{token, expires_at};
  return token;
}

std::string OnBehalfIssuer::mint(const Principal& caller, std::string_view tier, std::string_view audience,
                                 std::string_view session_id, std::int64_t now, std::int64_t& expires_at) const {
  auto key = keys_.active();
  if (!key) throw std::runtime_error("no active signing key");
  std::shared_ptr<const std::string> iss = issuer_.load();
  if (iss->empty()) throw std::runtime_error("the gateway's issuer is not known yet");
  expires_at = now + kOnBehalfLifetimeSeconds;
  // Never outlive the caller's own token: the receiver could otherwise keep acting for the caller
  // (through the token exchange, or by replaying it) after the caller's access ended.
  if (caller.expires_at > 0) expires_at = std::min(expires_at, caller.expires_at);

  boost::json::object payload;
  payload["iss"] = *iss;
  payload["aud"] = audience;
  payload["sub"] = caller.subject;
  payload["iat"] = now;
  payload["nbf"] = now;
  payload["exp"] = expires_at;
  payload["jti"] = crypto::uuid_v4();
  payload["tenantid"] = caller.tenant;
  if (!caller.app.empty()) payload["appid"] = caller.app;
  if (!tier.empty()) payload["tier"] = tier;
  if (!caller.client.empty()) payload["client_id"] = caller.client;
  if (!caller.scopes.empty()) payload["scope"] = join(caller.scopes);
  if (!session_id.empty()) payload["session_id"] = session_id;
  const std::vector<std::string> chain = actor_chain(caller);
  if (!chain.empty()) payload["act"] = nest_actors(chain);
  minted_.fetch_add(1, std::memory_order_relaxed);
  return jose::make_jws(*key, boost::json::object{{"typ", "JWT"}}, payload);
}

std::variant<OnBehalfClaims, std::string> verify_on_behalf_token(std::string_view token, const jose::JwkSet& keys,
                                                                 std::string_view issuer, std::string_view audience,
                                                                 std::int64_t now, std::int64_t leeway_seconds) {
  if (issuer.empty()) return std::string("the gateway's issuer is not known yet");
  if (audience.empty()) return std::string("no audience to check");
  // A single string, exactly ours: an array naming us among others is a token meant for someone
  // else too, which a receiver must not accept (it could replay it there).
  try {
    jose::ParsedJws parsed = jose::parse_jws(token, {.require_typ = true});
    if (parsed.typ != "JWT") return std::string("not an act-on-behalf token (typ)");
    const auto* a = parsed.payload.if_contains("aud");
    if (!a || !a->is_string() || a->get_string() != audience) return std::string("not meant for this audience");
  } catch (const std::exception& e) {
    return std::string(e.what());
  }
  jose::VerifyOptions opts;
  opts.jws.require_typ = true;
  opts.claims.issuer = std::string(issuer);
  opts.claims.audiences = {std::string(audience)};
  opts.claims.leeway_seconds = leeway_seconds;
  opts.claims.now = now;
  opts.claims.max_lifetime_seconds = kOnBehalfLifetimeSeconds;
  jose::JwksVerifyResult r = jose::verify_jws_with_set(token, keys, {jose::Alg::ES256}, opts);
  if (!r.ok) return r.unknown_kid ? std::string("signed with a key this gateway does not publish") : r.reason;

  OnBehalfClaims c;
  c.audience = std::string(audience);
  const auto& p = r.payload;
  std::string scope;
  if (!opt_string(p, "sub", c.subject) || !opt_string(p, "tenantid", c.tenant) || !opt_string(p, "appid", c.app) ||
      !opt_string(p, "client_id", c.client) || !opt_string(p, "tier", c.tier) ||
      !opt_string(p, "session_id", c.session_id) || !opt_string(p, "jti", c.token_id) || !opt_string(p, "scope", scope))
    return std::string("a claim has the wrong type");
  if (c.subject.empty() || c.tenant.empty()) return std::string("sub and tenantid are required");
  for (std::size_t i = 0; i < scope.size();) {
    std::size_t j = scope.find(' ', i);
    if (j == std::string::npos) j = scope.size();
    if (j > i) c.scopes.push_back(scope.substr(i, j - i));
    i = j + 1;
  }
  const boost::json::value* act = p.if_contains("act");
  while (act && !act->is_null()) {
    if (!act->is_object() || c.actors.size() == kMaxActChain) return std::string("act is malformed or too long");
    std::string sub;
    if (!opt_string(act->get_object(), "sub", sub) || sub.empty()) return std::string("act without a sub");
    c.actors.push_back(std::move(sub));
    act = act->get_object().if_contains("act");
  }
  c.expires_at = static_cast<std::int64_t>(p.at("exp").to_number<double>());  // checked above
  return c;
}

}  // namespace pc::auth
