#include "app/bootstrap.h"

#include "core/clock.h"
#include "tenancy/capabilities.h"

#include <openssl/crypto.h>

#include <boost/json.hpp>
#include <filesystem>
#include <stdexcept>

#include "crypto/random.h"
#include "crypto/secret_hash.h"

namespace pc::app {
namespace {

constexpr std::string_view kBootstrapFile = "bootstrap-admin.json";

// Wipes a string holding a secret when it goes out of scope, on every exit path.
struct Wiped {
  std::string value;
  ~Wiped() { OPENSSL_cleanse(value.data(), value.size()); }
};

std::string token_url(std::string base) {
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/oauth2/token";
}

store::ClientRecord admin_client(const std::string& secret) {
  store::ClientRecord c;
  c.client_id = "pc-admin-" + crypto::random_hex(8);
  c.tenant_id = "platform";
  c.name = "bootstrap-admin";
  c.secret_hash = crypto::hash_secret(secret);
  c.roles = {"Platform.Admin"};
  c.grant_types = {"client_credentials"};
  c.is_bootstrap = true;
  return c;
}

}  // namespace

crypto::MasterKey ensure_master_key(const core::Config& cfg) {
  const std::string path = cfg.master_key_path();
  if (!cfg.keys.master_key_file.empty()) return crypto::load_master_key(path);
  crypto::ensure_private_dir(cfg.data_dir);
  return crypto::load_or_create_master_key(path);
}

BootstrapResult first_start(const core::Config& cfg, store::Store& store, const std::string& public_base_url) {
  crypto::ensure_private_dir(cfg.data_dir);
  BootstrapResult result;
  result.bootstrap_file = (std::filesystem::path(cfg.data_dir) / kBootstrapFile).string();
  if (store.find_bootstrap_client()) return result;

  // Capabilities deny by default; the platform-wide switch for invoking agents starts on, so a
  // fresh gateway's promoted agents are reachable (each agent has its own agents.<name> too).
  tenancy::ensure_capability(store, "agents.invoke", "invoke agents at all (the platform-wide switch)");

  Wiped secret{crypto::random_token(32)};
  store::ClientRecord client = admin_client(secret.value);
  Wiped json{boost::json::serialize(boost::json::object{
                 {"client_id", client.client_id},
                 {"client_secret", secret.value},
                 {"token_url", token_url(public_base_url)},
             }) +
             "\n"};

  // Order matters so that no failure can lose the only copy of the secret or leave a file
  // pointing at no client: stage the file (fsynced, not yet visible), insert the client, then
  // move the file into place.
  crypto::PendingPrivateFile file(result.bootstrap_file, json.value);
  try {
    store.insert_client(client);
  } catch (const store::StoreError& e) {
    // Another node sharing this store created its bootstrap client first: that one stands, and
    // its credentials are in that node's data_dir. The staged file is discarded.
    if (e.kind() == store::StoreError::Kind::duplicate && store.find_bootstrap_client()) return result;
    throw;
  }
  try {
    file.commit(/*replace_existing=*/true);
  } catch (const std::exception& e) {
    file.release();  // the client exists now; its secret must survive somewhere the operator can find
    throw std::runtime_error("bootstrap admin created, but its credentials file could not be put in place (" +
                             std::string(e.what()) + "); they are in " + file.temp_path());
  }
  result.created_admin = true;
  return result;
}

}  // namespace pc::app
