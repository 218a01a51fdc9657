// `portcullis example-tools` (issue 10): runs the reference MCP server until SIGTERM or SIGINT.
#include <csignal>
#include <iostream>

#include "app/commands.h"
#include "app/signals.h"
#include "core/log.h"
#include "examples/example_tools.h"

namespace pc::app {

int example_tools(const examples::ExampleToolsOptions& options) {
  log::init("info", "json");
  try {
    examples::ExampleTools tools(options);
    log::info("listening", {{"address", tools.address()}, {"service", "example-tools"}, {"url", tools.url()},
                            {"token_checked", !options.gateway.empty()}});
    int sig;
    while ((sig = wait_process_signal()) == SIGHUP) {
    }
    tools.stop();
  } catch (const std::exception& e) {
    std::cerr << "portcullis example-tools: " << e.what() << "\n";
    return 1;
  }
  log::info("stopped", {{"service", "example-tools"}});
  log::flush();
  return 0;
}

}  // namespace pc::app
