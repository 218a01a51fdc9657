#include "api/session_routes.h"

#include <boost/json.hpp>

#include "agents/sessions.h"
#include "api/blocking.h"
#include "core/json_text.h"

namespace pc::api {
namespace {

net::Response refused(agents::SessionRefusal why, const net::Request& req) {
  auto r = net::error_response(404, "not_found", "no session of that id is available to this caller", req.request_id);
  if (why == agents::SessionRefusal::foreign_tenant) r.audit_action = "security.tenant_access_violation";
  return r;
}

std::string session_json(const agents::SessionView& v) {
  boost::json::object o{{"sessionId", v.session_id}, {"agentName", v.agent},     {"status", v.status},
                        {"createdAt", v.created_at}, {"lastSeenAt", v.last_seen_at}, {"expiresAt", v.expires_at}};
  return core::json_text(o);
}

}  // namespace

void add_session_routes(net::Router& router, SessionRoutesDeps d) {
  // Any tenant principal may ask; the session itself says whether it is theirs.
  const Policy owner = Policy::tenant_only();
  router.add("GET", "/v1/sessions/{id}", d.chain->route(owner, [d](auto req, Caller caller, net::Responder reply) {
    run_blocking(*d.pool, req, reply, [d, req, caller] {
      auto r = d.sessions->get(caller->tenant, caller->subject, std::string(req->param("id")));
      if (auto* why = std::get_if<agents::SessionRefusal>(&r)) return refused(*why, *req);
      return net::Response::json(200, session_json(std::get<agents::SessionView>(r)));
    });
  }));
  router.add("DELETE", "/v1/sessions/{id}", d.chain->route(owner, [d](auto req, Caller caller, net::Responder reply) {
    run_blocking(*d.pool, req, reply, [d, req, caller] {
      auto r = d.sessions->end(caller->tenant, caller->subject, std::string(req->param("id")));
      if (auto* why = std::get_if<agents::SessionRefusal>(&r)) return refused(*why, *req);
      return net::Response::text(204, "");
    });
  }));
}

}  // namespace pc::api
