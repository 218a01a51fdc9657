// How many gateway nodes share this Redis: the divisor of the per-node share a node falls back to
// when Redis is down (docs/usage-plans.md "Many nodes"). Each node refreshes its entry in one
// sorted set every `heartbeat`, scored by Redis's own clock (TIME, so nodes' clocks do not
// matter); entries older than `expiry` are dropped by the same script, and the count is what is
// left. A node that stops removes itself; one that dies falls out after `expiry`.
//
// The count is remembered when Redis is down: the share a node falls back to is computed from the
// last cluster it saw (1 until it has seen one — a node that never reached Redis limits alone).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace pc::cluster {

class RedisClient;

class NodeRegistry {
 public:
  struct Options {
    std::string node_id;  // non-empty, unique per node (the change bus's id)
    std::string key = "portcullis:nodes";
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds expiry{3000};
  };
  // `client` is the node's command connection; it must outlive the registry.
  NodeRegistry(Options o, RedisClient& client);
  ~NodeRegistry();  // stop()
  NodeRegistry(const NodeRegistry&) = delete;
  NodeRegistry& operator=(const NodeRegistry&) = delete;

  void start();
  // Leaves the set (best effort) and joins the heartbeat thread. Idempotent.
  void stop();

  // Nodes alive at the last heartbeat answered (>= 1), any thread.
  std::size_t count() const { return count_->load(std::memory_order_relaxed); }
  const std::string& node_id() const { return o_.node_id; }

  static const std::string& script();

 private:
  void run();
  void beat();

  Options o_;
  RedisClient& client_;
  // Shared with the answers in flight, which may land after the registry is gone.
  std::shared_ptr<std::atomic<std::size_t>> count_ = std::make_shared<std::atomic<std::size_t>>(1);
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pc::cluster
