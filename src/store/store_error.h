// The error type of the whole store layer, whatever the backend.
#pragma once

#include <stdexcept>
#include <string>

namespace pc::store {

// `kind` is backend-neutral so that services can map it (duplicate -> 409, busy -> 503) without
// knowing SQLite's result codes or PostgreSQL's SQLSTATEs. busy means "try again later": a lock
// not granted in time, a serialisation failure or deadlock, a cancelled statement, a lost
// connection.
class StoreError : public std::runtime_error {
 public:
  enum class Kind { other, duplicate, busy };
  explicit StoreError(const std::string& message, Kind kind = Kind::other)
      : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace pc::store
