#include "api/token_routes.h"

#include <chrono>

#include <boost/json.hpp>

#include "core/json_text.h"

#include "api/form.h"
#include "net/media_type.h"  // edgefix (issue 12)
#include "audit/audit_log.h"
#include "core/base64url.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/work_pool.h"

namespace pc::api {
namespace {

// RFC 6749 §5.1: token responses must not be cached.
net::Response no_store(net::Response r) {
  r.headers.push_back({"Cache-Control", "no-store"});
  r.headers.push_back({"Pragma", "no-cache"});
  return r;
}

net::Response oauth_error(const auth::OAuthError& e, bool basic) {
  auto r = no_store(net::Response::json(
      e.status, core::json_text(boost::json::object{{"error", e.error}, {"error_description", e.description}})));
  if (e.status == 401 && basic) r.headers.push_back({"WWW-Authenticate", "Basic realm=\"portcullis\""});
  return r;
}

bool is_form(const net::Request& req) { return net::has_media_type(req, "application/x-www-form-urlencoded"); }

// Parses the request into a TokenRequest, or the OAuth error to answer.
std::variant<auth::TokenRequest, auth::OAuthError> parse_token_request(const net::Request& req) {
  auto bad = [](std::string d) { return auth::OAuthError{400, "invalid_request", std::move(d)}; };
  if (!is_form(req)) return bad("the body must be application/x-www-form-urlencoded");
  auto form = parse_form(req.body);
  if (!form) return bad("the form body is malformed");

  auth::TokenRequest t;
  bool secret_in_body = false, id_in_body = false;
  std::vector<std::string> seen;
  for (auto& [name, value] : *form) {
    // RFC 6749 §3.2: parameters must not repeat; RFC 8693 lets audience and resource repeat.
    if (name == "audience" || name == "resource") {
      t.audiences.push_back(std::move(value));
      continue;
    }
    if (std::find(seen.begin(), seen.end(), name) != seen.end()) return bad("parameter " + name + " is repeated");
    seen.push_back(name);
    if (name == "grant_type") t.grant_type = std::move(value);
    else if (name == "client_id") t.client_id = std::move(value), id_in_body = true;
    else if (name == "client_secret") t.client_secret = std::move(value), secret_in_body = true;
    else if (name == "scope") t.scope = std::move(value);
    else if (name == "subject_token") t.subject_token = std::move(value);
    else if (name == "subject_token_type") t.subject_token_type = std::move(value);
    else if (name == "actor_token") t.actor_token = std::move(value);
    else if (name == "requested_token_type") t.requested_token_type = std::move(value);
    // Other parameters are ignored (RFC 6749 §3.2).
  }

  if (const std::string* authz = req.header("authorization")) {
    std::string_view v = *authz;
    if (v.size() < 6 || !net::iequals(v.substr(0, 6), "basic ")) return bad("only the Basic scheme is accepted here");
    if (secret_in_body) return bad("use one client authentication method, not two");
    auto decoded = core::base64_decode(v.substr(6));
    std::size_t colon = decoded ? decoded->find(':') : std::string::npos;
    std::string id, secret;
    // RFC 6749 §2.3.1: the id and secret are form-encoded before they are joined.
    if (colon == std::string::npos || !form_decode(std::string_view(*decoded).substr(0, colon), id) ||
        !form_decode(std::string_view(*decoded).substr(colon + 1), secret))
      return auth::OAuthError{401, "invalid_client", "the Basic credentials are malformed"};
    if (id_in_body && id != t.client_id) return bad("client_id differs from the authenticated client");
    t.client_id = std::move(id);
    t.client_secret = std::move(secret);
    t.client_auth_basic = true;
  }
  return t;
}

struct TokenMetrics {
  core::CounterFamily& issued = core::metrics().counter(
      "portcullis_tokens_issued_total", "Access tokens issued by the built-in issuer, by grant", {"grant"});
  core::CounterFamily& refused = core::metrics().counter(
      "portcullis_token_requests_refused_total", "Token requests refused, by OAuth error code", {"error"});
  static TokenMetrics& get() {
    static TokenMetrics m;
    return m;
  }
};

audit::Event token_event(const net::Request& req, std::string tenant, std::string actor, std::string action,
                         std::string outcome, boost::json::object details) {
  audit::Event e;
  e.tenant_id = tenant.empty() ? std::string(auth::kPlatformTenant) : std::move(tenant);
  e.actor = std::move(actor);
  e.action = std::move(action);
  e.resource = req.path;
  e.outcome = std::move(outcome);
  e.request_id = req.request_id;
  e.details = core::json_text(details);
  return e;
}

// A refusal: not waited on, dropped when the audit queue is full (a flood of bad credentials
// must not crowd out the events of served requests). The client id is only claimed here, so it
// goes into the details, not the actor.
void audit_refusal(audit::AuditLog* log, const net::Request& req, const auth::TokenRequest* t,
                   const auth::OAuthError& e) {
  if (!log) return;
  boost::json::object details{{"error", e.error}, {"status", e.status}, {"remoteAddress", req.remote_address}};
  if (t) {
    details["grantType"] = t->grant_type;
    details["clientId"] = t->client_id;
  }
  const bool authn = e.error == "invalid_client";
  log->record(token_event(req, e.tenant, authn || e.tenant.empty() ? "anonymous" : t->client_id,
                          authn ? "security.authentication_failed" : "token.refused", "denied", std::move(details)));
}

std::string metadata(const std::string& issuer) {
  boost::json::object o{
      {"issuer", issuer},
      {"token_endpoint", issuer + "/oauth2/token"},
      {"jwks_uri", issuer + "/.well-known/jwks.json"},
      {"grant_types_supported", {std::string(auth::kGrantClientCredentials), std::string(auth::kGrantTokenExchange)}},
      {"token_endpoint_auth_methods_supported", {"client_secret_basic", "client_secret_post"}},
      {"subject_types_supported", {"public"}},
      // RFC 8414 requires both; MCP clients (the official SDK)
      // refuse metadata without them. No response type is supported: the authorization
      // endpoint only says so (below), tokens come from the token endpoint alone.
      {"authorization_endpoint", issuer + "/oauth2/authorize"},
      {"response_types_supported", boost::json::array{}},
  };
  return core::json_text(o);
}

}  // namespace

void add_token_routes(net::Router& router, TokenRoutesDeps deps) {
  TokenMetrics::get();
  auto serve_metadata = [deps](std::shared_ptr<net::Request>, net::Responder reply) {
    auto r = net::Response::json(200, metadata(deps.issuer()));
    r.headers.push_back({"Cache-Control", "public, max-age=300"});
    reply(std::move(r));
  };
  router.add("GET", "/.well-known/openid-configuration", serve_metadata);
  router.add("GET", "/.well-known/oauth-authorization-server", serve_metadata);
  // the authorization endpoint the metadata must name. This issuer has
  // no interactive grant, so every request is refused as RFC 6749 §4.1.2.1 says when there is no
  // registered redirect URI to send the error to: shown to the user agent, never redirected.
  router.add("GET", "/oauth2/authorize", [](std::shared_ptr<net::Request>, net::Responder reply) {
    reply(net::Response::json(400, R"({"error":"unsupported_response_type","error_description":"this issuer issues tokens only at its token endpoint"})"));
  });

  router.add("GET", "/.well-known/jwks.json", [deps](std::shared_ptr<net::Request> req, net::Responder reply) {
    auto text = deps.keys->jwks_json();
    if (!text) return reply(net::error_response(503, "not_ready", "no signing keys are loaded", req->request_id));
    auto r = net::Response::json(200, *text);
    r.content_type = "application/jwk-set+json";
    // Verifiers cache the set; a rotation publishes the new key before it signs anything they see
    // only if they refetch on an unknown kid, which RFC 7515 verifiers do.
    r.headers.push_back({"Cache-Control", "public, max-age=300"});
    reply(std::move(r));
  });

  router.add("POST", "/oauth2/token", [deps](std::shared_ptr<net::Request> req, net::Responder reply) {
    auto parsed = parse_token_request(*req);
    if (auto* e = std::get_if<auth::OAuthError>(&parsed)) {
      TokenMetrics::get().refused.labels({e->error}).inc();
      audit_refusal(deps.audit, *req, nullptr, *e);
      return reply(oauth_error(*e, req->header("authorization") != nullptr));
    }
    auto job = [deps, req, reply, t = std::move(std::get<auth::TokenRequest>(parsed))]() mutable {
      std::variant<auth::IssuedToken, auth::OAuthError> out;
      try {
        out = deps.service->handle(t, core::unix_now());
      } catch (const std::exception& e) {
        log::error("token endpoint failed", {{"request_id", req->request_id}, {"error", e.what()}});
        return reply(net::error_response(500, "internal", "the token could not be issued", req->request_id));
      }
      if (auto* e = std::get_if<auth::OAuthError>(&out)) {
        TokenMetrics::get().refused.labels({e->error}).inc();
        log::warn("token request refused", {{"request_id", req->request_id},
                                             {"client_id", t.client_id},
                                             {"grant_type", t.grant_type},
                                             {"error", e->error},
                                             {"detail", e->description}});
        audit_refusal(deps.audit, *req, &t, *e);
        return reply(oauth_error(*e, t.client_auth_basic));
      }
      auto& issued = std::get<auth::IssuedToken>(out);
      const bool exchange = t.grant_type == auth::kGrantTokenExchange;
      if (deps.audit) {
        boost::json::object details{{"grantType", t.grant_type}, {"subject", issued.subject},
                                    {"tokenId", issued.token_id}, {"scope", issued.scope}};
        // Like an API read: recorded without waiting, but a token the log cannot record is not handed out.
        // issue 9: identity — an agent's exchange has no client id; the agent is the actor.
        if (!deps.audit->record(token_event(*req, issued.tenant, issued.actor.empty() ? t.client_id : issued.actor,
                                            exchange ? "token.exchange" : "token.issue",
                                            "success", std::move(details))))
          return reply(oauth_error({503, "temporarily_unavailable", "the audit log cannot record this request right now; try again later"},
                                   false));
      }
      TokenMetrics::get().issued.labels({exchange ? "token_exchange" : "client_credentials"}).inc();
      log::info("token issued", {{"request_id", req->request_id},
                                 {"client_id", issued.actor.empty() ? t.client_id : issued.actor},
                                 {"grant_type", t.grant_type}});
      boost::json::object body{{"access_token", issued.access_token},
                               {"token_type", "Bearer"},
                               {"expires_in", issued.expires_in}};
      if (!issued.scope.empty()) body["scope"] = issued.scope;
      if (!issued.issued_token_type.empty()) body["issued_token_type"] = issued.issued_token_type;
      reply(no_store(net::Response::json(200, core::json_text(body))));
    };
    if (!deps.pool->try_submit(job))
      reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", req->request_id));
  });
}

}  // namespace pc::api
