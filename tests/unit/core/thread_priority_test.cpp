// core/thread_priority.h: background threads run below the I/O threads, per thread (the
// process and its other threads keep their priority).
#include "core/thread_priority.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cstring>
#include <algorithm>
#include <thread>

namespace pc::core {
namespace {

int nice_of(pid_t tid) { return ::getpriority(PRIO_PROCESS, static_cast<id_t>(tid)); }
pid_t this_tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

TEST(ThreadPriority, LowersOnlyTheCallingThread) {
  const int mine = nice_of(this_tid());
  int theirs = 0;
  std::array<char, 16> name{};
  std::thread t([&] {
    name_this_thread("pc-test-writer-long-name");
    lower_this_thread_priority(kWriterNice);
    theirs = nice_of(this_tid());
    pthread_getname_np(pthread_self(), name.data(), name.size());
  });
  t.join();
  EXPECT_EQ(theirs, std::min(mine + kWriterNice, 19));
  EXPECT_EQ(nice_of(this_tid()), mine);  // the caller's thread untouched
  EXPECT_STREQ(name.data(), "pc-test-writer-");  // cut to the kernel's 15 characters
}

TEST(ThreadPriority, ZeroOrNegativeChangesNothing) {
  int before = 0, after = 0;
  std::thread t([&] {
    before = nice_of(this_tid());
    lower_this_thread_priority(0);
    lower_this_thread_priority(-5);  // never raises: that needs privileges and is not our call
    after = nice_of(this_tid());
  });
  t.join();
  EXPECT_EQ(before, after);
}

}  // namespace
}  // namespace pc::core
