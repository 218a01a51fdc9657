#include "net/http.h"

#include <openssl/rand.h>

#include "core/json_text.h"

namespace pc::net {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x != y && std::tolower(x) != std::tolower(y)) return false;
  }
  return true;
}

std::string_view method_label(std::string_view method) {
  static constexpr std::string_view known[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE",
                                               "OPTIONS", "TRACE", "CONNECT"};
  for (auto k : known)
    if (method == k) return k;
  return "other";
}

const std::string* Request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

const std::string* UpstreamAnswer::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return &h.value;
  return nullptr;
}

std::string_view Request::param(std::string_view name) const {
  for (const auto& [k, v] : params)
    if (k == name) return v;
  return {};
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

Response Response::text(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.body = std::move(body);
  return r;
}

Response Response::proxy(ForwardTo to) {
  Response r;
  r.forward = std::move(to);
  return r;
}

Response Response::streamed(int status, std::string content_type, std::shared_ptr<ResponseStream> stream) {
  Response r;
  r.status = status;
  r.content_type = std::move(content_type);
  r.stream = std::move(stream);
  return r;
}

std::string error_body(std::string_view code, std::string_view message, std::string_view request_id) {
  std::string out;
  out.reserve(96 + code.size() + message.size() + request_id.size());
  out += "{\"error\":{\"code\":";
  core::append_json_string(out, code);
  out += ",\"message\":";
  core::append_json_string(out, message);
  out += ",\"requestId\":";
  core::append_json_string(out, request_id);
  out += ",\"details\":[]}}";
  return out;
}

Response error_response(int status, std::string_view code, std::string_view message,
                        std::string_view request_id) {
  return Response::json(status, error_body(code, message, request_id));
}

struct Responder::State {
  Fn fn;
  bool done = false;
  explicit State(Fn f) : fn(std::move(f)) {}
  ~State() {
    if (!done && fn) fn(error_response(500, "internal", "the request was not answered", ""));
  }
};

Responder::Responder(Fn fn) : state_(std::make_shared<State>(std::move(fn))) {}

void Responder::operator()(Response&& r) {
  if (!state_ || state_->done) return;
  state_->done = true;
  state_->fn(std::move(r));
}

bool is_valid_request_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  for (unsigned char c : id)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == ':' || c == '-')) return false;
  return true;
}

std::string new_request_id() {
  // 128 random bits as 32 hex chars: unguessable and cheap. A thread-local buffer of random
  // bytes amortises the RAND_bytes call over many ids.
  thread_local unsigned char pool[4096];
  thread_local std::size_t used = sizeof pool;
  if (used + 16 > sizeof pool) {
    RAND_bytes(pool, sizeof pool);
    used = 0;
  }
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(32, '0');
  for (int i = 0; i < 16; ++i) {
    out[2 * i] = hex[pool[used + i] >> 4];
    out[2 * i + 1] = hex[pool[used + i] & 0xF];
  }
  used += 16;
  return out;
}

}  // namespace pc::net
