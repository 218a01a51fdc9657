#include "api/platform_routes.h"

#include <boost/json.hpp>

#include "api/blocking.h"
#include "api/json_body.h"
#include "api/render.h"
#include "core/clock.h"
#include "core/log.h"
#include "store/store.h"
#include "tenancy/capabilities.h"
#include "tenancy/tenant_service.h"  // TenancyError
#include "tenancy/tiers.h"

namespace pc::api {
namespace {

using auth::roles::kPlatformAdmin;
using auth::roles::kPlatformOperator;

}  // namespace

void add_platform_routes(net::Router& router, const AdminDeps& d) {
  const Policy admin = Policy::platform_only({kPlatformAdmin});
  const Policy reader = Policy::platform_only({kPlatformAdmin, kPlatformOperator});

  router.add("GET", "/v1/platform/tiers", d.chain->route(reader, [d](auto, Caller, net::Responder reply) {
    boost::json::array items;
    for (const auto& [name, t] : d.config().tiers)
      items.push_back({{"name", name}, {"rps", t.rps}, {"burst", t.burst}, {"dailyQuota", t.daily_quota},
                       {"rank", tenancy::tier_rank(name)}});
    reply(json_response(200, {{"tiers", std::move(items)}}));
  }));

  router.add("GET", "/v1/platform/capabilities", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    run_blocking(*d.pool, req, reply, [d] {
      boost::json::array items;
      for (const auto& c : d.store->list_capabilities()) items.push_back(capability_json(c));
      return json_response(200, {{"capabilities", std::move(items)}});
    });
  }));

  // PUT replaces the whole switch; fields left out take their defaults (disabled, 100%, no
  // lists, not killed), so what is stored is exactly what was sent.
  router.add("PUT", "/v1/platform/capabilities/{name}", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    std::string name(req->param("name"));
    if (!tenancy::is_valid_capability_name(name))
      return reply(bad_request(*req, "a capability name is lower-case dotted words, e.g. agents.echo"));
    auto body = json_object_body(*req, {"enabled", "rolloutPercentage", "tierAllowList", "tenantAllowList", "killed", "description"});
    if (auto* r = std::get_if<net::Response>(&body)) return reply(std::move(*r));
    store::CapabilityRecord c;
    c.name = name;
    try {
      auto& o = std::get<boost::json::object>(body);
      c.enabled = bool_field(o, "enabled").value_or(false);
      const auto pct = int_field(o, "rolloutPercentage").value_or(100);
      if (pct < 0 || pct > 100) throw BadField("rolloutPercentage must be 0 to 100");
      c.rollout_percentage = static_cast<int>(pct);
      c.tier_allow_list = strings_field(o, "tierAllowList").value_or(std::vector<std::string>{});
      for (const auto& t : c.tier_allow_list)
        if (tenancy::tier_rank(t) < 0) throw BadField("tierAllowList: '" + t + "' is not a tier");
      c.tenant_allow_list = strings_field(o, "tenantAllowList").value_or(std::vector<std::string>{});
      c.killed = bool_field(o, "killed").value_or(false);
      c.description = string_field(o, "description").value_or("");
      if (c.description.size() > 1000) throw BadField("description is longer than 1000 characters");
    } catch (const BadField& e) {
      return reply(bad_request(*req, e.what()));
    }
    run_blocking(*d.pool, req, reply, [d, c, caller, req]() mutable {
      c.updated_at = core::rfc3339_now();
      // The change and its capability.put audit event commit together (issue 8 item 9).
      change_audit(d, *req, caller)("platform", "capability.put", "capability/" + c.name,
                                    [&] { d.store->upsert_capability(c); });
      d.capabilities_changed();
      log::info("capability set", {{"request_id", req->request_id}, {"name", c.name}, {"enabled", c.enabled},
                                   {"killed", c.killed}, {"by", caller->subject}});
      return json_response(200, capability_json(c));
    });
  }));

  router.add("DELETE", "/v1/platform/capabilities/{name}", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    std::string name(req->param("name"));
    run_blocking(*d.pool, req, reply, [d, name, caller, req] {
      change_audit(d, *req, caller)("platform", "capability.delete", "capability/" + name, [&] {
        // Thrown inside the change: a miss rolls back and leaves no event (404 by run_blocking).
        if (!d.store->delete_capability(name))
          throw tenancy::TenancyError(tenancy::TenancyError::Kind::not_found, "no capability '" + name + "'");
      });
      d.capabilities_changed();
      log::info("capability deleted", {{"request_id", req->request_id}, {"name", name}, {"by", caller->subject}});
      return net::Response::text(204, "");
    });
  }));

  router.add("GET", "/v1/platform/keys", d.chain->route(reader, [d](auto req, Caller, net::Responder reply) {
    run_blocking(*d.pool, req, reply, [d] {
      boost::json::array items;
      for (const auto& k : d.store->all_signing_keys()) items.push_back(signing_key_json(k));
      return json_response(200, {{"keys", std::move(items)}});
    });
  }));

  router.add("POST", "/v1/platform/keys/rotate", d.chain->route(admin, [d](auto req, Caller caller, net::Responder reply) {
    run_blocking(*d.pool, req, reply, [d, caller, req] {
      std::string kid = d.rotate_signing_key();
      log::info("signing key rotated", {{"request_id", req->request_id}, {"kid", kid}, {"by", caller->subject}});
      return json_response(201, {{"kid", kid}});
    });
  }));
}

}  // namespace pc::api
