// `portcullis keys rotate`: a new signing key for the built-in issuer, straight in the store.
// Running gateways sharing the store pick it up at once when cluster.redis.url is set (a change
// signal), else within seconds (their background refresh); the previous key stays in the JWKS until every token it signed has expired.
//
// `portcullis keys rotate-master`: a new master key; every data key and signing key is re-wrapped
// under it in one store transaction (vault/rewrap.h has the steps and why each crash point is
// safe), then the old key file is kept as `<master_key_file>.old-<unix time>` and the new one
// takes its place. Gateways hold the master key in memory: restart them afterwards.
#include <pwd.h>
#include <unistd.h>

#include <chrono>
#include <iostream>

#include <boost/json.hpp>

#include "app/commands.h"
#include "audit/audit_log.h"
#include "auth/signing_keys.h"
#include "cluster/change_bus.h"
#include "cluster/redis_url.h"
#include "core/clock.h"
#include "core/config.h"
#include "crypto/master_key.h"
#include "store/store.h"
#include "vault/rewrap.h"

namespace pc::app {
namespace {

// Who ran the command, as far as the machine knows: the operating-system user.
std::string cli_actor() {
  const passwd* pw = getpwuid(geteuid());
  return "cli:" + (pw && pw->pw_name ? std::string(pw->pw_name) : std::to_string(geteuid()));
}

// Offline key changes are platform events like any API call (SPEC §6). The change is already
// committed when this runs: a failure is reported (exit 1) without undoing it.
bool audit_key_change(store::Store& store, std::string action, boost::json::object details) {
  audit::Event e;
  e.tenant_id = "platform";
  e.actor = cli_actor();
  e.action = std::move(action);
  e.resource = action == "keys.rotate" ? "signing-keys" : "master-key";
  e.outcome = "success";
  e.request_id = "cli";
  e.details = boost::json::serialize(details);
  audit::AuditLog log(store);
  const bool ok = log.record_sync(std::move(e));
  log.stop();
  if (!ok) std::cerr << "portcullis: the change is applied, but its audit event could not be written; do not run it again\n";
  return ok;
}

// with cluster.redis.url, the running gateways hear of the change at once
// (the change signal, docs/cluster.md) instead of at their next poll. Best effort: the change is
// committed whatever happens here, and the poll still carries it.
void signal_nodes(const core::Config& cfg, const std::string& kind) {
  if (cfg.cluster.redis_url.empty()) return;
  std::string error;
  auto url = cluster::parse_redis_url(cfg.cluster.redis_url, error);
  if (url && cluster::publish_change_once(*url, cfg.cluster.redis_ca_file, kind, "platform", error)) {
    std::cout << "the gateways sharing this store were signalled (cluster.redis.url)\n";
    return;
  }
  std::cerr << "portcullis: the gateways could not be signalled (" << error
            << "); they pick the change up at their next refresh (~2 s)\n";
}

}  // namespace

bool load_command_config(const std::string& config_path, core::Config& cfg) {
  if (config_path.empty()) return true;
  auto loaded = core::load_config_file(config_path);
  if (!loaded.errors.empty()) {
    std::cerr << "portcullis: " << loaded.errors.front().to_string() << "\n";
    return false;
  }
  cfg = *loaded.config;
  return true;
}

int keys_rotate(const std::string& config_path) {
  core::Config cfg;
  if (!load_command_config(config_path, cfg)) return 2;
  try {
    // The key must exist already: rotating under a freshly made master key would seal the new
    // signing key where no running gateway can open it.
    crypto::MasterKey mk = crypto::load_master_key(cfg.master_key_path());
    auto store = store::Store::open(cfg.storage, cfg.sqlite_path());
    const std::int64_t now = core::unix_now();
    const std::int64_t lifetime = cfg.tokens.access_token_ttl_seconds + cfg.tokens.leeway_seconds;
    std::string kid = auth::SigningKeys::rotate(*store, mk, lifetime, now);
    std::cout << "new signing key " << kid << " is active; the previous key stays published until every token it "
              << "signed has expired (about " << (lifetime + 300) / 60 << " minutes)\n";
    const bool audited = audit_key_change(*store, "keys.rotate", {{"kid", kid}});
    signal_nodes(cfg, "keys.rotate");
    return audited ? 0 : 1;
  } catch (const std::exception& e) {
    std::cerr << "portcullis: keys rotate: " << e.what() << "\n";
    return 1;
  }
}

int keys_rotate_master(const std::string& config_path) {
  core::Config cfg;
  if (!load_command_config(config_path, cfg)) return 2;
  const std::string key_path = cfg.master_key_path();
  try {
    auto store = store::Store::open(cfg.storage, cfg.sqlite_path());
    const vault::MasterKeyRotation r = vault::rotate_master_key(*store, key_path, core::unix_now());
    // Ids only: they name keys without revealing them. Key bytes are never printed.
    if (r.resumed)
      std::cout << "resumed an interrupted rotation with its pending key " << r.rewrapped.new_key_id << "\n";
    std::cout << "master key rotated: " << r.old_key_id << " -> " << r.rewrapped.new_key_id << "\n"
              << "re-wrapped " << r.rewrapped.data_keys << " data key(s) and " << r.rewrapped.signing_keys
              << " signing key(s)";
    std::string from;
    for (const auto& [id, n] : r.rewrapped.rows_by_old_key)
      from += (from.empty() ? "" : ", ") + std::to_string(n) + " from " + (id.empty() ? "(no id, the old key)" : id);
    if (!from.empty()) std::cout << " (" << from << ")";
    std::cout << "; no data was re-encrypted\n"
              << "the old key is kept at " << r.retired_path << "\n"
              << "next: restart every gateway that shares this store; then keep " << r.retired_path
              << " only as long as backups taken before this rotation must stay readable, and delete it\n";
    boost::json::object details{{"oldKeyId", r.old_key_id}, {"newKeyId", r.rewrapped.new_key_id},
                                {"dataKeys", r.rewrapped.data_keys}, {"signingKeys", r.rewrapped.signing_keys},
                                {"resumed", r.resumed}};
    return audit_key_change(*store, "keys.rotate_master", std::move(details)) ? 0 : 1;
  } catch (const std::exception& e) {
    // Whatever step failed, every row stays readable with the key file plus `<key>.new`, and a
    // rerun finishes the rotation (vault/rewrap.h).
    std::cerr << "portcullis: keys rotate-master: " << e.what() << "\n"
              << "portcullis: keep " << key_path << ".new if it exists; once the cause is fixed, run the command "
              << "again to finish (docs/operations.md, \"If a rotation is interrupted\")\n";
    return 1;
  }
}

}  // namespace pc::app
