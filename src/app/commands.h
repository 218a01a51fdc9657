// The subcommands of the `portcullis` binary. Each returns the process exit code.
#pragma once

#include <functional>
#include <string>

namespace CLI {
class App;
}

namespace pc::core {
struct Config;
}
namespace pc::examples {
struct ExampleAgentOptions;
struct ExampleToolsOptions;
}

namespace pc::app {

// For commands that read state: the configuration at `config_path` (built-in defaults when
// empty) into `cfg`. On a bad file prints the one-line error and returns false (exit code 2).
bool load_command_config(const std::string& config_path, core::Config& cfg);

struct ServeOptions {
  std::string config_path;  // empty = built-in defaults
  bool demo = false;
  std::string demo_agent_url;  // --demo-agent: use this runtime instead of starting the example agent
};

// serve and example_agent expect SIGHUP, SIGTERM and SIGINT blocked before they are called
// (app/signals.h: main does it before any thread starts).
int serve(const ServeOptions& opts);
int check_config(const std::string& config_path);
int example_agent(const examples::ExampleAgentOptions& options);
// `portcullis example-tools`, the reference MCP server (app/example_tools_command.cpp).
int example_tools(const examples::ExampleToolsOptions& options);
int keys_rotate(const std::string& config_path);
// `portcullis keys rotate-master`: 0 done, 1 failed (a rerun finishes the job), 2 bad config.
int keys_rotate_master(const std::string& config_path);
// `portcullis audit verify`: 0 the chain is intact, 1 broken (first broken link printed), 2 bad config.
int audit_verify(const std::string& config_path);

// `portcullis ops …`: adds the operator CLI (its whole command tree, app/ops_command.cpp) under
// `parent`. After a successful parse, when *command was chosen, run() performs it and returns
// the exit code.
struct OpsCommand {
  CLI::App* command = nullptr;
  std::function<int()> run;
};
OpsCommand add_ops_command(CLI::App& parent);

}  // namespace pc::app
