#include "auth/token_service.h"

#include <algorithm>

#include <boost/json.hpp>

#include "auth/agent_identity.h"
#include "crypto/random.h"
#include "crypto/secret_hash.h"
#include "jose/sign.h"

namespace pc::auth {
namespace {

OAuthError error(std::string code, std::string description, int status = 400) {
  return OAuthError{status, std::move(code), std::move(description)};
}

bool contains(const std::vector<std::string>& v, std::string_view x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

std::vector<std::string> split_scope(std::string_view s) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < s.size()) {
    std::size_t j = s.find(' ', i);
    if (j == std::string_view::npos) j = s.size();
    if (j > i && !contains(out, s.substr(i, j - i))) out.emplace_back(s.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

// RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E ), separated by single spaces.
bool valid_scope_text(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5B) || (c >= 0x5D && c <= 0x7E))) return false;
  return true;
}

// Requested scopes must all be grantable; none requested means all that are grantable.
std::variant<std::vector<std::string>, OAuthError> narrow(const std::optional<std::string>& requested,
                                                         const std::vector<std::string>& grantable) {
  if (!requested) return grantable;
  if (!valid_scope_text(*requested)) return error("invalid_scope", "scope is malformed");
  auto want = split_scope(*requested);
  for (const auto& s : want)
    if (!contains(grantable, s)) return error("invalid_scope", "scope '" + s + "' cannot be granted");
  return want;
}

// A secret compared against this when the client does not exist, so that an unknown client id
// takes as long to refuse as a wrong secret (no client-id oracle by timing).
const std::string& dummy_hash() {
  static const std::string h = crypto::hash_secret(crypto::random_token(32));
  return h;
}

}  // namespace

TokenService::TokenService(store::Store& store, const SigningKeys& keys, const tenancy::TenantDirectory& tenants,
                           VerifySubject verify_subject, TokenSettings settings)
    : store_(store), keys_(keys), tenants_(tenants), verify_subject_(std::move(verify_subject)) {
  set_settings(std::move(settings));
}

void TokenService::set_settings(TokenSettings s) {
  settings_.publish(std::make_shared<TokenSettings>(std::move(s)));
}

std::variant<IssuedToken, OAuthError> TokenService::handle(const TokenRequest& req, std::int64_t now) const {
  {
    const TokenSettings* s = settings_.read();
    if (s->issuer.empty() || s->audiences.empty())
      return error("temporarily_unavailable", "the token service is starting; try again", 503);
  }
  if (req.grant_type.empty()) return error("invalid_request", "grant_type is required");
  if (req.grant_type != kGrantClientCredentials && req.grant_type != kGrantTokenExchange)
    return error("unsupported_grant_type", "supported: client_credentials, token-exchange");
  if (req.grant_type == kGrantTokenExchange && req.client_id.empty() && req.client_secret.empty() &&
      !req.client_auth_basic && req.subject_token_type == kTokenTypeJwt)
    return agent_exchange(req, now);
  auto client = authenticate_client(req);
  if (auto* e = std::get_if<OAuthError>(&client)) return *e;
  const auto& c = std::get<store::ClientRecord>(client);
  if (!contains(c.grant_types, req.grant_type))
    return error("unauthorized_client", "this client may not use the " + req.grant_type + " grant");
  if (c.tenant_id != kPlatformTenant) {
    const tenancy::TenantInfo* t = tenants_.find(c.tenant_id);
    if (!t || !t->active()) return error("unauthorized_client", "the client's tenant is not active");
  }
  auto out = req.grant_type == kGrantClientCredentials ? client_credentials(c, req, now) : token_exchange(c, req, now);
  if (auto* e = std::get_if<OAuthError>(&out)) e->tenant = c.tenant_id;
  return out;
}

std::variant<store::ClientRecord, OAuthError> TokenService::authenticate_client(const TokenRequest& req) const {
  // RFC 6749 §5.2: 401 with WWW-Authenticate when the client tried the Basic scheme.
  const int status = 401;
  if (req.client_id.empty()) return error("invalid_client", "client authentication is required", status);
  auto c = store_.find_client(req.client_id);
  const bool secret_ok = crypto::verify_secret(req.client_secret, c ? c->secret_hash : dummy_hash());
  if (!c || !secret_ok || c->status != "active")
    return error("invalid_client", "client authentication failed", status);
  return *c;
}

std::variant<std::vector<std::string>, OAuthError> TokenService::audiences_for(const TokenRequest& req) const {
  const TokenSettings* s = settings_.read();
  if (req.audiences.empty()) return std::vector<std::string>{s->audiences.front()};
  std::vector<std::string> out;
  for (const auto& a : req.audiences) {
    if (!contains(s->audiences, a)) return error("invalid_target", "audience '" + a + "' is not served here");
    if (!contains(out, a)) out.push_back(a);
  }
  return out;
}

std::variant<IssuedToken, OAuthError> TokenService::client_credentials(const store::ClientRecord& c,
                                                                       const TokenRequest& req,
                                                                       std::int64_t now) const {
  auto aud = audiences_for(req);
  if (auto* e = std::get_if<OAuthError>(&aud)) return *e;
  auto scopes = narrow(req.scope, c.scopes);
  if (auto* e = std::get_if<OAuthError>(&scopes)) return *e;

  AccessTokenClaims claims;
  claims.subject = c.client_id;
  claims.audiences = std::get<std::vector<std::string>>(aud);
  claims.client_id = c.client_id;
  claims.tenant = c.tenant_id;
  claims.app = c.client_id;
  for (const auto& r : c.roles)
    if (is_known_role(r) && (!is_platform_role(r) || c.tenant_id == kPlatformTenant)) claims.roles.push_back(r);
  claims.scopes = std::get<std::vector<std::string>>(scopes);
  const std::int64_t ttl = settings_.read()->ttl_seconds;
  claims.expires_at = now + ttl;

  IssuedToken t;
  t.access_token = mint(claims, now, t.token_id);
  t.tenant = claims.tenant;
  t.subject = claims.subject;
  t.expires_in = ttl;
  t.scope = join(claims.scopes);
  return t;
}

std::variant<IssuedToken, OAuthError> TokenService::token_exchange(const store::ClientRecord& c,
                                                                   const TokenRequest& req,
                                                                   std::int64_t now) const {
  if (req.subject_token.empty()) return error("invalid_request", "subject_token is required");
  if (req.subject_token_type != kTokenTypeAccessToken && req.subject_token_type != kTokenTypeJwt)
    return error("invalid_request", "subject_token_type must be an access_token or jwt token type");
  if (!req.actor_token.empty())
    return error("invalid_request", "actor_token is not supported: the authenticated client is the actor");
  if (!req.requested_token_type.empty() && req.requested_token_type != kTokenTypeAccessToken &&
      req.requested_token_type != kTokenTypeJwt)
    return error("invalid_request", "only access tokens can be requested");

  AuthResult subject = verify_subject_(req.subject_token, now);
  if (subject.status != AuthResult::Status::ok)
    return error("invalid_grant", "subject_token is not valid: " + subject.detail);
  const Principal& p = *subject.principal;
  // The exchanging client acts inside its own tenant only: a client of tenant A must never turn
  // a token of tenant B into one it holds.
  if (p.tenant != c.tenant_id) return error("invalid_grant", "subject_token belongs to another tenant");

  auto aud = audiences_for(req);
  if (auto* e = std::get_if<OAuthError>(&aud)) return *e;
  // The delegated token carries at most what both the subject and the acting client hold.
  std::vector<std::string> grantable;
  for (const auto& s : p.scopes)
    if (contains(c.scopes, s)) grantable.push_back(s);
  auto scopes = narrow(req.scope, grantable);
  if (auto* e = std::get_if<OAuthError>(&scopes)) return *e;

  AccessTokenClaims claims;
  claims.subject = p.subject;
  claims.audiences = std::get<std::vector<std::string>>(aud);
  claims.client_id = c.client_id;
  claims.tenant = p.tenant;
  claims.app = p.app;
  // RFC 8693 §1.1: the result must not exceed what the acting client itself may hold, so its roles
  // are those both the subject token and the client carry (a Machine.Invoke client must not come
  // out of a user's token holding SelfService.Admin). Scopes are narrowed the same way above.
  for (const auto& r : p.roles)
    if (contains(c.roles, r)) claims.roles.push_back(r);
  claims.scopes = std::get<std::vector<std::string>>(scopes);
  claims.email = p.email;
  claims.name = p.name;
  claims.actor = c.client_id;
  if (!p.actor.empty()) {
    claims.prior_actors.push_back(p.actor);
    claims.prior_actors.insert(claims.prior_actors.end(), p.prior_actors.begin(), p.prior_actors.end());
  }
  // The verifier accepts at most eight nested actors; never mint what it would refuse.
  if (claims.prior_actors.size() >= 8) return error("invalid_grant", "the delegation chain is too long");
  // The delegated token never outlives the token it was made from.
  const std::int64_t ttl = settings_.read()->ttl_seconds;
  claims.expires_at = std::min(now + ttl, p.expires_at);
  if (claims.expires_at <= now) return error("invalid_grant", "subject_token has expired");

  IssuedToken t;
  t.access_token = mint(claims, now, t.token_id);
  t.tenant = claims.tenant;
  t.subject = claims.subject;
  t.expires_in = claims.expires_at - now;
  t.scope = join(claims.scopes);
  t.issued_token_type = std::string(kTokenTypeAccessToken);
  return t;
}

std::variant<IssuedToken, OAuthError> TokenService::agent_exchange(const TokenRequest& req, std::int64_t now) const {
  if (req.subject_token.empty()) return error("invalid_request", "subject_token is required");
  if (!req.actor_token.empty())
    return error("invalid_request", "actor_token is not supported: the agent the identity token names is the actor");
  if (!req.requested_token_type.empty() && req.requested_token_type != kTokenTypeAccessToken &&
      req.requested_token_type != kTokenTypeJwt)
    return error("invalid_request", "only access tokens can be requested");
  std::shared_ptr<const jose::JwkSet> set = keys_.verification_keys()->load();
  if (!set) return error("temporarily_unavailable", "the token service is starting; try again", 503);
  auto verified = verify_identity_token(req.subject_token, *set, settings_.read()->issuer, now);
  if (auto* why = std::get_if<std::string>(&verified))
    return error("invalid_grant", "subject_token is not a valid identity token of this gateway: " + *why);
  const IdentityClaims& id = std::get<IdentityClaims>(verified);
  // Agents serve tenants; a platform principal never calls one, so no identity of it is honoured.
  if (id.tenant == kPlatformTenant) return error("invalid_grant", "identity tokens of the platform tenant are not exchanged");
  // A client disabled or deleted since the call was made stops acting through agents at once.
  if (tenants_.client_blocked(id.client) || tenants_.client_blocked(id.subject))
    return error("invalid_grant", "the identity's client is disabled or deleted");
  for (const auto& a : id.actors)
    if (tenants_.client_blocked(a)) return error("invalid_grant", "the identity's client is disabled or deleted");
  const tenancy::TenantInfo* tenant = tenants_.find(id.tenant);
  if (!tenant || !tenant->active()) return error("invalid_grant", "the identity's tenant is not active");

  auto aud = audiences_for(req);
  if (auto* e = std::get_if<OAuthError>(&aud)) return *e;
  auto scopes = narrow(req.scope, id.scopes);
  if (auto* e = std::get_if<OAuthError>(&scopes)) return *e;

  AccessTokenClaims claims;
  const std::string agent = std::string(kAgentAudiencePrefix) + id.agent;
  claims.subject = id.subject;
  claims.audiences = std::get<std::vector<std::string>>(aud);
  // The agent is the party presenting the token: client and current actor alike, so the chain the
  // next agent sees is agent, then whoever acted before it (auth::actor_chain).
  claims.client_id = agent;
  claims.tenant = id.tenant;
  claims.app = id.app.empty() ? agent : id.app;
  // Enough to invoke agents and nothing else, whatever the user could do: the agent acts for the
  // user only to call other agents.
  claims.roles = {std::string(roles::kMachineInvoke)};
  claims.scopes = std::get<std::vector<std::string>>(scopes);
  claims.actor = agent;
  claims.prior_actors = id.actors;
  if (claims.prior_actors.size() + 1 > kMaxActChain) return error("invalid_grant", "the delegation chain is too long");
  const std::int64_t ttl = settings_.read()->ttl_seconds;
  // Never outlives the identity it came from (itself ≤ 5 minutes and ≤ the caller's token).
  claims.expires_at = std::min(now + ttl, id.expires_at);
  if (claims.expires_at <= now) return error("invalid_grant", "subject_token has expired");

  IssuedToken t;
  t.access_token = mint(claims, now, t.token_id);
  t.tenant = claims.tenant;
  t.subject = claims.subject;
  t.actor = agent;
  t.expires_in = claims.expires_at - now;
  t.scope = join(claims.scopes);
  t.issued_token_type = std::string(kTokenTypeAccessToken);
  return t;
}

std::string TokenService::mint(const AccessTokenClaims& c, std::int64_t now) const {
  std::string token_id;
  return mint(c, now, token_id);
}

std::string TokenService::mint(const AccessTokenClaims& c, std::int64_t now, std::string& token_id) const {
  auto key = keys_.active();
  if (!key) throw std::runtime_error("no active signing key");
  boost::json::object payload;
  payload["iss"] = settings_.read()->issuer;
  payload["sub"] = c.subject;
  if (c.audiences.size() == 1) payload["aud"] = c.audiences.front();
  else payload["aud"] = boost::json::array(c.audiences.begin(), c.audiences.end());
  payload["iat"] = now;
  payload["nbf"] = now;
  payload["exp"] = c.expires_at;
  token_id = crypto::uuid_v4();
  payload["jti"] = token_id;
  payload["client_id"] = c.client_id;
  payload["tenantid"] = c.tenant;
  payload["appid"] = c.app;
  payload["roles"] = boost::json::array(c.roles.begin(), c.roles.end());
  if (!c.scopes.empty()) payload["scope"] = join(c.scopes);
  if (!c.email.empty()) payload["email"] = c.email;
  if (!c.name.empty()) payload["name"] = c.name;
  if (!c.actor.empty()) {
    // Innermost (earliest) actor first, each wrapped by the one that followed it.
    boost::json::object act;
    for (auto it = c.prior_actors.rbegin(); it != c.prior_actors.rend(); ++it) {
      boost::json::object outer{{"sub", *it}};
      if (!act.empty()) outer["act"] = std::move(act);
      act = std::move(outer);
    }
    boost::json::object top{{"sub", c.actor}};
    if (!act.empty()) top["act"] = std::move(act);
    payload["act"] = std::move(top);
  }
  return jose::make_jws(*key, boost::json::object{{"typ", "at+jwt"}}, payload);
}

}  // namespace pc::auth
