// Reading what an upstream MCP server answers to one POST (Streamable HTTP, MCP 2025-06-18 and
// 2025-11-25 "Basic › Transports"): either one JSON-RPC message as application/json, or a
// text/event-stream whose events carry JSON-RPC messages — notifications (progress, logging),
// server→client requests (sampling, elicitation, roots) — until the response with our id, which
// ends it. Pure (no I/O): the upstream client feeds it the body as it arrives, and tests feed it
// text.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace pc::mcp {

// One server-sent event (WHATWG HTML "Server-sent events" §9.2.6 field rules).
struct SseEvent {
  std::string id;     // "" when the event set none
  std::string event;  // "" means "message"
  std::string data;   // data lines joined with "\n"
};

// Incremental event-stream parser: bytes in any pieces (a line or a CRLF may be split across
// pieces), events out when their blank line arrives. An event still open when the stream ends is
// discarded, as the standard says. Bounded: a line or an event larger than `max_event_bytes`
// fails the stream (a server cannot make the gateway buffer without limit).
class SseParser {
 public:
  explicit SseParser(std::size_t max_event_bytes = 4u << 20) : max_(max_event_bytes) {}
  // False when the limit was passed (the stream is then unusable).
  bool feed(std::string_view bytes, const std::function<void(SseEvent&&)>& on_event);
  const std::string& last_event_id() const { return last_id_; }

 private:
  void line(std::string_view l, const std::function<void(SseEvent&&)>& on_event);

  std::size_t max_;
  std::string buf_;        // an incomplete line
  bool skip_lf_ = false;   // the previous piece ended in CR: a leading LF belongs to it
  bool bom_checked_ = false;
  SseEvent cur_;
  bool has_data_ = false;
  std::size_t cur_bytes_ = 0;
  std::string last_id_;
};

// What a JSON-RPC message is (JSON-RPC 2.0 §4, §5): a request has method and id, a notification
// method and no id, a response id and exactly one of result/error.
enum class MessageKind { request, notification, response, invalid };
MessageKind classify(const boost::json::object& message);

// JSON-RPC ids compare by type and value (a string "1" is not the number 1).
bool same_id(const boost::json::value& a, const boost::json::value& b);

// Reads the answer to the request with id `id`. Messages other than that response (notifications,
// requests, responses to other ids) go to `on_message` in arrival order, before the response.
class AnswerReader {
 public:
  AnswerReader(boost::json::value id, std::size_t max_bytes,
               std::function<void(boost::json::object)> on_message);
  // The head's Content-Type (parameters and case ignored). False: neither JSON nor an event
  // stream (the answer is then an error: `error()`).
  bool start(std::string_view content_type);
  // A piece of the body. False: stop reading (the response arrived, or the answer failed).
  bool feed(std::string_view piece);
  // The body ended. Parses a JSON body; for an event stream, notes a stream that ended without
  // the response.
  void finish();

  bool done() const { return response_.has_value() || !error_.empty(); }
  const std::optional<boost::json::object>& response() const { return response_; }
  std::optional<boost::json::object> take_response() { return std::move(response_); }
  // "" while nothing failed; else a short reason safe for operators' logs (no upstream text):
  // "content_type", "too_large", "bad_json", "no_response", "bad_event_stream".
  const std::string& error() const { return error_; }
  bool is_event_stream() const { return sse_; }
  const std::string& last_event_id() const { return parser_.last_event_id(); }

 private:
  void message(std::string_view text);
  void fail(std::string reason) {
    if (error_.empty() && !response_) error_ = std::move(reason);
  }

  boost::json::value id_;
  std::size_t max_;
  std::function<void(boost::json::object)> on_message_;
  bool started_ = false;
  bool sse_ = false;
  std::string body_;
  std::size_t total_ = 0;
  SseParser parser_;
  std::optional<boost::json::object> response_;
  std::string error_;
};

// The media type of a Content-Type value, lower-cased, without parameters.
std::string media_type(std::string_view content_type);

}  // namespace pc::mcp
