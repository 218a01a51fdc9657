#include "app/demo.h"

#include <filesystem>
#include <optional>
#include <stdexcept>

#include <boost/json.hpp>

#include "app/bootstrap.h"
#include "core/clock.h"
#include "crypto/master_key.h"
#include "crypto/random.h"
#include "mcp/server_registry.h"
#include "tenancy/capabilities.h"

namespace pc::app {

namespace {

constexpr std::string_view kDemoVersion = "demo";

void register_echo(agents::Registry& registry, store::Store& store, const std::string& endpoint) {
  tenancy::ensure_capability(store, "agents.invoke", "invoke agents at all (the platform-wide switch)");
  if (!registry.get("echo")) {
    store::AgentRecord a;
    a.name = "echo";
    a.description = "The example agent: echoes its input, or streams it back in chunks";
    a.tier_minimum = "basic";
    a.protocol = "http";
    registry.create(a);
  }
  // Hold the view: a range-for over a member of the temporary get() returns would read its
  // versions after the temporary is gone (use after scope).
  const std::optional<agents::AgentView> echo = registry.get("echo");
  if (!echo) throw std::runtime_error("demo: the echo agent is missing right after it was registered");
  for (const auto& v : echo->versions)
    if (v.status == "promoted" && v.endpoint == endpoint) return;
  // The example agent listens on a new port on every start. One version, "demo", follows it
  // (its endpoint moved in place), rather than a new version per start piling up in the
  // registry (issue 9). Versions an operator added are left alone.
  bool have_demo = false, demo_promoted = false;
  for (const auto& v : echo->versions)
    if (v.version == kDemoVersion) {
      have_demo = true;
      demo_promoted = v.status == "promoted";
    }
  if (have_demo) {
    if (!store.set_agent_version_endpoint("echo", kDemoVersion, endpoint))
      throw std::runtime_error("demo: the echo agent's demo version vanished while it was updated");
  } else {
    registry.add_version("echo", std::string(kDemoVersion), endpoint);
  }
  if (!demo_promoted) registry.promote("echo", std::string(kDemoVersion));
  registry.publish();  // the catalog routes to the new endpoint at once
}

}  // namespace

DemoSeed seed_demo(tenancy::TenantService& tenants, agents::Registry& registry, store::Store& store,
                   const core::Config& cfg, const std::string& token_url, const std::string& echo_endpoint) {
  register_echo(registry, store, echo_endpoint);
  struct Seed {
    const char* id;
    const char* name;
    const char* tier;
  };
  const Seed seeds[] = {{"demo", "Demo Inc.", "standard"}, {"acme", "Acme Corp.", "basic"}};
  for (const auto& s : seeds)
    if (!tenants.get(s.id)) tenants.create(s.id, s.name, s.tier);

  DemoSeed out;
  out.credentials_file = (std::filesystem::path(cfg.data_dir) / "demo-credentials.json").string();
  if (std::filesystem::exists(out.credentials_file)) return out;

  boost::json::object creds;
  for (const auto& s : seeds) {
    tenancy::NewClient nc;
    nc.name = std::string(s.id) + "-demo-client";
    nc.roles = {"Machine.Invoke", "Agent.Invoke", "SelfService.Admin"};
    nc.scopes = {"agents:invoke", "mcp:tools"};
    nc.grant_types = {"client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange"};
    auto c = tenants.create_client(s.id, nc);
    creds[s.id] = boost::json::object{{"client_id", c.client.client_id}, {"client_secret", c.secret}};
  }
  const std::string text =
      boost::json::serialize(boost::json::object{{"token_url", token_url}, {"tenants", std::move(creds)}}) + "\n";
  crypto::write_private_file(out.credentials_file, text, /*replace_existing=*/false);
  out.wrote_credentials = true;
  return out;
}

// ---- tools (issue 10)
DemoTools start_demo_tools(const std::string& gateway, const std::string& issuer, const std::string& ca_file) {
  examples::ExampleToolsOptions o;
  o.listen = "127.0.0.1:0";
  o.name = "example-tools";
  o.gateway = gateway;
  o.issuer = issuer;
  o.gateway_ca = ca_file;
  DemoTools d;
  d.server = std::make_unique<examples::ExampleTools>(std::move(o));
  d.url = d.server->url();
  return d;
}

void register_demo_tools(mcp::ServerRegistry& servers, const std::string& url) {
  // The same registration POST /v1/tenants/demo/mcp-servers makes; at each later start only its
  // url changes (the example server's port is picked at run time).
  mcp::ServerSpec spec;
  spec.url = url;
  if (servers.get("demo", "tools")) {
    servers.update("demo", "tools", spec);
  } else {
    spec.name = "tools";
    spec.auth_mode = "act_on_behalf";
    spec.tier_minimum = "basic";
    servers.create("demo", spec);
  }
  servers.publish();
}

}  // namespace pc::app
