// Where an issuer's verification keys come from. The verifier only asks for the current set; the
// built-in issuer's key ring and a fetched (discovered, cached, refreshed) JWKS both provide one.
#pragma once

#include "core/published.h"
#include "jose/jwks.h"

namespace pc::auth {

class KeySource {
 public:
  virtual ~KeySource() = default;
  // The current key set; nullptr while none was ever obtained (the issuer then fails closed).
  // Valid until this thread's next read of a key set.
  virtual const jose::JwkSet* current() const = 0;
};

// A key set that someone else publishes into (the built-in issuer's key ring, a static file).
class PublishedKeys : public KeySource {
 public:
  const jose::JwkSet* current() const override { return keys_.read(); }
  void publish(std::shared_ptr<const jose::JwkSet> set) { keys_.publish(std::move(set)); }
  std::shared_ptr<const jose::JwkSet> load() const { return keys_.load(); }

 private:
  core::Published<jose::JwkSet> keys_;
};

}  // namespace pc::auth
