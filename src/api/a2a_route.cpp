#include "api/a2a_route.h"

#include <boost/json.hpp>
#include <deque>
#include <mutex>
#include <set>
#include <unordered_map>

#include "a2a/card_cache.h"
#include "a2a/errors.h"
#include "a2a/observe.h"
#include "a2a/protocol.h"
#include "a2a/push_relay.h"
#include "a2a/task_bindings.h"
#include "agents/catalog.h"
#include "agents/invocation_log.h"
#include "agents/sessions.h"
#include "auth/principal.h"
#include "core/clock.h"
#include "core/json_text.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/work_pool.h"
#include "mcp/jsonrpc.h"
#include "net/upstream_call.h"
#include "store/tenant_store.h"

namespace pc::api {
namespace {

namespace json = boost::json;
using a2a::Binding;
using a2a::Kind;
using a2a::Operation;
using a2a::ProtocolError;
using a2a::Version;
using Clock = std::chrono::steady_clock;

// ---- metrics

// `kind` is a2a::kind_name, or "unknown" for a request refused before it could be read.
void count_request(std::string_view kind, std::string_view outcome) {
  static core::CounterFamily& f = core::metrics().counter(
      "portcullis_a2a_requests_total", "A2A requests by operation and outcome (ok, refused, failed, cancelled)",
      {"kind", "outcome"});
  f.labels({kind, outcome}).inc();
}
void count_request(Kind k, std::string_view outcome) { count_request(a2a::kind_name(k), outcome); }
core::Counter& stream_events() {
  static core::Counter& c =
      core::metrics()
          .counter("portcullis_a2a_stream_events_total", "Events relayed from A2A runtimes to clients", {})
          .labels({});
  return c;
}

// ---- one request

struct Shared {
  A2aRouteDeps d;
};

struct Call {
  std::shared_ptr<const Shared> sh;
  std::shared_ptr<net::Request> req;
  Caller caller;
  std::shared_ptr<const agents::AgentEntry> agent;
  Operation op;
  bool op_read = false;   // false until the request parsed: `op.kind` is then only a default
  std::string rest_path;  // REST: the path after /a2a/{agent}
  net::Responder reply;
  a2a::Owner owner;
  std::shared_ptr<const a2a::CardEntry> card;
  std::string session_id;
  std::string known_context;  // the context already bound to the caller ("" none)
  std::string known_task;     // the task already bound to the caller ("" none)
  std::string known_state;
  std::optional<std::string> body;  // replaces the client's body (push_set)
  std::string invocation_id = agents::new_invocation_id();
  std::string created_at = core::rfc3339_now();
  Clock::time_point start = Clock::now();

  explicit Call(net::Responder r) : reply(std::move(r)) {}
  const A2aRouteDeps& d() const { return sh->d; }
  a2a::ErrorTarget target() const { return a2a::target_of(op); }
  // For logs and metrics: a request refused before it parsed is "unknown", not "send".
  std::string_view kind_label() const { return op_read ? a2a::kind_name(op.kind) : std::string_view("unknown"); }
  std::int64_t elapsed_ms() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
  }
};

// A refusal in A2A terms, logged with the request id.
void refuse(Call& c, const ProtocolError& e, std::string_view outcome = "refused", bool violation = false) {
  log::info("a2a: refused", {{"request_id", c.req->request_id},
                             {"agent", c.agent ? std::string_view(c.agent->name) : std::string_view{}},
                             {"kind", c.kind_label()},
                             {"code", static_cast<std::int64_t>(e.code)},
                             {"reason", e.message}});
  count_request(c.kind_label(), outcome);
  auto r = a2a::error_answer(c.target(), e);
  if (violation) {
    store::count_tenant_access_violation();
    r.audit_action = "security.tenant_access_violation";
  }
  c.reply(std::move(r));
}

// A refusal in the gateway's own terms (SPEC §5 error shape): what the invoke route answers for
// the same reasons, so the matrix of HTTP statuses is one across protocols.
void refuse_http(Call& c, int status, std::string_view code, std::string_view message,
                 std::optional<int> retry_after = std::nullopt) {
  log::info("a2a: refused", {{"request_id", c.req->request_id}, {"code", code}, {"reason", message}});
  count_request(c.kind_label(), "refused");
  auto r = net::error_response(status, code, message, c.req->request_id);
  if (retry_after) r.headers.push_back({"Retry-After", std::to_string(*retry_after)});
  c.reply(std::move(r));
}

ProtocolError task_not_found() { return a2a::make_error(a2a::kTaskNotFound, "Task not found"); }

// A runtime that failed us, in the client's binding: JSON-RPC InternalError / REST INTERNAL with
// a 502 (504 on a timeout), so no SDK mistakes it for the agent's own answer.
net::Response runtime_failure(const Call& c, std::string_view error) {
  const bool timeout = error == "upstream_timeout";
  ProtocolError e = a2a::make_error(a2a::kInternalError, timeout ? "The agent's runtime did not answer in time"
                                                                 : "The agent's runtime is not answering properly");
  e.http_status = timeout ? 504 : 502;
  const std::string body = c.op.binding == Binding::jsonrpc
                               ? a2a::jsonrpc_error_text(c.op.rpc_id, e.code, e.message)
                               : a2a::rest_error_text(c.op.version, e);
  return net::Response::json(e.http_status, body);
}

// ---- the record

void record(Call& c, int http_status, std::string status, std::string error, std::string output) {
  if (!c.d().invocations) return;
  agents::Invocation inv;
  inv.invocation_id = c.invocation_id;
  inv.tenant_id = c.caller->tenant;
  inv.agent = c.agent->name;
  inv.agent_version = c.agent->version;
  inv.session_id = c.session_id;
  inv.principal = c.caller->subject;
  inv.mode = "a2a";
  inv.status = std::move(status);
  inv.error = std::move(error);
  inv.http_status = http_status;
  inv.latency_ms = c.elapsed_ms();
  inv.created_at = c.created_at;
  if (output.size() > c.d().record_capture_bytes) output.resize(c.d().record_capture_bytes);
  inv.output = std::move(output);
  inv.input = c.body ? *c.body : c.req->body;
  c.d().invocations->record(std::move(inv));
}

// ---- what goes to the runtime

std::optional<std::string> runtime_target(const Call& c) {
  const a2a::RuntimeInterfaces& in = c.card->interfaces;
  if (c.op.binding == Binding::jsonrpc) {
    if (in.jsonrpc_path.empty()) return std::nullopt;
    return in.jsonrpc_path;
  }
  if (in.rest_path.empty()) return std::nullopt;
  std::string base = in.rest_path;
  while (!base.empty() && base.back() == '/') base.pop_back();
  std::string t = base + c.rest_path;
  if (!c.req->query.empty()) t += "?" + c.req->query;
  return t;
}

net::UpstreamCall upstream_call(const Call& c, std::string target, std::string identity) {
  net::UpstreamCall u;
  u.scheme = c.agent->scheme;
  u.host = c.agent->host;
  u.port = c.agent->port;
  u.target = std::move(target);
  u.upstream_name = "agent:" + c.agent->name;
  const net::Request& req = *c.req;
  if (c.op.binding == Binding::jsonrpc) {
    u.method = "POST";
  } else {
    u.method = req.method;
  }
  u.body = c.body ? *c.body : req.body;
  u.timeout = c.d().call_timeout;
  u.max_body_bytes = c.d().max_answer_bytes;
  const bool stream = a2a::is_streaming(c.op.kind);
  // Only what the gateway states: never the caller's Authorization or cookies.
  u.headers = {
      {"Accept", stream ? "text/event-stream" : "application/json"},
      {"X-Portcullis-Identity", std::move(identity)},
      {"X-Request-Id", req.request_id},
  };
  if (!u.body.empty() || u.method == "POST") u.headers.push_back({"Content-Type", "application/json"});
  if (!c.session_id.empty()) u.headers.push_back({"X-Portcullis-Session-Id", c.session_id});
  if (const std::string* v = req.header("a2a-version")) u.headers.push_back({"A2A-Version", *v});
  if (const std::string* x = req.header("a2a-extensions")) u.headers.push_back({"A2A-Extensions", *x});
  if (const std::string* x = req.header("x-a2a-extensions")) u.headers.push_back({"X-A2A-Extensions", *x});
  return u;
}

// The answer's payload: a JSON-RPC answer's result, or the REST body.
const json::value* payload_of(const Call& c, const json::value& answer) {
  if (c.op.binding == Binding::rest) return &answer;
  if (!answer.is_object()) return nullptr;
  return answer.get_object().if_contains("result");
}

std::string answer_text(const Call& c, json::value payload, const json::value& original) {
  if (c.op.binding == Binding::rest) return core::json_text(payload);
  json::object o = original.is_object() ? original.get_object() : json::object{};
  o["result"] = std::move(payload);
  return core::json_text(o);
}

// Binds what one answer or event reveals (blocking: on the pool). False: an id belongs to another
// owner, and the answer must not reach the client.
struct Known {
  std::set<std::string> tasks;
  std::set<std::string> contexts;
  std::unordered_map<std::string, std::string> states;
};
bool bind_revealed(Call& c, const a2a::Observation& ob, Known& k) {
  const A2aBindingPorts& b = c.d().bindings;
  if (!ob.context_id.empty() && !k.contexts.count(ob.context_id)) {
    if (!b.bind_context(c.owner, ob.context_id, c.session_id)) return false;
    k.contexts.insert(ob.context_id);
  }
  if (!ob.task_id.empty() && !k.tasks.count(ob.task_id)) {
    if (!b.bind_task(c.owner, ob.task_id, ob.context_id, c.session_id, ob.state)) return false;
    k.tasks.insert(ob.task_id);
    if (!ob.state.empty()) k.states[ob.task_id] = ob.state;
    return true;
  }
  if (!ob.task_id.empty() && !ob.state.empty() && k.states[ob.task_id] != ob.state) {
    b.set_state(c.owner, ob.task_id, ob.state);
    k.states[ob.task_id] = ob.state;
  }
  return true;
}
bool needs_pool(const a2a::Observation& ob, const Known& k) {
  if (!ob.context_id.empty() && !k.contexts.count(ob.context_id)) return true;
  if (!ob.task_id.empty() && !k.tasks.count(ob.task_id)) return true;
  if (!ob.task_id.empty() && !ob.state.empty()) {
    auto it = k.states.find(ob.task_id);
    return it == k.states.end() || it->second != ob.state;
  }
  return false;
}

Known known_of(const Call& c) {
  Known k;
  if (!c.known_task.empty()) k.tasks.insert(c.known_task), k.states[c.known_task] = c.known_state;
  if (!c.known_context.empty()) k.contexts.insert(c.known_context);
  return k;
}

std::optional<json::value> parse_json(std::string_view text, std::size_t max) {
  std::string why;
  mcp::jsonrpc::Limits lim;
  lim.max_bytes = max;
  return mcp::jsonrpc::parse_bounded(text, lim, why);
}

// ---- buffered answers

// The runtime's whole answer: ids bound, push configs shown as the client's, then relayed.
// Runs on the pool (blocking binding writes).
void finish_buffered(const std::shared_ptr<Call>& c, net::UpstreamReply r) {
  const bool ok_status = r.status >= 200 && r.status <= 299;
  std::string out_body = std::move(r.body);
  auto parsed = out_body.empty() ? std::nullopt : parse_json(out_body, c->d().max_answer_bytes);
  std::string status = ok_status ? "succeeded" : "failed", error = ok_status ? "" : "agent_error";
  if (parsed) {
    const json::value* payload = payload_of(*c, *parsed);
    a2a::Observation ob = a2a::observe(*parsed);
    if (ob.rpc_error) status = "failed", error = "agent_error";
    if (ok_status && !ob.rpc_error && payload) {
      Known k = known_of(*c);
      try {
        if (c->op.kind == Kind::list_tasks) {
          // Only the caller's tasks: the runtime lists every tenant's.
          if (payload->is_object()) {
            json::value filtered = *payload;
            if (auto* tasks = filtered.get_object().if_contains("tasks"); tasks && tasks->is_array()) {
              json::array mine;
              for (auto& t : tasks->get_array()) {
                const json::value* id = t.is_object() ? t.get_object().if_contains("id") : nullptr;
                if (id && id->is_string() &&
                    c->d().bindings.task(c->owner, id->get_string(), nullptr) == a2a::Lookup::mine)
                  mine.push_back(t);
              }
              // The runtime's totalSize counts every tenant's tasks (an oracle, and wrong for this
              // caller): it becomes the count of this page's own tasks. nextPageToken is the
              // runtime's, relayed (paging limits: docs/a2a.md "ListTasks").
              const std::size_t kept = mine.size();
              tasks->get_array() = std::move(mine);
              if (filtered.get_object().contains("totalSize"))
                filtered.get_object()["totalSize"] = static_cast<std::int64_t>(kept);
            }
            out_body = answer_text(*c, std::move(filtered), *parsed);
          }
        } else if (c->op.kind == Kind::push_set || c->op.kind == Kind::push_get || c->op.kind == Kind::push_list) {
          out_body = answer_text(
              *c, c->d().push->client_view(c->owner, c->op.task_id, c->op.version, *payload), *parsed);
        } else if (c->op.kind == Kind::push_delete) {
          c->d().push->forget(c->owner, c->op.task_id, c->op.push_config_id);
        } else if (!bind_revealed(*c, ob, k)) {
          log::warn("a2a: the runtime revealed an id bound to another owner",
                    {{"request_id", c->req->request_id}, {"agent", c->agent->name}});
          record(*c, 502, "failed", "foreign_id", "");
          count_request(c->op.kind, "failed");
          return c->reply(runtime_failure(*c, "upstream_bad_response"));
        }
      } catch (const std::exception& e) {
        log::error("a2a: binding failed", {{"request_id", c->req->request_id}, {"error", e.what()}});
        record(*c, 503, "failed", "store_unavailable", "");
        count_request(c->op.kind, "failed");
        return c->reply(net::error_response(503, "store_unavailable", "the task could not be recorded; try again",
                                            c->req->request_id));
      }
    }
  } else if (ok_status && !out_body.empty()) {
    // Not JSON: nothing can be bound, so nothing is relayed.
    record(*c, 502, "failed", "upstream_bad_response", "");
    count_request(c->op.kind, "failed");
    return c->reply(runtime_failure(*c, "upstream_bad_response"));
  }
  record(*c, r.status, status, error, out_body);
  count_request(c->op.kind, status == "succeeded" ? "ok" : "failed");
  net::Response resp;
  resp.status = r.status;
  resp.content_type = r.content_type.empty() ? "application/json" : r.content_type;
  resp.body = std::move(out_body);
  c->reply(std::move(resp));
}

void forward_buffered(const std::shared_ptr<Call>& c, net::UpstreamCall u) {
  net::call_upstream(std::move(u), [c](net::UpstreamReply&& r) {
    if (!r.error.empty()) {
      record(*c, r.error == "upstream_timeout" ? 504 : 502, "failed", r.error, "");
      count_request(c->op.kind, "failed");
      log::warn("a2a: runtime call failed",
                {{"request_id", c->req->request_id}, {"agent", c->agent->name}, {"error", r.error}});
      return c->reply(runtime_failure(*c, r.error));
    }
    auto job = [c, r = std::make_shared<net::UpstreamReply>(std::move(r))]() mutable {
      finish_buffered(c, std::move(*r));
    };
    if (!c->d().pool->try_submit(std::move(job))) {
      record(*c, 503, "failed", "overloaded", "");
      count_request(c->op.kind, "failed");
      c->reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", c->req->request_id));
    }
  });
}

// ---- streams

// One relayed stream: events in order; one that reveals an id not yet bound waits (on the pool)
// until the binding is durable, and the events after it wait behind it.
class StreamRelay : public std::enable_shared_from_this<StreamRelay> {
 public:
  StreamRelay(std::shared_ptr<Call> c) : c_(std::move(c)), parser_(c_->d().max_answer_bytes), known_(known_of(*c_)) {}

  void start(net::UpstreamCall u) {
    auto self = shared_from_this();
    u.idle_timeout = c_->d().stream_idle_timeout;
    u.on_head = [self](const net::UpstreamReply& head) { self->on_head(head); };
    u.on_body = [self](std::string_view piece) { return self->on_body(piece); };
    auto handle = net::call_upstream(std::move(u), [self](net::UpstreamReply&& r) { self->on_done(std::move(r)); });
    std::lock_guard lock(mu_);
    handle_ = handle;
    if (cancel_requested_) handle->cancel();
  }

 private:
  struct Item {
    std::string raw;
    a2a::Observation ob;
  };

  void on_head(const net::UpstreamReply& head) {
    const bool sse = head.content_type.rfind("text/event-stream", 0) == 0;
    std::lock_guard lock(mu_);
    head_status_ = head.status;
    if (head.status != 200 || !sse) {
      // An error answer (or a runtime answering a stream request with JSON): read whole, relayed
      // as it is once it ends.
      buffered_ = true;
      content_type_ = head.content_type;
      return;
    }
    net::ResponseStream::Options o;
    o.heartbeat = c_->d().sse_heartbeat;
    rs_ = std::make_shared<net::ResponseStream>(o);
    std::weak_ptr<StreamRelay> weak = weak_from_this();
    rs_->on_closed([weak] {
      if (auto s = weak.lock()) s->client_closed();
    });
    auto r = net::Response::streamed(200, "text/event-stream", rs_);
    r.headers.push_back({"Cache-Control", "no-cache"});
    c_->reply(std::move(r));
  }

  bool on_body(std::string_view piece) {
    std::unique_lock lock(mu_);
    if (buffered_) {
      if (body_.size() + piece.size() > c_->d().max_answer_bytes) return false;
      body_.append(piece);
      return true;
    }
    if (finished_ || client_gone_) return false;
    std::vector<a2a::SseParser::Event> events;
    if (!parser_.feed(piece, events)) {
      fail_locked("the agent's runtime sent an event beyond the size limit", "upstream_bad_response");
      return false;
    }
    for (auto& ev : events) {
      Item it;
      it.raw = std::move(ev.raw);
      if (!ev.comment_only && !ev.data.empty()) {
        if (auto v = parse_json(ev.data, c_->d().max_answer_bytes)) it.ob = a2a::observe(*v);
      }
      queue_.push_back(std::move(it));
    }
    if (queue_.size() > kMaxQueued) {
      fail_locked("the client is not reading the stream", "client_slow");
      return false;
    }
    if (!draining_) {
      draining_ = true;
      lock.unlock();
      drain();
    }
    return true;
  }

  void on_done(net::UpstreamReply&& r) {
    std::unique_lock lock(mu_);
    upstream_done_ = true;
    if (buffered_ || head_status_ == 0) {
      lock.unlock();
      return finish_unstreamed(std::move(r));
    }
    if (!r.error.empty() && r.error != "cancelled" && !saw_final_ && !failed_) {
      // The runtime died mid-stream: the client learns it from the stream's last event.
      error_ = r.error;
      Item it;
      it.raw = a2a::sse_error_event(c_->target(),
                                    a2a::make_error(a2a::kInternalError, "The agent's runtime broke off the stream"));
      it.ob.rpc_error = true;
      queue_.push_back(std::move(it));
    } else if (r.error == "cancelled" && error_.empty()) {
      error_ = client_gone_ ? "client_gone" : "cancelled";
    }
    if (!draining_) {
      draining_ = true;
      lock.unlock();
      drain();
    }
  }

  // Relays queued events in order, from whichever thread started it; hops to the pool for an
  // event that needs a binding, and carries on from there.
  void drain() {
    std::unique_lock lock(mu_);
    while (!queue_.empty()) {
      if (client_gone_ || failed_) {
        queue_.clear();
        break;
      }
      Item& it = queue_.front();
      if (!it.ob.rpc_error && needs_pool(it.ob, known_)) {
        auto self = shared_from_this();
        lock.unlock();
        const bool queued = c_->d().pool->try_submit([self] { self->bind_front(); });
        if (!queued) {
          lock.lock();
          fail_locked("the gateway is busy", "overloaded");
          queue_.clear();
          break;
        }
        return;  // bind_front continues the drain
      }
      write_locked(std::move(it));
      queue_.pop_front();
    }
    draining_ = false;
    if (upstream_done_ || failed_ || client_gone_) finish_locked();
  }

  void bind_front() {
    Item it;
    {
      std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      it = queue_.front();
    }
    bool ok = false;
    try {
      ok = bind_revealed(*c_, it.ob, known_);
    } catch (const std::exception& e) {
      log::error("a2a: stream binding failed", {{"request_id", c_->req->request_id}, {"error", e.what()}});
    }
    {
      std::lock_guard lock(mu_);
      if (!ok) {
        fail_locked("The agent's runtime revealed a task that cannot be bound", "foreign_id");
        queue_.clear();
        draining_ = false;
        finish_locked();
        return;
      }
      write_locked(std::move(queue_.front()));
      queue_.pop_front();
    }
    drain();
  }

  void write_locked(Item&& it) {
    if (capture_.size() < c_->d().record_capture_bytes)
      capture_.append(it.raw, 0, c_->d().record_capture_bytes - capture_.size());
    if (it.ob.final) saw_final_ = true;
    if (it.ob.rpc_error && error_.empty()) error_ = "agent_error";
    if (!it.ob.shape.empty() || it.ob.rpc_error) stream_events().inc();
    if (rs_ && !rs_->write(std::move(it.raw))) client_gone_ = true;
  }

  // Ends the stream with an A2A error event and stops the runtime's call.
  void fail_locked(std::string_view message, std::string_view error) {
    if (failed_) return;
    failed_ = true;
    if (error_.empty() || error_ == "agent_error") error_ = std::string(error);
    if (rs_) rs_->write(a2a::sse_error_event(c_->target(), a2a::make_error(a2a::kInternalError, std::string(message))));
    cancel_locked();
  }

  void cancel_locked() {
    if (handle_) handle_->cancel();
    else cancel_requested_ = true;
  }

  void client_closed() {
    std::lock_guard lock(mu_);
    if (finished_) return;
    client_gone_ = true;
    if (error_.empty()) error_ = "client_gone";
    cancel_locked();
  }

  void finish_locked() {
    if (finished_) return;
    if (!upstream_done_ && !failed_ && !client_gone_) return;
    finished_ = true;
    if (!upstream_done_) cancel_locked();
    if (rs_) rs_->close();
    std::string status = "succeeded";
    if (error_ == "client_gone" || error_ == "cancelled") status = "cancelled";
    else if (!error_.empty()) status = "failed";
    record(*c_, client_gone_ ? 499 : 200, status, error_, std::move(capture_));
    count_request(c_->op.kind, status == "succeeded" ? "ok" : status == "cancelled" ? "cancelled" : "failed");
  }

  // The runtime answered without a stream (an error, or no final head at all).
  void finish_unstreamed(net::UpstreamReply&& r) {
    if (!r.error.empty() && (r.error != "upstream_broken" || head_status_ == 0)) {
      record(*c_, r.error == "upstream_timeout" ? 504 : 502, "failed", r.error, "");
      count_request(c_->op.kind, "failed");
      return c_->reply(runtime_failure(*c_, r.error));
    }
    record(*c_, head_status_, head_status_ >= 200 && head_status_ <= 299 ? "succeeded" : "failed",
           head_status_ >= 200 && head_status_ <= 299 ? "" : "agent_error", body_);
    count_request(c_->op.kind, "failed");
    net::Response resp;
    resp.status = head_status_;
    resp.content_type = content_type_.empty() ? "application/json" : content_type_;
    resp.body = std::move(body_);
    c_->reply(std::move(resp));
  }

  static constexpr std::size_t kMaxQueued = 1024;  // events held while a binding is written

  std::shared_ptr<Call> c_;
  std::mutex mu_;
  a2a::SseParser parser_;
  Known known_;  // touched by the drainer only (one at a time)
  std::deque<Item> queue_;
  std::shared_ptr<net::ResponseStream> rs_;
  std::shared_ptr<net::UpstreamCallHandle> handle_;
  bool cancel_requested_ = false;
  bool buffered_ = false;
  int head_status_ = 0;
  std::string content_type_;
  std::string body_;
  bool draining_ = false;
  bool upstream_done_ = false;
  bool client_gone_ = false;
  bool failed_ = false;
  bool finished_ = false;
  bool saw_final_ = false;
  std::string error_;
  std::string capture_;
};

// ---- the extended card: the runtime's, rewritten like the public one

void forward_extended_card(const std::shared_ptr<Call>& c, net::UpstreamCall u) {
  net::call_upstream(std::move(u), [c](net::UpstreamReply&& r) {
    if (!r.error.empty()) {
      count_request(c->op.kind, "failed");
      return c->reply(runtime_failure(*c, r.error));
    }
    auto parsed = parse_json(r.body, c->d().max_answer_bytes);
    const json::value* payload = parsed ? payload_of(*c, *parsed) : nullptr;
    if (r.status < 200 || r.status > 299 || !payload || !payload->is_object()) {
      // The runtime's own error (or garbage): relayed only when it is an A2A error of the binding.
      if (parsed && a2a::observe(*parsed).rpc_error) {
        count_request(c->op.kind, "failed");
        net::Response resp;
        resp.status = r.status;
        resp.body = std::move(r.body);
        return c->reply(std::move(resp));
      }
      count_request(c->op.kind, "failed");
      return c->reply(runtime_failure(*c, "upstream_bad_response"));
    }
    std::string text;
    try {
      // A 0.3 client (agent/getAuthenticatedExtendedCard, GET /v1/card, or no A2A-Version) reads
      // the 0.3 card shape (url, preferredTransport, additionalInterfaces), as on agent.json.
      const a2a::CardViewer viewer{c->caller->tenant, c->caller.tier};
      text = c->op.version == Version::v0_3
                 ? c->d().cards->render_v03(*c->agent, *c->card, viewer, &payload->get_object())
                 : c->d().cards->render(*c->agent, *c->card, viewer, &payload->get_object());
    } catch (const std::exception& e) {
      log::error("a2a: extended card not rendered", {{"request_id", c->req->request_id}, {"error", e.what()}});
      count_request(c->op.kind, "failed");
      return c->reply(runtime_failure(*c, "upstream_bad_response"));
    }
    count_request(c->op.kind, "ok");
    if (c->op.binding == Binding::rest) return c->reply(net::Response::json(200, std::move(text)));
    auto card = parse_json(text, 16u << 20);
    json::object o{{"jsonrpc", "2.0"}, {"id", c->op.rpc_id}, {"result", card ? *card : json::value(json::object{})}};
    c->reply(net::Response::json(200, core::json_text(o)));
  });
}

// ---- after the checks: to the runtime

void forward(const std::shared_ptr<Call>& c) {
  auto target = runtime_target(*c);
  if (!target)
    return refuse(*c, a2a::make_error(a2a::kUnsupportedOperation,
                                      c->op.binding == Binding::jsonrpc
                                          ? "This agent does not offer the JSON-RPC binding; use its REST interface"
                                          : "This agent does not offer the HTTP+JSON binding; use its JSON-RPC interface"));
  std::string identity;
  try {
    // As the invoke route: cached per (caller, agent), audience agent:<name>, act chain included.
    identity = c->d().ports.identity_token(*c->caller, c->caller.tier, c->agent->name, "");
  } catch (const std::exception&) {
    return refuse_http(*c, 503, "agent_identity_unavailable", "the gateway cannot sign the agent's identity token yet");
  }
  net::UpstreamCall u = upstream_call(*c, std::move(*target), std::move(identity));
  if (c->op.kind == Kind::extended_card) return forward_extended_card(c, std::move(u));
  if (a2a::is_streaming(c->op.kind)) {
    auto relay = std::make_shared<StreamRelay>(c);
    return relay->start(std::move(u));
  }
  forward_buffered(c, std::move(u));
}

// A push config in a SendMessage would carry the client's URL to the runtime: refused (set it with
// the push config operation once the task exists, where the relay takes its place).
bool has_inline_push(const Operation& op) {
  if (op.kind != Kind::send && op.kind != Kind::stream) return false;
  const json::value* cfg = op.params.is_object() ? op.params.get_object().if_contains("configuration") : nullptr;
  if (!cfg || !cfg->is_object()) return false;
  for (std::string_view key : {"pushNotificationConfig", "taskPushNotificationConfig"})
    if (const json::value* p = cfg->get_object().if_contains(key); p && !p->is_null()) return true;
  return false;
}

// The client's push config replaced by the relay's, in the request body (blocking: on the pool).
// nullopt: done; else the refusal.
std::optional<ProtocolError> swap_push_config(Call& c) {
  json::object params = c.op.params.get_object();
  json::object client;
  const bool nested = c.op.version == Version::v0_3;  // 0.3: {taskId|name, pushNotificationConfig}
  if (nested) {
    const json::value* v = params.if_contains("pushNotificationConfig");
    if (!v || !v->is_object()) return a2a::make_error(a2a::kInvalidParams, "Invalid params: pushNotificationConfig is required");
    client = v->get_object();
  } else {
    client = params;
  }
  json::object relay;
  try {
    relay = c.d().push->register_config(c.owner, c.op.task_id, c.op.version, client);
  } catch (const a2a::PushRefused& e) {
    return a2a::make_error(a2a::kInvalidParams, e.what());
  }
  if (nested) params["pushNotificationConfig"] = std::move(relay);
  else params = std::move(relay);
  if (c.op.binding == Binding::rest) {
    c.body = core::json_text(params);
  } else {
    json::object rpc{{"jsonrpc", "2.0"}, {"id", c.op.rpc_id}, {"method", c.op.method}, {"params", std::move(params)}};
    c.body = core::json_text(rpc);
  }
  return std::nullopt;
}

// On the pool: the ids the request names must be the caller's; a new context is bound first come.
void check_and_go(const std::shared_ptr<Call>& c) {
  const A2aRouteDeps& d = c->d();
  try {
    if (!c->op.task_id.empty()) {
      a2a::TaskRecord rec;
      const a2a::Lookup l = d.bindings.task(c->owner, c->op.task_id, &rec);
      if (l != a2a::Lookup::mine)
        return refuse(*c, task_not_found(), "refused", l == a2a::Lookup::foreign_tenant);
      c->known_task = c->op.task_id;
      c->known_state = rec.state;
      c->known_context = rec.context_id;
      c->session_id = rec.session_id;
      if (!c->op.context_id.empty() && !rec.context_id.empty() && c->op.context_id != rec.context_id)
        return refuse(*c, task_not_found());
    } else if (!c->op.context_id.empty()) {
      std::string sid;
      const a2a::Lookup l = d.bindings.context(c->owner, c->op.context_id, &sid);
      if (l == a2a::Lookup::mine) {
        c->known_context = c->op.context_id;
        c->session_id = sid;
      } else if (l != a2a::Lookup::unknown || c->op.kind == Kind::list_tasks) {
        return refuse(*c, task_not_found(), "refused", l == a2a::Lookup::foreign_tenant);
      }
      // unknown + send: a context the client names for the first time; bound below.
    }
    if (c->op.kind == Kind::push_set) {
      if (auto e = swap_push_config(*c)) return refuse(*c, *e);
    }
  } catch (const std::exception& e) {
    log::error("a2a: binding check failed", {{"request_id", c->req->request_id}, {"error", e.what()}});
    count_request(c->op.kind, "failed");
    return c->reply(net::error_response(503, "store_unavailable", "the task could not be checked; try again",
                                        c->req->request_id));
  }
  const bool sends = c->op.kind == Kind::send || c->op.kind == Kind::stream;
  if (!sends || !c->session_id.empty()) return forward(c);
  // A new context (the runtime's or the client's): its gateway session, created now.
  agents::SessionOwner so{c->caller->tenant, c->caller->subject, c->agent->name};
  d.sessions->open(
      so, "",
      [c](agents::SessionResult r) {
        if (!std::holds_alternative<agents::SessionView>(r)) {
          count_request(c->op.kind, "failed");
          return c->reply(net::error_response(503, "overloaded", "the session could not be created; try again",
                                              c->req->request_id));
        }
        c->session_id = std::get<agents::SessionView>(r).session_id;
        if (!c->op.context_id.empty()) {
          // Blocking write; this callback runs on the pool or, for a new session, on our thread
          // (the pool's).
          bool bound = false;
          try {
            bound = c->d().bindings.bind_context(c->owner, c->op.context_id, c->session_id);
          } catch (const std::exception& e) {
            log::error("a2a: context not bound", {{"request_id", c->req->request_id}, {"error", e.what()}});
            count_request(c->op.kind, "failed");
            return c->reply(net::error_response(503, "store_unavailable", "the context could not be recorded; try again",
                                                c->req->request_id));
          }
          if (!bound) return refuse(*c, task_not_found());  // bound a moment ago by another owner
          c->known_context = c->op.context_id;
        }
        forward(c);
      },
      [c] {
        count_request(c->op.kind, "failed");
        c->reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", c->req->request_id));
      });
}

void serve(const std::shared_ptr<const Shared>& sh, std::shared_ptr<net::Request> req, Caller caller,
           net::Responder reply, Binding binding) {
  const A2aRouteDeps& d = sh->d;
  auto c = std::make_shared<Call>(std::move(reply));
  c->sh = sh;
  c->caller = std::move(caller);
  c->req = std::move(req);
  const net::Request& r = *c->req;
  // What the tenant may not use, and an agent that does not speak A2A, do not exist here.
  auto agent = d.catalog->usable(r.param("agent"), *d.capabilities, c->caller->tenant, c->caller.tier);
  if (!agent || agent->protocol != "a2a")
    return c->reply(net::error_response(404, "not_found", "no A2A agent of that name is available to this tenant",
                                        r.request_id));
  c->agent = std::move(agent);
  const std::string* version = r.header("a2a-version");
  std::variant<Operation, ProtocolError> parsed;
  if (binding == Binding::jsonrpc) {
    parsed = a2a::parse_jsonrpc(r.body, version);
  } else {
    c->rest_path = a2a::rest_path_of(r.path);
    parsed = a2a::parse_rest(r.method, c->rest_path, r.query, r.body, version);
  }
  if (auto* e = std::get_if<ProtocolError>(&parsed)) {
    c->op.binding = binding;
    c->op.version = a2a::negotiate_version(version).value_or(Version::v1_0);
    if (binding == Binding::rest && c->rest_path.starts_with("/v1/")) c->op.version = Version::v0_3;
    c->op.rpc_id = e->rpc_id;
    return refuse(*c, *e);
  }
  c->op = std::move(std::get<Operation>(parsed));
  c->op_read = true;
  c->owner = a2a::Owner{c->caller->tenant, c->caller->subject, c->agent->name};

  // Fail closed: without the identity statement and the call rules no agent is called.
  if (!d.ports.identity_token || !d.ports.call_refusal)
    return refuse_http(*c, 503, "agent_identity_unavailable", "agent identity is not configured on this gateway");
  if (auto why = d.ports.call_refusal(*c->caller, c->agent->name))
    return refuse_http(*c, 403, "agent_call_refused",
                       *why == "loop" ? "agent " + c->agent->name + " is already on this call's delegation chain"
                                      : std::string("the chain of agents calling agents is too deep"));
  if (d.ports.unavailable)
    if (auto retry = d.ports.unavailable(c->agent->name))
      return refuse_http(*c, 503, "agent_unavailable", "the agent's runtime is not answering; try again later", retry);
  const bool push_op = c->op.kind == Kind::push_set || c->op.kind == Kind::push_get ||
                       c->op.kind == Kind::push_list || c->op.kind == Kind::push_delete;
  if (!d.bindings.complete() || !d.cards || !d.sessions || !d.pool || (push_op && !d.push))
    return refuse_http(*c, 503, "a2a_unavailable", "the A2A proxy is not available on this gateway");
  if (has_inline_push(c->op))
    return refuse(*c, a2a::make_error(a2a::kPushNotSupported,
                                      "Push notification configs are not accepted in a message; set one for the "
                                      "task with the push notification config operation"));

  d.cards->get(*c->agent, [c](std::shared_ptr<const a2a::CardEntry> entry, std::string error) {
    if (!entry) {
      const bool stale = error == "card_stale";
      return refuse_http(*c, 502, stale ? "card_stale" : "card_unavailable",
                         stale ? "the agent's card could not be refreshed for too long; try again later"
                               : "the agent's card could not be fetched from its runtime");
    }
    c->card = std::move(entry);
    if (c->op.kind == Kind::extended_card) {
      if (!c->card->interfaces.extended_card)
        return refuse(*c, a2a::make_error(a2a::kExtendedCardNotConfigured, "Extended Agent Card not configured"));
      return forward(c);
    }
    if (a2a::is_streaming(c->op.kind) && !c->card->interfaces.streaming)
      return refuse(*c, a2a::make_error(a2a::kUnsupportedOperation, "This agent does not stream"));
    if (!c->d().pool->try_submit([c] { check_and_go(c); })) {
      count_request(c->op.kind, "failed");
      c->reply(net::error_response(503, "overloaded", "the gateway is busy; try again later", c->req->request_id));
    }
  });
}

}  // namespace

void add_a2a_routes(net::Router& router, A2aRouteDeps deps) {
  auto sh = std::make_shared<Shared>();
  sh->d = std::move(deps);
  std::shared_ptr<const Shared> shared = sh;
  const Policy policy = Policy::tenant_only({auth::roles::kAgentInvoke, auth::roles::kMachineInvoke});
  auto route = [&](Binding b) {
    return sh->d.chain->route(policy, [shared, b](std::shared_ptr<net::Request> req, Caller caller,
                                                  net::Responder reply) {
      serve(shared, std::move(req), std::move(caller), std::move(reply), b);
    });
  };
  router.add("POST", "/a2a/{agent}", route(Binding::jsonrpc));
  // The REST binding's paths have one to five segments after the agent (…/v1/tasks/{id}/
  // pushNotificationConfigs/{configId}); a2a::parse_rest tells them apart, so one generic
  // pattern per depth serves them all (and answers an unknown one with the binding's 404).
  std::string pattern = "/a2a/{agent}";
  for (int depth = 1; depth <= 5; ++depth) {
    pattern += "/{p" + std::to_string(depth) + "}";
    for (const char* m : {"GET", "POST", "DELETE"}) router.add(m, pattern, route(Binding::rest));
  }
}

}  // namespace pc::api
