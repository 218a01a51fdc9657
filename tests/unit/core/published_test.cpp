#include "core/published.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace pc::core {
namespace {

TEST(Published, EmptyUntilSomethingIsPublished) {
  Published<int> p;
  EXPECT_EQ(p.load(), nullptr);
  EXPECT_EQ(p.read(), nullptr);
}

TEST(Published, InitialValueIsVisible) {
  Published<std::string> p(std::make_shared<const std::string>("first"));
  ASSERT_NE(p.load(), nullptr);
  EXPECT_EQ(*p.load(), "first");
  ASSERT_NE(p.read(), nullptr);
  EXPECT_EQ(*p.read(), "first");
}

TEST(Published, LoadAndReadSeeANewPublishAtOnce) {
  Published<std::string> p(std::make_shared<const std::string>("one"));
  ASSERT_EQ(*p.read(), "one");  // this thread now holds a cached snapshot
  const auto g1 = p.generation();
  p.publish(std::make_shared<const std::string>("two"));
  EXPECT_GT(p.generation(), g1);
  EXPECT_EQ(*p.load(), "two");
  EXPECT_EQ(*p.read(), "two");
  p.publish(nullptr);
  EXPECT_EQ(p.load(), nullptr);
  EXPECT_EQ(p.read(), nullptr);
}

TEST(Published, LoadKeepsAnOldSnapshotAliveAfterANewPublish) {
  Published<std::string> p(std::make_shared<const std::string>("old"));
  auto held = p.load();
  p.publish(std::make_shared<const std::string>("new"));
  EXPECT_EQ(*held, "old");
  EXPECT_EQ(*p.load(), "new");
}

TEST(Published, TwoInstancesReadOnOneThreadDoNotMix) {
  Published<int> a(std::make_shared<const int>(1));
  Published<int> b(std::make_shared<const int>(2));
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(*a.read(), 1);
    EXPECT_EQ(*b.read(), 2);
  }
  a.publish(std::make_shared<const int>(10));
  EXPECT_EQ(*b.read(), 2);
  EXPECT_EQ(*a.read(), 10);
  b.publish(std::make_shared<const int>(20));
  EXPECT_EQ(*a.read(), 10);
  EXPECT_EQ(*b.read(), 20);
}

// Each thread keeps 8 slots per T: with more live instances than that, two of them must share a
// slot. Alternating reads must still answer each instance's own value.
TEST(Published, ManyInstancesSharingSlotsDoNotMix) {
  constexpr int kInstances = 19;
  std::vector<std::unique_ptr<Published<int>>> all;
  for (int i = 0; i < kInstances; ++i) all.push_back(std::make_unique<Published<int>>(std::make_shared<const int>(i)));
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kInstances; ++i) EXPECT_EQ(*all[i]->read(), i) << "instance " << i;
    for (int i = kInstances - 1; i >= 0; --i) EXPECT_EQ(*all[i]->read(), i) << "instance " << i;
  }
  all[3]->publish(std::make_shared<const int>(300));
  for (int i = 0; i < kInstances; ++i) EXPECT_EQ(*all[i]->read(), i == 3 ? 300 : i);
}

// A new instance at a destroyed one's address must not answer the old one's cached snapshot,
// even though both start at the same generation.
TEST(Published, AReusedAddressDoesNotServeTheOldInstancesValue) {
  for (int i = 0; i < 50; ++i) {
    auto p = std::make_unique<Published<int>>(std::make_shared<const int>(i));
    ASSERT_EQ(*p->read(), i);
    p.reset();
    auto q = std::make_unique<Published<int>>(std::make_shared<const int>(-i - 1));
    ASSERT_EQ(*q->read(), -i - 1);
  }
}

// A value whose fields must always agree; its destructor poisons them, so a reader that kept a
// pointer to a freed snapshot (in practice) sees the poison instead of a consistent pair.
struct Pair {
  static constexpr std::uint64_t kAlive = 0xA11CE5AFEULL;
  explicit Pair(std::uint64_t v) : a(v), b(~v), magic(kAlive), text(std::to_string(v)) {}
  ~Pair() {
    magic = 0;
    a = 1;
    b = 1;
  }
  bool consistent() const { return magic == kAlive && b == ~a && text == std::to_string(a); }
  std::uint64_t a, b, magic;
  std::string text;
};

TEST(Published, ReaderNeverSeesATornOrFreedValueWhileAWriterPublishes) {
  Published<Pair> p(std::make_shared<const Pair>(0));
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> reads{0}, bad{0}, went_back{0}, latest{0};

  std::thread reader([&] {
    std::uint64_t prev = 0;
    while (!stop.load(std::memory_order_acquire)) {
      const Pair* v = p.read();
      if (!v || !v->consistent()) {
        bad.fetch_add(1);
        continue;
      }
      if (v->a < prev) went_back.fetch_add(1);  // snapshots are published in increasing order
      prev = v->a;
      latest.store(prev, std::memory_order_release);
      reads.fetch_add(1, std::memory_order_relaxed);
    }
  });

  // Publish for ~300 ms (and until the reader has done some work, however the threads are
  // scheduled), then check the reader catches up with the last value.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  const auto hard_stop = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  std::uint64_t n = 0;
  while ((std::chrono::steady_clock::now() < deadline || reads.load() < 1000) &&
         std::chrono::steady_clock::now() < hard_stop) {
    p.publish(std::make_shared<const Pair>(++n));
    if (n % 64 == 0) std::this_thread::yield();
  }
  while (latest.load(std::memory_order_acquire) != n && std::chrono::steady_clock::now() < hard_stop)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  stop = true;
  reader.join();

  EXPECT_EQ(bad.load(), 0u);
  EXPECT_EQ(went_back.load(), 0u);
  EXPECT_GT(n, 100u);
  EXPECT_GT(reads.load(), 0u);
  EXPECT_EQ(latest.load(), n) << "the reader never saw the last publish";
  EXPECT_EQ(p.read()->a, n);
}

}  // namespace
}  // namespace pc::core
