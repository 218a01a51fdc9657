// The shared limit primitive (for the limit stage's local token leases): a GCRA kept in Redis,
// one key per limit, that grants a *lease* of up to N tokens at once, so a node asks Redis once
// per lease, not once per request. Time is Redis's own clock (TIME inside the script), so the
// nodes' clocks do not matter.
//
// The state is one number per key, the GCRA's theoretical arrival time (TAT, microseconds), with
// a TTL that lets idle keys vanish. With rate r tokens/s and burst b:
//   interval T = 1/r, capacity = b*T, available = floor((now + capacity - max(TAT, now)) / T)
// and a grant of g tokens moves TAT by g*T. So over any window the tokens granted across all
// nodes never exceed b + r*window, exactly like a single GCRA.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace pc::cluster {

class RedisClient;

struct LeaseGrant {
  std::int64_t granted = 0;    // 0..want tokens, to spend locally
  std::int64_t remaining = 0;  // tokens still available right after this grant
  // When `remaining` is 0: how long until the next token (a Retry-After hint). 0 otherwise.
  std::chrono::milliseconds retry_after{0};
};

// The interface the limit stage codes against. nullopt = the shared store could not answer
// (Redis down, timeout): the caller falls back to its local share of the rate.
class TokenLeases {
 public:
  virtual ~TokenLeases() = default;
  using Done = std::function<void(std::optional<LeaseGrant>)>;
  // `rate_per_second` > 0, `burst` >= 1, `want` >= 1 (else std::invalid_argument). `done` runs
  // on the Redis client's thread: keep it short.
  virtual void lease(const std::string& key, double rate_per_second, double burst, std::int64_t want, Done done) = 0;
};

// The Redis implementation: EVALSHA of one Lua script; on NOSCRIPT (a fresh or flushed server)
// the script is sent once with EVAL, which caches it there again.
class RedisTokenLeases final : public TokenLeases {
 public:
  explicit RedisTokenLeases(RedisClient& client, std::string key_prefix = "portcullis:gcra:");
  void lease(const std::string& key, double rate_per_second, double burst, std::int64_t want, Done done) override;

  static const std::string& script();
  static const std::string& script_sha1();  // lowercase hex, as SCRIPT LOAD answers

 private:
  RedisClient& client_;
  std::string prefix_;
};

}  // namespace pc::cluster
