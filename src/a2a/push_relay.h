// Push notifications through the gateway (SPEC §5, docs/a2a.md): a client's push URL never reaches
// the runtime. When a client sets a push config for its task, the gateway checks the client's URL
// like a webhook target (https unless webhooks.allow_http, no private addresses unless
// webhooks.allow_private_targets: SSRF), stores it (its token and credentials sealed), and gives
// the runtime a config of its own instead: the relay URL `<public base>/a2a-push/{relayId}` with a
// random token. The runtime's notifications arrive at the relay (api/a2a_push_route.cpp), are
// checked (token, the task's owner) and delivered to the client's URL by the webhook machinery
// (agents/webhooks.h: durable, retried with backoff, dead-lettered), with the client's token in
// `X-A2A-Notification-Token` and signed by the gateway. Owner: "push".
//
// Blocking (store): from a work pool, never an I/O thread.
#pragma once

#include <boost/json/object.hpp>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "a2a/protocol.h"
#include "a2a/task_bindings.h"

namespace pc::store {
class Store;
}
namespace pc::vault {
class DataKeys;
}
namespace pc::agents {
class Webhooks;
}

namespace pc::a2a {

// A client's push config refused (message safe to send: e.g. "the push URL must use https").
class PushRefused : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class PushRelay {
 public:
  virtual ~PushRelay() = default;
  // push_set: `client_config` is the request's config object in the request's version shape
  // (1.0 TaskPushNotificationConfig / 0.3 PushNotificationConfig). Stores it for `owner` and
  // `task_id` and returns the config object to send to the runtime in its place (same shape,
  // the relay URL and token). Throws PushRefused.
  virtual boost::json::object register_config(const Owner& owner, std::string_view task_id, Version version,
                                              const boost::json::object& client_config) = 0;
  // The runtime's answer to push_set/get/list as the client must see it: every relay URL and
  // token replaced by the client's own (configs the gateway does not know are dropped).
  virtual boost::json::value client_view(const Owner& owner, std::string_view task_id, Version version,
                                         const boost::json::value& runtime_answer) = 0;
  // push_delete succeeded at the runtime: forget the client's config.
  virtual void forget(const Owner& owner, std::string_view task_id, std::string_view config_id) = 0;

  // The relay side (api/a2a_push_route.cpp)
  enum class RelayOutcome {
    queued,        // durable in the delivery queue
    unauthorized,  // unknown relay id or wrong token (answered alike)
    wrong_task,    // the notification names no task, or another task than the config's
    bad_body,      // not one JSON object, or over 1 MiB
  };
  struct Relayed {
    RelayOutcome outcome = RelayOutcome::unauthorized;
    std::string delivery_id;  // queued
    std::string tenant;       // queued, wrong_task: the config's tenant (for logs)
    std::string task_id;      // the config's task
  };
  // A notification the runtime posted to `<public base>/a2a-push/{relay_id}` with `token` in
  // X-A2A-Notification-Token: checked (token in constant time against its hash; the task it
  // names is the config's) and queued for delivery to the client. Blocking (store).
  virtual Relayed relay(std::string_view relay_id, std::string_view token, std::string_view body) {
    (void)relay_id, (void)token, (void)body;
    return {};
  }
};

// The implementation: make_push_relay(setup).
struct PushRelaySetup {
  store::Store* store = nullptr;         // a2a_push_configs
  vault::DataKeys* keys = nullptr;       // seals the client's token and authentication
  agents::Webhooks* webhooks = nullptr;  // the delivery queue; its config's SSRF rules judge client URLs
  // The gateway's public base URL (e.g. "https://gw.example.com"), read at each registration:
  // the relay URL given to runtimes is `<base>/a2a-push/{relayId}`.
  std::function<std::string()> public_base;
  std::size_t max_configs_per_task = 10;  // a2a.push_max_configs_per_task
  // The gateway's signature of each delivery (a2a/push_signer.h: make_push_signer); empty: unsigned.
  std::function<std::vector<std::pair<std::string, std::string>>(const std::string& relay_id,
                                                                 const std::string& delivery_id, std::string_view url,
                                                                 std::string_view body)>
      sign;
};
// Also installs the webhooks' push hooks (targets, signature, metrics): one relay per Webhooks.
std::unique_ptr<PushRelay> make_push_relay(PushRelaySetup setup);

// cheap checks for the relay route, before any pool or store work.
// The shape of every relay id the gateway issues: "a2ap_" and 32 lowercase hex digits. An id of
// another shape cannot name a config, so it is refused without a lookup.
bool well_formed_relay_id(std::string_view relay_id);
// Counts a relay refusal made outside PushRelay::relay (portcullis_a2a_push_deliveries_total{refused}).
void count_relay_refused();

}  // namespace pc::a2a
