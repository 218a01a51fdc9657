#include "cluster/node_registry.h"

#include <stdexcept>

#include "cluster/redis_client.h"
#include "core/log.h"
#include "core/metrics.h"

namespace pc::cluster {
namespace {

// KEYS[1] = the set; ARGV = node id, expiry (ms). Returns the number of live nodes. Plain EVAL:
// Redis caches the compiled script by its digest, and the script is sent once a second.
constexpr const char* kScript = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expiry = tonumber(ARGV[2])
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - expiry)
redis.call('PEXPIRE', KEYS[1], expiry)
return redis.call('ZCARD', KEYS[1])
)lua";

core::Gauge& nodes_gauge() {
  return core::metrics()
      .gauge("portcullis_cluster_nodes", "Gateway nodes seen alive in Redis at the last heartbeat (kept while Redis is down)")
      .get();
}

}  // namespace

const std::string& NodeRegistry::script() {
  static const std::string s = kScript;
  return s;
}

NodeRegistry::NodeRegistry(Options o, RedisClient& client) : o_(std::move(o)), client_(client) {
  if (o_.node_id.empty()) throw std::invalid_argument("node registry: empty node id");
  nodes_gauge().set(1);
}

NodeRegistry::~NodeRegistry() { stop(); }

void NodeRegistry::start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { run(); });
}

void NodeRegistry::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) {
    thread_.join();
    // Leave at once, so the others' shares grow now rather than after `expiry`.
    client_.command({"ZREM", o_.key, o_.node_id}, nullptr);
  }
}

void NodeRegistry::beat() {
  // The answer lands on the client's thread; the count is all it touches (shared, not `this`).
  client_.command({"EVAL", script(), "1", o_.key, o_.node_id, std::to_string(o_.expiry.count())},
                  [count = count_](RedisReply r) {
                    if (!r.ok() || r.value.type != RespValue::Type::integer || r.value.integer < 1) return;
                    const auto n = static_cast<std::size_t>(r.value.integer);
                    const std::size_t before = count->exchange(n, std::memory_order_relaxed);
                    nodes_gauge().set(static_cast<double>(n));
                    if (before != n) log::info("cluster: nodes seen in Redis", {{"nodes", std::to_string(n)}});
                  });
}

void NodeRegistry::run() {
  std::unique_lock lock(mu_);
  while (!stopping_) {
    lock.unlock();
    beat();
    lock.lock();
    cv_.wait_for(lock, o_.heartbeat, [this] { return stopping_; });
  }
}

}  // namespace pc::cluster
