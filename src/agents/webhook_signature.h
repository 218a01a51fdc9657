// How a webhook delivery proves it comes from this gateway (docs/webhooks.md):
//
//   X-Portcullis-Timestamp: <unix seconds>
//   X-Portcullis-Signature: sha256=<lowercase hex HMAC-SHA256(secret, "<timestamp>.<body>")>
//
// The timestamp is inside the MAC so a receiver can refuse old deliveries (replays) by checking
// it against its clock; the body is the exact bytes sent. The key is the secret string as shown
// at creation ("whsec_…"), its bytes as they are: nothing to decode on the receiver's side.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pc::agents {

// "sha256=<hex>".
std::string webhook_signature(std::string_view secret, std::int64_t timestamp, std::string_view body);

// What a receiver does, for tests and tools: the signature matches (compared in constant time)
// and |now - timestamp| <= tolerance_seconds.
bool verify_webhook_signature(std::string_view secret, std::string_view timestamp_header,
                              std::string_view signature_header, std::string_view body, std::int64_t now,
                              std::int64_t tolerance_seconds = 300);

}  // namespace pc::agents
