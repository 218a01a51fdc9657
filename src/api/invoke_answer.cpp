#include "api/invoke_answer.h"

#include <boost/json.hpp>

#include "core/json_text.h"

namespace pc::api {
namespace {

std::optional<std::int64_t> count(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v) return std::nullopt;
  if (v->is_int64() && v->get_int64() >= 0) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return static_cast<std::int64_t>(v->get_uint64());
  return std::nullopt;
}

boost::json::value or_null(const std::optional<std::int64_t>& v) {
  if (v) return *v;
  return nullptr;
}

// Bounded parse of what a runtime sends: its answer is untrusted input like a caller's.
std::optional<boost::json::value> parse_bounded(std::string_view text) {
  boost::json::parse_options opt;
  opt.max_depth = 64;
  boost::system::error_code ec;
  auto v = boost::json::parse(text, ec, {}, opt);
  if (ec) return std::nullopt;
  return v;
}

}  // namespace

Usage usage_of(const boost::json::value& v) {
  Usage u;
  if (!v.is_object()) return u;
  const auto* usage = v.get_object().if_contains("usage");
  if (!usage || !usage->is_object()) return u;
  u.input_tokens = count(usage->get_object(), "inputTokens");
  u.output_tokens = count(usage->get_object(), "outputTokens");
  return u;
}

RuntimeResult read_runtime_answer(int status, std::string_view body) {
  RuntimeResult r;
  r.runtime_status = status;
  if (status < 200 || status > 299) {
    r.error = "agent_error";
    r.message = "the agent's runtime answered with status " + std::to_string(status);
    return r;
  }
  auto v = parse_bounded(body);
  if (!v) {
    r.error = "agent_bad_response";
    r.message = "the agent's runtime answered with a body that is not JSON";
    return r;
  }
  r.ok = true;
  if (v->is_object() && v->get_object().contains("output")) {
    r.usage = usage_of(*v);
    r.output = std::move(v->get_object()["output"]);
  } else {
    r.output = std::move(*v);
  }
  return r;
}

std::string sync_answer_body(const AnswerMeta& m, const RuntimeResult& r) {
  boost::json::object o;
  o["invocationId"] = m.invocation_id;
  o["agentName"] = m.agent_name;
  o["agentVersion"] = m.agent_version;
  o["mode"] = m.mode;
  o["status"] = "succeeded";
  o["output"] = r.output;
  o["sessionId"] = m.session_id;
  o["usage"] = boost::json::object{{"inputTokens", or_null(r.usage.input_tokens)},
                                   {"outputTokens", or_null(r.usage.output_tokens)},
                                   {"latencyMs", m.latency_ms}};
  o["timestamp"] = m.timestamp;
  return core::json_text(o);
}

net::Response runtime_failure(const RuntimeResult& r, std::string_view request_id) {
  boost::json::object e{{"code", r.error.empty() ? "agent_error" : r.error},
                        {"message", r.message},
                        {"requestId", request_id},
                        {"details", boost::json::array{}}};
  if (r.runtime_status > 0)
    e["details"].get_array().push_back(boost::json::object{{"runtimeStatus", r.runtime_status}});
  return net::Response::json(502, core::json_text(boost::json::object{{"error", std::move(e)}}));
}

Usage usage_from_sse(std::string_view captured) {
  Usage found;
  // Events are separated by a blank line; fields are "name: value" lines (WHATWG SSE).
  std::string event, data;
  auto dispatch = [&] {
    if (event == "done" && !data.empty())
      if (auto v = parse_bounded(data)) {
        Usage u = usage_of(*v);
        if (u.input_tokens || u.output_tokens) found = u;
      }
    event.clear();
    data.clear();
  };
  std::size_t pos = 0;
  while (pos < captured.size()) {
    std::size_t nl = captured.find('\n', pos);
    if (nl == std::string_view::npos) break;  // a partial last line (capture limit): ignored
    std::string_view line = captured.substr(pos, nl - pos);
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) {
      dispatch();
      continue;
    }
    if (line.front() == ':') continue;
    std::size_t colon = line.find(':');
    std::string_view name = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (name == "event") event = value;
    else if (name == "data") {
      if (!data.empty()) data += '\n';
      data += value;
    }
  }
  return found;
}

}  // namespace pc::api
