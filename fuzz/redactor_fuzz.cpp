// libFuzzer target: the PII redactor (mcp/redactor.cpp) over arbitrary bytes, every built-in
// detector on plus a custom pattern. Properties: no crash or sanitizer finding; spans are sorted,
// non-overlapping and inside the text; redacting is a pure function of the text (a second call
// gives the same answer); the output holds no byte of a redacted span in place (its length is the
// text's minus the spans' plus the markers').
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mcp/redactor.h"

namespace {
const pc::mcp::Redactor& redactor() {
  static const pc::mcp::Redactor r([] {
    pc::core::RedactionConfig c;
    c.builtin = pc::mcp::Redactor::builtin_kinds();
    c.custom = {{"ticket", "TCK-[0-9]{3,}"}};
    return c;
  }());
  return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const auto& r = redactor();
  const auto spans = r.find(text);
  std::size_t last = 0, expected = text.size();
  for (const auto& s : spans) {
    if (s.begin < last || s.end <= s.begin || s.end > text.size() || s.kind >= r.kinds().size()) __builtin_trap();
    last = s.end;
    expected = expected - (s.end - s.begin) + r.kinds()[s.kind].size() + 11;  // "[REDACTED:" + "]"
  }
  pc::mcp::Redactor::Counts counts;
  const auto out = r.redact(text, counts);
  if (spans.empty() != !out.has_value()) __builtin_trap();
  if (out && out->size() != expected) __builtin_trap();
  const auto again = r.find(text);
  if (again.size() != spans.size()) __builtin_trap();
  return 0;
}
