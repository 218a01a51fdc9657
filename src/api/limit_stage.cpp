#include "api/limit_stage.h"

#include "a2a/protocol.h"

#include <array>
#include <boost/json.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <charconv>
#include <cmath>
#include <string_view>

namespace pc::api {
namespace {

using tenancy::Admission;
using tenancy::CallKind;
using Refusal = Admission::Refusal;

bool is_message_send(std::string_view m) {
  return m == "SendMessage" || m == "SendStreamingMessage" || m == "message/send" || m == "message/stream";
}

// The JSON-RPC methods of a body: one for a request, each element's for a batch. A body that is
// not JSON names none (the route refuses it; the request still took from the rate budget).
template <class Fn>
void for_each_method(std::string_view body, Fn fn) {
  // Small bodies parse without touching the heap.
  std::array<unsigned char, 4096> buf;
  boost::json::monotonic_resource mr(buf.data(), buf.size());
  boost::json::parse_options opt;
  opt.max_depth = 64;
  boost::json::error_code ec;
  boost::json::value v = boost::json::parse(body, ec, &mr, opt);
  if (ec) return;
  auto one = [&](const boost::json::value& x) {
    if (!x.is_object()) return;
    const auto* m = x.get_object().if_contains("method");
    if (m && m->is_string()) fn(std::string_view(m->get_string()));
  };
  if (v.is_array())
    for (const auto& x : v.get_array()) one(x);
  else
    one(v);
}

std::int64_t window_seconds(double rps, std::uint64_t burst) {
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(static_cast<double>(burst) / rps)));
}

std::string_view policy_name(Refusal r) {
  switch (r) {
    case Refusal::rate: return "tenant";
    case Refusal::principal_rate: return "principal";
    case Refusal::concurrency: return "concurrency";
    case Refusal::quota: return "daily";
    case Refusal::tool_quota: return "tool-calls";
    case Refusal::none: break;
  }
  return "";
}

std::string_view reason_of(Refusal r) {
  switch (r) {
    case Refusal::rate: return "rate_limited";
    case Refusal::principal_rate: return "principal_rate_limited";
    case Refusal::concurrency: return "concurrency_limited";
    case Refusal::quota: return "quota_exceeded";
    case Refusal::tool_quota: return "tool_quota_exceeded";
    case Refusal::none: break;
  }
  return "";
}

template <class N>
void append_number(std::string& out, N n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

std::string format_rate(double rps) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", rps);
  return buf;
}

// Keeps the concurrency slot until the answer is complete: a relayed answer's last byte
// (ForwardTo::on_complete), a stream's end (ResponseStream::hold_until_closed), or now.
void hold_until_done(net::Response& r, std::shared_ptr<tenancy::ConcurrencyLimiter::Slot> slot) {
  if (r.forward) {
    r.forward->on_complete = [prev = std::move(r.forward->on_complete), slot](int status) {
      slot->release();
      if (prev) prev(status);
    };
  } else if (r.stream) {
    r.stream->hold_until_closed(std::move(slot));
  }
  // Anything else is complete once handed over; `slot` goes with this call.
}

// Adds `item` to the RateLimit field of `r`: one field for all policies checked (the call stage's
// answer passes through the rate stage's responder, which puts the rate items first).
void prepend_rate_limit(net::Response& r, std::string item) {
  for (auto& h : r.headers)
    if (net::iequals(h.name, "RateLimit")) {
      h.value = std::move(item) + ", " + h.value;
      return;
    }
  r.headers.push_back({"RateLimit", std::move(item)});
}

// What both limit stages share: the plan applies to tenant principals only, while plans are on,
// and a refusal is the 429 of too_many_requests().
class PlanStage : public Stage {
 public:
  explicit PlanStage(tenancy::UsageLimits& limits) : limits_(limits) {}

 protected:
  const auth::Principal* limited(const Context& ctx) const {
    if (!limits_.enabled() || ctx.caller->is_platform()) return nullptr;
    return ctx.caller.principal.get();
  }
  static Verdict refuse(Context& ctx, const Admission& a) {
    ctx.refuse(too_many_requests(*ctx.req, a), reason_of(a.refusal));
    return Verdict::answered;
  }
  tenancy::UsageLimits& limits_;
};

// The rate part (before the roles stage): every request of a tenant principal takes from the rate
// budgets, so refused requests are paced too.
class LimitStage final : public PlanStage {
 public:
  using PlanStage::PlanStage;
  std::string_view name() const override { return "limit"; }

  Verdict on_request(Context& ctx) const override {
    const auth::Principal* p = limited(ctx);
    if (!p) return Verdict::proceed;
    // Built in this thread's buffer: no allocation once it has grown.
    thread_local std::string who;
    principal_key(who, *p);
    Admission a = limits_.admit_rate(p->tenant, who, ctx.caller.tier);
    if (!a) return refuse(ctx, a);
    // a served answer carries the IETF fields too (what is left of each
    // policy checked), so a client can pace itself before it meets a 429. Relayed answers keep the
    // runtime's own.
    std::string policy = rate_limit_policy(a.plan);
    if (policy.empty()) return Verdict::proceed;  // nothing limits this tenant
    std::string left = rate_limit_left(a, CallKind::request);
    ctx.reply = net::Responder([policy = std::move(policy), left = std::move(left), next = ctx.reply](net::Response&& r) mutable {
      if (r.status >= 200 && r.status < 300 && !r.forward) {
        r.headers.push_back({"RateLimit-Policy", std::move(policy)});
        if (!left.empty()) prepend_rate_limit(r, std::move(left));
      }
      next(std::move(r));
    });
    return Verdict::proceed;
  }
};

// The call part (after roles, the tenant in the path and the route's capabilities): only a call the
// principal may make takes a concurrency slot and a unit of the day's quota (review H2).
class CallLimitStage final : public PlanStage {
 public:
  using PlanStage::PlanStage;
  std::string_view name() const override { return "call-limit"; }

  Verdict on_request(Context& ctx) const override {
    const auth::Principal* p = limited(ctx);
    if (!p) return Verdict::proceed;
    const CallClass c = classify_call(*ctx.req);
    if (c.kind == CallKind::request) return Verdict::proceed;
    Admission a = limits_.admit_call(p->tenant, ctx.caller.tier, c.kind, c.calls);
    if (!a) return refuse(ctx, a);
    std::string left = quota_left(a, c.kind);
    if (!a.slot && left.empty()) return Verdict::proceed;
    std::shared_ptr<tenancy::ConcurrencyLimiter::Slot> slot;
    // Whatever answers from here on — a later stage's refusal, the handler, the 500 of a dropped
    // responder — goes through this, so the slot is always given back.
    if (a.slot) slot = std::make_shared<tenancy::ConcurrencyLimiter::Slot>(std::move(a.slot));
    ctx.reply = net::Responder([slot = std::move(slot), left = std::move(left), next = ctx.reply](net::Response&& r) mutable {
      if (r.status >= 200 && r.status < 300 && !r.forward && !left.empty()) r.headers.push_back({"RateLimit", std::move(left)});
      if (slot) {
        hold_until_done(r, slot);
        slot.reset();
      }
      next(std::move(r));
    });
    return Verdict::proceed;
  }
};

}  // namespace

CallClass classify_call(const net::Request& req) {
  CallClass c;
  if (req.method != "POST") return c;
  const std::string_view route = req.route;
  if (route == "/v1/agents/{name}/invoke") {
    c.kind = CallKind::invocation;
  } else if (route == "/a2a/{agent}") {
    for_each_method(req.body, [&](std::string_view m) {
      if (is_message_send(m)) c.kind = CallKind::invocation;
    });
  } else if (route.starts_with("/a2a/{agent}/")) {
    // From the decoded segments the A2A route parses, never the raw target: message%3Asend is a send.
    if (a2a::rest_send_kind(req.method, a2a::rest_path_of(req.path))) c.kind = CallKind::invocation;
  } else if (route == "/mcp") {
    std::uint32_t n = 0;
    for_each_method(req.body, [&](std::string_view m) { n += m == "tools/call" ? 1 : 0; });
    if (n > 0) c = {CallKind::tool_call, n};
  }
  return c;
}

void principal_key(std::string& out, const auth::Principal& p) {
  // Length-prefixed: no issuer|subject pair can spell another's key.
  out.clear();
  append_number(out, p.issuer.size());
  out += ':';
  out += p.issuer;
  out += p.subject;
}

std::string rate_limit_policy(const tenancy::Plan& p) {
  std::string out;
  out.reserve(160);  // every policy of a full plan: one allocation
  auto item = [&out](std::string_view name, std::uint64_t q, std::int64_t w, std::string_view unit = {}) {
    if (!out.empty()) out += ", ";
    out += '"';
    out += name;
    out += "\";q=";
    append_number(out, q);
    if (!unit.empty()) (out += ";qu=\"", out += unit, out += '"');
    if (w > 0) (out += ";w=", append_number(out, w));
  };
  if (p.rps > 0) item("tenant", p.burst, window_seconds(p.rps, p.burst));
  if (p.principal_rps > 0) item("principal", p.principal_burst, window_seconds(p.principal_rps, p.principal_burst));
  if (p.max_concurrent > 0) item("concurrency", p.max_concurrent, 0, "concurrent-requests");
  if (p.daily_quota > 0) item("daily", p.daily_quota, 86400);
  if (p.daily_tool_calls > 0) item("tool-calls", p.daily_tool_calls, 86400);
  return out;
}

std::string rate_limit_left(const Admission& a, tenancy::CallKind kind) {
  const tenancy::Plan& p = a.plan;
  std::string out;
  out.reserve(96);
  auto item = [&out](std::string_view name, const Admission::Left& l) {
    if (!out.empty()) out += ", ";
    out += '"';
    out += name;
    out += "\";r=";
    append_number(out, l.remaining);
    out += ";t=";
    append_number(out, l.reset_seconds);
  };
  if (p.principal_rps > 0) item("principal", a.principal_left);
  if (p.rps > 0) item("tenant", a.tenant_left);
  if (std::string q = quota_left(a, kind); !q.empty()) (out += out.empty() ? "" : ", ", out += q);
  return out;
}

std::string quota_left(const Admission& a, tenancy::CallKind kind) {
  const tenancy::Plan& p = a.plan;
  const bool tools = kind == CallKind::tool_call;
  if (kind == CallKind::request || (tools ? p.daily_tool_calls : p.daily_quota) == 0) return {};
  std::string out = tools ? "\"tool-calls\";r=" : "\"daily\";r=";
  append_number(out, a.quota_left.remaining);
  out += ";t=";
  append_number(out, a.quota_left.reset_seconds);
  return out;
}

net::Response too_many_requests(const net::Request& req, const Admission& a) {
  const tenancy::Plan& p = a.plan;
  std::string code = "rate_limited", message;
  const std::string after = std::to_string(a.retry_after_seconds);
  switch (a.refusal) {
    case Refusal::rate:
      message = "the tenant's rate limit (" + format_rate(p.rps) + " requests/s, burst " + std::to_string(p.burst) +
                ") is reached; retry after " + after + " s";
      break;
    case Refusal::principal_rate:
      message = "this principal's rate limit (" + format_rate(p.principal_rps) + " requests/s, burst " +
                std::to_string(p.principal_burst) + ") is reached; retry after " + after + " s";
      break;
    case Refusal::concurrency:
      code = "concurrency_limited";
      message = "the tenant already has " + std::to_string(p.max_concurrent) +
                " calls in flight, its limit; retry when one has finished";
      break;
    case Refusal::quota:
    case Refusal::tool_quota: {
      code = "quota_exceeded";
      const bool tools = a.refusal == Refusal::tool_quota;
      message = "the tenant's daily quota of " + std::to_string(tools ? p.daily_tool_calls : p.daily_quota) +
                (tools ? " tool calls" : " invocations") +
                (a.quota_held ? " is nearly used up; this node is asking the others for more of it; retry after "
                              : " is used up; it resets in ") +
                after + " s";
      break;
    }
    case Refusal::none:
      break;
  }
  net::Response r = net::error_response(429, code, message, req.request_id);
  r.headers.push_back({"Retry-After", after});
  if (std::string policy = rate_limit_policy(p); !policy.empty()) r.headers.push_back({"RateLimit-Policy", std::move(policy)});
  std::string limit = "\"" + std::string(policy_name(a.refusal)) + "\";r=" + std::to_string(a.remaining);
  if (a.refusal != Refusal::concurrency) limit += ";t=" + after;
  r.headers.push_back({"RateLimit", std::move(limit)});
  return r;
}

std::unique_ptr<const Stage> limit_stage(tenancy::UsageLimits& limits) { return std::make_unique<LimitStage>(limits); }
std::unique_ptr<const Stage> call_limit_stage(tenancy::UsageLimits& limits) {
  return std::make_unique<CallLimitStage>(limits);
}

}  // namespace pc::api
