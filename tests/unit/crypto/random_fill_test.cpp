// random_fill (crypto/random.h): CSPRNG bytes from a per-thread buffer. What must hold: no value
// handed out twice (within a thread, across threads, across a buffer refill) and a forked child
// never repeats its parent's bytes (AES-GCM nonces come from here).
#include "crypto/random.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace pc::crypto {
namespace {

std::string fill(std::size_t n) {
  std::string s(n, '\0');
  random_fill(reinterpret_cast<unsigned char*>(s.data()), n);
  return s;
}

TEST(RandomFill, NoValueRepeatsAcrossRefills) {
  std::set<std::string> seen;
  // 16 bytes at a time over several 4 KiB refills.
  for (int i = 0; i < 2000; ++i) EXPECT_TRUE(seen.insert(fill(16)).second);
}

TEST(RandomFill, LargerThanTheBufferAndOddSizes) {
  EXPECT_EQ(fill(0).size(), 0u);
  const std::string big = fill(10000);
  EXPECT_EQ(big.size(), 10000u);
  EXPECT_NE(big.substr(0, 4096), big.substr(4096, 4096));
  EXPECT_NE(big.find_first_not_of('\0'), std::string::npos);
  for (std::size_t n : {1u, 3u, 12u, 4095u, 4097u}) EXPECT_EQ(fill(n).size(), n);
}

TEST(RandomFill, ThreadsNeverShareValues) {
  std::mutex mu;
  std::set<std::string> seen;
  bool duplicate = false;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      std::vector<std::string> mine;
      for (int i = 0; i < 500; ++i) mine.push_back(fill(16));
      std::lock_guard lk(mu);
      for (auto& v : mine) duplicate |= !seen.insert(v).second;
    });
  for (auto& th : threads) th.join();
  EXPECT_FALSE(duplicate);
}

TEST(RandomFill, AForkedChildDoesNotRepeatItsParentsBytes) {
  (void)fill(16);  // the parent's buffer is full of bytes not yet handed out
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    std::array<unsigned char, 32> b{};
    random_fill(b.data(), b.size());
    const bool ok = ::write(fds[1], b.data(), b.size()) == static_cast<ssize_t>(b.size());
    ::_exit(ok ? 0 : 1);
  }
  ::close(fds[1]);
  std::array<unsigned char, 32> theirs{};
  std::size_t got = 0;
  while (got < theirs.size()) {
    const ssize_t n = ::read(fds[0], theirs.data() + got, theirs.size() - got);
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  ::waitpid(child, &status, 0);
  ASSERT_EQ(got, theirs.size());
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  std::array<unsigned char, 32> mine{};
  random_fill(mine.data(), mine.size());  // what the parent hands out next
  EXPECT_NE(std::memcmp(mine.data(), theirs.data(), mine.size()), 0);
}

TEST(RandomFill, IdsUseItAndStayWellFormed) {
  EXPECT_EQ(random_hex(8).size(), 16u);
  EXPECT_NE(random_hex(8), random_hex(8));
  const std::string u = uuid_v4();
  ASSERT_EQ(u.size(), 36u);
  EXPECT_EQ(u[14], '4');
  EXPECT_NE(uuid_v4(), u);
}

}  // namespace
}  // namespace pc::crypto
