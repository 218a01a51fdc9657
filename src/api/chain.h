// Routes declared with their stage chain (api/stage.h, docs/life-of-a-request.md §4):
//
//   authenticate → bind tenant → limit → roles → [tenant in path] → [capability] → call limit → audit → handler
//
// A route names who may call it with a Policy, never with positional booleans:
//
//   router.add("POST", "/v1/agents/{name}/invoke",
//              chain.route(Policy::tenant_only({kAgentInvoke, kMachineInvoke}), handler));
//   chain.route(Policy::tenant_only().capability("tools.search"), handler);
//
// Each route's stage list is built once, at registration, from the shared stages and the few
// the policy needs; serving a request walks a fixed vector of stage pointers. Whatever a stage
// refuses goes through the RefusalRecorder (counted exactly, logged and audited at a bounded
// cost: api/refusals.h) before it is sent.
#pragma once

#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "api/audit_trail.h"
#include "api/refusals.h"
#include "api/stage.h"
#include "auth/authenticator.h"
#include "auth/key_refresher.h"
#include "net/http.h"

namespace pc::tenancy {
class Capabilities;
}

namespace pc::api {

using Roles = std::initializer_list<std::string_view>;

// Who may act on the tenant named by a route's {id} (api/admin_deps.h tenant_gate).
enum class PathTenant {
  platform_read,   // Platform.Admin or Platform.Operator
  platform_admin,  // Platform.Admin only
  self_service,    // either platform role, or SelfService.Admin of that very tenant
  self_service_or_platform_admin,  // Platform.Admin, or SelfService.Admin of that very tenant
};

class Policy {
 public:
  enum class Principals { any, tenant, platform };

  static Policy authenticated() { return Policy(Principals::any, {}); }
  // Tenant principals only (platform principals are refused), holding any of `roles` (none: any).
  static Policy tenant_only(Roles roles = {}) { return Policy(Principals::tenant, roles); }
  // Platform principals only, holding any of `roles`.
  static Policy platform_only(Roles roles) { return Policy(Principals::platform, roles); }
  // Any authenticated principal reaches the tenant-in-path check, so a tenant principal naming
  // another tenant is always a violation (counted and audited), never a plain 403.
  static Policy tenant_in_path(PathTenant rule);
  // The capability must allow the caller's tenant (SPEC §6); several are all required.
  Policy capability(std::string name) const&;

  Principals principals() const { return principals_; }
  const std::vector<std::string>& any_of_roles() const { return roles_; }
  const std::optional<PathTenant>& path_tenant() const { return path_tenant_; }
  const std::vector<std::string>& capabilities() const { return capabilities_; }

 private:
  Policy(Principals p, Roles roles);
  Principals principals_;
  std::vector<std::string> roles_;  // empty: any
  std::optional<PathTenant> path_tenant_;
  std::vector<std::string> capabilities_;
};

using AuthedHandler = std::function<void(std::shared_ptr<net::Request>, Caller, net::Responder)>;

// One route's chain: its stages in order, then its handler.
// Shared: a parked request keeps its route's chain alive until it resumes.
class RouteChain : public std::enable_shared_from_this<RouteChain> {
 public:
  RouteChain(std::vector<const Stage*> stages, std::vector<std::unique_ptr<const Stage>> owned, AuthedHandler handler,
             RefusalRecorder* refusals);
  void start(std::shared_ptr<net::Request> req, net::Responder reply) const;
  // A parked stage decided: continue after it, or send its answer.
  void resume(Context&& ctx, Verdict v) const;

 private:
  void run(Context& ctx, std::size_t from) const;
  void refused(Context& ctx) const;
  void serve(Context& ctx) const;

  std::vector<const Stage*> stages_;
  std::vector<std::unique_ptr<const Stage>> owned_;  // the stages made for this route's policy
  AuthedHandler handler_;
  RefusalRecorder* refusals_;
};

class Chain {
 public:
  // With a trail, every served call is audited (changes acknowledged only once durable) and
  // refusals are audited at a bounded cost. Capabilities are needed only by policies naming one.
  Chain(const auth::Authenticator& authenticator, auth::KeyRefresher& refresher, const AuditTrail* trail = nullptr,
        const tenancy::Capabilities* capabilities = nullptr, RefusalRecorder::Options refusal_options = {});
  ~Chain();

  // The limit slots: `limit` (rate budgets) runs after the tenant is bound, before roles; `call`
  // (concurrency slot and daily quota) after the roles, tenant-in-path and capability stages, so
  // only authorized calls spend the quota. Set before routes are declared; both must outlive the
  // chain.
  void set_limit(const Stage* limit, const Stage* call = nullptr) {
    limit_ = limit;
    call_limit_ = call;
  }

  net::Handler route(const Policy& policy, AuthedHandler handler) const;

  // The checks of `policy` without a route (other protocols, tests): `done` gets a Caller or
  // the refusal to send, on this thread or on the key-refresh thread after a JWKS refetch.
  using Outcome = std::variant<Caller, net::Response>;
  void check(std::shared_ptr<net::Request> req, const Policy& policy, std::function<void(Outcome)> done) const;

  RefusalRecorder& refusals() const { return *refusals_; }

 private:
  std::shared_ptr<RouteChain> build(const Policy& policy, bool audited, AuthedHandler handler) const;

  const tenancy::Capabilities* capabilities_;
  std::unique_ptr<RefusalRecorder> refusals_;
  std::unique_ptr<const Stage> authenticate_, bind_tenant_, audit_;
  const Stage* limit_ = nullptr;
  const Stage* call_limit_ = nullptr;
};

// The bearer token of an Authorization header, or "" (absent, another scheme, malformed).
std::string_view bearer_token(const net::Request& req);

}  // namespace pc::api
