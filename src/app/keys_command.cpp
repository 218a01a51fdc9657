// `portcullis keys rotate`: a new signing key for the built-in issuer, straight in the store.
// Running gateways sharing the store pick it up within seconds (their background refresh); the
// previous key stays in the JWKS until every token it signed has expired.
#include <chrono>
#include <iostream>

#include "app/commands.h"
#include "auth/signing_keys.h"
#include "core/clock.h"
#include "core/config.h"
#include "crypto/master_key.h"
#include "store/store.h"

namespace pc::app {

int keys_rotate(const std::string& config_path) {
  core::Config cfg;
  if (!config_path.empty()) {
    auto loaded = core::load_config_file(config_path);
    if (!loaded.errors.empty()) {
      std::cerr << "portcullis: " << loaded.errors.front().to_string() << "\n";
      return 2;
    }
    cfg = *loaded.config;
  }
  try {
    // The key must exist already: rotating under a freshly made master key would seal the new
    // signing key where no running gateway can open it.
    crypto::MasterKey mk = crypto::load_master_key(cfg.master_key_path());
    auto store = store::Store::open_sqlite(cfg.sqlite_path());
    const std::int64_t now = core::unix_now();
    const std::int64_t lifetime = cfg.tokens.access_token_ttl_seconds + cfg.tokens.leeway_seconds;
    std::string kid = auth::SigningKeys::rotate(*store, mk, lifetime, now);
    std::cout << "new signing key " << kid << " is active; the previous key stays published until every token it "
              << "signed has expired (about " << (lifetime + 300) / 60 << " minutes)\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "portcullis: keys rotate: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace pc::app
