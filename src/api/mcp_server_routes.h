// Admin REST API: the upstream MCP servers (SPEC §7, docs/admin-api.md "MCP servers"; area
// "servers"). Global servers under /v1/platform/mcp-servers, a tenant's own under
// /v1/tenants/{id}/mcp-servers; Platform.Admin writes, Platform.Operator reads. {name} is a
// server's name in that scope, or its id ("mcps_…"): an id of another tenant's server through
// this tenant's path is a tenant-access violation (403, audited). Every change is audited in its
// own transaction (mcp_server.create, mcp_server.update, mcp_server.delete).
#pragma once

#include "api/admin_deps.h"
#include "net/router.h"

namespace pc::mcp {
class ServerRegistry;
}

namespace pc::api {

void add_mcp_server_routes(net::Router& router, const AdminDeps& deps, mcp::ServerRegistry& registry);

}  // namespace pc::api
