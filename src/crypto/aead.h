// Authenticated encryption for data and keys at rest: AES-256-GCM with a random nonce.
//
//   sealed = 0x01 || nonce (12 bytes, random) || ciphertext || tag (16 bytes)
//   GCM additional data = 0x01 || aad
//
// Why AES-GCM: one pass gives confidentiality and integrity (no encrypt-then-MAC to get wrong),
// it is hardware-accelerated (≈ 2.5 GB/s here), and we use OpenSSL's implementation, checked
// against the Wycheproof vectors in aead_test.cpp. `aad` binds a ciphertext to its context (say,
// the tenant and row it belongs to), so a ciphertext copied to another row or tenant fails to open
// instead of decrypting as someone else's data. The version byte names the scheme so a future one
// can coexist with rows sealed today; it is also fed to GCM ahead of `aad`, so the header itself is
// authenticated and altering it is detected like any other tampering.
//
// Why random nonces, and the bound they impose: GCM breaks badly if a (key, nonce) pair repeats
// (the XOR of the two plaintexts leaks and tags can be forged), and 96-bit random nonces collide
// by the birthday bound. NIST SP 800-38D §8.3 therefore caps random-nonce use at 2^32 messages per
// key, which keeps the collision probability below about 2^-32. For what we seal that is far off:
// the master key wraps data and signing keys (a handful per tenant and rotation), and a data key
// sealing a tenant's secrets at 10 values a second would need 13 years to reach 2^32. It is not
// unlimited, though: 1,000 seals a second under one key reach it in 50 days, so a high-volume use
// (say, encrypting every memory event) must rotate its data key by count or age well before that.
// In exchange, random nonces need no state: a counter would have to be persisted, survive crashes
// and backup restores, and be coordinated across gateway instances sharing a store, and any slip
// there would repeat nonces.
//
// Plaintext size: GCM allows at most 2^36 - 32 bytes per message; longer inputs are refused.
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pc::crypto {

inline constexpr std::size_t kAeadKeySize = 32, kAeadNonceSize = 12, kAeadTagSize = 16;

// Every failure of this module: malformed or unauthentic sealed values, bad parameters, and
// OpenSSL failures. The message never contains key, plaintext or ciphertext bytes.
class AeadError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Encrypts `plaintext` under `key` with a fresh random nonce, bound to `aad` (which is not stored:
// the caller must supply the same `aad` to open). Returns the sealed form above, 29 bytes longer
// than the plaintext. Throws AeadError if the random generator or the cipher fails.
std::string seal(std::span<const unsigned char, kAeadKeySize> key, std::string_view plaintext,
                 std::string_view aad);

// Decrypts a value from seal(). Throws AeadError when it is malformed (too short), its version is
// unknown, or authentication fails (wrong key, wrong aad, any altered byte). Never returns, or
// leaves behind in memory, unauthenticated plaintext; the message says which of these happened
// and nothing about the data.
std::string open(std::span<const unsigned char, kAeadKeySize> key, std::string_view sealed,
                 std::string_view aad);

// ---- The primitive under seal/open (also run against Wycheproof) ------------------------------

// AES-GCM with an explicit IV. The key size picks the cipher: 16, 24 or 32 bytes for AES-128,
// -192 or -256. `iv` may be 1 to 128 bytes (GCM allows any non-empty length, 12 is the standard
// and the only one seal uses; OpenSSL refuses more than 128). `tag_len` may be 12 to 16 (the
// general-purpose lengths of SP 800-38D; shorter tags need extra usage limits, so we refuse them).
// A caller of gcm_encrypt owns nonce uniqueness: never reuse an IV under the same key.
//
// gcm_encrypt returns ciphertext || tag. gcm_decrypt returns the plaintext, or nullopt when
// authentication fails (including input shorter than the tag). Both throw AeadError for a bad key,
// IV or tag length, or an OpenSSL failure.
std::string gcm_encrypt(std::span<const unsigned char> key, std::string_view iv,
                        std::string_view aad, std::string_view pt,
                        std::size_t tag_len = kAeadTagSize);
std::optional<std::string> gcm_decrypt(std::span<const unsigned char> key, std::string_view iv,
                                       std::string_view aad, std::string_view ct_and_tag,
                                       std::size_t tag_len = kAeadTagSize);

}  // namespace pc::crypto
