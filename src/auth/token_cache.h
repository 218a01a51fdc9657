// The verified-token cache: a token that verified once is not verified again until it expires.
// Signature checks cost 20-80 µs; a cache hit costs a SHA-256 of the token and a hash lookup.
//
// Keyed by SHA-256 of the whole token, never the token itself: the cache holds no bearer
// credentials a memory dump could replay, and any change to any byte (a tampered payload with
// a borrowed signature) is a different key. One cache per I/O thread, so the hot path takes no
// lock; a token used on several threads is verified once per thread.
//
// Entries carry the authenticator's epoch: a change of configuration or of any issuer's keys
// bumps it, and entries from an older epoch count as misses. Tenant status is not cached here:
// the caller checks it on every request, so a suspension takes effect at once.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>
#include <unordered_map>

#include "auth/principal.h"

namespace pc::auth {

class TokenCache {
 public:
  using Digest = std::array<unsigned char, 32>;

  explicit TokenCache(std::size_t max_entries) : max_entries_(max_entries) {}

  static Digest digest(std::string_view token);

  // The principal when cached, not expired at `now` and of the current `epoch`; else nullptr.
  const std::shared_ptr<const Principal>* find(const Digest& key, std::int64_t now, std::uint64_t epoch);
  // `valid_until`: unix seconds after which the entry must not be used (exp plus leeway).
  void insert(const Digest& key, std::shared_ptr<const Principal> principal, std::int64_t valid_until,
              std::uint64_t epoch, std::int64_t now);

  std::size_t size() const { return map_.size(); }
  void set_max_entries(std::size_t n) { max_entries_ = n; }
  void clear() { map_.clear(); }

 private:
  struct Entry {
    std::shared_ptr<const Principal> principal;
    std::int64_t valid_until;
    std::uint64_t epoch;
  };
  struct DigestHash {
    // The digest is uniformly random already: its first 8 bytes are a fine hash.
    std::size_t operator()(const Digest& d) const {
      std::size_t h;
      static_assert(sizeof(h) <= sizeof(Digest));
      __builtin_memcpy(&h, d.data(), sizeof(h));
      return h;
    }
  };
  void make_room(std::int64_t now);

  std::size_t max_entries_;
  std::unordered_map<Digest, Entry, DigestHash> map_;
};

}  // namespace pc::auth
