#include "mcp/upstream_answer.h"

#include <boost/json/parse.hpp>
#include <boost/json/parse_options.hpp>
#include <cctype>
#include <system_error>

namespace pc::mcp {

namespace json = boost::json;

std::string media_type(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// ---- SseParser

bool SseParser::feed(std::string_view bytes, const std::function<void(SseEvent&&)>& on_event) {
  if (!bom_checked_) {
    // A UTF-8 byte order mark may open the stream once; it may arrive split across pieces.
    static constexpr std::string_view kBom = "\xEF\xBB\xBF";
    std::string probe = buf_ + std::string(bytes);
    if (probe.size() < kBom.size() && kBom.substr(0, probe.size()) == probe) {
      buf_ = std::move(probe);
      return true;
    }
    bom_checked_ = true;
    if (probe.compare(0, kBom.size(), kBom) == 0) probe.erase(0, kBom.size());
    buf_.clear();
    return feed(probe, on_event);
  }
  std::size_t i = 0;
  if (skip_lf_ && !bytes.empty()) {
    if (bytes[0] == '\n') i = 1;
    skip_lf_ = false;
  }
  std::size_t start = i;
  for (; i < bytes.size(); ++i) {
    char c = bytes[i];
    if (c != '\n' && c != '\r') continue;
    std::string_view piece = bytes.substr(start, i - start);
    if (buf_.empty()) {
      line(piece, on_event);
    } else {
      buf_.append(piece);
      std::string l = std::move(buf_);
      buf_.clear();
      line(l, on_event);
    }
    if (cur_bytes_ > max_) return false;
    if (c == '\r') {
      if (i + 1 < bytes.size()) {
        if (bytes[i + 1] == '\n') ++i;
      } else {
        skip_lf_ = true;
      }
    }
    start = i + 1;
  }
  if (start < bytes.size()) buf_.append(bytes.substr(start));
  return buf_.size() + cur_bytes_ <= max_;
}

void SseParser::line(std::string_view l, const std::function<void(SseEvent&&)>& on_event) {
  if (l.empty()) {  // dispatch
    if (has_data_) {
      if (!cur_.data.empty() && cur_.data.back() == '\n') cur_.data.pop_back();
      SseEvent ev = std::move(cur_);
      ev.id = last_id_;
      cur_ = {};
      has_data_ = false;
      cur_bytes_ = 0;
      on_event(std::move(ev));
    } else {
      cur_ = {};
      cur_bytes_ = 0;
    }
    return;
  }
  if (l.front() == ':') return;  // a comment (keep-alive)
  std::string_view field = l, value;
  if (auto colon = l.find(':'); colon != std::string_view::npos) {
    field = l.substr(0, colon);
    value = l.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  cur_bytes_ += l.size() + 1;
  if (field == "data") {
    cur_.data.append(value);
    cur_.data.push_back('\n');
    has_data_ = true;
  } else if (field == "event") {
    cur_.event.assign(value);
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) last_id_.assign(value);
  }
  // "retry" and unknown fields: ignored (the gateway decides when to reconnect).
}

// ---- JSON-RPC messages

MessageKind classify(const json::object& m) {
  auto* v = m.if_contains("jsonrpc");
  if (!v || !v->is_string() || v->get_string() != "2.0") return MessageKind::invalid;
  auto* id = m.if_contains("id");
  bool id_ok = id && (id->is_string() || id->is_int64() || id->is_uint64());
  if (auto* method = m.if_contains("method")) {
    if (!method->is_string()) return MessageKind::invalid;
    if (!id) return MessageKind::notification;
    return id_ok ? MessageKind::request : MessageKind::invalid;
  }
  bool has_result = m.contains("result"), has_error = m.contains("error");
  if (has_result == has_error) return MessageKind::invalid;
  if (has_error && !m.at("error").is_object()) return MessageKind::invalid;
  // An error response may carry id null (the server could not read the id).
  if (!id || !(id_ok || (has_error && id->is_null()))) return MessageKind::invalid;
  return MessageKind::response;
}

bool same_id(const json::value& a, const json::value& b) {
  if (a.is_string() || b.is_string()) return a.is_string() && b.is_string() && a.get_string() == b.get_string();
  auto as_int = [](const json::value& v, std::int64_t& out) {
    if (v.is_int64()) return out = v.get_int64(), true;
    if (v.is_uint64() && v.get_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
      return out = static_cast<std::int64_t>(v.get_uint64()), true;
    return false;
  };
  std::int64_t x = 0, y = 0;
  return as_int(a, x) && as_int(b, y) && x == y;
}

// ---- AnswerReader

AnswerReader::AnswerReader(json::value id, std::size_t max_bytes, std::function<void(json::object)> on_message)
    : id_(std::move(id)), max_(max_bytes), on_message_(std::move(on_message)), parser_(max_bytes) {}

bool AnswerReader::start(std::string_view content_type) {
  started_ = true;
  auto t = media_type(content_type);
  if (t == "application/json") return true;
  if (t == "text/event-stream") return sse_ = true;
  fail("content_type");
  return false;
}

bool AnswerReader::feed(std::string_view piece) {
  if (done()) return false;
  if (!started_) {
    fail("content_type");
    return false;
  }
  total_ += piece.size();
  if (!sse_) {
    if (total_ > max_) {
      fail("too_large");
      return false;
    }
    body_.append(piece);
    return true;
  }
  // Every event counts against the same bound as a JSON body: a stream of progress events is
  // fine, one huge event is not (the parser bounds one event; notifications are handed on).
  bool ok = parser_.feed(piece, [&](SseEvent&& ev) {
    if (done()) return;
    if (!ev.event.empty() && ev.event != "message") return;
    if (ev.data.empty()) return;  // a priming event (2025-11-25): an id for resumption, no message
    message(ev.data);
  });
  if (!ok) fail("too_large");
  return !done();
}

void AnswerReader::finish() {
  if (done()) return;
  if (!started_) return fail("content_type");
  if (sse_) return fail("no_response");
  if (body_.empty()) return fail("no_response");
  message(body_);
  if (!done()) fail("no_response");
}

void AnswerReader::message(std::string_view text) {
  std::error_code ec;
  json::parse_options opt;
  opt.max_depth = 64;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec || !v.is_object()) {
    // A message we cannot read in an event stream is skipped only if it is not the response;
    // we cannot tell, so the answer fails (never guessed).
    return fail("bad_json");
  }
  auto& m = v.as_object();
  auto kind = classify(m);
  if (kind == MessageKind::invalid) return fail("bad_json");
  if (kind == MessageKind::response) {
    const auto& id = m.at("id");
    if (same_id(id, id_) || (id.is_null() && m.contains("error"))) {
      response_ = std::move(m);
      return;
    }
  }
  if (on_message_) on_message_(std::move(m));
}

}  // namespace pc::mcp
