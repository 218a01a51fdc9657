#include "api/job_routes.h"

#include <boost/json.hpp>

#include "agents/jobs.h"
#include "api/blocking.h"
#include "core/json_text.h"

namespace pc::api {
namespace {

// Ids we hand out are "job_" + 28 hex digits; anything far from that shape is not looked up.
bool plausible_job_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
      return false;
  return true;
}

net::Response no_such_job(const net::Request& req) {
  return net::error_response(404, "not_found", "no job with that id", req.request_id);
}

boost::json::object job_json(const agents::JobView& j) {
  boost::json::object o{{"jobId", j.job_id},
                        {"status", j.status},
                        {"agentName", j.agent},
                        {"agentVersion", j.agent_version},
                        {"createdAt", j.created_at},
                        {"updatedAt", j.updated_at},
                        {"attempts", j.attempts}};
  o["sessionId"] = j.session_id.empty() ? boost::json::value(nullptr) : boost::json::value(j.session_id);
  if (j.result) {
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(*j.result, ec);
    if (!ec) o["result"] = std::move(v);
  }
  // A job being retried shows its last failure too; a succeeded one has none.
  if (!j.error.empty()) {
    boost::json::object e{{"code", j.error}, {"message", j.error_message}};
    if (j.http_status != 0) e["agentStatus"] = j.http_status;
    o["error"] = std::move(e);
  }
  return o;
}

}  // namespace

std::string job_body(const agents::JobView& job) { return core::json_text(job_json(job)); }

net::Response job_accepted_response(const std::string& job_id) {
  boost::json::object o{
      {"jobId", job_id}, {"status", "accepted"}, {"mode", "async"}, {"pollUrl", "/v1/jobs/" + job_id}};
  auto r = net::Response::json(202, core::json_text(o));
  r.headers.push_back({"Location", "/v1/jobs/" + job_id});
  return r;
}

void add_job_routes(net::Router& router, JobRoutesDeps d) {
  router.add("GET", "/v1/jobs/{jobId}", d.chain->route(Policy::tenant_only(), [d](auto req, Caller caller, net::Responder reply) {
    std::string id(req->param("jobId"));
    if (!plausible_job_id(id)) return reply(no_such_job(*req));
    run_blocking(*d.pool, req, reply, [d, req, id, tenant = caller->tenant] {
      agents::JobLookup found = d.jobs->find(tenant, id);
      if (found.foreign) {
        // The same answer as an unknown id (nothing about the other tenant leaks), recorded as
        // the violation it is.
        auto r = no_such_job(*req);
        r.audit_action = "security.tenant_access_violation";
        return r;
      }
      if (!found.job) return no_such_job(*req);
      return net::Response::json(200, job_body(*found.job));
    });
  }));
}

}  // namespace pc::api
