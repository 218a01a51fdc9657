#include "api/guard.h"

#include "api/admin_deps.h"
#include "api/chain.h"
#include "core/clock.h"
#include "core/metrics.h"
#include "tenancy/capabilities.h"

namespace pc::api {
namespace {

struct TokenCacheMetrics {
  core::Counter& hits = core::metrics()
                            .counter("portcullis_auth_token_cache_total", "Verified-token cache lookups by result", {"result"})
                            .labels({"hit"});
  core::Counter& misses = core::metrics().counter("portcullis_auth_token_cache_total", "", {"result"}).labels({"miss"});
  static TokenCacheMetrics& get() {
    static TokenCacheMetrics m;
    return m;
  }
};

// RFC 6750 §3: error_description is limited to %x20-21 / %x23-5B / %x5D-7E.
std::string header_safe(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 200)) out += (c >= 0x20 && c <= 0x7e && c != '"' && c != '\\') ? c : ' ';
  return out;
}

net::Response unauthorized(const net::Request& req, std::string_view reason, const std::string& detail) {
  auto res = net::error_response(
      401, "unauthenticated", reason == "missing" ? "a bearer token is required" : "the bearer token is not valid: " + detail,
      req.request_id);
  // RFC 6750 §3.1: a request without credentials gets the challenge without an error code.
  std::string challenge = "Bearer realm=\"portcullis\"";
  if (reason != "missing") challenge += ", error=\"invalid_token\", error_description=\"" + header_safe(detail) + "\"";
  res.headers.push_back({"WWW-Authenticate", std::move(challenge)});
  return res;
}

class Authenticate final : public Stage {
 public:
  Authenticate(const auth::Authenticator& a, auth::KeyRefresher& r) : auth_(a), refresher_(r) { TokenCacheMetrics::get(); }
  std::string_view name() const override { return "authenticate"; }

  Verdict on_request(Context& ctx) const override {
    ctx.auth = authenticate(*ctx.req, /*allow_refetch=*/true);
    if (ctx.auth.status != auth::AuthResult::Status::refetch) return decide(ctx);
    // The token names a key its issuer's set lacks: fetch the set again (off this thread,
    // shared with other requests waiting for the same issuer, rate-limited), then decide on
    // that thread without refetching again.
    auto keys = ctx.auth.refetch;
    refresher_.refetch(keys, [this, keep = ctx.chain->shared_from_this(), ctx = std::move(ctx)]() mutable {
      ctx.auth = authenticate(*ctx.req, /*allow_refetch=*/false);
      const Verdict v = decide(ctx);
      ctx.chain->resume(std::move(ctx), v);
    });
    return Verdict::parked;
  }

 private:
  auth::AuthResult authenticate(const net::Request& req, bool allow_refetch) const {
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

  static Verdict decide(Context& ctx) {
    const auth::AuthResult& r = ctx.auth;
    if (r.status != auth::AuthResult::Status::ok) {
      ctx.refuse(unauthorized(*ctx.req, r.reason, r.detail), r.reason);
      return Verdict::answered;
    }
    auto& m = TokenCacheMetrics::get();
    (r.cached ? m.hits : m.misses).inc();
    ctx.caller.principal = r.principal;
    return Verdict::proceed;
  }

  const auth::Authenticator& auth_;
  auth::KeyRefresher& refresher_;
};

class BindTenant final : public Stage {
 public:
  std::string_view name() const override { return "bind_tenant"; }
  Verdict on_request(Context& ctx) const override {
    ctx.caller.tier = std::move(ctx.auth.tier);
    return Verdict::proceed;
  }
};

class RolesStage final : public Stage {
 public:
  explicit RolesStage(const Policy& p) : principals_(p.principals()), roles_(p.any_of_roles()) {
    for (const auto& role : roles_) required_ += (required_.empty() ? "" : " or ") + role;
  }
  std::string_view name() const override { return "roles"; }

  Verdict on_request(Context& ctx) const override {
    const auth::Principal& p = *ctx.caller;
    if (principals_ == Policy::Principals::platform && !p.is_platform())
      return refuse(ctx, "not_platform", "this route is for platform principals");
    if (principals_ == Policy::Principals::tenant && p.is_platform())
      return refuse(ctx, "not_tenant", "this route is for tenant principals");
    if (roles_.empty()) return Verdict::proceed;
    for (const auto& role : roles_)
      if (p.has_role(role)) return Verdict::proceed;
    return refuse(ctx, "role", "this route requires the role " + required_);
  }

 private:
  static Verdict refuse(Context& ctx, std::string_view reason, std::string_view message) {
    ctx.refuse(net::error_response(403, "forbidden", message, ctx.req->request_id), reason);
    return Verdict::answered;
  }
  Policy::Principals principals_;
  std::vector<std::string> roles_;
  std::string required_;
};

class TenantInPath final : public Stage {
 public:
  explicit TenantInPath(PathTenant rule) : rule_(rule) {}
  std::string_view name() const override { return "tenant_in_path"; }
  Verdict on_request(Context& ctx) const override {
    const bool platform_admin_only =
        rule_ == PathTenant::platform_admin || rule_ == PathTenant::self_service_or_platform_admin;
    const bool self_service = rule_ == PathTenant::self_service || rule_ == PathTenant::self_service_or_platform_admin;
    auto refused = tenant_gate(*ctx.req, ctx.caller, ctx.req->param("id"), platform_admin_only, self_service);
    if (!refused) return Verdict::proceed;
    const bool violation = refused->audit_action == "security.tenant_access_violation";
    ctx.refuse(std::move(*refused), violation ? "tenant_violation" : "tenant");
    return Verdict::answered;
  }

 private:
  PathTenant rule_;
};

class Capability final : public Stage {
 public:
  Capability(const tenancy::Capabilities& c, std::string name) : caps_(c), name_(std::move(name)) {}
  std::string_view name() const override { return "capability"; }
  Verdict on_request(Context& ctx) const override {
    if (caps_.allows(name_, ctx.caller->tenant, ctx.caller.tier)) return Verdict::proceed;
    ctx.refuse(net::error_response(403, "forbidden", "the capability " + name_ + " is not enabled for this tenant",
                                   ctx.req->request_id),
               "capability");
    return Verdict::answered;
  }

 private:
  const tenancy::Capabilities& caps_;
  std::string name_;
};

}  // namespace

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

std::unique_ptr<const Stage> authenticate_stage(const auth::Authenticator& a, auth::KeyRefresher& r) {
  return std::make_unique<Authenticate>(a, r);
}
std::unique_ptr<const Stage> bind_tenant_stage() { return std::make_unique<BindTenant>(); }
std::unique_ptr<const Stage> roles_stage(const Policy& p) {
  if (p.principals() == Policy::Principals::any && p.any_of_roles().empty()) return nullptr;
  return std::make_unique<RolesStage>(p);
}
std::unique_ptr<const Stage> tenant_in_path_stage(PathTenant rule) { return std::make_unique<TenantInPath>(rule); }
std::unique_ptr<const Stage> capability_stage(const tenancy::Capabilities& c, std::string name) {
  return std::make_unique<Capability>(c, std::move(name));
}

}  // namespace pc::api
