// The request path as a chain of small stages, in the spirit of Envoy's filter chain
// (docs/life-of-a-request.md §4, DESIGN.md "The stage chain"). A route declares its chain once,
// at registration (api/chain.h): authenticate → bind tenant → limit → roles → capability →
// audit → handler. Each stage has one job: on the way in it lets the request continue or
// answers it; a stage that needs the answer (the audit trail) sees it on the way out.
//
// A new concern (rate limits, an MCP interceptor, a guardrail) is a new Stage placed in a
// route's chain, not an edit of the others.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "auth/authenticator.h"
#include "net/http.h"

namespace pc::api {

class RouteChain;

struct Caller {
  std::shared_ptr<const auth::Principal> principal;
  std::string tier;  // the tenant's tier, from the tenant record
  const auth::Principal& operator*() const { return *principal; }
  const auth::Principal* operator->() const { return principal.get(); }
};

// What the stages of one request share. It lives on the I/O thread's stack while the stages
// run synchronously; a stage that must wait (a JWKS refetch) moves it into its continuation and
// resumes the chain from there, so the common path allocates nothing for the chain.
struct Context {
  std::shared_ptr<net::Request> req;
  net::Responder reply;
  auth::AuthResult auth;  // what authentication found (kept for the refusal's principal)
  Caller caller;          // set once authenticated and bound to its tenant
  // A stage that answers fills these: the answer, and a short fixed reason for the metrics,
  // the log and the audit event of the refusal.
  std::optional<net::Response> answer;
  std::string reason;
  // Where the chain stands, for a parked request to resume.
  const RouteChain* chain = nullptr;
  std::size_t at = 0;

  Context(std::shared_ptr<net::Request> r, net::Responder rep) : req(std::move(r)), reply(std::move(rep)) {}

  // A refusal: the chain records it (bounded: api/refusals.h) and sends it.
  void refuse(net::Response r, std::string_view why) {
    answer.emplace(std::move(r));
    reason = why;
  }
  const auth::Principal* principal() const { return auth.principal.get(); }
};

enum class Verdict {
  proceed,   // on to the next stage
  answered,  // ctx.answer is the answer; the stages after this one never run
  parked,    // the stage moved ctx away and will call RouteChain::resume() with it later
};

class Stage {
 public:
  virtual ~Stage() = default;
  virtual std::string_view name() const = 0;
  virtual Verdict on_request(Context& ctx) const = 0;

  // Stages that need the answer say so; the chain then routes the handler's answer through
  // on_response (the last such stage first), which must pass an answer on to `next` exactly
  // once, now or later (the audit trail waits for durability before acknowledging a change).
  virtual bool sees_response() const { return false; }
  virtual void on_response(const std::shared_ptr<net::Request>& req, const std::shared_ptr<const auth::Principal>& who,
                           net::Response&& answer, net::Responder next) const {
    (void)req;
    (void)who;
    next(std::move(answer));
  }
};

}  // namespace pc::api
