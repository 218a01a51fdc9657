// libFuzzer target: the HTTP request parser and the gateway's own rules on top of it (framing,
// Host, trailers, chunk extensions, bare LF), through the pure entry point the connection shares.
// Bytes are parsed as a pipeline of requests, as a keep-alive connection would.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "net/request_parse.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const pc::core::LimitsConfig limits = [] {
    pc::core::LimitsConfig l;
    l.max_header_bytes = 2048;  // small limits so the fuzzer reaches them
    l.max_body_bytes = 4096;
    return l;
  }();
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  while (!bytes.empty()) {
    const auto r = pc::net::parse_request(bytes, limits);
    if (r.status != 0) {
      // A refusal is one of the answers the connection knows, never a 0-length code.
      if (r.code.empty() || (r.status != 400 && r.status != 413 && r.status != 431)) __builtin_trap();
      break;
    }
    if (!r.complete) break;
    if (r.consumed == 0 || r.consumed > bytes.size()) __builtin_trap();
    if (r.request.body.size() > limits.max_body_bytes) __builtin_trap();
    (void)pc::net::method_label(r.request.method);
    bytes.remove_prefix(r.consumed);
  }
  return 0;
}
