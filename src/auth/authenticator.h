// Bearer token -> Principal (SPEC §4). Pure CPU work on the calling thread: the verified-token
// cache, the JOSE verification chain (src/jose) against the issuer's current keys, the claim
// mapping, and the tenant check against the tenant directory. It never does I/O: when a token
// names a key the issuer's set lacks, it answers `refetch` and the caller asks the KeyRefresher
// for new keys, then calls again with allow_refetch = false.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/key_source.h"
#include "auth/principal.h"
#include "auth/remote_keys.h"
#include "core/config.h"
#include "core/published.h"
#include "jose/verify.h"
#include "tenancy/tenant_directory.h"

namespace pc::auth {

// One issuer the gateway trusts, as the verifier sees it (built from IssuerConfig, or from the
// built-in issuer's settings).
struct TrustedIssuer {
  std::string name;    // label for logs and metrics: the config name, or "builtin"
  std::string issuer;  // exact "iss"
  std::vector<std::string> audiences;
  std::vector<std::string> allowed_clients;  // empty: any client
  std::vector<std::string> tenants;          // empty: any tenant but "platform"
  bool may_speak_for_platform = false;       // the built-in issuer; others need "platform" in tenants
  std::vector<jose::Alg> algorithms;
  std::int64_t leeway_seconds = 0;
  std::optional<std::int64_t> max_lifetime_seconds;
  core::IssuerClaimsConfig claims;
  std::shared_ptr<KeySource> keys;
  std::shared_ptr<RemoteKeys> remote;  // set when the keys are fetched and may be refetched
};

// Builds the verifier's view of a configured external issuer (algorithms parsed; `keys` and
// `remote` left for the caller to attach).
TrustedIssuer trusted_issuer(const core::IssuerConfig& c);

struct AuthResult {
  enum class Status { ok, invalid, refetch };
  Status status = Status::invalid;
  std::shared_ptr<const Principal> principal;  // ok
  std::string tier;                             // ok: the tenant's tier, from the tenant record
  std::string reason;  // invalid: a short fixed label for metrics (see reasons in the .cpp)
  std::string detail;  // invalid: what was wrong, safe to show the caller and to log
  std::shared_ptr<RemoteKeys> refetch;  // refetch: whose keys to refresh
  std::string issuer_name;              // the issuer the token claimed, when known
  bool cached = false;                  // ok: answered from the verified-token cache
};

class Authenticator {
 public:
  explicit Authenticator(const tenancy::TenantDirectory& tenants, std::size_t cache_entries_per_thread = 16384);

  // Replaces the trusted issuers (start-up, reload); cached verifications are discarded.
  void set_issuers(std::vector<TrustedIssuer> issuers);
  // An issuer's keys changed: cached verifications are discarded (a removed key must stop
  // working even for tokens verified before).
  void keys_changed() { epoch_.fetch_add(1, std::memory_order_acq_rel); }
  void set_cache_entries_per_thread(std::size_t n) { cache_entries_.store(n, std::memory_order_relaxed); }

  AuthResult authenticate(std::string_view token, std::int64_t now, bool allow_refetch = true) const;

  std::uint64_t epoch() const { return epoch_.load(std::memory_order_acquire); }

 private:
  struct Issuers;
  AuthResult verify_uncached(std::string_view token, std::int64_t now, bool allow_refetch,
                             std::int64_t& valid_until) const;
  AuthResult check_tenant(std::shared_ptr<const Principal> p, bool cached) const;

  const tenancy::TenantDirectory& tenants_;
  core::Published<Issuers> issuers_;
  std::atomic<std::uint64_t> epoch_{1};
  std::atomic<std::size_t> cache_entries_;
  const std::uint64_t instance_;
};

// Maps a reason from the JOSE layer ("claims: token expired", "jws: ...") to a metric label.
std::string_view failure_label(std::string_view jose_reason);

}  // namespace pc::auth
