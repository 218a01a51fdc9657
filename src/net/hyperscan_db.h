// Hyperscan, the parts every user of it needs (the WAF, net/waf.h; the redactor, mcp/redactor.h):
// a compiled block-mode database that frees itself, and per-thread scratch space. Hyperscan
// needs one scratch per concurrent scan, sized for every database it serves; each owner keeps a
// prototype grown for its databases, and each thread clones it once on first use, cached
// thread-locally under a never-reused id (a new owner may reuse an old one's address with a
// larger need). Owners are rebuilt only on configuration reloads, so a thread holds a few
// entries; past kScratchPerThread the oldest is freed.
#pragma once

#include <hs/hs.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace pc::net::hyperscan {

// Hyperscan refused an expression: `expression` is its index in what was compiled (-1: the
// database as a whole), what() Hyperscan's reason.
class CompileError : public std::invalid_argument {
 public:
  CompileError(int expression, const std::string& why) : std::invalid_argument(why), expression_(expression) {}
  int expression() const { return expression_; }

 private:
  int expression_;
};

class Database {
 public:
  Database() = default;
  // hs_compile_multi in HS_MODE_BLOCK; `flags` and `ids` as long as `exprs`. Throws CompileError.
  static Database compile(const std::vector<const char*>& exprs, const std::vector<unsigned>& flags,
                          const std::vector<unsigned>& ids);
  Database(Database&& o) noexcept : db_(o.db_) { o.db_ = nullptr; }
  Database& operator=(Database&& o) noexcept;
  Database(const Database&) = delete;
  Database& operator=(const Database&) = delete;
  ~Database();
  hs_database_t* get() const { return db_; }
  explicit operator bool() const { return db_ != nullptr; }

 private:
  hs_database_t* db_ = nullptr;
};

class Scratch {
 public:
  static constexpr std::size_t kScratchPerThread = 16;
  // `what` names the owner in errors ("waf", "redaction").
  explicit Scratch(std::string what) : what_(std::move(what)) {}
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  ~Scratch();
  // Grows the prototype to serve `db` too (at construction of the owner, before any scan).
  void serve(const Database& db);
  // This thread's scratch (cloned from the prototype on first use). Throws std::runtime_error.
  hs_scratch_t* get() const;

 private:
  std::uint64_t id_ = next_id();
  std::string what_;
  hs_scratch_t* proto_ = nullptr;
  static std::uint64_t next_id();
};

}  // namespace pc::net::hyperscan
