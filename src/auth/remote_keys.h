// One trusted external issuer's signing keys: found by OIDC discovery (or a configured jwks_uri),
// fetched, kept for as long as the issuer's Cache-Control allows (clamped to the configured
// bounds) and refreshed in the background. A failed refresh keeps serving the keys it has (an IdP
// outage must not log everybody out); an issuer whose keys were never fetched fails closed. An
// unknown `kid` may force an early refresh, at most once per refetch interval, because the tokens
// that ask for it are attacker-controlled.
//
// Blocking methods do network I/O: they run on the key-refresh thread (KeyRefresher), never on an
// I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "auth/key_source.h"
#include "core/config.h"

namespace pc::auth {

// An HTTP GET of `url`: (status, Cache-Control value or "", body). Throws std::exception on
// transport failures. Injected so tests can stand in for the network.
struct FetchedDocument {
  int status = 0;
  std::string cache_control;
  std::string body;
};
using FetchFn = std::function<FetchedDocument(const std::string& url)>;
// The production fetcher: net::fetch with a 5 s timeout, a 256 KiB cap, https (or loopback http).
FetchFn default_fetch();

class RemoteKeys : public KeySource {
 public:
  using Clock = std::chrono::steady_clock;

  // `on_change` runs after a refresh published a key set that differs from the previous one.
  RemoteKeys(core::IssuerConfig config, FetchFn fetch, std::function<void()> on_change = {});

  const jose::JwkSet* current() const override { return keys_.read(); }
  bool has_keys() const { return keys_.load() != nullptr; }
  const core::IssuerConfig& config() const { return config_; }

  // Discovery (when enabled) and the JWKS fetch. On success publishes the set and schedules the
  // next refresh by max-age; on failure keeps the old set and schedules a retry. Returns "" or the
  // failure reason (logged by the caller; no secrets in it). Refreshes may overlap (start-up's
  // refresh_all_now and the refresher thread): each takes a generation number when it starts,
  // and one that finishes after a later-started one published does not publish its older set.
  std::string refresh(Clock::time_point now);
  Clock::time_point next_refresh() const;

  // Rate limit for unknown-kid refetches: true (and the attempt is recorded) when the last one was
  // at least refetch_interval ago.
  bool allow_refetch(Clock::time_point now);

  // How long keys fetched with this Cache-Control value are used before the next refresh:
  // max-age clamped to [min_seconds, max_seconds]; no-store or no-cache -> min_seconds; no
  // max-age -> 300 s, clamped the same way.
  static std::uint32_t ttl_seconds(std::string_view cache_control, const core::JwksCacheConfig& c);

 private:
  std::string jwks_url();  // from discovery or config; throws std::runtime_error

  const core::IssuerConfig config_;
  const FetchFn fetch_;
  const std::function<void()> on_change_;
  core::Published<jose::JwkSet> keys_;
  mutable std::mutex mu_;
  std::string last_jwks_text_;
  std::uint64_t started_generation_ = 0;    // refreshes begun
  std::uint64_t published_generation_ = 0;  // the one whose set is published (0: none yet)
  Clock::time_point next_refresh_{};
  std::optional<Clock::time_point> last_refetch_;
};

}  // namespace pc::auth
