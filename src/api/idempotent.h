// run_idempotent: the HTTP side of idempotency keys (agents/idempotency.h) for a route such as
// POST /v1/agents/{name}/invoke.
//
//   no Idempotency-Key header          → call(reply): nothing changes
//   a bad key (empty, > 255 chars, not printable ASCII) → 400 invalid_request
//   first time                         → call(wrapped reply); its answer is remembered for 24 h
//                                         (2xx and 4xx but 408/409/425/429/499; anything else
//                                         releases the key so that a retry runs again)
//   same key, same method+path+body    → the remembered answer again, with
//                                         `Idempotent-Replayed: true`, without calling
//   same key, another body             → 422 idempotency_key_reused
//   same key, the first still running  → 409 idempotency_in_flight (with Retry-After: 1)
// Keys are scoped to (tenant, principal). The store work runs on `pool`, never the I/O thread,
// and so does `call` when a key is given (answer through the Responder as any handler does).
//
// Proxied answers (net::Response::proxy): a ForwardTo with a `transform` (the buffered mode of
// the sync invoke) has the Response its transform returns remembered; a relayed answer (stream)
// is not seen here, so its key is released when the exchange ends — invoke refuses stream with a
// key anyway. A remembered answer is stored after the client got it in the proxied case, so a
// retry racing that write briefly finds the key in flight: begin() looks again for up to
// `in_flight_wait` before answering 409.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "net/http.h"

namespace pc::agents {
class Idempotency;
}
namespace pc::core {
class WorkPool;
}

namespace pc::api {

struct IdempotentDeps {
  agents::Idempotency* service = nullptr;  // nullptr: keys are ignored (call runs as is)
  core::WorkPool* pool = nullptr;
  std::chrono::milliseconds in_flight_wait{500};
};

inline constexpr std::string_view kIdempotencyKeyHeader = "Idempotency-Key";
inline constexpr std::string_view kReplayedHeader = "Idempotent-Replayed";

void run_idempotent(const IdempotentDeps& deps, std::shared_ptr<net::Request> req, const std::string& tenant_id,
                    const std::string& principal, net::Responder reply, std::function<void(net::Responder)> call);

}  // namespace pc::api
