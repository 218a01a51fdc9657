#include "mcp/interceptor_chain.h"

#include <atomic>
#include <exception>
#include <functional>
#include <utility>

#include "core/log.h"
#include "mcp/deadline_timer.h"
#include "mcp/jsonrpc.h"

namespace pc::mcp {

namespace json = boost::json;

namespace {

// The state of one run of a chain, shared by every callback that may still fire (an
// interceptor's done, its timeout): whoever holds a callback keeps it alive.
struct Run : std::enable_shared_from_this<Run> {
  std::vector<std::string> names;
  std::vector<std::chrono::milliseconds> timeouts;
  // Starts step i with the given done (captures the run's data: params or result).
  std::function<void(std::size_t, DecisionDone)> invoke;
  // Ends the run; `timed_out`: the caller's objects must not be filled back.
  std::function<void(Decision, bool timed_out)> finish;
  std::atomic<bool> finished{false};

  void end(Decision d, bool timed_out) {
    if (finished.exchange(true)) return;
    try {
      finish(std::move(d), timed_out);
    } catch (const std::exception& e) {
      // The caller's own done threw: nothing to answer to any more; keep the thread alive.
      log::error("mcp interceptor chain: done threw", {{"error", e.what()}});
    } catch (...) {
      log::error("mcp interceptor chain: done threw", {});
    }
  }

  void step(std::size_t i) {
    if (i == names.size()) return end(Decision::allowed(), false);
    struct Once {
      std::atomic<bool> settled{false};
      DeadlineTimer::Id timer = 0;
    };
    auto once = std::make_shared<Once>();
    auto self = shared_from_this();
    const std::string& name = names[i];
    once->timer = DeadlineTimer::instance().schedule(timeouts[i], [self, once, i] {
      if (once->settled.exchange(true)) return;
      log::warn("mcp interceptor timed out", {{"interceptor", self->names[i]}});
      self->end(Decision::denied(jsonrpc::kInternalError, "interceptor " + self->names[i] + " timed out"), true);
    });
    // The done holds the run weakly: the pending timeout holds it strongly until it fires or is
    // cancelled, so a run waiting on an interceptor stays alive, while an interceptor that keeps
    // its done forever (a hang) does not keep the run — and through it the interceptor itself —
    // alive in a cycle after the timeout ended it.
    DecisionDone done = [weak = std::weak_ptr<Run>(self), once, i](Decision d) {
      if (once->settled.exchange(true)) {
        log::warn("mcp interceptor answered twice or after its timeout; ignored", {{"step", std::to_string(i)}});
        return;
      }
      auto self = weak.lock();
      if (!self) return;
      DeadlineTimer::instance().cancel(once->timer);
      if (d.kind == Decision::deny) return self->end(std::move(d), false);
      self->step(i + 1);
    };
    try {
      invoke(i, std::move(done));
    } catch (const std::exception& e) {
      threw(once->settled, once->timer, name, e.what());
    } catch (...) {
      threw(once->settled, once->timer, name, "unknown exception");
    }
  }

  void threw(std::atomic<bool>& settled, DeadlineTimer::Id timer, const std::string& name, const char* what) {
    // Logged with the exception's text (operators), answered without it (clients).
    log::error("mcp interceptor failed", {{"interceptor", name}, {"error", what}});
    if (settled.exchange(true)) return;  // it had answered before throwing: that answer stands
    DeadlineTimer::instance().cancel(timer);
    end(Decision::denied(jsonrpc::kInternalError, "interceptor " + name + " failed"), false);
  }
};

std::chrono::milliseconds pick(std::chrono::milliseconds t, std::chrono::milliseconds fallback) {
  return t.count() > 0 ? t : fallback;
}

}  // namespace

RequestChain::RequestChain(std::chrono::milliseconds default_timeout) : default_timeout_(default_timeout) {}

RequestChain& RequestChain::add(std::shared_ptr<const RequestInterceptor> interceptor, std::chrono::milliseconds timeout) {
  steps_.push_back({std::move(interceptor), pick(timeout, default_timeout_)});
  return *this;
}

void RequestChain::on_request(const CallContext& ctx, json::object& params, DecisionDone done) const {
  struct Data {
    CallContext ctx;
    json::object params;
    std::vector<std::shared_ptr<const RequestInterceptor>> list;  // alive even if the chain is not
  };
  auto data = std::make_shared<Data>(Data{ctx, std::move(params), {}});
  params = json::object();
  auto run = std::make_shared<Run>();
  for (const auto& s : steps_) {
    data->list.push_back(s.interceptor);
    run->names.emplace_back(s.interceptor->name());
    run->timeouts.push_back(s.timeout);
  }
  run->invoke = [data](std::size_t i, DecisionDone d) { data->list[i]->on_request(data->ctx, data->params, std::move(d)); };
  run->finish = [data, out = &params, done = std::move(done)](Decision d, bool timed_out) {
    if (!timed_out) *out = std::move(data->params);
    done(std::move(d));
  };
  run->step(0);
}

ResponseChain::ResponseChain(std::chrono::milliseconds default_timeout) : default_timeout_(default_timeout) {}

ResponseChain& ResponseChain::add(std::shared_ptr<const ResponseInterceptor> interceptor,
                                  std::chrono::milliseconds timeout) {
  steps_.push_back({std::move(interceptor), pick(timeout, default_timeout_)});
  return *this;
}

void ResponseChain::on_response(const CallContext& ctx, json::value& result, bool is_error, ResponseFacts& facts,
                                DecisionDone done) const {
  struct Data {
    CallContext ctx;
    json::value result;
    bool is_error;
    ResponseFacts facts;
    std::vector<std::shared_ptr<const ResponseInterceptor>> list;
  };
  auto data = std::make_shared<Data>(Data{ctx, std::move(result), is_error, facts, {}});
  result = nullptr;
  auto run = std::make_shared<Run>();
  for (const auto& s : steps_) {
    data->list.push_back(s.interceptor);
    run->names.emplace_back(s.interceptor->name());
    run->timeouts.push_back(s.timeout);
  }
  run->invoke = [data](std::size_t i, DecisionDone d) {
    data->list[i]->on_response(data->ctx, data->result, data->is_error, data->facts, std::move(d));
  };
  run->finish = [data, out = &result, facts_out = &facts, done = std::move(done)](Decision d, bool timed_out) {
    if (!timed_out) {
      *out = std::move(data->result);
      *facts_out = std::move(data->facts);
    }
    done(std::move(d));
  };
  run->step(0);
}

}  // namespace pc::mcp
