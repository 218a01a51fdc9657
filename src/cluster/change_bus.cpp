#include "cluster/change_bus.h"

#include <thread>

#include <boost/json.hpp>

#include "cluster/redis_client.h"
#include "core/log.h"
#include "core/metrics.h"
#include "crypto/random.h"

namespace pc::cluster {
namespace {

core::Counter& changes(std::string_view what) {
  return core::metrics()
      .counter("portcullis_cluster_changes_total",
               "Change signals between gateway nodes: published, received (from other nodes), unsent (Redis down), "
               "resync (a full refresh on (re)subscribing)",
               {"event"})
      .labels({what});
}

}  // namespace

std::string encode_change(const Change& c) {
  boost::json::object o;
  o["v"] = 1;
  o["node"] = c.node;
  o["kind"] = c.kind;
  o["tenant"] = c.tenant;
  return boost::json::serialize(o);
}

std::optional<Change> decode_change(std::string_view payload) {
  boost::system::error_code ec;
  auto v = boost::json::parse(payload, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const auto& o = v.get_object();
  auto str = [&o](const char* k) -> const boost::json::string* {
    auto* x = o.if_contains(k);
    return x && x->is_string() ? &x->get_string() : nullptr;
  };
  auto* ver = o.if_contains("v");
  if (!ver || !ver->is_int64() || ver->get_int64() != 1) return std::nullopt;
  auto *node = str("node"), *kind = str("kind"), *tenant = str("tenant");
  if (!node || !kind || !tenant || node->empty() || kind->empty()) return std::nullopt;
  return Change{std::string(*node), std::string(*kind), std::string(*tenant)};
}

ChangeBus::ChangeBus(Options options, RedisClient& publisher) : o_(std::move(options)), publisher_(publisher) {
  node_id_ = o_.node_id.empty() ? crypto::random_hex(8) : o_.node_id;

  RedisClient::Options so;
  so.url = o_.url;
  so.ca_file = o_.ca_file;
  so.name = "subscriber";
  so.channels = {o_.channel};
  so.on_message = [this](const std::string&, const std::string& payload) {
    auto c = decode_change(payload);
    if (!c) {
      log::warn("cluster: ignored a malformed change message", {{"bytes", payload.size()}});
      return;
    }
    if (c->node == node_id_) return;  // our own: applied locally already
    changes("received").inc();
    log::debug("cluster: change from another node", {{"node", c->node}, {"kind", c->kind}, {"tenant", c->tenant}});
    if (o_.on_change) o_.on_change(*c);
  };
  so.on_health = [this](bool up) {
    if (!up) return;
    // said and counted, so an operator (and the tests) can tell that a
    // node caught up after an outage rather than trusting it did.
    changes("resync").inc();
    log::info("cluster: subscribed; refreshing once (signals may have been missed while unsubscribed)",
              {{"node", node_id_}});
    if (o_.on_resync) o_.on_resync();
  };
  subscriber_ = std::make_unique<RedisClient>(std::move(so));
  changes("published");
  changes("received");
  changes("unsent");
  changes("resync");
}

ChangeBus::~ChangeBus() { stop(); }

void ChangeBus::start() { subscriber_->start(); }

void ChangeBus::stop() { subscriber_->stop(); }

void ChangeBus::publish(const std::string& kind, const std::string& tenant) {
  std::string msg = encode_change({node_id_, kind, tenant});
  publisher_.command({"PUBLISH", o_.channel, std::move(msg)}, [kind](RedisReply r) {
    if (r.ok()) {
      changes("published").inc();
      return;
    }
    changes("unsent").inc();
    log::warn("cluster: change signal not sent; other nodes see it at their next poll",
              {{"kind", kind}, {"error", r.error()}});
  });
}

bool publish_change_once(const RedisUrl& url, const std::string& ca_file, const std::string& kind,
                         const std::string& tenant, std::string& error, std::chrono::milliseconds wait,
                         const std::string& channel) {
  RedisClient::Options o;
  o.url = url;
  o.ca_file = ca_file;
  o.name = "commands";
  RedisClient client(std::move(o));
  client.start();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (!client.up() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  RedisReply r = client.call({"PUBLISH", channel, encode_change({"cli-" + crypto::random_hex(6), kind, tenant})});
  client.stop();
  if (r.ok()) return true;
  error = r.error();
  return false;
}

bool ChangeBus::up() const { return publisher_.up() && subscriber_->up(); }

}  // namespace pc::cluster
