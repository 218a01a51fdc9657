// The limit stages of the chain (api/chain.h: authenticate → bind tenant → limit → roles → … →
// call limit → audit → handler): usage plans enforced on the I/O thread (docs/usage-plans.md,
// tenancy/usage_limits.h).
//
// Every request of a tenant principal takes from its tenant's rate budget (and its principal's,
// when the plan sets one). Calls — POST /v1/agents/{name}/invoke, A2A message sends (JSON-RPC
// SendMessage/SendStreamingMessage/message/send/message/stream, REST …/message:send|stream) and
// MCP tools/call — also take a concurrency slot, held until the answer is complete (a relayed or
// streamed answer: its last byte), and one unit of the day's quota — in the call stage, after
// the roles and capability checks, so a principal that may not call spends neither. Platform principals pass:
// the Admin API has its own budget at the edge.
//
// A refusal is 429 with `Retry-After`, the IETF `RateLimit-Policy` and `RateLimit` fields
// (draft-ietf-httpapi-ratelimit-headers-11) and the error code rate_limited, quota_exceeded or
// concurrency_limited; the chain records it like every refusal (api/refusals.h).
#pragma once

#include <memory>
#include <string>

#include "api/stage.h"
#include "tenancy/usage_limits.h"

namespace pc::api {

// What a request is for the plan, and how many calls it holds (a JSON-RPC batch of tool calls).
struct CallClass {
  tenancy::CallKind kind = tenancy::CallKind::request;
  std::uint32_t calls = 1;
};
CallClass classify_call(const net::Request& req);

// ---- review L4: the key of a principal's rate budget, written into `out`: its issuer and its
// subject (two issuers trusted by one tenant may emit the same sub; their principals must not
// share a budget). The shared limiter names it in Redis by its hash.
void principal_key(std::string& out, const auth::Principal& p);

// The IETF fields for `plan` (policies with a limit only), e.g.
//   RateLimit-Policy: "tenant";q=100;w=10, "daily";q=1000;w=86400
// and the service limit of the refused one, e.g. RateLimit: "tenant";r=0;t=3.
std::string rate_limit_policy(const tenancy::Plan& plan);
// the RateLimit field of a served answer of `kind`: what is left of each
// policy the limit stage checked, e.g. "tenant";r=99;t=1, "daily";r=995;t=40000 ("" when none).
std::string rate_limit_left(const tenancy::Admission& a, tenancy::CallKind kind);
// The quota item alone ("daily" or "tool-calls"; "" for a plain request or no quota).
std::string quota_left(const tenancy::Admission& a, tenancy::CallKind kind);
net::Response too_many_requests(const net::Request& req, const tenancy::Admission& a);

// The rate stage (before roles): every request takes from the rate budgets.
std::unique_ptr<const Stage> limit_stage(tenancy::UsageLimits& limits);
// The call stage (after roles and capabilities): a call takes its concurrency slot and quota
// units only once the principal is known to be allowed to make it (review H2).
std::unique_ptr<const Stage> call_limit_stage(tenancy::UsageLimits& limits);

}  // namespace pc::api
