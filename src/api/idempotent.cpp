#include "api/idempotent.h"

#include <atomic>
#include <thread>
#include <utility>

#include "agents/idempotency.h"
#include "api/idempotent_forward.h"
#include "core/log.h"
#include "core/work_pool.h"

namespace pc::api {
namespace {

// One run of a request under a claimed key. Settles exactly once: remembers the answer, or
// releases the key; a claim dropped unsettled (the handler never answered) is released.
struct Claim {
  agents::Idempotency* service;
  core::WorkPool* pool;
  agents::IdempotencyKey key;
  std::string owner;
  std::string request_id;
  std::atomic<bool> settled{false};

  bool take() { return !settled.exchange(true); }

  // On the pool: store `r` (or release the key), then `then` (the reply, when it waits for it).
  void settle(net::Response r, std::function<void()> then) {
    if (!take()) {
      if (then) then();
      return;
    }
    auto job = [service = service, key = key, owner = owner, id = request_id, r = std::move(r), then]() mutable {
      try {
        if (agents::Idempotency::worth_remembering(r.status)) {
          if (!service->complete(key, owner, {r.status, r.content_type, r.body}))
            log::warn("idempotency key lost its claim before the answer was stored", {{"request_id", id}});
        } else {
          service->release(key, owner);
        }
      } catch (const std::exception& e) {
        // The answer goes out anyway; the key stays pending until its claim lapses (409s meanwhile).
        log::error("idempotency key could not be settled", {{"request_id", id}, {"error", e.what()}});
      }
      if (then) then();
    };
    auto shared = std::make_shared<decltype(job)>(std::move(job));
    if (!pool->try_submit([shared] { (*shared)(); })) {
      log::warn("idempotency: work pool full; the key stays pending until its claim lapses", {{"request_id", request_id}});
      if (then) then();
    }
  }

  void release() {
    if (!take()) return;
    release_on(pool, service, key, owner, request_id);
  }

  static void release_on(core::WorkPool* pool, agents::Idempotency* service, const agents::IdempotencyKey& key,
                         const std::string& owner, const std::string& request_id) {
    const bool queued = pool->try_submit([service, key, owner, request_id] {
      try {
        service->release(key, owner);
      } catch (const std::exception& e) {
        log::error("idempotency key could not be released", {{"request_id", request_id}, {"error", e.what()}});
      }
    });
    if (!queued) log::warn("idempotency: work pool full; the key stays pending until its claim lapses", {{"request_id", request_id}});
  }

  ~Claim() {
    if (!settled.load()) release_on(pool, service, key, owner, request_id);
  }
};

net::Response store_failure(const std::exception& e, const net::Request& req) {
  if (const auto* ie = dynamic_cast<const agents::IdempotencyError*>(&e)) {
    if (ie->kind() == agents::IdempotencyError::Kind::gone)
      return net::error_response(404, "not_found", "the tenant is deleted", req.request_id);
    if (ie->kind() == agents::IdempotencyError::Kind::busy)
      return net::error_response(503, "overloaded", "the store is busy; try again later", req.request_id);
  }
  log::error("idempotency key lookup failed", {{"request_id", req.request_id}, {"error", e.what()}});
  return net::error_response(500, "internal", "internal error", req.request_id);
}

}  // namespace

void run_idempotent(const IdempotentDeps& deps, std::shared_ptr<net::Request> req, const std::string& tenant_id,
                    const std::string& principal, net::Responder reply, std::function<void(net::Responder)> call) {
  const std::string* header = req->header(kIdempotencyKeyHeader);
  if (!header || !deps.service || !deps.pool) return call(std::move(reply));
  if (auto problem = agents::Idempotency::key_problem(*header); !problem.empty())
    return reply(net::error_response(400, "invalid_request", problem, req->request_id));

  auto job = [deps, req, tenant_id, principal, reply, call = std::move(call), key_text = *header]() mutable {
    agents::IdempotencyKey key{tenant_id, principal, key_text,
                               agents::Idempotency::request_hash(req->method, req->path, req->body)};
    agents::Idempotency::Begin begin;
    try {
      begin = deps.service->begin(key);
      // The first request's answer may be on its way to the store (see the header): look again
      // for a little while before calling it in flight.
      const auto deadline = std::chrono::steady_clock::now() + deps.in_flight_wait;
      while (begin.outcome == agents::Idempotency::Outcome::in_flight && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        begin = deps.service->begin(key);
      }
    } catch (const std::exception& e) {
      return reply(store_failure(e, *req));
    }
    switch (begin.outcome) {
      case agents::Idempotency::Outcome::mismatch:
        return reply(net::error_response(422, "idempotency_key_reused",
                                         "this Idempotency-Key was used with a different request", req->request_id));
      case agents::Idempotency::Outcome::in_flight: {
        auto r = net::error_response(409, "idempotency_in_flight",
                                     "a request with this Idempotency-Key is still in progress", req->request_id);
        r.headers.push_back({"Retry-After", "1"});
        return reply(std::move(r));
      }
      case agents::Idempotency::Outcome::replay: {
        net::Response r;
        r.status = begin.answer.status;
        r.content_type = begin.answer.content_type;
        r.body = std::move(begin.answer.body);
        r.headers.push_back({std::string(kReplayedHeader), "true"});
        return reply(std::move(r));
      }
      case agents::Idempotency::Outcome::run:
        break;
    }
    auto claim = std::make_shared<Claim>();
    claim->service = deps.service;
    claim->pool = deps.pool;
    claim->key = std::move(key);
    claim->owner = std::move(begin.owner);
    claim->request_id = req->request_id;
    net::Responder wrapped([claim, reply](net::Response&& r) mutable {
      if (r.forward) {
        // The client gets the transform's answer at once; remembering it follows on the pool.
        // Ended without one (or relayed): released (nothing, when already settled).
        detail::watch_forward(
            *r.forward, [claim](const net::Response& answer) { claim->settle(answer, {}); },
            [claim] { claim->release(); });
        return reply(std::move(r));
      }
      // A final answer: stored first, then sent, so that a retry after it always replays.
      auto shared = std::make_shared<net::Response>(std::move(r));
      claim->settle(*shared, [reply, shared]() mutable { reply(std::move(*shared)); });
    });
    call(std::move(wrapped));
  };
  auto shared = std::make_shared<decltype(job)>(std::move(job));
  if (!deps.pool->try_submit([shared] { (*shared)(); }))
    reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", req->request_id));
}

}  // namespace pc::api
