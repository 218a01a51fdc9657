#include "core/base64url.h"

#include <cstdint>

namespace pc::core {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Decoding tables, one 256-entry table per position in a 4-character group: the character's
// 6-bit value already shifted to where it lands in the group's 3 bytes (byte 0 in bits 0-7,
// byte 1 in bits 8-15, byte 2 in bits 16-23), so a group decodes with four lookups and three ORs.
// Every byte outside the base64url alphabet (padding '=', whitespace, the standard alphabet's '+'
// and '/', NUL, bytes >= 0x80, ...) maps to kInvalid, whose bits no valid entry uses.
constexpr std::uint32_t kInvalid = 0xff000000u;

struct DecodeTables {
  std::uint32_t at[4][256];
};

constexpr DecodeTables make_decode_tables() {
  DecodeTables t{};
  for (auto& table : t.at)
    for (auto& entry : table) entry = kInvalid;
  for (std::uint32_t v = 0; v < 64; ++v) {
    const auto c = static_cast<unsigned char>(kAlphabet[v]);
    t.at[0][c] = v << 2;                              // byte 0, bits 7..2
    t.at[1][c] = (v >> 4) | ((v & 0x0f) << 12);       // byte 0 bits 1..0, byte 1 bits 7..4
    t.at[2][c] = ((v >> 2) << 8) | ((v & 0x03) << 22);  // byte 1 bits 3..0, byte 2 bits 7..6
    t.at[3][c] = v << 16;                             // byte 2, bits 5..0
  }
  return t;
}

constexpr DecodeTables kDecode = make_decode_tables();

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    std::uint32_t v = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) |
                      std::uint8_t(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    std::uint32_t v = std::uint8_t(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    std::uint32_t v = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  const std::size_t tail = text.size() % 4;
  if (tail == 1) return std::nullopt;  // 6 bits cannot encode a whole byte
  const auto* in = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t full = text.size() - tail;  // chars decoded four at a time
  std::string out(full / 4 * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  const auto& t = kDecode.at;
  // Any character outside the alphabet sets kInvalid bits; checked once, at the end.
  std::uint32_t seen = 0;
  for (std::size_t i = 0; i < full; i += 4, o += 3) {
    const std::uint32_t v = t[0][in[i]] | t[1][in[i + 1]] | t[2][in[i + 2]] | t[3][in[i + 3]];
    seen |= v;
    o[0] = static_cast<unsigned char>(v);
    o[1] = static_cast<unsigned char>(v >> 8);
    o[2] = static_cast<unsigned char>(v >> 16);
  }
  // A partial group: 2 chars carry 1 byte + 4 unused bits, 3 chars 2 bytes + 2 unused bits. The
  // unused bits (those that would spill into the next byte) must be zero: otherwise several
  // strings would decode to the same bytes.
  if (tail == 2) {
    const std::uint32_t v = t[0][in[full]] | t[1][in[full + 1]];
    seen |= v;
    if (v & 0x0000ff00u) return std::nullopt;
    o[0] = static_cast<unsigned char>(v);
  } else if (tail == 3) {
    const std::uint32_t v = t[0][in[full]] | t[1][in[full + 1]] | t[2][in[full + 2]];
    seen |= v;
    if (v & 0x00ff0000u) return std::nullopt;
    o[0] = static_cast<unsigned char>(v);
    o[1] = static_cast<unsigned char>(v >> 8);
  }
  if (seen & kInvalid) return std::nullopt;
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t end = text.size();
  for (int i = 0; i < 2 && end > 0 && text[end - 1] == '='; ++i) --end;
  std::string url(text.substr(0, end));
  for (char& c : url) {
    if (c == '-' || c == '_') return std::nullopt;  // not of this alphabet
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return base64url_decode(url);
}

}  // namespace pc::core
