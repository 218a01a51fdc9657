// The shared Hyperscan helper (net/hyperscan_db.h) used by the WAF and the redactor: a refused
// expression is named by its index, an empty set compiles to no database, and every thread scans
// with scratch of its own.
#include "net/hyperscan_db.h"

#include <gtest/gtest.h>

#include <latch>
#include <set>
#include <thread>

namespace pc::net::hyperscan {
namespace {

TEST(HyperscanDb, CompileErrorNamesTheExpression) {
  try {
    Database::compile({"abc", "a(b"}, {0, 0}, {7, 9});
    FAIL() << "compiled a broken pattern";
  } catch (const CompileError& e) {
    EXPECT_EQ(e.expression(), 1);
    EXPECT_NE(std::string(e.what()), "");
  }
  EXPECT_FALSE(Database::compile({}, {}, {})) << "nothing to compile: no database";
}

TEST(HyperscanDb, ScansWithAScratchPerThread) {
  Database db = Database::compile({"needle"}, {HS_FLAG_SINGLEMATCH}, {3});
  ASSERT_TRUE(db);
  Scratch scratch("test");
  scratch.serve(db);
  std::set<hs_scratch_t*> seen;
  std::mutex mu;
  std::latch both(2);  // both threads alive at once: a freed scratch's address is not reused
  auto scan = [&] {
    hs_scratch_t* s = scratch.get();
    both.arrive_and_wait();
    EXPECT_EQ(s, scratch.get()) << "cached per thread";
    unsigned hit = 0;
    auto on = [](unsigned id, unsigned long long, unsigned long long, unsigned, void* ctx) -> int {
      *static_cast<unsigned*>(ctx) = id;
      return 0;
    };
    EXPECT_EQ(hs_scan(db.get(), "hay needle hay", 14, 0, s, on, &hit), HS_SUCCESS);
    EXPECT_EQ(hit, 3u);
    std::lock_guard lock(mu);
    seen.insert(s);
  };
  std::thread a(scan), b(scan);
  a.join();
  b.join();
  EXPECT_EQ(seen.size(), 2u) << "two threads, two scratches";
  Scratch unused("none");
  EXPECT_THROW(unused.get(), std::runtime_error) << "a scratch that serves no database";
}

}  // namespace
}  // namespace pc::net::hyperscan
