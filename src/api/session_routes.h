// GET /v1/sessions/{id} and DELETE /v1/sessions/{id} (SPEC §5, §8): for the principal that owns
// the session only. Anyone else — another principal, another tenant — gets the 404 an unknown id
// gets; a real id of another tenant is also audited as a tenant-access violation.
#pragma once

#include "api/chain.h"
#include "net/router.h"

namespace pc::agents {
class SessionService;
}
namespace pc::core {
class WorkPool;
}

namespace pc::api {

struct SessionRoutesDeps {
  const Chain* chain = nullptr;
  agents::SessionService* sessions = nullptr;
  core::WorkPool* pool = nullptr;  // the store reads run here
};

void add_session_routes(net::Router& router, SessionRoutesDeps deps);

}  // namespace pc::api
