// Private to src/net: the little the proxy must know about server-sent events (WHATWG HTML
// §9.2) to add to a relayed stream without corrupting it. Lines end with CRLF, LF or CR; a blank
// line dispatches the event gathered so far. Anything the gateway writes (a keep-alive comment,
// a final error event) must start where no event is half written, or it would be merged into it.
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

#include "net/http.h"

namespace pc::net::detail {

// True for a text/event-stream content type (parameters ignored, case-insensitive).
inline bool is_event_stream(std::string_view content_type) {
  const auto semi = content_type.find(';');
  std::string_view type = content_type.substr(0, semi);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return iequals(type, "text/event-stream");
}

// Follows the last bytes of a relayed event stream: at a boundary when nothing was relayed yet
// or the stream ends with a blank line (its last line terminator follows another terminator).
class EventBoundary {
 public:
  void feed(const char* data, std::size_t n) {
    for (std::size_t i = n > tail_.size() ? n - tail_.size() : 0; i < n; ++i) {
      tail_[0] = tail_[1];
      tail_[1] = tail_[2];
      tail_[2] = data[i];
      if (seen_ < 3) ++seen_;
    }
  }
  bool at_boundary() const {
    if (seen_ == 0) return true;
    const char c = tail_[2], b = seen_ >= 2 ? tail_[1] : 0, a = seen_ >= 3 ? tail_[0] : 0;
    auto eol = [](char x) { return x == '\n' || x == '\r'; };
    if (c == '\n' && b == '\r') return eol(a);  // CRLF after a terminator
    if (c == '\n' || c == '\r') return eol(b);  // LF or CR after a terminator
    return false;
  }

 private:
  std::array<char, 3> tail_{};
  int seen_ = 0;
};

// A stream that broke off: closes any half-written event (the client may see it cut short: SSE
// has no way to withdraw it) and appends an `event: error` whose data is the SPEC error body.
inline std::string final_error_event(bool at_boundary, std::string_view code, std::string_view message,
                                     std::string_view request_id) {
  std::string out = at_boundary ? "" : "\n\n";
  out += "event: error\ndata: ";
  out += error_body(code, message, request_id);
  out += "\n\n";
  return out;
}

inline constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
// The same as one chunk of a chunked body (its size in hex, 0xe).
inline constexpr std::string_view kKeepAliveChunk = "e\r\n: keep-alive\n\n\r\n";
static_assert(kKeepAlive.size() == 0xe && kKeepAliveChunk.substr(3, 0xe) == kKeepAlive);

}  // namespace pc::net::detail
