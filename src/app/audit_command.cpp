// `portcullis audit verify`: checks the audit log's hash chain straight in the store (SPEC §2).
// Read-only on the log; safe to run next to live gateways (SQLite readers do not block the
// writer in WAL mode, and rows appended while it runs are simply checked or not yet seen).
//
// Exit codes: 0 the chain is intact, 1 a broken link (or the store could not be read: a log
// that cannot be checked must not pass for a good one), 2 bad flags or configuration.
#include <iostream>

#include "app/commands.h"
#include "audit/verify.h"
#include "core/config.h"
#include "store/store.h"

namespace pc::app {

int audit_verify(const std::string& config_path) {
  core::Config cfg;
  if (!load_command_config(config_path, cfg)) return 2;
  try {
    auto store = store::Store::open(cfg.storage, cfg.sqlite_path());
    const audit::VerifyResult r = audit::verify(*store);
    if (r.ok) {
      std::cout << "audit log OK: " << r.checked << " events checked\n";
      return 0;
    }
    std::cout << "audit log BROKEN at seq " << r.first_broken_seq << ": " << r.reason << " (" << r.checked
              << " events before it checked)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "portcullis: audit verify: " << e.what() << "\n";
    return 1;
  }
}

}  // namespace pc::app
