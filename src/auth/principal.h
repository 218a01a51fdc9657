// Who is calling: the identity a verified token establishes (SPEC §4). Handlers receive one and
// never look at the token themselves. Built once per distinct token and shared (the verified-token
// cache hands the same immutable Principal to every request that presents that token).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenancy/tenant_id.h"

namespace pc::auth {

// The roles SPEC §4 defines. Platform roles act as the reserved tenant "platform".
namespace roles {
inline constexpr std::string_view kPlatformAdmin = "Platform.Admin";
inline constexpr std::string_view kPlatformOperator = "Platform.Operator";
inline constexpr std::string_view kAgentDeveloper = "Agent.Developer";
inline constexpr std::string_view kAgentInvoke = "Agent.Invoke";
inline constexpr std::string_view kSelfServiceAdmin = "SelfService.Admin";
inline constexpr std::string_view kMachineInvoke = "Machine.Invoke";
}  // namespace roles

using tenancy::kPlatformTenant;

struct Principal {
  std::string issuer;   // "iss" of the token
  std::string issuer_name;  // the trusted issuer's configured name ("builtin" for ours), for logs
  std::string subject;  // "sub"
  std::string tenant;   // from the issuer's tenant claim; "platform" for platform principals
  std::string app;      // from the issuer's app claim
  std::string client;   // "client_id" or "azp" ("" when the token names none)
  std::vector<std::string> roles;
  std::vector<std::string> scopes;  // "scope" (space-separated) or "scp" (array)
  std::string email;
  std::string name;
  std::string actor;        // "act.sub" of a delegated (token-exchange) token, else ""
  std::vector<std::string> prior_actors;  // act.act.sub, act.act.act.sub, … (RFC 8693 §4.1)
  std::string token_id;     // "jti", else ""
  std::int64_t expires_at = 0;  // "exp", unix seconds

  bool has_role(std::string_view role) const;
  bool has_scope(std::string_view scope) const;
  bool is_platform() const { return tenant == kPlatformTenant; }
};

// True when `role` is a role SPEC §4 defines.
bool is_known_role(std::string_view role);
// Platform.* roles: honoured only for principals of the platform tenant.
bool is_platform_role(std::string_view role);

}  // namespace pc::auth
