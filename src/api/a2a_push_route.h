// The A2A push relay (SPEC §5, docs/a2a-push.md): where runtimes post the push notifications of
// tasks whose push config the gateway registered in the client's place (a2a/push_relay.h).
//
//   POST /a2a-push/{relayId}     X-A2A-Notification-Token: <the relay token given to the runtime>
//
// No bearer token: the runtime proves itself with the relay token (checked in constant time
// against its hash). 202 once the notification is durable in the delivery queue; 401 for an
// unknown relay id or a wrong or missing token (answered alike); 403 when the notification is
// about another task than the config's; 400 for a body that is not one JSON object; 413 over
// 1 MiB. Every refusal is logged with the request id; the 401s (the only refusal a stranger can
// cause) through the bounded refusal recorder (api/refusals.h), so a flood of forged ids costs a
// few warn lines per window. An id of a shape the gateway never issues is refused before any pool
// or store work; a full pool answers 503 at once (run_blocking).
#pragma once

#include "net/router.h"

namespace pc::core {
class WorkPool;
}
namespace pc::a2a {
class PushRelay;
}

namespace pc::api {

class RefusalRecorder;

struct A2aPushRouteDeps {
  a2a::PushRelay* relay = nullptr;  // null: 503 (the relay is not built)
  core::WorkPool* pool = nullptr;
  RefusalRecorder* refusals = nullptr;  // null logs each 401 (tests)
};

void add_a2a_push_route(net::Router& router, A2aPushRouteDeps deps);

}  // namespace pc::api
