// `portcullis` — command-line entry. Flag errors print one line and exit 2 (SPEC §2).
#include <CLI/CLI.hpp>

#include <iostream>

#include "app/build_info.h"
#include "app/commands.h"
#include "app/signals.h"
#include "examples/example_agent.h"
#include "examples/example_tools.h"

int main(int argc, char** argv) {
  CLI::App app{"Portcullis: a multi-tenant, zero-trust gateway for AI agents"};
  app.require_subcommand(1);
  app.set_version_flag("--version", pc::app::version_line(), "print the version and git revision, then exit");

  pc::app::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "run the gateway");
  serve_cmd->add_option("--config", serve.config_path, "YAML configuration file (default: built-in defaults)");
  serve_cmd->add_flag("--demo", serve.demo, "seed the demo and start the example upstreams");
  serve_cmd->add_option("--demo-agent", serve.demo_agent_url,
                        "with --demo: forward the echo agent to this runtime URL instead of starting one");

  std::string check_path;
  auto* check_cmd = app.add_subcommand("check-config", "validate a configuration file");
  check_cmd->add_option("--config", check_path, "YAML configuration file")->required();

  pc::examples::ExampleAgentOptions agent_opts;
  agent_opts.listen = "127.0.0.1:9001";
  auto* agent_cmd = app.add_subcommand("example-agent", "run the reference agent runtime (invocation contract and A2A)");
  agent_cmd->add_option("--listen", agent_opts.listen, "host:port to listen on (port 0 picks one)");
  agent_cmd->add_option("--name", agent_opts.name, "its agent name: identity tokens must be for agent:<name> (default echo)");
  agent_cmd->add_option("--gateway", agent_opts.gateway,
                        "gateway base URL: verify X-Portcullis-Identity against its JWKS and allow calls to other "
                        "agents (without it nothing is verified)");
  agent_cmd->add_option("--issuer", agent_opts.issuer, "the gateway's issuer when it is not the gateway URL");
  agent_cmd->add_option("--gateway-ca", agent_opts.gateway_ca, "PEM trust anchors for an https gateway");
  agent_cmd->add_option("--a2a-name", agent_opts.a2a_name,
                        "the agent name its A2A endpoint (/a2a, cards) is registered as: identity tokens there must be "
                        "for agent:<a2a-name> (default: --name; the demo's is echo-a2a)");

  pc::examples::ExampleToolsOptions tools_opts;
  tools_opts.listen = "127.0.0.1:9002";
  auto* tools_cmd = app.add_subcommand("example-tools", "run the reference MCP server (Streamable HTTP on /mcp)");
  tools_cmd->add_option("--listen", tools_opts.listen, "host:port to listen on (port 0 picks one)");
  tools_cmd->add_option("--url", tools_opts.url,
                        "its own MCP URL, the audience act-on-behalf tokens must name (default http://<listen>/mcp)");
  tools_cmd->add_option("--name", tools_opts.name, "serverInfo.name (default example-tools)");
  tools_cmd->add_option("--gateway", tools_opts.gateway,
                        "gateway base URL: require an act-on-behalf token for this server, verified with its JWKS "
                        "(without it nothing is verified)");
  tools_cmd->add_option("--issuer", tools_opts.issuer, "the gateway's issuer when it is not the gateway URL");
  tools_cmd->add_option("--gateway-ca", tools_opts.gateway_ca, "PEM trust anchors for an https gateway");

  std::string keys_config;
  auto* keys_cmd = app.add_subcommand("keys", "manage keys: the built-in issuer's signing keys and the master key");
  keys_cmd->require_subcommand(1);
  auto* rotate_cmd = keys_cmd->add_subcommand("rotate", "make a new signing key active; the old one stays published until its tokens expire");
  rotate_cmd->add_option("--config", keys_config, "YAML configuration file (default: built-in defaults)");
  auto* rotate_master_cmd = keys_cmd->add_subcommand(
      "rotate-master", "new master key: re-wrap every data and signing key under it, keep the old key file as .old-<time>");
  rotate_master_cmd->add_option("--config", keys_config, "YAML configuration file (default: built-in defaults)");

  std::string audit_config;
  auto* audit_cmd = app.add_subcommand("audit", "the hash-chained audit log");
  audit_cmd->require_subcommand(1);
  auto* audit_verify_cmd = audit_cmd->add_subcommand("verify", "check the audit log's hash chain; exit 1 at the first broken link");
  audit_verify_cmd->add_option("--config", audit_config, "YAML configuration file (default: built-in defaults)");

  auto ops = pc::app::add_ops_command(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "portcullis: " << e.what() << " (see --help)\n";
    return 2;
  }

  // Before anything that may start a thread (the log writer, the server, the agent): every
  // thread inherits the blocked mask, so only the signal-handling thread ever sees them.
  if (*serve_cmd || *agent_cmd || *tools_cmd) pc::app::block_process_signals();
  if (*serve_cmd) return pc::app::serve(serve);
  if (*check_cmd) return pc::app::check_config(check_path);
  if (*agent_cmd) return pc::app::example_agent(agent_opts);
  if (*tools_cmd) return pc::app::example_tools(tools_opts);
  if (*rotate_cmd) return pc::app::keys_rotate(keys_config);
  if (*rotate_master_cmd) return pc::app::keys_rotate_master(keys_config);
  if (*audit_verify_cmd) return pc::app::audit_verify(audit_config);
  if (*ops.command) return ops.run();
  return 2;
}
