// Cryptographically secure randomness (OpenSSL's CSPRNG) and the text forms we give random
// values: base64url without padding (RFC 4648 §5, as JOSE uses), hex, and UUID v4.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pc::crypto {

// `n` random bytes. Throws std::runtime_error if the CSPRNG fails: an identifier or secret from a
// failed generator must never be used.
std::string random_bytes(std::size_t n);

// Fills `out` from a per-thread buffer of CSPRNG output (refilled 4 KiB at a time, handed-out bytes
// wiped from it, dropped in a forked child): for identifiers and nonces made per request, where
// one RAND_bytes call each (its locks and fork check) showed in profiles of the I/O thread. Keys
// and secrets use random_bytes, so that they never sit in a buffer before they are needed.
// Throws std::runtime_error if the CSPRNG fails.
void random_fill(unsigned char* out, std::size_t n);

// `bytes` random bytes as base64url without padding (32 bytes -> 43 characters).
std::string random_token(std::size_t bytes);

// `bytes` random bytes as lowercase hex (8 bytes -> 16 characters); an identifier (random_fill).
std::string random_hex(std::size_t bytes);

// A random (version 4, RFC 9562) UUID in its canonical lowercase 8-4-4-4-12 form (random_fill).
std::string uuid_v4();

}  // namespace pc::crypto
