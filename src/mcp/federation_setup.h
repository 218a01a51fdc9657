// How the gateway builds its mcp::Federation from the pieces it owns (one call, so that
// app/gateway.cpp stays a list of wiring): the request chain (policy, argument validation against
// the inputSchema, then the configured request hooks), the response chain (the redaction /
// guardrail / size interceptors of area "redact", then the configured response hooks), the
// policy port of the one rule set (mcp.policies through policy_allows), act-on-behalf tokens from
// the built-in issuer, and vault secrets.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/config.h"
#include "mcp/federation.h"

namespace pc::auth {
class OnBehalfIssuer;
}
namespace pc::vault {
class SecretsVault;
}

namespace pc::mcp {

struct FederationSetup {
  const ServerDirectory* directory = nullptr;          // mcp::ServerRegistry
  ServerHealthSink* health = nullptr;                  // mcp::ServerRegistry
  SessionState* sessions = nullptr;                    // mcp::McpSessions (area "transport")
  const tenancy::Capabilities* capabilities = nullptr;
  const auth::OnBehalfIssuer* on_behalf = nullptr;     // act_on_behalf servers
  vault::SecretsVault* vault = nullptr;                // vault_secret servers (called on `blocking`)
  core::WorkPool* blocking = nullptr;                  // e.g. the mcp work pool
  agents::Idempotency* idempotency = nullptr;
  ToolCallLog* calls = nullptr;
  // Area "redact" (mcp/response_guards.h): redaction, guardrail deny patterns, size limit — in
  // that order. Empty until that area is merged.
  std::vector<std::shared_ptr<const ResponseInterceptor>> response_guards;
  std::chrono::milliseconds interceptor_timeout{5000};  // per interceptor (hooks: their own + 250 ms)
};

// Throws std::invalid_argument on a missing required piece or an unusable hook url.
std::shared_ptr<Federation> build_federation(const core::McpConfig& mcp, FederationSetup setup,
                                             FederationOptions options);

}  // namespace pc::mcp
