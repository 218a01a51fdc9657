#include "api/mcp_discovery.h"

#include <boost/json.hpp>

#include "core/json_text.h"

namespace pc::api {
namespace {

// RFC 9728 §2. scopes_supported is left out on purpose: access to /mcp is decided by roles, and
// scopes are granted per client, so any list here would make clients ask for scopes their client
// may not be granted (and be refused a token).
std::string metadata(const std::string& resource, const std::vector<std::string>& servers) {
  boost::json::array as;
  for (const auto& s : servers)
    if (!s.empty()) as.emplace_back(s);
  boost::json::object o{
      {"resource", resource},
      {"authorization_servers", std::move(as)},
      {"bearer_methods_supported", boost::json::array{"header"}},
      {"resource_name", "Portcullis MCP gateway"},
  };
  return core::json_text(o);
}

bool is_challenge(const net::Header& h) { return net::iequals(h.name, "www-authenticate"); }

}  // namespace

void add_mcp_discovery_routes(net::Router& router, McpDiscoveryDeps deps) {
  auto serve = [deps](std::string suffix) {
    return [deps, suffix](std::shared_ptr<net::Request>, net::Responder reply) {
      auto r = net::Response::json(200, metadata(deps.base_url() + suffix, deps.authorization_servers()));
      r.headers.push_back({"Cache-Control", "public, max-age=300"});
      // Browser-based MCP clients read it cross-origin; it holds nothing secret.
      r.headers.push_back({"Access-Control-Allow-Origin", "*"});
      reply(std::move(r));
    };
  };
  router.add("GET", "/.well-known/oauth-protected-resource", serve(""));
  router.add("GET", kMcpResourceMetadataPath, serve("/mcp"));
}

net::Handler with_resource_metadata(net::Handler inner, std::function<std::string()> metadata_url) {
  return [inner = std::move(inner), metadata_url = std::move(metadata_url)](std::shared_ptr<net::Request> req,
                                                                           net::Responder reply) {
    net::Responder wrapped([reply, metadata_url](net::Response&& r) mutable {
      if (r.status == 401) {
        for (auto& h : r.headers)
          if (is_challenge(h)) h.value += ", resource_metadata=\"" + metadata_url() + "\"";
      }
      reply(std::move(r));
    });
    inner(std::move(req), std::move(wrapped));
  };
}

}  // namespace pc::api
