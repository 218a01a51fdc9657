// One connection to Redis, on a thread and io_context of its own (never an I/O thread of the
// server): plain TCP or TLS (rediss://, verified like the proxy's https upstreams), AUTH and
// SELECT from the URL, pipelined commands (everything queued goes out in one write; replies are
// matched in order), a PING every second when idle so a silent peer is noticed, reconnect with
// exponential backoff.
//
// Nothing waits on Redis: a command issued while the connection is down is answered at once with
// an error, and one in flight when the connection drops or outlives `command_timeout` is answered
// with an error too (the connection is then dropped and re-made). Health is a flag, the gauge
// portcullis_redis_up{connection=NAME}, the counter portcullis_redis_disconnects_total{connection}
// and one log line per transition ("redis: connected" / "redis: unavailable").
//
// In subscriber mode the connection SUBSCRIBEs to `channels` on every (re)connect and hands each
// message to `on_message`; only PING is sent on it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "cluster/redis_url.h"
#include "cluster/resp.h"

namespace pc::cluster {

// A command's answer: the reply (which may be a Redis error reply, RespValue::is_error), or
// `failure` set when no reply came (connection down, dropped, timed out, client stopped).
struct RedisReply {
  RespValue value;
  std::string failure;
  bool ok() const { return failure.empty() && !value.is_error(); }
  // The failure, or the error reply's text.
  std::string error() const { return failure.empty() ? value.str : failure; }
};

class RedisClient {
 public:
  struct Options {
    RedisUrl url;
    std::string ca_file;       // rediss:// trust anchors (PEM); empty = the system store
    std::string name = "commands";  // the metric label and log field
    std::chrono::milliseconds connect_timeout{1000};  // TCP + TLS + AUTH
    std::chrono::milliseconds command_timeout{1000};
    std::chrono::milliseconds backoff_initial{100};
    std::chrono::milliseconds backoff_max{1000};
    std::chrono::milliseconds ping_interval{1000};
    // Subscriber mode (see above).
    std::vector<std::string> channels;
    std::function<void(const std::string& channel, const std::string& payload)> on_message;
    // Each transition, on the client's thread (after the log line and the gauge).
    std::function<void(bool up)> on_health;
  };
  using Done = std::function<void(RedisReply)>;

  explicit RedisClient(Options options);
  ~RedisClient();  // stop()
  RedisClient(const RedisClient&) = delete;
  RedisClient& operator=(const RedisClient&) = delete;

  // Starts the thread; the first connection attempt follows at once.
  void start();
  // Answers everything pending with failure "stopped", closes, joins. Idempotent.
  void stop();

  // Any thread. `done` runs on the client's thread: keep it short, never block in it.
  void command(std::vector<std::string> args, Done done);
  // Blocking convenience for tests and tools (never from the client's own thread).
  RedisReply call(std::vector<std::string> args);

  bool up() const;
  const Options& options() const;

 private:
  struct Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace pc::cluster
