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
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "a2a/protocol.h"
#include "a2a/task_bindings.h"

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
};

}  // namespace pc::a2a
