#include "auth/authenticator.h"

#include <unordered_map>

#include "auth/token_cache.h"
#include "jose/jwks.h"
#include "tenancy/tenant_id.h"

namespace pc::auth {

struct Authenticator::Issuers {
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, TrustedIssuer, Hash, std::equal_to<>> by_iss;
};

namespace {

std::atomic<std::uint64_t> g_instances{0};

AuthResult invalid(std::string_view reason, std::string detail, std::string issuer = {}) {
  AuthResult r;
  r.status = AuthResult::Status::invalid;
  r.reason = std::string(reason);
  r.detail = std::move(detail);
  r.issuer_name = std::move(issuer);
  return r;
}

// An optional string claim: absent -> "", present and not a string -> error.
bool string_claim(const boost::json::object& o, std::string_view name, std::string& out, std::string& why) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return true;
  if (!v->is_string()) {
    why = "claim " + std::string(name) + " is not a string";
    return false;
  }
  out = std::string(v->get_string());
  return true;
}

// A list claim given as a JSON array of strings or one space-separated string.
bool list_claim(const boost::json::object& o, std::string_view name, std::vector<std::string>& out,
                std::string& why) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return true;
  if (v->is_string()) {
    std::string_view s = v->get_string();
    std::size_t i = 0;
    while (i < s.size()) {
      std::size_t j = s.find(' ', i);
      if (j == std::string_view::npos) j = s.size();
      if (j > i) out.emplace_back(s.substr(i, j - i));
      i = j + 1;
    }
    return true;
  }
  if (!v->is_array()) {
    why = "claim " + std::string(name) + " is not a string or an array of strings";
    return false;
  }
  for (const auto& item : v->get_array()) {
    if (!item.is_string()) {
      why = "claim " + std::string(name) + " holds a non-string";
      return false;
    }
    out.emplace_back(item.get_string());
  }
  return true;
}

bool contains(const std::vector<std::string>& list, std::string_view x) {
  for (const auto& s : list)
    if (s == x) return true;
  return false;
}

constexpr int kMaxActorChain = 8;

// The claims an issuer's token must carry, mapped per the issuer's claim names (SPEC §3).
std::shared_ptr<const Principal> to_principal(const TrustedIssuer& is, const boost::json::object& c,
                                              std::string& why) {
  auto p = std::make_shared<Principal>();
  p->issuer = is.issuer;
  p->issuer_name = is.name;
  if (!string_claim(c, "sub", p->subject, why)) return nullptr;
  if (p->subject.empty()) return why = "token has no subject (sub)", nullptr;
  if (!string_claim(c, is.claims.tenant, p->tenant, why)) return nullptr;
  if (p->tenant.empty()) return why = "token has no tenant claim (" + is.claims.tenant + ")", nullptr;
  if (p->tenant != tenancy::kPlatformTenant && !tenancy::is_valid_tenant_id(p->tenant))
    return why = "tenant claim is not a valid tenant id", nullptr;
  // An issuer speaks for the platform tenant only when that is explicit (the built-in issuer, or
  // "platform" in the issuer's tenants list): platform powers are never granted by default.
  if (p->is_platform() && !is.may_speak_for_platform && !contains(is.tenants, p->tenant))
    return why = "issuer " + is.name + " may not speak for the platform tenant", nullptr;
  if (!is.tenants.empty() && !contains(is.tenants, p->tenant))
    return why = "issuer " + is.name + " may not speak for this tenant", nullptr;
  if (!string_claim(c, is.claims.app, p->app, why)) return nullptr;
  if (p->app.empty()) return why = "token has no app claim (" + is.claims.app + ")", nullptr;

  std::string client, azp;
  if (!string_claim(c, "client_id", client, why) || !string_claim(c, "azp", azp, why)) return nullptr;
  p->client = client.empty() ? azp : client;
  if (!is.allowed_clients.empty() && !contains(is.allowed_clients, p->client))
    return why = "client is not allowed for issuer " + is.name, nullptr;

  std::vector<std::string> roles;
  if (!list_claim(c, is.claims.roles, roles, why)) return nullptr;
  for (auto& r : roles) {
    // Unknown roles mean nothing here; platform roles only count for the platform tenant, so a
    // tenant's IdP cannot grant platform powers by naming them.
    if (!is_known_role(r)) continue;
    if (is_platform_role(r) && !p->is_platform()) continue;
    if (!contains(p->roles, r)) p->roles.push_back(std::move(r));
  }
  if (!list_claim(c, "scope", p->scopes, why)) return nullptr;
  if (p->scopes.empty() && !list_claim(c, "scp", p->scopes, why)) return nullptr;
  if (!string_claim(c, is.claims.email, p->email, why) || !string_claim(c, is.claims.name, p->name, why) ||
      !string_claim(c, "jti", p->token_id, why))
    return nullptr;
  // RFC 8693 §4.1: act names the current actor, and nests the earlier ones.
  const boost::json::value* act = c.if_contains("act");
  for (int depth = 0; act && !act->is_null(); ++depth) {
    if (!act->is_object()) return why = "claim act is not an object", nullptr;
    if (depth == kMaxActorChain) return why = "delegation chain (act) is too long", nullptr;
    std::string sub;
    if (!string_claim(act->get_object(), "sub", sub, why)) return nullptr;
    if (depth == 0) p->actor = std::move(sub);
    else p->prior_actors.push_back(std::move(sub));
    act = act->get_object().if_contains("act");
  }
  p->expires_at = static_cast<std::int64_t>(c.at("exp").to_number<double>());  // checked by check_claims
  return p;
}

// One cache per thread, for whichever Authenticator used it last (tests create several).
struct ThreadCache {
  std::uint64_t owner = 0;
  TokenCache cache{16384};
};

}  // namespace

std::string_view failure_label(std::string_view r) {
  // Prefixes only: the rest of a reason may quote the token (a typ or alg value), and a token must
  // not be able to pick the label it is counted under.
  static constexpr std::pair<std::string_view, std::string_view> kLabels[] = {
      {"claims: token expired", "expired"},
      {"claims: token not yet valid", "not_yet_valid"},
      {"claims: iat is in the future", "not_yet_valid"},
      {"claims: wrong issuer", "issuer"},
      {"claims: missing iss", "issuer"},
      {"claims: iss ", "issuer"},
      {"claims: wrong audience", "audience"},
      {"claims: missing aud", "audience"},
      {"claims: aud ", "audience"},
      {"claims:", "claims"},
      {"jws: signature verification failed", "signature"},
      {"jws: missing alg", "algorithm"},
      {"jws: alg ", "algorithm"},
      {"jws: HMAC alg", "algorithm"},
      {"jws: unsupported alg", "algorithm"},
      {"alg '", "algorithm"},
  };
  for (const auto& [prefix, label] : kLabels)
    if (r.starts_with(prefix)) return label;
  return "malformed";
}

TrustedIssuer trusted_issuer(const core::IssuerConfig& c) {
  TrustedIssuer t;
  t.name = c.name;
  t.issuer = c.issuer;
  t.audiences = c.audiences;
  t.allowed_clients = c.allowed_clients;
  t.tenants = c.tenants;
  for (const auto& a : c.algorithms)
    if (auto alg = jose::parse_alg(a)) t.algorithms.push_back(*alg);
  t.leeway_seconds = c.leeway_seconds;
  t.claims = c.claims;
  return t;
}

Authenticator::Authenticator(const tenancy::TenantDirectory& tenants, std::size_t cache_entries_per_thread)
    : tenants_(tenants), cache_entries_(cache_entries_per_thread), instance_(++g_instances) {
  issuers_.publish(std::make_shared<Issuers>());
}

void Authenticator::set_issuers(std::vector<TrustedIssuer> issuers) {
  auto next = std::make_shared<Issuers>();
  for (auto& i : issuers) {
    std::string iss = i.issuer;
    next->by_iss.emplace(std::move(iss), std::move(i));
  }
  issuers_.publish(std::move(next));
  keys_changed();
}

AuthResult Authenticator::authenticate(std::string_view token, std::int64_t now, bool allow_refetch) const {
  if (token.empty()) return invalid("missing", "no bearer token");
  if (token.size() > jose::kMaxJwsSize) return invalid("malformed", "token is too large");

  thread_local ThreadCache tc;
  if (tc.owner != instance_) {
    tc.cache.clear();
    tc.owner = instance_;
  }
  tc.cache.set_max_entries(cache_entries_.load(std::memory_order_relaxed));
  const std::uint64_t epoch = this->epoch();
  const TokenCache::Digest key = TokenCache::digest(token);
  if (const auto* hit = tc.cache.find(key, now, epoch)) return check_tenant(*hit, true);

  std::int64_t valid_until = 0;
  AuthResult r = verify_uncached(token, now, allow_refetch, valid_until);
  if (r.status != AuthResult::Status::ok) return r;
  tc.cache.insert(key, r.principal, valid_until, epoch, now);
  return check_tenant(std::move(r.principal), false);
}

AuthResult Authenticator::verify_uncached(std::string_view token, std::int64_t now, bool allow_refetch,
                                          std::int64_t& valid_until) const {
  // One parse serves both: the unverified iss picks the issuer whose keys and rules then decide.
  std::string why;
  jose::detail::JwsView view;
  try {
    view = jose::detail::parse_jws_view(token, jose::JwsOptions{});
  } catch (const std::exception& e) {
    why = e.what();
    return invalid(failure_label(why), why);
  }
  const auto* iss = view.parsed.payload.if_contains("iss");
  if (!iss || !iss->is_string()) return invalid("issuer", "token has no issuer (iss)");
  const Issuers* all = issuers_.read();
  auto it = all->by_iss.find(std::string_view(iss->get_string()));
  if (it == all->by_iss.end()) return invalid("issuer", "token issuer is not trusted");
  const TrustedIssuer& is = it->second;

  const jose::JwkSet* keys = is.keys ? is.keys->current() : nullptr;
  auto need_keys = [&](std::string detail) {
    if (is.remote && allow_refetch) {
      AuthResult r;
      r.status = AuthResult::Status::refetch;
      r.refetch = is.remote;
      r.issuer_name = is.name;
      return r;
    }
    return invalid("unknown_key", std::move(detail), is.name);
  };
  if (!keys) return need_keys("issuer keys are not available");

  jose::VerifyOptions opts;
  opts.claims.issuer = is.issuer;
  opts.claims.audiences = is.audiences;
  opts.claims.leeway_seconds = is.leeway_seconds;
  opts.claims.now = now;
  opts.claims.max_lifetime_seconds = is.max_lifetime_seconds;
  jose::JwksVerifyResult v = jose::detail::verify_view_with_set(view, *keys, is.algorithms, opts);
  if (v.unknown_kid) return need_keys("no key of the issuer matches the token's kid");
  if (!v.ok) return invalid(failure_label(v.reason), v.reason, is.name);

  auto p = to_principal(is, v.payload, why);
  if (!p) return invalid("claims", why, is.name);
  valid_until = p->expires_at + is.leeway_seconds;
  AuthResult r;
  r.status = AuthResult::Status::ok;
  r.principal = std::move(p);
  r.issuer_name = is.name;
  return r;
}

AuthResult Authenticator::check_tenant(std::shared_ptr<const Principal> p, bool cached) const {
  // Checked on every use, cached or not, so deleting or disabling a client takes effect at once.
  // Client ids are the built-in issuer's; an external token naming the same id fails closed.
  // (Before find(): its pointer lives only until this thread's next read of the directory.)
  if (!p->client.empty() && tenants_.client_blocked(p->client))
    return invalid("client", "client is disabled or deleted", p->issuer_name);
  // issue 9: identity — a token an agent obtained while serving a client's call names that client
  // in its act chain only: disabling the client stops those too.
  if (!p->actor.empty()) {
    if (tenants_.client_blocked(p->actor)) return invalid("client", "client is disabled or deleted", p->issuer_name);
    for (const auto& a : p->prior_actors)
      if (tenants_.client_blocked(a)) return invalid("client", "client is disabled or deleted", p->issuer_name);
  }
  const tenancy::TenantInfo* t = tenants_.find(p->tenant);
  if (!t) return invalid("tenant", "unknown tenant", p->issuer_name);
  if (!t->active()) return invalid("tenant", "tenant is " + t->status, p->issuer_name);
  AuthResult r;
  r.issuer_name = p->issuer_name;
  r.status = AuthResult::Status::ok;
  r.tier = t->tier;
  r.principal = std::move(p);
  r.cached = cached;
  return r;
}

}  // namespace pc::auth
