#include "audit/canonical.h"

#include "core/json_text.h"

namespace pc::audit {

bool is_canonical(std::string_view text) {
  for (std::size_t i = 0; i < text.size();) {
    if (text[i] == '\0') return false;
    const std::size_t n = core::utf8_len(text, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string canonical_text(std::string_view text) {
  if (is_canonical(text)) return std::string(text);  // the common case: no copy-and-scan twice
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size() + 16);
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = text[i] == '\0' ? 0 : core::utf8_len(text, i);
    if (n == 0) {
      const auto b = static_cast<unsigned char>(text[i]);
      out += '%';
      out += kHex[b >> 4];
      out += kHex[b & 0xF];
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

void canonicalize(store::AuditRecord& r) {
  for (std::string* field : {&r.time, &r.tenant_id, &r.actor, &r.action, &r.resource, &r.outcome, &r.request_id,
                             &r.details})
    if (!is_canonical(*field)) *field = canonical_text(*field);
}

}  // namespace pc::audit
