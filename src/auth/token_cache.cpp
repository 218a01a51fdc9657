#include "auth/token_cache.h"

#include <openssl/sha.h>

#include <algorithm>
#include <stdexcept>

namespace pc::auth {
TokenCache::Digest TokenCache::digest(std::string_view token) {
  // The low-level SHA-256 calls, deprecated in OpenSSL 3 in favour of EVP: EVP_DigestInit_ex2
  // frees and reallocates the provider context on every call, which is ~8% of a cache hit. The
  // low-level functions run the same SHA-NI code with the state on our stack.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  SHA256_CTX ctx;
  Digest out;
  if (SHA256_Init(&ctx) != 1 || SHA256_Update(&ctx, token.data(), token.size()) != 1 ||
      SHA256_Final(out.data(), &ctx) != 1)
    throw std::runtime_error("SHA-256 failed");
#pragma GCC diagnostic pop
  return out;
}

const std::shared_ptr<const Principal>* TokenCache::find(const Digest& key, std::int64_t now,
                                                         std::uint64_t epoch) {
  auto it = map_.find(key);
  if (it == map_.end()) return nullptr;
  if (it->second.epoch != epoch || now >= it->second.valid_until) {
    map_.erase(it);
    return nullptr;
  }
  return &it->second.principal;
}

void TokenCache::insert(const Digest& key, std::shared_ptr<const Principal> principal,
                        std::int64_t valid_until, std::uint64_t epoch, std::int64_t now) {
  if (max_entries_ == 0) return;
  if (map_.size() >= max_entries_) make_room(now);
  map_.insert_or_assign(key, Entry{std::move(principal), valid_until, epoch});
}

// Drops expired entries; if that frees too little, drops an eighth of the rest (arbitrary ones:
// a miss only costs one verification, and a bounded cache must never grow on attacker input).
void TokenCache::make_room(std::int64_t now) {
  std::erase_if(map_, [now](const auto& kv) { return now >= kv.second.valid_until; });
  // Down to seven eighths of the bound, also when the bound was just lowered.
  const std::size_t target = max_entries_ - std::max<std::size_t>(1, max_entries_ / 8);
  for (auto it = map_.begin(); it != map_.end() && map_.size() > target;) it = map_.erase(it);
}

}  // namespace pc::auth
