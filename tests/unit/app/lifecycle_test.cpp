#include "app/lifecycle.h"

#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <string>
#include <vector>

namespace pc::app {
namespace {

using std::chrono::milliseconds;

TEST(Lifecycle, StopsInReverseOrderOfStartDrainingEachFirst) {
  std::vector<std::string> events;
  Lifecycle life;
  for (std::string name : {"loops", "pools", "connections"})
    life.start({name, [&events, name](milliseconds) { events.push_back("drain " + name); },
                [&events, name] { events.push_back("stop " + name); }},
               [&events, name] { events.push_back("start " + name); });
  EXPECT_EQ(life.names(), (std::vector<std::string>{"loops", "pools", "connections"}));
  life.shutdown(milliseconds(100));
  EXPECT_EQ(events, (std::vector<std::string>{"start loops", "start pools", "start connections", "drain connections",
                                              "stop connections", "drain pools", "stop pools", "drain loops",
                                              "stop loops"}));
  life.shutdown(milliseconds(100));  // idempotent
  EXPECT_EQ(events.size(), 9u);
}

TEST(Lifecycle, AFailedStartIsNotRecordedAndTheEarlierOnesStillStop) {
  std::vector<std::string> events;
  {
    Lifecycle life;
    life.start({"first", {}, [&] { events.push_back("stop first"); }});
    EXPECT_THROW(life.start({"second", {}, [&] { events.push_back("stop second"); }},
                            [] { throw std::runtime_error("cannot start"); }),
                 std::runtime_error);
  }  // the destructor stops what started
  EXPECT_EQ(events, (std::vector<std::string>{"stop first"}));
}

TEST(Lifecycle, OneDrainDeadlineIsSharedAndAThrowingStopDoesNotSkipTheRest) {
  std::vector<milliseconds> lefts;
  bool first_stopped = false;
  Lifecycle life;
  life.start({"first", [&](milliseconds left) { lefts.push_back(left); }, [&] { first_stopped = true; }});
  life.start({"second",
              [&](milliseconds left) {
                lefts.push_back(left);
                std::this_thread::sleep_for(milliseconds(60));
              },
              [] { throw std::runtime_error("stop failed"); }});
  life.shutdown(milliseconds(200));
  ASSERT_EQ(lefts.size(), 2u);
  EXPECT_LE(lefts[0], milliseconds(200));
  EXPECT_LE(lefts[1], lefts[0] - milliseconds(50));  // the second drain got what the first left
  EXPECT_TRUE(first_stopped);
}

}  // namespace
}  // namespace pc::app
