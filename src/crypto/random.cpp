#include "crypto/random.h"

#include "core/base64url.h"

#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstdint>
#include <stdexcept>

namespace pc::crypto {
namespace {

constexpr char kHex[] = "0123456789abcdef";

std::string to_hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 0xf];
  }
  return out;
}

}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  // RAND_bytes takes an int; chunk so that no size can overflow it.
  for (std::size_t off = 0; off < n;) {
    int chunk = static_cast<int>(std::min<std::size_t>(n - off, INT_MAX));
    if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data() + off), chunk) != 1)
      throw std::runtime_error("random_bytes: the OpenSSL random generator failed");
    off += static_cast<std::size_t>(chunk);
  }
  return out;
}

std::string random_token(std::size_t bytes) { return core::base64url_encode(random_bytes(bytes)); }

std::string random_hex(std::size_t bytes) { return to_hex(random_bytes(bytes)); }

std::string uuid_v4() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // variant 10xx (RFC 9562)
  std::string hex = to_hex(b);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

}  // namespace pc::crypto
