#include "mcp/jsonrpc.h"

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/value_stack.hpp>
#include <cmath>

namespace pc::mcp::jsonrpc {

namespace json = boost::json;

namespace {

enum class Stop { none, too_many_values, not_finite };

// Builds the document as boost::json::parse does (value_stack) while counting values and members.
// value_stack::push_object keeps one of several members with equal names, so a duplicate exists
// at some depth iff the built objects hold fewer members than the parser reported.
struct Handler {
  static constexpr std::size_t max_object_size = json::object::max_size();
  static constexpr std::size_t max_array_size = json::array::max_size();
  static constexpr std::size_t max_key_size = json::string::max_size();
  static constexpr std::size_t max_string_size = json::string::max_size();

  json::value_stack st;
  std::size_t members = 0;
  std::size_t values = 0;
  std::size_t max_values = 0;
  Stop stop = Stop::none;

  Handler(unsigned char* temp, std::size_t size) : st({}, temp, size) {}

  bool count(json::error_code& ec) {
    if (++values > max_values) {
      stop = Stop::too_many_values;
      ec = json::error::syntax;
      return false;
    }
    return true;
  }
  bool on_document_begin(json::error_code&) { return true; }
  bool on_document_end(json::error_code&) { return true; }
  bool on_object_begin(json::error_code& ec) { return count(ec); }
  bool on_object_end(std::size_t n, json::error_code&) {
    members += n;
    st.push_object(n);
    return true;
  }
  bool on_array_begin(json::error_code& ec) { return count(ec); }
  bool on_array_end(std::size_t n, json::error_code&) {
    st.push_array(n);
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_key(json::string_view s, std::size_t, json::error_code&) {
    st.push_key(s);
    return true;
  }
  bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
    st.push_chars(s);
    return true;
  }
  bool on_string(json::string_view s, std::size_t, json::error_code& ec) {
    if (!count(ec)) return false;
    st.push_string(s);
    return true;
  }
  bool on_number_part(json::string_view, json::error_code&) { return true; }
  bool on_int64(std::int64_t i, json::string_view, json::error_code& ec) {
    if (!count(ec)) return false;
    st.push_int64(i);
    return true;
  }
  bool on_uint64(std::uint64_t u, json::string_view, json::error_code& ec) {
    if (!count(ec)) return false;
    st.push_uint64(u);
    return true;
  }
  bool on_double(double d, json::string_view, json::error_code& ec) {
    // 1e400 parses as infinity, which no JSON text can carry back out.
    if (!std::isfinite(d)) {
      stop = Stop::not_finite;
      ec = json::error::syntax;
      return false;
    }
    if (!count(ec)) return false;
    st.push_double(d);
    return true;
  }
  bool on_bool(bool b, json::error_code& ec) {
    if (!count(ec)) return false;
    st.push_bool(b);
    return true;
  }
  bool on_null(json::error_code& ec) {
    if (!count(ec)) return false;
    st.push_null();
    return true;
  }
  bool on_comment_part(json::string_view, json::error_code&) { return true; }
  bool on_comment(json::string_view, json::error_code&) { return true; }
};

// Members of every object in `v`. Iterative: the depth is bounded by the parser, but an explicit
// stack keeps this function safe whatever the caller's limits.
std::size_t member_count(const json::value& root) {
  std::size_t n = 0;
  std::vector<const json::value*> todo{&root};
  while (!todo.empty()) {
    const json::value* v = todo.back();
    todo.pop_back();
    if (const auto* o = v->if_object()) {
      n += o->size();
      for (const auto& kv : *o)
        if (kv.value().is_structured()) todo.push_back(&kv.value());
    } else if (const auto* a = v->if_array()) {
      for (const auto& e : *a)
        if (e.is_structured()) todo.push_back(&e);
    }
  }
  return n;
}

ParseResult fail(int code, std::string message, json::value id = nullptr) {
  ParseResult r;
  r.failure.code = code;
  r.failure.message = std::move(message);
  r.failure.id = std::move(id);
  return r;
}

bool valid_id(const json::value& id) { return id.is_string() || id.is_int64() || id.is_uint64(); }

}  // namespace

std::optional<json::value> parse_bounded(std::string_view text, const Limits& limits, std::string& error) {
  if (text.size() > limits.max_bytes) {
    error = "message too large";
    return std::nullopt;
  }
  json::parse_options opt;  // no comments, no trailing commas, no invalid UTF-8
  opt.max_depth = limits.max_depth;
  unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
  json::basic_parser<Handler> p(opt, temp, sizeof temp);
  p.handler().st.reset();
  p.handler().max_values = limits.max_values;
  json::error_code ec;
  const std::size_t used = p.write_some(false, text.data(), text.size(), ec);
  if (ec) {
    switch (p.handler().stop) {
      case Stop::too_many_values: error = "too many values"; break;
      case Stop::not_finite: error = "number out of range"; break;
      default:
        error = ec == json::error::too_deep ? "nesting too deep" : "invalid JSON";
    }
    return std::nullopt;
  }
  if (used < text.size()) {
    error = "invalid JSON (trailing data)";
    return std::nullopt;
  }
  json::value v = p.handler().st.release();
  if (member_count(v) != p.handler().members) {
    error = "duplicate member name";
    return std::nullopt;
  }
  return v;
}

ParseResult parse(std::string_view text, const Limits& limits) {
  std::string error;
  auto v = parse_bounded(text, limits, error);
  if (!v) {
    // A text too large or too complex is well-formed as far as anyone knows: invalid request.
    const bool syntax = error.starts_with("invalid JSON") || error == "duplicate member name" ||
                        error == "number out of range";
    return fail(syntax ? kParseError : kInvalidRequest, error);
  }
  return classify(std::move(*v));
}

ParseResult classify(json::value&& v) {
  if (v.is_array()) return fail(kInvalidRequest, "batches are not supported");
  auto* o = v.if_object();
  if (!o) return fail(kInvalidRequest, "message is not an object");

  // The id first, so every later failure can be answered to it.
  json::value id = nullptr;
  const json::value* idv = o->if_contains("id");
  const bool id_valid = idv && valid_id(*idv);
  if (id_valid) id = *idv;

  const json::value* version = o->if_contains("jsonrpc");
  if (!version || !version->is_string() || version->get_string() != "2.0")
    return fail(kInvalidRequest, "jsonrpc must be \"2.0\"", id);

  const json::value* method = o->if_contains("method");
  const json::value* result = o->if_contains("result");
  const json::value* error = o->if_contains("error");

  Message m;
  if (method) {
    if (result || error) return fail(kInvalidRequest, "a request cannot carry result or error", id);
    if (!method->is_string()) return fail(kInvalidRequest, "method must be a string", id);
    if (method->get_string().empty()) return fail(kInvalidRequest, "method must not be empty", id);
    if (idv && !id_valid) return fail(kInvalidRequest, "id must be a string or an integer");
    if (const json::value* params = o->if_contains("params")) {
      if (!params->is_object()) return fail(kInvalidRequest, "params must be an object", id);
      m.params = std::move(o->at("params").get_object());
      m.has_params = true;
    }
    m.method = std::string(method->get_string());
    m.kind = idv ? Kind::request : Kind::notification;
    m.id = std::move(id);
    return ParseResult{std::move(m), {}};
  }

  // A response.
  if (!idv) return fail(kInvalidRequest, "message has neither method nor id");
  if (o->contains("params")) return fail(kInvalidRequest, "a response cannot carry params", id);
  if (bool(result) == bool(error))
    return fail(kInvalidRequest, "a response carries exactly one of result and error", id);
  if (error) {
    // JSON-RPC 2.0 §5: an error answering a request whose id could not be read has id null.
    if (!id_valid && !idv->is_null()) return fail(kInvalidRequest, "id must be a string or an integer");
    const auto* e = error->if_object();
    if (!e) return fail(kInvalidRequest, "error must be an object", id);
    const json::value* code = e->if_contains("code");
    const json::value* message = e->if_contains("message");
    if (!code || !(code->is_int64() || code->is_uint64()))
      return fail(kInvalidRequest, "error.code must be an integer", id);
    if (!message || !message->is_string()) return fail(kInvalidRequest, "error.message must be a string", id);
    m.error = std::move(o->at("error").get_object());
    m.is_error = true;
  } else {
    if (!id_valid) return fail(kInvalidRequest, "id must be a string or an integer");
    m.result = std::move(o->at("result"));
  }
  m.kind = Kind::response;
  m.id = std::move(id);
  return ParseResult{std::move(m), {}};
}

json::object error_object(int code, std::string_view message, const json::value* data) {
  json::object e;
  e["code"] = code;
  e["message"] = message;
  if (data) e["data"] = *data;
  return e;
}

json::object error_response(const json::value& id, int code, std::string_view message, const json::value* data) {
  json::object r;
  r["jsonrpc"] = "2.0";
  r["id"] = valid_id(id) ? id : json::value(nullptr);
  r["error"] = error_object(code, message, data);
  return r;
}

json::object result_response(const json::value& id, json::value result) {
  json::object r;
  r["jsonrpc"] = "2.0";
  r["id"] = id;
  r["result"] = std::move(result);
  return r;
}

json::object error_response(const ParseFailure& f) { return error_response(f.id, f.code, f.message); }

}  // namespace pc::mcp::jsonrpc
