#include "api/chain.h"

#include "api/guard.h"

namespace pc::api {

Policy::Policy(Principals p, Roles roles) : principals_(p) {
  for (auto r : roles) roles_.emplace_back(r);
}

Policy Policy::tenant_in_path(PathTenant rule) {
  Policy p(Principals::any, {});
  p.path_tenant_ = rule;
  return p;
}

Policy Policy::capability(std::string name) const& {
  Policy p = *this;
  p.capabilities_.push_back(std::move(name));
  return p;
}

RouteChain::RouteChain(std::vector<const Stage*> stages, std::vector<std::unique_ptr<const Stage>> owned,
                       AuthedHandler handler, RefusalRecorder* refusals)
    : stages_(std::move(stages)), owned_(std::move(owned)), handler_(std::move(handler)), refusals_(refusals) {}

void RouteChain::start(std::shared_ptr<net::Request> req, net::Responder reply) const {
  Context ctx(std::move(req), std::move(reply));
  ctx.chain = this;
  run(ctx, 0);
}

void RouteChain::resume(Context&& ctx, Verdict v) const {
  if (v == Verdict::answered) return refused(ctx);
  run(ctx, ctx.at + 1);
}

void RouteChain::run(Context& ctx, std::size_t from) const {
  for (std::size_t i = from; i < stages_.size(); ++i) {
    ctx.at = i;
    switch (stages_[i]->on_request(ctx)) {
      case Verdict::proceed:
        continue;
      case Verdict::parked:
        return;  // ctx was moved into the stage's continuation
      case Verdict::answered:
        return refused(ctx);
    }
  }
  serve(ctx);
}

void RouteChain::refused(Context& ctx) const {
  net::Response& answer = *ctx.answer;
  const bool unauthenticated = ctx.auth.status != auth::AuthResult::Status::ok;
  refusals_->refused(*ctx.req, ctx.principal(), answer, ctx.reason, unauthenticated ? std::string_view(ctx.auth.detail) : "");
  ctx.reply(std::move(answer));
}

void RouteChain::serve(Context& ctx) const {
  refusals_->tick();  // a window of summed-up refusals is closed by whatever request comes next
  // Stages that need the answer see it on the way back, the last of them first.
  for (const Stage* s : stages_)
    if (s->sees_response())
      ctx.reply = net::Responder([s, req = ctx.req, who = ctx.caller.principal, next = ctx.reply](net::Response&& r) {
        s->on_response(req, who, std::move(r), next);
      });
  handler_(std::move(ctx.req), std::move(ctx.caller), std::move(ctx.reply));
}

Chain::Chain(const auth::Authenticator& authenticator, auth::KeyRefresher& refresher, const AuditTrail* trail,
             const tenancy::Capabilities* capabilities, RefusalRecorder::Options refusal_options)
    : capabilities_(capabilities),
      refusals_(std::make_unique<RefusalRecorder>(trail, refusal_options)),
      authenticate_(authenticate_stage(authenticator, refresher)),
      bind_tenant_(bind_tenant_stage()),
      audit_(trail ? audit_stage(*trail) : nullptr) {}

Chain::~Chain() = default;

std::shared_ptr<RouteChain> Chain::build(const Policy& policy, bool audited, AuthedHandler handler) const {
  std::vector<const Stage*> stages{authenticate_.get(), bind_tenant_.get()};
  std::vector<std::unique_ptr<const Stage>> owned;
  auto own = [&](std::unique_ptr<const Stage> s) {
    if (!s) return;
    stages.push_back(s.get());
    owned.push_back(std::move(s));
  };
  if (limit_) stages.push_back(limit_);
  own(roles_stage(policy));
  if (policy.path_tenant()) own(tenant_in_path_stage(*policy.path_tenant()));
  for (const auto& c : policy.capabilities()) {
    if (!capabilities_) throw std::logic_error("a route names a capability but the chain has no capability table");
    own(capability_stage(*capabilities_, c));
  }
  if (call_limit_) stages.push_back(call_limit_);
  if (audited && audit_) stages.push_back(audit_.get());
  return std::make_shared<RouteChain>(std::move(stages), std::move(owned), std::move(handler), refusals_.get());
}

net::Handler Chain::route(const Policy& policy, AuthedHandler handler) const {
  auto chain = build(policy, /*audited=*/true, std::move(handler));
  return [chain](std::shared_ptr<net::Request> req, net::Responder reply) { chain->start(std::move(req), std::move(reply)); };
}

void Chain::check(std::shared_ptr<net::Request> req, const Policy& policy, std::function<void(Outcome)> done) const {
  // The route's stages up to the handler; the handler hands the Caller over instead of answering.
  struct Once {
    std::function<void(Outcome)> done;
    bool fired = false;
    void operator()(Outcome o) {
      if (!fired) (fired = true, done(std::move(o)));
    }
  };
  auto once = std::make_shared<Once>(Once{std::move(done)});
  auto chain = build(policy, /*audited=*/false, [once](std::shared_ptr<net::Request>, Caller c, net::Responder) {
    (*once)(std::move(c));
  });
  chain->start(std::move(req), net::Responder([once, chain](net::Response&& r) { (*once)(std::move(r)); }));
}

}  // namespace pc::api
