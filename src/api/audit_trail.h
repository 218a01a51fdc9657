// The audit trail of the HTTP API (SPEC §6: every API call and security event). The audit stage wraps
// each protected handler's responder with record(): when the handler answers, one event is
// recorded (actor and tenant from the verified principal, action "http.<METHOD> <route>", the
// path as resource, the status as outcome, the request id). Answers to state-changing methods
// (anything but GET/HEAD) are held until their event is durable — an acknowledged change is
// always in the log — and become 503 if the event cannot be written. Reads and proxied calls
// are recorded without waiting. Refusals (401, 403) and tenant-access violations are recorded
// as `security.*` events, within their own budget: at most `refusal_budget` of them wait in the
// audit queue at once, so a flood of refusals never takes the queue room of served calls
// (api/refusals.h decides which refusals are recorded one by one and which are summed up).
//
// In the stage chain this is the audit stage (audit_stage()), the last before the handler.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "api/stage.h"
#include "auth/principal.h"
#include "net/http.h"

namespace pc::audit {
class AuditLog;
struct Event;
}  // namespace pc::audit

namespace pc::api {

class AuditTrail {
 public:
  // nullptr: auditing off (unit tests).
  explicit AuditTrail(audit::AuditLog* log, std::size_t refusal_budget = 1024) : log_(log), refusal_budget_(refusal_budget) {}

  // Records the call `answer` stands for, then sends it through `reply` (for a change: once
  // the event is durable; 503 if it cannot be).
  void answer(const std::shared_ptr<net::Request>& req, const std::shared_ptr<const auth::Principal>& who,
              net::Response&& answer, net::Responder reply) const;
  // A responder that does answer() with what it is given.
  net::Responder record(std::shared_ptr<net::Request> req, std::shared_ptr<const auth::Principal> who,
                        net::Responder reply) const;

  // One refusal (no principal for 401; the principal for 403), as a security event of the
  // answer's audit_action or by its status. Not waited on; false when dropped (the refusal
  // budget is used up or the queue is full), counted in portcullis_audit_refusals_dropped_total.
  bool refusal(const net::Request& req, const auth::Principal* who, const net::Response& answer) const;

  // Many refusals of one source within one window, as one event: `count` of them, the first
  // of which had `first_request_id`.
  struct Summary {
    std::string action, tenant, actor, reason, network, route, first_request_id;
    int status = 0;
    std::uint64_t count = 0;
    std::chrono::milliseconds window{0};
  };
  bool refusal_summary(const Summary& s) const;

 private:
  bool queue_refusal(audit::Event&& e) const;

  audit::AuditLog* log_;
  const std::size_t refusal_budget_;
  // Refusal events queued and not yet written; shared with their durable callbacks.
  std::shared_ptr<std::atomic<std::size_t>> refusals_queued_ = std::make_shared<std::atomic<std::size_t>>(0);
};

// The audit stage: every call that passed the stages before it is recorded when answered.
std::unique_ptr<const Stage> audit_stage(const AuditTrail& trail);

}  // namespace pc::api
