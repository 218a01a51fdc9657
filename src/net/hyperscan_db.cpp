#include "net/hyperscan_db.h"

#include <atomic>

namespace pc::net::hyperscan {
namespace {

struct ThreadScratch {
  struct Entry {
    std::uint64_t id;
    hs_scratch_t* scratch;
  };
  std::vector<Entry> entries;
  ~ThreadScratch() {
    for (auto& e : entries) hs_free_scratch(e.scratch);
  }
};
thread_local ThreadScratch tls_scratch;

}  // namespace

Database Database::compile(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                           const std::vector<unsigned>& ids) {
  Database out;
  if (exprs.empty()) return out;
  hs_compile_error_t* err = nullptr;
  if (hs_compile_multi(exprs.data(), flags.data(), ids.data(), static_cast<unsigned>(exprs.size()), HS_MODE_BLOCK,
                       nullptr, &out.db_, &err) != HS_SUCCESS) {
    const std::string why = err && err->message ? err->message : "not a valid pattern";
    const int at = err ? err->expression : -1;
    hs_free_compile_error(err);
    throw CompileError(at, why);
  }
  return out;
}

Database& Database::operator=(Database&& o) noexcept {
  if (this != &o) {
    if (db_) hs_free_database(db_);
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

Database::~Database() {
  if (db_) hs_free_database(db_);
}

std::uint64_t Scratch::next_id() {
  static std::atomic<std::uint64_t> next{1};
  return next.fetch_add(1);
}

Scratch::~Scratch() {
  if (proto_) hs_free_scratch(proto_);
}

void Scratch::serve(const Database& db) {
  // hs_alloc_scratch grows an existing scratch to fit each database in turn.
  if (db && hs_alloc_scratch(db.get(), &proto_) != HS_SUCCESS)
    throw std::runtime_error(what_ + ": cannot allocate Hyperscan scratch");
}

hs_scratch_t* Scratch::get() const {
  auto& entries = tls_scratch.entries;
  for (auto& e : entries)
    if (e.id == id_) return e.scratch;
  hs_scratch_t* s = nullptr;
  if (!proto_ || hs_clone_scratch(proto_, &s) != HS_SUCCESS) throw std::runtime_error(what_ + ": cannot allocate scratch");
  if (entries.size() >= kScratchPerThread) {
    hs_free_scratch(entries.front().scratch);
    entries.erase(entries.begin());
  }
  entries.push_back({id_, s});
  return s;
}

}  // namespace pc::net::hyperscan
