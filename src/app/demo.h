// `serve --demo`: the seed SPEC §2 describes, so `make run` shows a real, authenticated request
// end to end. Tenants `demo` (standard) and `acme` (basic), one machine client each whose
// credentials go to <data_dir>/demo-credentials.json (mode 0600, written once), and the example
// agent registered as `echo` (invocation contract) and as `echo-a2a` (A2A, protocol a2a).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "agents/registry.h"
#include "examples/example_tools.h"
#include "core/config.h"
#include "tenancy/tenant_service.h"

namespace pc::mcp {
class ServerRegistry;
}

namespace pc::app {

// The A2A name of the demo's example agent (its --a2a-name).
inline constexpr std::string_view kDemoA2aAgent = "echo-a2a";

struct DemoSeed {
  bool wrote_credentials = false;
  std::string credentials_file;
  // the example MCP server's URL (start_demo_tools), set by serve.
  std::string tools_url;
};

// Idempotent: existing tenants are kept; clients and the file are created only when the file
// does not exist. Blocking (store, disk).
// The echo agent is registered (with its capability) and a version pointing at `echo_endpoint`
// is promoted unless the promoted one already points there: the example agent listens on a
// fresh port at every start.
DemoSeed seed_demo(tenancy::TenantService& tenants, agents::Registry& registry, store::Store& store,
                   const core::Config& cfg, const std::string& token_url, const std::string& echo_endpoint);

// The example MCP server (`portcullis example-tools`) the demo runs next to the example agent,
// requiring act-on-behalf tokens of this gateway (`gateway` its URL as this host reaches it,
// `issuer` its issuer, `ca_file` what an https gateway is verified with) minted for `url`.
struct DemoTools {
  std::unique_ptr<examples::ExampleTools> server;
  std::string url;  // its MCP endpoint, http://127.0.0.1:<port>/mcp: the URL to register it with
};

// Registers (or, at a later start, re-points) the demo tool server as MCP server "tools" of tenant
// demo: act-on-behalf tokens, tierMinimum basic. Blocking (store).
void register_demo_tools(mcp::ServerRegistry& servers, const std::string& url);
DemoTools start_demo_tools(const std::string& gateway, const std::string& issuer, const std::string& ca_file);

}  // namespace pc::app
