// JWT registered-claim checks (RFC 7519 §4.1) against a policy. Pure, no I/O: "now" is injected.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <boost/json.hpp>

namespace pc::jose {

struct ClaimsPolicy {
  std::string issuer;                  // exact match on "iss"; must be non-empty (fail closed)
  std::vector<std::string> audiences;  // "aud" must name at least one; must be non-empty
  std::int64_t leeway_seconds = 0;     // clock skew allowance, >= 0
  std::int64_t now = 0;                // unix seconds; must be set (> 0), fail closed otherwise
  std::optional<std::int64_t> max_lifetime_seconds;  // exp - iat (and exp - now) bound
};

// Numeric dates must be JSON numbers in [0, 2^53).
inline constexpr double kMaxNumericDate = 9007199254740992.0;  // 2^53

// nullopt when the claims pass; otherwise the reason ("claims: ..."). Rules: iss present, a
// string, equal to policy.issuer; aud a string or a non-empty array of strings intersecting
// policy.audiences; exp required, numeric, now - leeway < exp; nbf optional, nbf <= now + leeway;
// iat optional, iat <= now + leeway; with max_lifetime_seconds, exp - iat and exp - now must not
// exceed it.
std::optional<std::string> check_claims(const boost::json::object& payload,
                                        const ClaimsPolicy& policy);

}  // namespace pc::jose
