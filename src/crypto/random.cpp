#include "crypto/random.h"

#include "core/base64url.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <climits>
#include <cstdint>
#include <cstring>
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

// Bumped in a forked child: a child must never hand out the bytes its parent also holds (two
// processes with the same nonces would break AES-GCM).
std::atomic<unsigned> g_fork_generation{0};
const bool g_atfork_registered = [] {
  pthread_atfork(nullptr, nullptr, [] { g_fork_generation.fetch_add(1, std::memory_order_relaxed); });
  return true;
}();

struct Pool {
  std::array<unsigned char, 4096> bytes;
  std::size_t used = sizeof bytes;  // empty until first use
  unsigned generation = 0;
  ~Pool() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

void random_fill(unsigned char* out, std::size_t n) {
  thread_local Pool pool;
  (void)g_atfork_registered;
  const unsigned generation = g_fork_generation.load(std::memory_order_relaxed);
  if (generation != pool.generation) {
    pool.used = pool.bytes.size();
    pool.generation = generation;
  }
  while (n > 0) {
    if (pool.used == pool.bytes.size()) {
      if (RAND_bytes(pool.bytes.data(), static_cast<int>(pool.bytes.size())) != 1)
        throw std::runtime_error("random_fill: the OpenSSL random generator failed");
      pool.used = 0;
    }
    const std::size_t take = std::min(n, pool.bytes.size() - pool.used);
    std::memcpy(out, pool.bytes.data() + pool.used, take);
    OPENSSL_cleanse(pool.bytes.data() + pool.used, take);  // handed out once, never kept
    pool.used += take;
    out += take;
    n -= take;
  }
}

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

std::string random_hex(std::size_t bytes) {
  std::string b(bytes, '\0');
  random_fill(reinterpret_cast<unsigned char*>(b.data()), b.size());
  return to_hex(b);
}

std::string uuid_v4() {
  std::string b(16, '\0');
  random_fill(reinterpret_cast<unsigned char*>(b.data()), b.size());
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);  // variant 10xx (RFC 9562)
  std::string hex = to_hex(b);
  return hex.substr(0, 8) + '-' + hex.substr(8, 4) + '-' + hex.substr(12, 4) + '-' +
         hex.substr(16, 4) + '-' + hex.substr(20);
}

}  // namespace pc::crypto
