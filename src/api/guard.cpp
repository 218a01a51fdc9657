#include "api/guard.h"

#include <chrono>

#include "core/clock.h"
#include "core/log.h"
#include "core/metrics.h"

namespace pc::api {
namespace {

struct AuthMetrics {
  core::CounterFamily& failures = core::metrics().counter(
      "portcullis_auth_failures_total", "Requests refused by authentication or authorization, by reason", {"reason"});
  core::Counter& cache_hits =
      core::metrics()
          .counter("portcullis_auth_token_cache_total", "Verified-token cache lookups by result", {"result"})
          .labels({"hit"});
  core::Counter& cache_misses =
      core::metrics().counter("portcullis_auth_token_cache_total", "", {"result"}).labels({"miss"});
  static AuthMetrics& get() {
    static AuthMetrics m;
    return m;
  }
};

// RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200))
    out += (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') ? c : ' ';
  return out;
}

net::Response unauthorized(const net::Request& req, std::string_view reason, const std::string& detail,
                           const std::string& issuer) {
  AuthMetrics::get().failures.labels({std::string(reason)}).inc();
  log::warn("authentication failed", {{"request_id", req.request_id},
                                      {"route", req.route},
                                      {"reason", reason},
                                      {"detail", detail},
                                      {"issuer", issuer}});
  auto res = net::error_response(401, "unauthenticated",
                                 reason == "missing" ? "a bearer token is required" : "the bearer token is not valid: " + detail,
                                 req.request_id);
  // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
  std::string challenge = "Bearer realm=\"portcullis\"";
  if (reason != "missing")
    challenge += ", error=\"invalid_token\", error_description=\"" + header_safe(detail) + "\"";
  res.headers.push_back({"WWW-Authenticate", std::move(challenge)});
  return res;
}

net::Response forbidden(const net::Request& req, const auth::Principal& p, std::string_view reason,
                        std::string message) {
  AuthMetrics::get().failures.labels({std::string(reason)}).inc();
  log::warn("access denied", {{"request_id", req.request_id},
                              {"route", req.route},
                              {"reason", reason},
                              {"tenant", p.tenant},
                              {"subject", p.subject}});
  return net::error_response(403, "forbidden", message, req.request_id);
}

}  // namespace

Access Access::tenant(std::initializer_list<std::string_view> roles) {
  Access a;
  for (auto r : roles) a.any_of_roles.emplace_back(r);
  a.tenant_principals_only = true;
  return a;
}

Access Access::platform(std::initializer_list<std::string_view> roles) {
  Access a;
  for (auto r : roles) a.any_of_roles.emplace_back(r);
  a.platform_only = true;
  return a;
}

std::string_view bearer_token(const net::Request& req) {
  const std::string* h = req.header("authorization");
  if (!h) return {};
  std::string_view v = *h;
  if (v.size() < 7 || !net::iequals(v.substr(0, 7), "bearer ")) return {};
  v.remove_prefix(7);
  while (!v.empty() && v.front() == ' ') v.remove_prefix(1);
  while (!v.empty() && v.back() == ' ') v.remove_suffix(1);
  return v;
}

Guard::Guard(const auth::Authenticator& authenticator, auth::KeyRefresher& refresher, const AuditTrail* trail)
    : auth_(authenticator), refresher_(refresher), trail_(trail) {
  AuthMetrics::get();
}

Guard::Outcome Guard::decide(const net::Request& req, const Access& access, const auth::AuthResult& r) const {
  if (r.status != auth::AuthResult::Status::ok) return unauthorized(req, r.reason, r.detail, r.issuer_name);
  auto& m = AuthMetrics::get();
  (r.cached ? m.cache_hits : m.cache_misses).inc();
  const auth::Principal& p = *r.principal;
  if (access.platform_only && !p.is_platform())
    return forbidden(req, p, "not_platform", "this route is for platform principals");
  if (access.tenant_principals_only && p.is_platform())
    return forbidden(req, p, "not_tenant", "this route is for tenant principals");
  if (!access.any_of_roles.empty()) {
    bool ok = false;
    for (const auto& role : access.any_of_roles) ok = ok || p.has_role(role);
    if (!ok) {
      std::string roles;
      for (const auto& role : access.any_of_roles) roles += (roles.empty() ? "" : " or ") + role;
      return forbidden(req, p, "role", "this route requires the role " + roles);
    }
  }
  return Caller{r.principal, r.tier};
}

auth::AuthResult Guard::authenticate(const net::Request& req, bool allow_refetch) const {
  // Two Authorization headers would let a proxy in front and the gateway disagree on which counts.
  int count = 0;
  for (const auto& h : req.headers) count += net::iequals(h.name, "authorization") ? 1 : 0;
  if (count > 1) {
    auth::AuthResult r;
    r.reason = "malformed";
    r.detail = "more than one Authorization header";
    return r;
  }
  return auth_.authenticate(bearer_token(req), core::unix_now(), allow_refetch);
}

void Guard::check(std::shared_ptr<net::Request> req, const Access& access, std::function<void(Outcome)> done) const {
  auth::AuthResult r = authenticate(*req, /*allow_refetch=*/true);
  if (r.status != auth::AuthResult::Status::refetch) return done(decide(*req, access, r));
  // The token names a key its issuer's set lacks: fetch the set again (off this thread, shared
  // with other requests waiting for the same issuer, rate-limited), then decide without refetching.
  refresher_.refetch(r.refetch, [this, req, access, done = std::move(done)] {
    done(decide(*req, access, authenticate(*req, /*allow_refetch=*/false)));
  });
}

net::Handler Guard::protect(Access access, AuthedHandler handler) const {
  // The handler is shared, not copied, into the rare refetch continuation; the common path (a
  // cache hit) allocates nothing here beyond the audit trail's responder.
  auto h = std::make_shared<const AuthedHandler>(std::move(handler));
  return [this, access = std::move(access), h](std::shared_ptr<net::Request> req, net::Responder reply) {
    auto deliver = [this](const AuthedHandler& handler, std::shared_ptr<net::Request> req, net::Responder reply,
                          const auth::AuthResult& r, Outcome o) {
      if (auto* caller = std::get_if<Caller>(&o)) {
        if (trail_) reply = trail_->record(req, caller->principal, std::move(reply));
        return handler(std::move(req), std::move(*caller), std::move(reply));
      }
      auto& refusal = std::get<net::Response>(o);
      if (trail_) trail_->refusal(*req, r.principal.get(), refusal);
      reply(std::move(refusal));
    };
    auth::AuthResult r = authenticate(*req, /*allow_refetch=*/true);
    if (r.status != auth::AuthResult::Status::refetch)
      return deliver(*h, req, std::move(reply), r, decide(*req, access, r));
    refresher_.refetch(r.refetch, [this, access, h, req, reply, deliver]() mutable {
      auth::AuthResult again = authenticate(*req, /*allow_refetch=*/false);
      deliver(*h, req, std::move(reply), again, decide(*req, access, again));
    });
  };
}

}  // namespace pc::api
