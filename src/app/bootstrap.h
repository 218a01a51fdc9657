// First start: the material a fresh installation needs before anyone can log in — the master
// key and one platform-admin client whose credentials are handed to the operator in a file
// (SPEC §2, "First start and the bootstrap credential").
#pragma once

#include <string>

#include "core/config.h"
#include "crypto/master_key.h"
#include "store/store.h"

namespace pc::app {

// Loads the master key from cfg.master_key_path(). When keys.master_key_file is not configured,
// the default <data_dir>/master.key is created on first start (data_dir is created, mode 0700).
// When it is configured, the file must already exist: silently generating a fresh key in place
// of a mistyped or unmounted one would make every encrypted row unreadable.
crypto::MasterKey ensure_master_key(const core::Config& cfg);

struct BootstrapResult {
  bool created_admin = false;  // true only on the start that created the client and the file
  std::string bootstrap_file;  // <data_dir>/bootstrap-admin.json
};

// Ensures data_dir exists (mode 0700). When the store has no bootstrap client, creates the
// platform-admin client (tenant "platform", role Platform.Admin, client_credentials, secret
// stored hashed) and writes its credentials to <data_dir>/bootstrap-admin.json, mode 0600:
//   {"client_id":"pc-admin-…","client_secret":"…","token_url":"<public_base_url>/oauth2/token"}
// When the client exists nothing is done, even if the file was deleted (the secret cannot be
// recovered from its hash; the operator rotates it through the admin API instead).
//
// The file is written atomically (a 0600 temp file, fsynced, then renamed), so it is never
// seen half-written. It is replaced only in one case: the file exists but the store has no
// bootstrap client (the database was deleted or is a new one); its credentials then match no
// client, and the new ones take its place by the same atomic rename.
//
// Blocking (store, disk): call it at start-up or from a WorkPool, never from an I/O thread.
BootstrapResult first_start(const core::Config& cfg, store::Store& store, const std::string& public_base_url);

}  // namespace pc::app
