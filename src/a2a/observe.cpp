#include "a2a/observe.h"

#include <boost/json.hpp>

namespace pc::a2a {
namespace {

namespace json = boost::json;

std::string str(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string{};
}

void read_status(const json::object& o, Observation& ob) {
  const json::value* st = o.if_contains("status");
  if (!st || !st->is_object()) return;
  const json::value* state = st->get_object().if_contains("state");
  if (state && state->is_string()) ob.state = normalize_state(state->get_string());
}

void read_task(const json::object& t, Observation& ob) {
  ob.shape = "task";
  ob.task_id = str(t, "id");
  ob.context_id = str(t, "contextId");
  read_status(t, ob);
}

void read_update(const json::object& u, Observation& ob, std::string_view shape) {
  ob.shape = std::string(shape);
  ob.task_id = str(u, "taskId");
  ob.context_id = str(u, "contextId");
  read_status(u, ob);
  if (const json::value* f = u.if_contains("final"); f && f->is_bool() && f->get_bool()) ob.final = true;
}

void read_message(const json::object& m, Observation& ob) {
  ob.shape = "message";
  ob.task_id = str(m, "taskId");
  ob.context_id = str(m, "contextId");
}

void read_result(const json::object& r, Observation& ob) {
  // 0.3 JSON-RPC objects say what they are.
  if (const json::value* k = r.if_contains("kind"); k && k->is_string()) {
    const std::string_view kind = k->get_string();
    if (kind == "task") read_task(r, ob);
    else if (kind == "message") read_message(r, ob);
    else if (kind == "status-update") read_update(r, ob, "status");
    else if (kind == "artifact-update") read_update(r, ob, "artifact");
    return;
  }
  // 1.0 (and 0.3 REST proto JSON): one member naming the payload.
  auto member = [&](std::string_view key) -> const json::object* {
    const json::value* v = r.if_contains(key);
    return v && v->is_object() ? &v->get_object() : nullptr;
  };
  if (auto* t = member("task")) return read_task(*t, ob);
  if (auto* m = member("message")) return read_message(*m, ob);
  if (auto* m = member("msg")) return read_message(*m, ob);
  if (auto* u = member("statusUpdate")) return read_update(*u, ob, "status");
  if (auto* u = member("artifactUpdate")) return read_update(*u, ob, "artifact");
  // A bare Task (REST GetTask / CancelTask, 1.0 and 0.3).
  if (r.contains("id") && r.contains("status")) return read_task(r, ob);
}

}  // namespace

std::string normalize_state(std::string_view s) {
  std::string out;
  if (s.starts_with("TASK_STATE_")) {
    s.remove_prefix(11);
    for (char c : s) out.push_back(c == '_' ? '-' : static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c));
  } else {
    out = std::string(s);
  }
  if (out == "cancelled") out = "canceled";
  static constexpr std::string_view kKnown[] = {"submitted", "working",  "input-required", "auth-required",
                                                "completed", "canceled", "failed",         "rejected"};
  for (auto k : kKnown)
    if (out == k) return out;
  return "unknown";
}

bool ends_stream(std::string_view st) {
  return st == "completed" || st == "canceled" || st == "failed" || st == "rejected" || st == "input-required" ||
         st == "auth-required";
}

Observation observe(const json::value& v) {
  Observation ob;
  if (!v.is_object()) return ob;
  const json::object& o = v.get_object();
  if (o.contains("jsonrpc")) {
    if (o.contains("error")) {
      ob.rpc_error = true;
      return ob;
    }
    const json::value* r = o.if_contains("result");
    if (r && r->is_object()) read_result(r->get_object(), ob);
  } else if (const json::value* e = o.if_contains("error"); e && e->is_object() && o.size() == 1) {
    ob.rpc_error = true;  // a REST 1.0 error body / SSE error event
    return ob;
  } else {
    read_result(o, ob);
  }
  if (ob.shape == "message") ob.final = true;  // a Message ends a stream (A2A 1.0 §3.1.2)
  if (!ob.state.empty() && ends_stream(ob.state)) ob.final = true;
  return ob;
}

bool SseParser::feed(std::string_view piece, std::vector<Event>& out) {
  buf_.append(piece);
  while (true) {
    // An event ends at a blank line: "\n\n", "\r\n\r\n" (or mixed "\n\r\n").
    std::size_t end = std::string::npos, len = 0;
    for (std::size_t i = scanned_ >= 2 ? scanned_ - 2 : 0; i < buf_.size(); ++i) {
      if (buf_[i] != '\n') continue;
      if (i + 1 < buf_.size() && buf_[i + 1] == '\n') {
        end = i, len = 2;
        break;
      }
      if (i + 2 < buf_.size() && buf_[i + 1] == '\r' && buf_[i + 2] == '\n') {
        end = i, len = 3;
        break;
      }
    }
    if (end == std::string::npos) {
      scanned_ = buf_.size();
      return buf_.size() <= max_;
    }
    if (end + len > max_) return false;
    take(std::string_view(buf_).substr(0, end + len), out);
    buf_.erase(0, end + len);
    scanned_ = 0;
  }
}

void SseParser::take(std::string_view block, std::vector<Event>& out) {
  Event ev;
  ev.raw = std::string(block);
  bool has_field = false, first_data = true;
  while (!block.empty()) {
    std::size_t nl = block.find('\n');
    std::string_view line = block.substr(0, nl);
    block = nl == std::string_view::npos ? std::string_view{} : block.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == ':') continue;
    has_field = true;
    const std::size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? std::string_view{} : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "data") {
      if (!first_data) ev.data.push_back('\n');
      ev.data.append(value);
      first_data = false;
    } else if (field == "event") {
      ev.name = std::string(value);
    }
  }
  ev.comment_only = !has_field;
  out.push_back(std::move(ev));
}

}  // namespace pc::a2a
