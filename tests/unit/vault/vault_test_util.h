// Helpers shared by the vault tests: deterministic master keys, and a store that counts the
// data-key reads (to tell a cache hit from a store round trip).
#pragma once

#include <array>
#include <atomic>
#include <string>

#include "crypto/aead.h"
#include "crypto/master_key.h"
#include "support/forwarding_store.h"

namespace pc::vault::testing {

inline crypto::MasterKey master_key(unsigned char seed) {
  std::array<unsigned char, crypto::MasterKey::kSize> b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>(seed * 31 + i);
  return crypto::MasterKey(b);
}

// Runs f and returns the message of the crypto::AeadError it throws, or a marker.
template <typename F>
std::string aead_error_of(F&& f) {
  try {
    f();
  } catch (const crypto::AeadError& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("(not an AeadError: ") + e.what() + ")";
  }
  return "(no exception)";
}

class CountingStore : public pc::testing::ForwardingStore {
 public:
  using ForwardingStore::ForwardingStore;
  std::vector<store::DataKeyRecord> data_keys(std::string_view t, std::string_view c) override {
    ++data_key_reads;
    return ForwardingStore::data_keys(t, c);
  }
  std::atomic<int> data_key_reads{0};
};

}  // namespace pc::vault::testing
