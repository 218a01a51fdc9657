// Liveness, readiness and metrics: the routes an orchestrator and a scraper call.
#pragma once

#include <atomic>
#include <functional>

#include "net/router.h"

namespace pc::core {
class WorkPool;
}

namespace pc::api {

struct SystemDeps {
  // Blocking check that the store answers; run on `pool`, never on an I/O thread.
  std::function<bool()> store_ping;
  core::WorkPool* pool = nullptr;
  // Read per request so a reload can change it.
  std::function<bool()> metrics_public;
};

// GET /healthz, /readyz, /metrics.
void add_system_routes(net::Router& router, SystemDeps deps);

bool is_loopback(std::string_view ip);

}  // namespace pc::api
