// The Admin REST API's JSON shapes (SPEC §5, docs/admin-api.md), one function per record, so
// every route renders a tenant or an agent the same way. Field names never change once
// released; new ones may be added.
#pragma once

#include <boost/json/object.hpp>

#include "net/http.h"
#include "store/records.h"

namespace pc::api {

boost::json::object tenant_json(const store::TenantRecord& t);
boost::json::object client_json(const store::ClientRecord& c);  // never the secret
boost::json::object capability_json(const store::CapabilityRecord& c);
boost::json::object agent_json(const store::AgentRecord& a);
boost::json::object version_json(const store::AgentVersionRecord& v);
boost::json::object signing_key_json(const store::SigningKeyRecord& k);  // public metadata only
boost::json::object invocation_json(const store::InvocationRecord& r);   // metadata, never content
boost::json::object secret_info_json(const std::string& name, int version, const std::string& created_at,
                                     const std::string& created_by);
boost::json::object audit_json(const store::AuditRecord& r);

net::Response json_response(int status, const boost::json::object& o);
// 400 invalid_request with `message`.
net::Response bad_request(const net::Request& req, const std::string& message);
// A list page: {"<key>": items, "nextCursor": cursor or null}.
net::Response page_response(std::string_view key, boost::json::array items, const std::string& next_cursor);

}  // namespace pc::api
