#include "cluster/token_leases.h"

#include <cmath>
#include <stdexcept>

#include "cluster/redis_client.h"
#include "cluster/redis_script.h"
#include "core/metrics.h"

namespace pc::cluster {
namespace {

// KEYS[1] = the limit's key; ARGV = rate (tokens/s), burst, want. Returns {granted, remaining,
// retry_after_ms}. Numbers are microseconds as doubles (exact to well below 1 µs at today's
// epoch); the TAT is stored with 3 decimals so fractional intervals do not drift.
constexpr const char* kScript = R"lua(
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = 1000000 / rate
local capacity = burst * interval
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local avail = math.floor((now + capacity - tat) / interval + 1e-9)
if avail < 0 then avail = 0 end
local granted = math.min(want, avail)
if granted > 0 then
  tat = tat + granted * interval
  redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil((tat - now) / 1000) + 1000)
end
local remaining = avail - granted
local retry = 0
if remaining < 1 then retry = math.ceil((tat + interval - capacity - now) / 1000) end
if retry < 0 then retry = 0 end
return {granted, remaining, retry}
)lua";

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6f", v);
  return buf;
}

std::optional<LeaseGrant> grant_of(const RedisReply& r) {
  if (!r.ok() || r.value.type != RespValue::Type::array || r.value.elements.size() != 3) return std::nullopt;
  for (const auto& e : r.value.elements)
    if (e.type != RespValue::Type::integer) return std::nullopt;
  LeaseGrant g;
  g.granted = r.value.elements[0].integer;
  g.remaining = r.value.elements[1].integer;
  g.retry_after = std::chrono::milliseconds(r.value.elements[2].integer);
  return g;
}

core::Counter& lease_outcome(std::string_view what) {
  return core::metrics()
      .counter("portcullis_cluster_leases_total", "Shared (Redis) token lease requests by outcome", {"outcome"})
      .labels({what});
}

}  // namespace

const std::string& RedisTokenLeases::script() {
  static const std::string s = kScript;
  return s;
}

const std::string& RedisTokenLeases::script_sha1() {
  static const std::string s = sha1_hex(script());
  return s;
}

RedisTokenLeases::RedisTokenLeases(RedisClient& client, std::string key_prefix)
    : client_(client), prefix_(std::move(key_prefix)) {}

void RedisTokenLeases::lease(const std::string& key, double rate_per_second, double burst, std::int64_t want,
                             Done done) {
  if (!(rate_per_second > 0) || !std::isfinite(rate_per_second) || !(burst >= 1) || !std::isfinite(burst) || want < 1)
    throw std::invalid_argument("lease: rate > 0, burst >= 1 and want >= 1 required");
  run_script(client_, script(), script_sha1(),
             {"1", prefix_ + key, number(rate_per_second), number(burst), std::to_string(want)},
             [done = std::move(done)](RedisReply r) {
               auto g = grant_of(r);
               lease_outcome(g ? "answered" : "unavailable").inc();
               done(g);
             });
}

}  // namespace pc::cluster
