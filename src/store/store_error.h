// The error type of the whole store layer, whatever the backend.
#pragma once

#include <stdexcept>
#include <string>

namespace pc::store {

// `kind` is backend-neutral so that services can map it (duplicate -> 409, busy -> 503, full ->
// 503 storage_full) without knowing SQLite's result codes or PostgreSQL's SQLSTATEs. busy means
// "try again later": a lock not granted in time, a serialisation failure or deadlock, a cancelled
// statement, a lost connection. full: the database is out of space (SQLITE_FULL, PostgreSQL
// class 53 disk_full/out_of_memory): nothing more can be written until an operator acts.
// invalid: the database refused a value itself (PostgreSQL class 22, e.g. invalid UTF-8 in a
// text column): retrying the same row fails again, other rows may pass. gone: a write into a
// tenant that is deleted (or purged) was refused: such rows would outlive the purge. conflict: a
// conditional change found the row changed by a concurrent one (409, like duplicate).
//
// commit_outcome_unknown: the connection was lost while COMMIT was on its way. The server may
// have committed before it went (PostgreSQL restarted under load did so: cluster_nodes.test), so
// "nothing was changed" would be a lie and a blind retry can make a second copy. The kind stays
// busy (the store is away either way); only what callers tell their clients differs.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { other, duplicate, busy, full, invalid, gone, conflict };
  struct OutcomeUnknown {};
  explicit StoreError(const std::string& message, Kind kind = Kind::other)
      : std::runtime_error(message), kind_(kind) {}
  StoreError(const std::string& message, OutcomeUnknown)
      : std::runtime_error(message), kind_(Kind::busy), commit_outcome_unknown_(true) {}
  Kind kind() const { return kind_; }
  bool commit_outcome_unknown() const { return commit_outcome_unknown_; }
  // The same error with `context` before its message: what a caller rethrows with, so that the
  // kind and the unknown outcome are never lost on the way.
  StoreError prefixed(const std::string& context) const {
    StoreError e(context + what(), kind_);
    e.commit_outcome_unknown_ = commit_outcome_unknown_;
    return e;
  }

 private:
  Kind kind_;
  bool commit_outcome_unknown_ = false;
};

}  // namespace pc::store
