// How a standard MCP client finds out how to authenticate (MCP authorization, RFC 9728):
//  - GET /.well-known/oauth-protected-resource/mcp: the metadata of the MCP endpoint (resource =
//    <gateway>/mcp), and GET /.well-known/oauth-protected-resource: that of the gateway as a
//    whole (resource = <gateway>). Both name the built-in issuer (and the configured external
//    ones) as authorization servers; the issuer's own metadata is at
//    /.well-known/oauth-authorization-server (RFC 8414) and /.well-known/openid-configuration.
//  - a 401 from /mcp carries `resource_metadata="<gateway>/.well-known/oauth-protected-resource/mcp"`
//    in its WWW-Authenticate challenge (SPEC §4 "Errors"), so that a client holding nothing but
//    the endpoint's URL finds the token endpoint by itself.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "net/http.h"
#include "net/router.h"

namespace pc::api {

struct McpDiscoveryDeps {
  // The gateway's public base URL, e.g. "http://127.0.0.1:8080" (no trailing slash).
  std::function<std::string()> base_url;
  // Authorization servers: the built-in issuer first, then the configured external issuers.
  std::function<std::vector<std::string>()> authorization_servers;
};

inline constexpr const char* kMcpResourceMetadataPath = "/.well-known/oauth-protected-resource/mcp";

void add_mcp_discovery_routes(net::Router& router, McpDiscoveryDeps deps);

// `inner`, except that a 401 it answers gets `resource_metadata="<url>"` added to its
// WWW-Authenticate challenge (RFC 9728 §5.1). For the MCP routes only: other routes keep the
// challenge they have.
net::Handler with_resource_metadata(net::Handler inner, std::function<std::string()> metadata_url);

}  // namespace pc::api
