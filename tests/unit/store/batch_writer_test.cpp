// The batch writer both logs share (issue 8 items 8 and 15): bounded by count and by bytes, and
// one bad record never takes its batch down.
#include "store/batch_writer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

namespace pc::store {
namespace {

using namespace std::chrono_literals;

struct Recorder {
  std::mutex mu;
  std::vector<std::size_t> calls;    // batch sizes handed to write
  std::vector<std::string> written;  // committed items, in order
  std::vector<std::string> failed;   // items reported not written
  std::vector<std::string> maybe;    // items reported maybe written (the commit's outcome unknown)
  StoreError::Kind fail_kind = StoreError::Kind::invalid;
  bool all_fail = false;
  bool outcome_unknown = false;  // every write fails as if the connection went during its COMMIT
};

BatchWriter<std::string>::Hooks hooks(Recorder& r) {
  return {
      [](const std::string& s) { return s.size(); },
      [&r](std::vector<std::string>& batch) {
        std::lock_guard lk(r.mu);
        r.calls.push_back(batch.size());
        if (r.outcome_unknown) throw StoreError("connection lost during COMMIT (test)", StoreError::OutcomeUnknown{});
        for (const auto& s : batch)
          if (r.all_fail || s.starts_with("bad")) throw StoreError("refused (test)", r.fail_kind);
        for (const auto& s : batch) r.written.push_back(s);
      },
      [&r](std::string& s, Written ok) {
        std::lock_guard lk(r.mu);
        if (ok == Written::no) r.failed.push_back(s);
        if (ok == Written::maybe) r.maybe.push_back(s);
      },
      {},
      [](const std::string& s) { return "item " + s; },
  };
}

// Items gather for the whole linger (nobody waits on them): one batch.
BatchWriter<std::string>::Options options(std::size_t max_queue = 100, std::size_t max_bytes = 1 << 20) {
  return {"test", 64, max_queue, max_bytes, std::chrono::milliseconds(300), {1ms}};
}

// Issue 8 item 8: on PostgreSQL one event with invalid UTF-8 failed the whole batch INSERT, and
// every other caller's event in it was lost.
TEST(BatchWriter, OneBadRecordIsParkedAndTheRestOfItsBatchIsWritten) {
  Recorder r;
  core::Counter isolated;
  core::Counter failed;
  BatchMetrics m;
  m.isolated = &isolated;
  m.failed = &failed;
  {
    BatchWriter<std::string> w(options(), hooks(r), m);
    for (const char* s : {"a", "b", "bad-1", "c"}) ASSERT_TRUE(w.push(s));
    w.flush();
  }
  EXPECT_EQ(r.written, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.failed, (std::vector<std::string>{"bad-1"}));
  ASSERT_GE(r.calls.size(), 2u);
  EXPECT_EQ(r.calls.front(), 4u) << "the four items were meant to share one batch";
  EXPECT_EQ(isolated.value(), 1);
  EXPECT_EQ(failed.value(), 1);
}

// An unavailable store (busy, full) fails every row alike: not retried one by one.
TEST(BatchWriter, AnUnavailableStoreFailsTheBatchWithoutTryingEachRecord) {
  Recorder r;
  r.all_fail = true;
  r.fail_kind = StoreError::Kind::full;
  {
    BatchWriter<std::string> w(options(), hooks(r), {});
    for (const char* s : {"a", "b", "c"}) ASSERT_TRUE(w.push(s));
    w.flush();
  }
  EXPECT_EQ(r.calls, (std::vector<std::size_t>{3, 3})) << "one attempt and one retry, each of the whole batch";
  EXPECT_EQ(r.failed.size(), 3u);
  EXPECT_TRUE(r.written.empty());
}

// A batch whose connection went during its COMMIT may be in the store: a retry could write it
// twice (the audit chain would link the events again under new numbers; a job's retry would be
// refused as a duplicate and reported lost while it runs). Once, and reported maybe.
TEST(BatchWriter, ABatchWhoseCommitOutcomeIsUnknownIsNeitherRetriedNorReportedLost) {
  Recorder r;
  r.outcome_unknown = true;
  core::Counter failed;
  BatchMetrics m;
  m.failed = &failed;
  {
    BatchWriter<std::string> w(options(), hooks(r), m);
    for (const char* s : {"a", "b", "c"}) ASSERT_TRUE(w.push(s));
    w.flush();
  }
  EXPECT_EQ(r.calls, (std::vector<std::size_t>{3})) << "written once: no retry, not one by one";
  EXPECT_EQ(r.maybe, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(r.failed.empty());
  EXPECT_EQ(failed.value(), 3) << "not known to be written: counted with the failed";
}

// Issue 8 item 15: the invocation queue was bounded by count only (65,536 one-MiB bodies).
TEST(BatchWriter, TheQueueIsBoundedByBytesAsWellAsByCount) {
  Recorder r;
  core::Counter rejected;
  BatchMetrics m;
  m.rejected = &rejected;
  {
    BatchWriter<std::string> w(options(100, 100), hooks(r), m);
    EXPECT_TRUE(w.push(std::string(40, 'x')));
    EXPECT_TRUE(w.push(std::string(40, 'y')));
    EXPECT_FALSE(w.push(std::string(40, 'z'))) << "120 bytes queued with a 100-byte bound";
    EXPECT_TRUE(w.push(std::string(20, 'w')));  // exactly at the bound
    EXPECT_FALSE(w.push(std::string(1000, 'v')));  // larger than the whole bound
    w.flush();
    EXPECT_TRUE(w.push(std::string(40, 'z'))) << "room again once written";
  }
  EXPECT_EQ(rejected.value(), 2);
  EXPECT_EQ(r.written.size(), 4u);
  {
    BatchWriter<std::string> w(options(2), hooks(r), m);
    EXPECT_TRUE(w.push("1"));
    EXPECT_TRUE(w.push("2"));
    EXPECT_FALSE(w.push("3")) << "count bound";
  }
  EXPECT_EQ(rejected.value(), 3);
}

TEST(BatchWriter, StopWritesWhatIsQueuedAndRefusesMore) {
  Recorder r;
  BatchWriter<std::string> w(options(), hooks(r), {});
  ASSERT_TRUE(w.push("a"));
  w.stop();
  EXPECT_FALSE(w.push("b"));
  EXPECT_EQ(r.written, (std::vector<std::string>{"a"}));
}

}  // namespace
}  // namespace pc::store
