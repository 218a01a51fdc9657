#include "api/render.h"

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/json_text.h"

namespace pc::api {
namespace {

boost::json::array strings(const std::vector<std::string>& v) { return boost::json::array(v.begin(), v.end()); }

}  // namespace

boost::json::object tenant_json(const store::TenantRecord& t) {
  boost::json::object o{{"tenantId", t.tenant_id}, {"displayName", t.display_name}, {"tier", t.tier},
                        {"status", t.status},      {"createdAt", t.created_at},     {"updatedAt", t.updated_at}};
  // Times in answers are RFC 3339 (the store keeps these two as unix seconds).
  if (t.status == "deleted") o["purgeAfter"] = core::rfc3339_from_unix(t.purge_after);
  return o;
}

boost::json::object client_json(const store::ClientRecord& c) {
  return {{"clientId", c.client_id},
          {"tenantId", c.tenant_id},
          {"name", c.name},
          {"roles", strings(c.roles)},
          {"scopes", strings(c.scopes)},
          {"grantTypes", strings(c.grant_types)},
          {"status", c.status},
          {"createdAt", c.created_at}};
}

boost::json::object capability_json(const store::CapabilityRecord& c) {
  return {{"name", c.name},
          {"enabled", c.enabled},
          {"rolloutPercentage", c.rollout_percentage},
          {"tierAllowList", strings(c.tier_allow_list)},
          {"tenantAllowList", strings(c.tenant_allow_list)},
          {"killed", c.killed},
          {"description", c.description},
          {"updatedAt", c.updated_at}};
}

boost::json::object agent_json(const store::AgentRecord& a) {
  return {{"name", a.name},         {"description", a.description}, {"tierMinimum", a.tier_minimum},
          {"protocol", a.protocol}, {"createdAt", a.created_at},    {"updatedAt", a.updated_at}};
}

boost::json::object version_json(const store::AgentVersionRecord& v) {
  return {{"agent", v.agent},           {"version", v.version},       {"endpoint", v.endpoint},
          {"status", v.status},         {"createdAt", v.created_at},  {"updatedAt", v.updated_at}};
}

boost::json::object signing_key_json(const store::SigningKeyRecord& k) {
  boost::json::object o{{"kid", k.kid}, {"alg", k.alg}, {"status", k.status}, {"createdAt", k.created_at}};
  o["notAfter"] = k.not_after ? boost::json::value(core::rfc3339_from_unix(k.not_after)) : nullptr;
  return o;
}

boost::json::object invocation_json(const store::InvocationRecord& r) {
  return {{"invocationId", r.invocation_id},
          {"tenantId", r.tenant_id},
          {"agentName", r.agent},
          {"agentVersion", r.agent_version},
          {"sessionId", r.session_id},
          {"principal", r.principal},
          {"mode", r.mode},
          {"status", r.status},
          {"error", r.error.empty() ? boost::json::value(nullptr) : boost::json::value(r.error)},
          {"httpStatus", r.http_status},
          // Counts the runtime did not report are null, never 0 (records, issue 9).
          {"usage",
           {{"inputTokens", r.input_tokens ? boost::json::value(*r.input_tokens) : boost::json::value(nullptr)},
            {"outputTokens", r.output_tokens ? boost::json::value(*r.output_tokens) : boost::json::value(nullptr)},
            {"latencyMs", r.latency_ms}}},
          {"timestamp", r.created_at}};
}

boost::json::object secret_info_json(const std::string& name, int version, const std::string& created_at,
                                     const std::string& created_by) {
  return {{"name", name}, {"version", version}, {"createdAt", created_at}, {"createdBy", created_by}};
}

boost::json::object audit_json(const store::AuditRecord& r) {
  boost::system::error_code ec;
  boost::json::value details = boost::json::parse(r.details, ec);
  if (ec) details = r.details;  // stored text that is not JSON is shown as it is
  return {{"seq", r.seq},           {"time", r.time},         {"tenantId", r.tenant_id},
          {"actor", r.actor},       {"action", r.action},     {"resource", r.resource},
          {"outcome", r.outcome},   {"requestId", r.request_id}, {"details", details},
          {"prevHash", r.prev_hash}, {"hash", r.hash}};
}

net::Response json_response(int status, const boost::json::object& o) {
  return net::Response::json(status, core::json_text(o));
}

net::Response bad_request(const net::Request& req, const std::string& message) {
  return net::error_response(400, "invalid_request", message, req.request_id);
}

net::Response page_response(std::string_view key, boost::json::array items, const std::string& next_cursor) {
  boost::json::object o;
  o[key] = std::move(items);
  o["nextCursor"] = next_cursor.empty() ? boost::json::value(nullptr) : boost::json::value(next_cursor);
  return json_response(200, o);
}

}  // namespace pc::api
