#include "api/invoke_request.h"

#include <boost/json.hpp>

#include "api/json_body.h"
#include "core/json_text.h"

namespace pc::api {
namespace {

bool accepts_event_stream(const net::Request& req) {
  const std::string* accept = req.header("accept");
  if (!accept) return false;
  // A media-range list; a parameter (";q=…") may follow the type.
  std::string_view rest = *accept;
  while (!rest.empty()) {
    std::size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    item = item.substr(0, item.find(';'));
    while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) item.remove_prefix(1);
    while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) item.remove_suffix(1);
    if (net::iequals(item, "text/event-stream")) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}

// Printable ASCII without spaces: ids travel in headers (X-Portcullis-Session-Id) and URLs.
bool printable_id(std::string_view s) {
  for (char c : s)
    if (c <= 0x20 || c >= 0x7f) return false;
  return true;
}

}  // namespace

std::string_view mode_name(InvokeMode m) {
  switch (m) {
    case InvokeMode::sync: return "sync";
    case InvokeMode::stream: return "stream";
    case InvokeMode::async: return "async";
  }
  return "sync";
}

std::variant<InvokeRequest, net::Response> parse_invoke(const net::Request& req) {
  auto parsed = json_object_body(req, {"input", "sessionId", "mode", "context", "metadata", "webhookId"});
  if (auto* refusal = std::get_if<net::Response>(&parsed)) return std::move(*refusal);
  auto& o = std::get<boost::json::object>(parsed);
  auto bad = [&](std::string_view msg) { return net::error_response(400, "invalid_request", msg, req.request_id); };

  InvokeRequest r;
  auto* input = o.if_contains("input");
  if (!input || input->is_null()) return bad("input is required");
  r.input = std::move(*input);

  if (auto* v = o.if_contains("sessionId"); v && !v->is_null()) {
    if (!v->is_string()) return bad("sessionId must be a string");
    const auto& s = v->get_string();
    if (s.empty() || s.size() > kMaxSessionIdBytes || !printable_id(s))
      return bad("sessionId must be 1 to 64 printable characters");
    r.session_id = s;
  }

  if (auto* v = o.if_contains("mode"); v && !v->is_null()) {
    if (!v->is_string()) return bad("mode must be one of sync, stream, async");
    const auto& m = v->get_string();
    if (m == "sync") r.mode = InvokeMode::sync;
    else if (m == "stream") r.mode = InvokeMode::stream;
    else if (m == "async") r.mode = InvokeMode::async;
    else return bad("mode must be one of sync, stream, async");
  } else if (accepts_event_stream(req)) {
    r.mode = InvokeMode::stream;
  }

  for (auto name : {"context", "metadata"}) {
    auto* v = o.if_contains(name);
    if (!v || v->is_null()) continue;
    if (!v->is_object()) return bad(std::string(name) + " must be an object");
    (std::string_view(name) == "context" ? r.context : r.metadata) = std::move(*v);
  }

  if (auto* v = o.if_contains("webhookId"); v && !v->is_null()) {
    if (!v->is_string()) return bad("webhookId must be a string");
    const auto& w = v->get_string();
    if (w.empty() || w.size() > kMaxWebhookIdBytes || !printable_id(w))
      return bad("webhookId must be 1 to 128 printable characters");
    // A webhook is told when a job finishes; a sync or stream caller is there to see it.
    if (r.mode != InvokeMode::async) return bad("webhookId is only for mode async");
    r.webhook_id = w;
  }
  return r;
}

std::string runtime_body(const InvokeRequest& r, std::string_view session_id, std::string_view invocation_id) {
  boost::json::object o;
  o["input"] = r.input;
  o["sessionId"] = session_id;
  o["context"] = r.context.is_object() ? r.context : boost::json::object{};
  o["metadata"] = r.metadata.is_object() ? r.metadata : boost::json::object{};
  o["mode"] = mode_name(r.mode);
  o["invocationId"] = invocation_id;
  return core::json_text(o);
}

}  // namespace pc::api
