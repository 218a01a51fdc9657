// Where a discovery document may send the gateway for an issuer's keys. The document is fetched
// from the issuer, but whoever can influence its text (a compromised CDN path, a misconfigured
// proxy, a template bug) could otherwise point jwks_uri at keys they control, or make the gateway
// fetch internal URLs. docs/configuration.md ("Trusted issuers") states the rule.
#pragma once

#include <string_view>

namespace pc::auth {

// True when `jwks_uri` has the issuer's origin (same scheme, host and port), or is https on the
// issuer's host (any port). Hosts compare case-insensitively; URLs with credentials, without a
// host, or with a scheme other than http/https are refused.
bool jwks_uri_allowed(std::string_view issuer, std::string_view jwks_uri);

}  // namespace pc::auth
