// Checks a stored audit log end to end: every entry's hash recomputed from its fields, every
// prev_hash equal to its predecessor's hash, seq contiguous. Starts from the retention anchor
// when old entries were purged (the anchor's hash is what the first remaining entry must
// follow), else from seq 1 with prev_hash "".
//
// What a hash chain cannot show on its own: entries removed from the newest end, or the whole
// log replaced by a freshly computed one. Both need the latest hash kept somewhere else (an
// exported copy, a monitoring system); compare it with the log's last entry.
#pragma once

#include <cstdint>
#include <string>

#include "store/store.h"

namespace pc::audit {

struct VerifyResult {
  bool ok = true;
  std::int64_t checked = 0;           // entries whose link was checked and found good
  std::int64_t first_broken_seq = 0;  // 0 when ok
  std::string reason;                 // empty when ok
};

// Walks the whole log in pages of seq order (memory stays flat however long the log is) and
// stops at the first broken link. Store errors propagate (StoreError).
VerifyResult verify(store::Store& store);

}  // namespace pc::audit
