// The subcommands of the `portcullis` binary. Each returns the process exit code.
#pragma once

#include <string>

namespace pc::app {

struct ServeOptions {
  std::string config_path;  // empty = built-in defaults
  bool demo = false;
  std::string demo_agent_url;  // --demo-agent: use this runtime instead of starting the example agent
};

int serve(const ServeOptions& opts);
int check_config(const std::string& config_path);
int example_agent(const std::string& listen);
int keys_rotate(const std::string& config_path);

}  // namespace pc::app
