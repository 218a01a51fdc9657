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

// Registers `name` (with its capability agents.<name>) and promotes a version pointing at
// `endpoint` unless the promoted one already points there.
void register_demo_agent(agents::Registry& registry, store::Store& store, const std::string& name,
                         const std::string& description, const std::string& protocol, const std::string& endpoint) {
  tenancy::ensure_capability(store, "agents.invoke", "invoke agents at all (the platform-wide switch)");
  if (!registry.get(name)) {
    store::AgentRecord a;
    a.name = name;
    a.description = description;
    a.tier_minimum = "basic";
    a.protocol = protocol;
    registry.create(a);
  }
  // Hold the view: a range-for over a member of the temporary get() returns would read its
  // versions after the temporary is gone (use after scope).
  const std::optional<agents::AgentView> agent = registry.get(name);
  if (!agent) throw std::runtime_error("demo: the " + name + " agent is missing right after it was registered");
  for (const auto& v : agent->versions)
    if (v.status == "promoted" && v.endpoint == endpoint) return;
  // The example agent listens on a new port on every start. One version, "demo", follows it
  // (its endpoint moved in place), rather than a new version per start piling up in the
  // registry (issue 9). Versions an operator added are left alone.
  bool have_demo = false, demo_promoted = false;
  for (const auto& v : agent->versions)
    if (v.version == kDemoVersion) {
      have_demo = true;
      demo_promoted = v.status == "promoted";
    }
  if (have_demo) {
    if (!store.set_agent_version_endpoint(name, kDemoVersion, endpoint))
      throw std::runtime_error("demo: the " + name + " agent's demo version vanished while it was updated");
  } else {
    registry.add_version(name, std::string(kDemoVersion), endpoint);
  }
  if (!demo_promoted) registry.promote(name, std::string(kDemoVersion));
  registry.publish();  // the catalog routes to the new endpoint at once
}

}  // namespace

DemoSeed seed_demo(tenancy::TenantService& tenants, agents::Registry& registry, store::Store& store,
                   const core::Config& cfg, const std::string& token_url, const std::string& echo_endpoint) {
  register_demo_agent(registry, store, "echo", "The example agent: echoes its input, or streams it back in chunks",
                      "http", echo_endpoint);
  // The same process answers A2A as `echo-a2a` (example_a2a.h).
  register_demo_agent(registry, store, std::string(kDemoA2aAgent),
                      "The example agent over A2A: echoes a message as a task artifact, or streams it word by word",
                      "a2a", echo_endpoint);
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
