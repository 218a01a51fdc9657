// Change propagation between gateway nodes (SPEC §3 cluster): the node that commits a tenant,
// client, signing-key or capability change publishes a small message on one Redis channel; every
// other node hears it and runs its usual refresh at once, so a suspension on one node refuses on
// the others within a second instead of the ~2 s poll. The message is only a signal: the store
// stays the truth (the refresh reads it), and the poll stays as the fallback when Redis is down
// (a missed message costs at most one poll interval). A node ignores its own messages.
//
// Message (JSON, one per change): {"v":1,"node":"<node id>","kind":"tenant.update","tenant":"acme"}.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "cluster/redis_url.h"

namespace pc::cluster {

struct Change {
  std::string node;    // the publisher's node id
  std::string kind;    // the audit action of the change, e.g. tenant.update, client.disable, keys.rotate
  std::string tenant;  // the tenant it concerns ("platform" for platform-wide changes)
};

std::string encode_change(const Change& c);
// nullopt for anything that is not a message of ours (other versions, garbage).
std::optional<Change> decode_change(std::string_view payload);

class RedisClient;

// For a tool that changes the store outside any gateway (the offline `portcullis keys rotate`):
// connects, publishes one change signal on `channel` as node "cli-<random>", disconnects. Waits
// at most `wait` for the connection; false (and `error`) when the signal was not sent — the nodes
// then see the change at their next poll.
bool publish_change_once(const RedisUrl& url, const std::string& ca_file, const std::string& kind,
                         const std::string& tenant, std::string& error,
                         std::chrono::milliseconds wait = std::chrono::milliseconds(2000),
                         const std::string& channel = "portcullis:changes");

class ChangeBus {
 public:
  struct Options {
    RedisUrl url;
    std::string ca_file;
    std::string channel = "portcullis:changes";
    std::string node_id;  // empty = a random one
    // Another node's change, on the bus's subscriber thread: keep it short (wake a refresh).
    std::function<void(const Change&)> on_change;
    // The subscription was (re)made: messages may have been missed while it was down, so the
    // node should refresh once. Same thread.
    std::function<void()> on_resync;
  };

  // Publishes through `publisher` (the node's command connection, shared with the token leases;
  // it must outlive the bus); subscribes on a connection of its own (a subscribed connection
  // takes no other commands).
  ChangeBus(Options options, RedisClient& publisher);
  ~ChangeBus();  // stop()
  ChangeBus(const ChangeBus&) = delete;
  ChangeBus& operator=(const ChangeBus&) = delete;

  // Starts (stops) the subscriber; the publisher is started and stopped by its owner.
  void start();
  void stop();

  // Any thread, never blocks. With Redis down the message is dropped (counted); other nodes
  // pick the change up at their next poll.
  void publish(const std::string& kind, const std::string& tenant);

  const std::string& node_id() const { return node_id_; }
  // Both connections up.
  bool up() const;

 private:
  Options o_;
  std::string node_id_;
  RedisClient& publisher_;
  std::unique_ptr<RedisClient> subscriber_;
};

}  // namespace pc::cluster
