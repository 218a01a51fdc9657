// Idempotency keys (SPEC §5, issue 9): a client that sends `Idempotency-Key` with a request may
// send it again — after a timeout, a dropped connection, a crash of its own — and get the first
// answer back instead of a second invocation. Keys are scoped to (tenant, principal): another
// caller's key of the same spelling is another key. An answer is remembered for 24 h.
//
//   begin(): new key → run (the caller holds a claim, `owner`); same key, same request, answered
//   → replay; same key, another request → mismatch (422); same key, still running → in_flight
//   (409). A claim whose node died lapses after `lock` and may be taken over.
//   complete(): stores the answer (status, content type, body sealed under the tenant's
//   invocation data key, bound to the key's row) — or release(): forgets the claim, so a retry
//   runs again (used for answers not worth replaying: 5xx, 429, a request that never reached
//   the agent).
//
// The store is the truth (several nodes share it): nothing is cached here. Blocking: call it from
// a work pool.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace pc::store {
class Store;
}
namespace pc::vault {
class DataKeys;
}

namespace pc::agents {

struct IdempotencyKey {
  std::string tenant_id;
  std::string principal;
  std::string key;           // the header's value, checked by key_problem()
  std::string request_hash;  // request_hash() of what the request asks
};

struct RememberedAnswer {
  int status = 0;
  std::string content_type;
  std::string body;
};

// A store failure of begin(), in terms the HTTP layer maps without knowing the store: gone (the
// tenant was deleted: 404), busy (503), other (500).
class IdempotencyError : public std::runtime_error {
 public:
  enum class Kind { gone, busy, other };
  IdempotencyError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

class Idempotency {
 public:
  struct Options {
    std::chrono::seconds ttl{std::chrono::hours(24)};  // how long an answer is replayed
    // How long a claim holds before another node may take the key over (its node died): longer
    // than the longest request (sync invokes end at the upstream response timeout).
    std::chrono::seconds lock{std::chrono::minutes(10)};
  };
  Idempotency(store::Store& store, vault::DataKeys& keys);
  Idempotency(store::Store& store, vault::DataKeys& keys, Options options);

  enum class Outcome { run, replay, mismatch, in_flight };
  struct Begin {
    Outcome outcome = Outcome::run;
    std::string owner;        // run: the claim, for complete() or release()
    RememberedAnswer answer;  // replay
  };
  // Throws IdempotencyError when the store fails, crypto::AeadError when a remembered answer
  // does not open.
  Begin begin(const IdempotencyKey& k);
  // False when the claim was lost meanwhile (lapsed and taken over): nothing stored.
  bool complete(const IdempotencyKey& k, const std::string& owner, const RememberedAnswer& answer);
  bool release(const IdempotencyKey& k, const std::string& owner);
  // Removes expired keys (retention); returns how many.
  std::int64_t purge_expired();

  // Why a header value is not a usable key ("" when it is): 1 to 255 printable ASCII characters.
  static std::string key_problem(std::string_view key);
  // Hex SHA-256 over method, path and body, length-prefixed so no two requests share an input.
  static std::string request_hash(std::string_view method, std::string_view path, std::string_view body);
  // Whether an answer is replayed rather than released: 2xx and 4xx, except the ones that say
  // "try again" (408, 409, 425, 429) and 499 (the client left). 5xx: the retry should run.
  static bool worth_remembering(int status);

 private:
  store::Store& store_;
  vault::DataKeys& keys_;
  const Options options_;
};

}  // namespace pc::agents
