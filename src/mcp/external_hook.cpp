#include "mcp/external_hook.h"

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "core/log.h"
#include "mcp/jsonrpc.h"
#include "net/upstream_call.h"

namespace pc::mcp {

namespace json = boost::json;
namespace urls = boost::urls;

namespace {

constexpr std::size_t kMaxAnswerBytes = 4u << 20;
constexpr std::size_t kMaxReasonBytes = 200;

std::string cut(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t n = max;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return std::string(s.substr(0, n)) + "…";
}

HookAnswer failed(std::string why) {
  HookAnswer a;
  a.kind = HookAnswer::failed;
  a.error = std::move(why);
  return a;
}

bool listed(const std::vector<std::string>& list, std::string_view name) {
  return list.empty() || std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

std::string hook_request_body(std::string_view stage, const CallContext& ctx, const json::value& payload,
                              bool is_error) {
  json::object o;
  o["stage"] = stage;
  o["tenant"] = ctx.tenant;
  o["subject"] = ctx.subject;
  o["client"] = ctx.client;
  o["server"] = ctx.server;
  o["tool"] = ctx.tool;
  if (stage == "request") {
    o["arguments"] = payload;
  } else {
    o["result"] = payload;
    o["isError"] = is_error;
  }
  return json::serialize(o);
}

HookAnswer read_hook_answer(const net::UpstreamReply& reply, std::string_view stage) {
  if (!reply.error.empty()) return failed(reply.error);
  if (reply.status < 200 || reply.status > 299) return failed("status " + std::to_string(reply.status));
  jsonrpc::Limits limits;
  limits.max_bytes = kMaxAnswerBytes;
  std::string error;
  auto v = jsonrpc::parse_bounded(reply.body, limits, error);
  if (!v) return failed("answer: " + error);
  auto* o = v->if_object();
  if (!o) return failed("answer is not an object");
  const json::value* decision = o->if_contains("decision");
  if (!decision || !decision->is_string()) return failed("answer has no decision");
  const json::value* reason = o->if_contains("reason");
  if (reason && !reason->is_string()) return failed("reason is not a string");
  HookAnswer a;
  if (decision->get_string() == "deny") {
    a.kind = HookAnswer::deny;
    if (reason) a.reason = cut(reason->get_string(), kMaxReasonBytes);
    return a;
  }
  if (decision->get_string() != "allow") return failed("decision is neither allow nor deny");
  a.kind = HookAnswer::allow;
  const char* member = stage == "request" ? "arguments" : "result";
  if (const json::value* r = o->if_contains(member)) {
    if (!r->is_object()) return failed(std::string(member) + " is not an object");
    a.replacement = std::move(o->at(member).get_object());
  }
  return a;
}

ExternalHook::ExternalHook(core::McpHook hook) : hook_(std::move(hook)) {
  auto parsed = urls::parse_absolute_uri(hook_.url);
  if (!parsed) throw std::invalid_argument("hook " + hook_.name + ": url is not an absolute URI");
  const urls::url_view& u = *parsed;
  if (u.scheme_id() == urls::scheme::http) scheme_ = "http";
  else if (u.scheme_id() == urls::scheme::https) scheme_ = "https";
  else throw std::invalid_argument("hook " + hook_.name + ": url must be http or https");
  if (!u.has_authority() || u.encoded_host().empty()) throw std::invalid_argument("hook " + hook_.name + ": url has no host");
  if (u.has_userinfo()) throw std::invalid_argument("hook " + hook_.name + ": url must not carry credentials");
  if (u.has_fragment()) throw std::invalid_argument("hook " + hook_.name + ": url must not have a fragment");
  switch (u.host_type()) {
    case urls::host_type::ipv4: host_ = u.host_ipv4_address().to_string(); break;
    case urls::host_type::ipv6: host_ = u.host_ipv6_address().to_string(); break;
    case urls::host_type::name: host_ = std::string(u.encoded_host()); break;
    default: throw std::invalid_argument("hook " + hook_.name + ": url has no usable host");
  }
  if (u.has_port()) {
    if (u.port_number() == 0) throw std::invalid_argument("hook " + hook_.name + ": url has a bad port");
    port_ = u.port_number();
  } else {
    port_ = scheme_ == "https" ? 443 : 80;
  }
  target_ = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
  if (u.has_query()) target_ += "?" + std::string(u.encoded_query());
}

bool ExternalHook::applies(std::string_view stage, const CallContext& ctx) const {
  return hook_.stage == stage && listed(hook_.tenants, ctx.tenant) && listed(hook_.servers, ctx.server);
}

void ExternalHook::call(std::string body, std::string_view stage, std::function<void(HookAnswer&&)> then) const {
  net::UpstreamCall c;
  c.scheme = scheme_;
  c.host = host_;
  c.port = port_;
  c.target = target_;
  c.method = "POST";
  c.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  c.body = std::move(body);
  c.upstream_name = "mcp-hook:" + hook_.name;
  c.timeout = timeout();
  c.max_body_bytes = kMaxAnswerBytes;
  net::call_upstream(std::move(c), [then = std::move(then), stage = std::string(stage)](net::UpstreamReply&& r) {
    then(read_hook_answer(r, stage));
  });
}

namespace {

// The decision for a hook's answer; `replace` applies an allowed modification.
Decision decide(HookAnswer&& a, const std::string& hook, std::string_view stage, const std::string& server,
                const std::string& tool, const std::function<void(json::object&&)>& replace) {
  switch (a.kind) {
    case HookAnswer::allow:
      if (a.replacement) replace(std::move(*a.replacement));
      return Decision::allowed();
    case HookAnswer::deny:
      return Decision::denied(jsonrpc::kForbidden,
                              a.reason.empty() ? "Denied by " + hook : "Denied by " + hook + ": " + a.reason);
    case HookAnswer::failed:
      break;
  }
  log::warn("mcp hook failed; call refused",
            {{"hook", hook}, {"stage", stage}, {"server", server}, {"tool", tool}, {"error", a.error}});
  return Decision::denied(jsonrpc::kInternalError, a.error == "upstream_timeout" ? "interceptor " + hook + " timed out"
                                                                                 : "interceptor " + hook + " failed");
}

}  // namespace

// The callbacks capture copies (not `this`): the reply may arrive after the hook was replaced.
void ExternalHook::on_request(const CallContext& ctx, json::object& params, DecisionDone done) const {
  if (!applies("request", ctx)) return done(Decision::allowed());
  static const json::value empty = json::object();
  const json::value* args = params.if_contains("arguments");
  call(hook_request_body("request", ctx, args ? *args : empty), "request",
       [&params, done = std::move(done), hook = hook_.name, server = ctx.server, tool = ctx.tool](HookAnswer&& a) {
         done(decide(std::move(a), hook, "request", server, tool,
                     [&params](json::object&& args) { params["arguments"] = std::move(args); }));
       });
}

void ExternalHook::on_response(const CallContext& ctx, json::value& result, bool is_error, ResponseFacts&,
                               DecisionDone done) const {
  if (!applies("response", ctx)) return done(Decision::allowed());
  call(hook_request_body("response", ctx, result, is_error), "response",
       [&result, done = std::move(done), hook = hook_.name, server = ctx.server, tool = ctx.tool](HookAnswer&& a) {
         done(decide(std::move(a), hook, "response", server, tool,
                     [&result](json::object&& r) { result = std::move(r); }));
       });
}

std::vector<std::shared_ptr<const ExternalHook>> make_hooks(const std::vector<core::McpHook>& hooks,
                                                            std::string_view stage) {
  std::vector<std::shared_ptr<const ExternalHook>> out;
  for (const auto& h : hooks)
    if (h.stage == stage) out.push_back(std::make_shared<const ExternalHook>(h));
  return out;
}

}  // namespace pc::mcp
