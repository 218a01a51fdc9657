// Webhook routes (SPEC §5, docs/webhooks.md), for SelfService.Admin of the token's tenant (the
// tenant comes from the token, never from the path):
//
//   GET    /v1/webhooks                                              list (?limit=&cursor=)
//   POST   /v1/webhooks                  {url, description?}         201, the secret shown once
//   GET    /v1/webhooks/{id}
//   DELETE /v1/webhooks/{id}                                         204 (its deliveries go too)
//   POST   /v1/webhooks/{id}/ping                                    202, a signed "ping" event
//   GET    /v1/webhooks/{id}/deliveries/{deliveryId}                 one delivery's state
//   GET    /v1/webhooks/{id}/dead-letters                            list (?limit=&cursor=)
//   POST   /v1/webhooks/{id}/dead-letters/{deliveryId}/redeliver     202; 409 when not dead
//
// Another tenant's webhook or delivery id is 404 like an unknown one, and audited and counted
// as a tenant-access violation.
#pragma once

#include "api/chain.h"
#include "net/router.h"

namespace pc::core {
class WorkPool;
}
namespace pc::agents {
class Webhooks;
}

namespace pc::api {

struct WebhookRoutesDeps {
  const Chain* chain = nullptr;
  core::WorkPool* pool = nullptr;
  agents::Webhooks* webhooks = nullptr;
};

void add_webhook_routes(net::Router& router, WebhookRoutesDeps deps);

}  // namespace pc::api
