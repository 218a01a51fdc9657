// Wiring: builds the services of a running gateway from the configuration and the store, and the
// router whose routes compose the request path (docs/life-of-a-request.md). `serve` owns the
// process (signals, the server, shutdown); this owns what the routes need, and keeps it current:
// a background thread picks up tenant and signing-key changes made by other gateways (or by
// `portcullis keys rotate`) every few seconds, and apply() takes a reloaded configuration.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "app/lifecycle.h"
#include "core/config.h"
#include "crypto/master_keyring.h"
#include "net/router.h"
#include "store/store.h"

namespace pc::agents {
class AgentCatalog;
class Registry;
class Idempotency;  // issue 9: records
class AgentHealth;  // issue 9: records
class Webhooks;  // issue 9: webhooks
}
namespace pc::tenancy {
class TenantService;
}

namespace pc::mcp {
class ServerRegistry;
}
namespace pc::cluster {
class TokenLeases;
}

namespace pc::app {

// Blocking work of the routes runs on work pools of its own per class of route, each bounded, so
// a flood of one class never queues the others: the token endpoint (client authentication, token
// exchange waiting for an issuer's keys) and the admin API. The probes (/readyz) have theirs in
// serve.cpp.
constexpr unsigned kTokenPoolThreads = 2;
constexpr std::size_t kTokenPoolQueue = 4096;
constexpr unsigned kAdminPoolThreads = 2;
constexpr std::size_t kAdminPoolQueue = 1024;
// issue 9: jobs — GET /v1/jobs/{id} reads (clients poll it).
constexpr unsigned kJobReadsPoolThreads = 2;
constexpr std::size_t kJobReadsPoolQueue = 4096;

class Gateway {
 public:
  // Blocking (store reads): call before the server starts. Throws when the signing keys cannot be
  // loaded (no key, or a master key that does not unseal them). Adds its routes to `router`.
  // The audit and invocation log writers, the key refresher and the work pools run from here on.
  Gateway(const core::Config& cfg, store::Store& store, const crypto::MasterKeyring& master_keys,
          std::shared_ptr<net::Router> router);
  ~Gateway();  // stop()
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  std::shared_ptr<const net::Router> router() const;
  // For routes wired outside (system routes, the demo), added before the server starts.
  net::Router& routes();

  // The address clients reach us at, known once the server has bound its port: it becomes the
  // built-in issuer's identifier unless tokens.issuer is configured. Until then no token is
  // issued and none of ours verifies.
  void set_public_base_url(const std::string& base_url);
  std::string issuer() const;

  // Starts the background refresh (tenants, signing keys) and the JWKS fetches of external
  // issuers. Returns failures of the first fetch ("issuer: reason") for the caller to log.
  std::vector<std::string> start();
  // Re-reads tenants, signing keys, capabilities and agents now (the background thread does it
  // every few seconds). Blocking.
  void refresh();
  // A reloaded configuration: issuers, token settings, cache size.
  void apply(const core::Config& cfg);
  // Stops its subsystems in reverse order of start: the background refresh, the key refresher
  // (its waiters are answered), the admin and token pools (their queued jobs run), the
  // invocation log and the audit log (written, their callbacks run). Idempotent. Everything these answer
  // through (the server's event loops) must still run.
  void stop();
  // The subsystems above, in start order (tests, docs).
  std::vector<std::string> subsystems() const;

  agents::AgentCatalog& catalog();
  agents::Registry& registry();
  tenancy::TenantService& tenants();
  // issue 9: records — for the invoke route (api::IdempotentDeps, 503 agent_unavailable).
  agents::Idempotency& idempotency();
  agents::AgentHealth& agent_health();
  agents::Webhooks& webhooks();  // issue 9: webhooks (the jobs hook enqueues through it)
  // the upstream MCP servers; it is the federation's
  // mcp::ServerDirectory and mcp::ServerHealthSink.
  mcp::ServerRegistry& mcp_servers();
  // the shared GCRA leases for the limit stage; nullptr without
  // cluster.redis.url (then limits are per node).
  cluster::TokenLeases* token_leases();

  struct Parts;

 private:
  std::unique_ptr<Parts> p_;
};

}  // namespace pc::app
