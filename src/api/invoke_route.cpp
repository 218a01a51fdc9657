#include "api/invoke_route.h"

#include <boost/json.hpp>

#include "agents/catalog.h"
#include "agents/invocation_log.h"
#include "agents/sessions.h"
#include "api/invoke_answer.h"
#include "api/invoke_request.h"
#include "core/clock.h"
#include "core/json_text.h"

namespace pc::api {
namespace {

using Clock = std::chrono::steady_clock;

// One invocation from the parsed body to its record; shared by the continuations below (session
// lookup on the pool, transform and outcome on the I/O thread, job acceptance on the jobs writer).
struct Call {
  std::shared_ptr<const InvokeDeps> d;
  std::shared_ptr<net::Request> req;
  Caller caller;
  std::shared_ptr<const agents::AgentEntry> agent;
  InvokeRequest body;
  std::string idempotency_key;
  std::string invocation_id = agents::new_invocation_id();
  std::string created_at = core::rfc3339_now();
  Clock::time_point start = Clock::now();
  std::string session_id;
  RuntimeResult result;  // sync: what transform read
  bool transformed = false;

  std::int64_t elapsed_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  }
};

net::Response error(int status, std::string_view code, std::string_view message, const net::Request& req) {
  return net::error_response(status, code, message, req.request_id);
}

// The record of a sync or stream exchange, from how it ended.
void record(Call& c, net::ForwardOutcome&& o) {
  if (!c.d->invocations) return;
  agents::Invocation inv;
  inv.invocation_id = c.invocation_id;
  inv.tenant_id = c.caller->tenant;
  inv.agent = c.agent->name;
  inv.agent_version = c.agent->version;
  inv.session_id = c.session_id;
  inv.principal = c.caller->subject;
  inv.mode = std::string(mode_name(c.body.mode));
  inv.http_status = o.status;
  inv.latency_ms = c.elapsed_ms();
  inv.created_at = c.created_at;
  if (o.error == "client_gone" || o.status == 499) {
    inv.status = "cancelled";
    inv.error = "client_gone";
  } else if (!o.error.empty()) {
    inv.status = "failed";
    inv.error = o.error;  // upstream_unavailable, upstream_timeout, upstream_bad_response, upstream_broken
  } else if (c.body.mode == InvokeMode::sync) {
    inv.status = c.transformed && c.result.ok ? "succeeded" : "failed";
    if (!c.result.ok) inv.error = c.result.error.empty() ? "agent_error" : c.result.error;
  } else if (o.upstream_status >= 200 && o.upstream_status <= 299) {
    inv.status = "succeeded";
  } else {
    inv.status = "failed";
    inv.error = "agent_error";
  }
  if (c.body.mode == InvokeMode::sync) {
    inv.input_tokens = c.result.usage.input_tokens;
    inv.output_tokens = c.result.usage.output_tokens;
  } else {
    Usage u = usage_from_sse(o.captured);
    inv.input_tokens = u.input_tokens;
    inv.output_tokens = u.output_tokens;
  }
  inv.output = std::move(o.captured);
  // The body is taken now that the exchange is over (the proxy has sent what it needed).
  inv.input = std::move(c.req->body);
  c.d->invocations->record(std::move(inv));
}

void forward(const std::shared_ptr<Call>& c, net::Responder& reply) {
  const InvokeDeps& d = *c->d;
  std::string identity;
  try {
    // Without the session: the token is cached per (caller, agent) as the issue asks, so a caller
    // that lets the gateway create a session per call does not cost a signature per call. The
    // session travels in X-Portcullis-Session-Id (and the body), set by the gateway alone.
    identity = d.ports.identity_token(*c->caller, c->caller.tier, c->agent->name, "");
  } catch (const std::exception&) {
    // No active signing key or no issuer yet: the agent is not called without its identity.
    return reply(error(503, "agent_identity_unavailable", "the gateway cannot sign the agent's identity token yet",
                       *c->req));
  }
  net::ForwardTo to;
  to.scheme = c->agent->scheme;  // https: verified against server.upstream.ca_file (else the system store)
  to.host = c->agent->host;
  to.port = c->agent->port;
  to.target = "/invocations";
  to.upstream_name = "agent:" + c->agent->name;
  to.body = runtime_body(c->body, c->session_id, c->invocation_id);
  const bool stream = c->body.mode == InvokeMode::stream;
  // Replacing whatever the caller sent under these names: a caller cannot speak for the gateway.
  to.set_headers = {
      {"Content-Type", "application/json"},
      {"Accept", stream ? "text/event-stream" : "application/json"},
      {"X-Portcullis-Identity", std::move(identity)},
      {"X-Portcullis-Session-Id", c->session_id},
      {"X-Portcullis-Invocation-Id", c->invocation_id},
  };
  if (!c->idempotency_key.empty()) to.set_headers.push_back({"Idempotency-Key", c->idempotency_key});
  if (stream) {
    to.capture_limit = d.stream_capture_bytes;
    to.sse_heartbeat = d.sse_heartbeat;
  } else {
    // Runs on the I/O thread with the runtime's whole answer (bounded by max_buffered_bytes).
    to.transform = [c](net::UpstreamAnswer&& a) {
      c->result = read_runtime_answer(a.status, a.body);
      c->transformed = true;
      if (!c->result.ok) return runtime_failure(c->result, c->req->request_id);
      AnswerMeta m{c->invocation_id, c->agent->name, c->agent->version, "sync", c->session_id, c->created_at,
                   c->elapsed_ms()};
      return net::Response::json(200, sync_answer_body(m, c->result));
    };
  }
  to.on_outcome = [c](net::ForwardOutcome&& o) { record(*c, std::move(o)); };
  reply(net::Response::proxy(std::move(to)));
}

void queue_job(const std::shared_ptr<Call>& c, net::Responder& reply) {
  const InvokeDeps& d = *c->d;
  if (!d.ports.accept_async)
    return reply(error(501, "not_implemented", "mode async is not available on this gateway", *c->req));
  AsyncInvoke j;
  j.tenant = c->caller->tenant;
  j.principal = c->caller->subject;
  j.client = c->caller->client;
  j.actor = c->caller->actor;
  j.prior_actors = c->caller->prior_actors;
  j.scopes = c->caller->scopes;
  j.tier = c->caller.tier;
  j.agent = c->agent->name;
  j.agent_version = c->agent->version;
  j.scheme = c->agent->scheme;
  j.host = c->agent->host;
  j.port = c->agent->port;
  j.session_id = c->session_id;
  j.body = runtime_body(c->body, c->session_id, c->invocation_id);
  j.idempotency_key = c->idempotency_key;
  j.webhook_id = c->body.webhook_id;
  j.request_id = c->req->request_id;
  j.invocation_id = c->invocation_id;
  // The 202 goes out only once the job is durable: `done` runs after the store committed it.
  d.ports.accept_async(std::move(j), [c, reply](std::variant<AsyncAccepted, AsyncRefused> r) mutable {
    if (auto* refused = std::get_if<AsyncRefused>(&r)) {
      auto resp = error(refused->status, refused->code, refused->message, *c->req);
      if (refused->violation) resp.audit_action = "security.tenant_access_violation";
      return reply(std::move(resp));
    }
    const std::string& id = std::get<AsyncAccepted>(r).job_id;
    boost::json::object o{{"jobId", id},
                          {"status", "accepted"},
                          {"mode", "async"},
                          {"pollUrl", "/v1/jobs/" + id},
                          {"sessionId", c->session_id}};
    auto resp = net::Response::json(202, core::json_text(o));
    resp.headers.push_back({"Location", "/v1/jobs/" + id});
    reply(std::move(resp));
  });
}

// After the session is known: the mode's way to the runtime.
void dispatch(const std::shared_ptr<Call>& c, net::Responder reply) {
  if (c->body.mode == InvokeMode::async) return queue_job(c, reply);
  forward(c, reply);
}

// Opens (or creates) the session, then dispatches. Every refusal is the same 404; a real id of
// another tenant is also audited as a tenant-access violation (SPEC §6).
void with_session(const std::shared_ptr<Call>& c, net::Responder reply) {
  const InvokeDeps& d = *c->d;
  if (!d.sessions) {
    if (!c->body.session_id.empty())
      return reply(error(404, "not_found", "no session of that id is available to this caller", *c->req));
    return dispatch(c, std::move(reply));
  }
  agents::SessionOwner owner{c->caller->tenant, c->caller->subject, c->agent->name};
  d.sessions->open(
      owner, c->body.session_id,
      [c, reply](agents::SessionResult r) mutable {
        if (auto* why = std::get_if<agents::SessionRefusal>(&r)) {
          auto resp = error(404, "not_found", "no session of that id is available to this caller", *c->req);
          if (*why == agents::SessionRefusal::foreign_tenant) resp.audit_action = "security.tenant_access_violation";
          return reply(std::move(resp));
        }
        c->session_id = std::get<agents::SessionView>(r).session_id;
        dispatch(c, std::move(reply));
      },
      [c, reply]() mutable { reply(error(503, "overloaded", "the gateway is busy; try again later", *c->req)); });
}

}  // namespace

void serve_invoke(const std::shared_ptr<const InvokeDeps>& d, std::shared_ptr<net::Request> req, Caller caller,
                  net::Responder reply) {
  // What the tenant may not use (agents::may_use_agent, the same rule as the list) is
  // indistinguishable from what does not exist.
  auto agent = d->catalog->usable(req->param("name"), *d->capabilities, caller->tenant, caller.tier);
  if (!agent) return reply(error(404, "not_found", "no agent of that name is available to this tenant", *req));
  // An A2A agent speaks A2A, not the invocation contract (issue 11): its runtime has no
  // /invocations, and the A2A proxy is where its tasks are bound to the caller.
  if (agent->protocol == "a2a")
    return reply(error(400, "wrong_protocol",
                       "agent " + agent->name + " speaks A2A: call it at /a2a/" + agent->name + " (see its agent card)",
                       *req));
  auto parsed = parse_invoke(*req);
  if (auto* refusal = std::get_if<net::Response>(&parsed)) return reply(std::move(*refusal));

  // Fail closed: without the gateway's identity statement and the call rules, no agent is called.
  if (!d->ports.identity_token || !d->ports.call_refusal)
    return reply(error(503, "agent_identity_unavailable", "agent identity is not configured on this gateway", *req));
  if (auto why = d->ports.call_refusal(*caller, agent->name))
    return reply(error(403, "agent_call_refused",
                       *why == "loop" ? "agent " + agent->name + " is already on this call's delegation chain"
                                      : std::string("the chain of agents calling agents is too deep"),
                       *req));
  if (d->ports.unavailable)
    if (auto retry = d->ports.unavailable(agent->name)) {
      auto r = error(503, "agent_unavailable", "the agent's runtime is not answering; try again later", *req);
      r.headers.push_back({"Retry-After", std::to_string(*retry)});
      return reply(std::move(r));
    }

  auto c = std::make_shared<Call>();
  c->d = d;
  c->caller = std::move(caller);
  c->agent = std::move(agent);
  c->body = std::move(std::get<InvokeRequest>(parsed));
  const std::string* key = req->header("idempotency-key");
  c->req = std::move(req);
  if (!key) return with_session(c, std::move(reply));
  // A stream cannot be replayed: its answer is not kept whole (docs/agent-runtime-contract.md).
  if (c->body.mode == InvokeMode::stream)
    return reply(error(400, "invalid_request", "Idempotency-Key is not supported with mode stream", *c->req));
  if (!d->ports.idempotent)
    return reply(error(501, "not_implemented", "Idempotency-Key is not supported on this gateway", *c->req));
  c->idempotency_key = *key;
  d->ports.idempotent(c->req, c->caller, std::move(reply), [c](net::Responder r) { with_session(c, std::move(r)); });
}

}  // namespace pc::api
