// The audit trail of the HTTP API (SPEC §6: every API call and security event). The guard wraps
// each protected handler's responder with record(): when the handler answers, one event is
// recorded (actor and tenant from the verified principal, action "http.<METHOD> <route>", the
// path as resource, the status as outcome, the request id). Answers to state-changing methods
// (anything but GET/HEAD) are held until their event is durable — an acknowledged change is
// always in the log — and become 503 if the event cannot be written. Reads and proxied calls
// are recorded without waiting. Refusals (401, 403) and tenant-access violations are recorded
// as `security.*` events.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/principal.h"
#include "net/http.h"

namespace pc::audit {
class AuditLog;
}

namespace pc::api {

class AuditTrail {
 public:
  explicit AuditTrail(audit::AuditLog* log) : log_(log) {}  // nullptr: auditing off (unit tests)

  // A responder that records the call, then answers through `reply`.
  net::Responder record(std::shared_ptr<net::Request> req, std::shared_ptr<const auth::Principal> who,
                        net::Responder reply) const;
  // A refusal by the guard (no principal for 401; the principal for 403). Not waited on.
  void refusal(const net::Request& req, const auth::Principal* who, const net::Response& answer) const;

 private:
  audit::AuditLog* log_;
};

}  // namespace pc::api
