#include "core/log.h"

#include <gtest/gtest.h>

#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/json.hpp>

namespace pc::log {
namespace {

TEST(LogFormat, JsonLineIsValidJsonWithTypedFields) {
  auto line = format_line(Level::warn, "upstream \"failed\"\n",
                          {{"request_id", "abc"}, {"status", 502}, {"ms", 1.5}, {"retry", false}}, true);
  auto v = boost::json::parse(line);
  const auto& o = v.as_object();
  EXPECT_EQ(o.at("level").as_string(), "warn");
  EXPECT_EQ(o.at("msg").as_string(), "upstream \"failed\"\n");
  EXPECT_EQ(o.at("request_id").as_string(), "abc");
  EXPECT_EQ(o.at("status").as_int64(), 502);
  EXPECT_DOUBLE_EQ(o.at("ms").as_double(), 1.5);
  EXPECT_EQ(o.at("retry").as_bool(), false);
  EXPECT_EQ(o.at("ts").as_string().size(), 24u);  // 2026-11-22T04:39:01.953Z
  EXPECT_EQ(line.find('\n'), std::string::npos) << "one event, one line";
}

TEST(LogFormat, ControlCharactersAndBadUtf8CannotBreakTheLine) {
  auto line = format_line(Level::info, "m", {{"path", std::string_view("/a\r\n{\"forged\":1}\x01\xff", 18)}}, true);
  EXPECT_EQ(line.find('\n'), std::string::npos);
  EXPECT_EQ(line.find('\r'), std::string::npos);
  auto v = boost::json::parse(line);
  EXPECT_FALSE(v.as_object().contains("forged"));
}

TEST(LogFormat, TextLineHasLevelMessageAndFields) {
  auto line = format_line(Level::error, "boom", {{"key", "server.listen"}, {"n", 3}}, false);
  EXPECT_NE(line.find(" error boom key=server.listen n=3"), std::string::npos) << line;
}

// Issue 8 item 19: the text format must not let a value forge a line or a field.
TEST(LogFormat, TextValuesCannotInjectLinesOrFields) {
  auto line = format_line(Level::info, "m\nforged",
                          {{"path", std::string("/a\r\n2026-01-01T00:00:00.000Z error forged x=1\x01")},
                           {"agent", "a b=c\"d"},
                           {"empty", ""}},
                          false);
  EXPECT_EQ(line.find('\n'), std::string::npos) << line;
  EXPECT_EQ(line.find('\r'), std::string::npos) << line;
  EXPECT_EQ(line.find('\x01'), std::string::npos) << line;
  EXPECT_NE(line.find(" info m\\nforged "), std::string::npos) << line;
  EXPECT_NE(line.find(R"(path="/a\r\n2026-01-01T00:00:00.000Z error forged x=1\x01")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(agent="a b=c\"d")"), std::string::npos) << line;
  EXPECT_NE(line.find(R"(empty="")"), std::string::npos) << line;
}

// A sink that records each line with its level, and can be held shut like a stalled terminal.
class HeldSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  void open() {
    std::lock_guard l(gate_mu_);
    open_ = true;
    gate_.notify_all();
  }
  std::vector<std::pair<spdlog::level::level_enum, std::string>> lines() {
    std::lock_guard l(lines_mu_);
    return lines_;
  }
  int flushes() const { return flushes_.load(); }

 protected:
  void sink_it_(const spdlog::details::log_msg& m) override {
    {
      std::unique_lock l(gate_mu_);
      gate_.wait(l, [&] { return open_; });
    }
    std::lock_guard l(lines_mu_);
    lines_.emplace_back(m.level, std::string(m.payload.data(), m.payload.size()));
  }
  void flush_() override { ++flushes_; }

 private:
  std::mutex gate_mu_;
  std::condition_variable gate_;
  bool open_ = false;
  std::mutex lines_mu_;
  std::vector<std::pair<spdlog::level::level_enum, std::string>> lines_;
  std::atomic<int> flushes_{0};
};

// Issue 8 item 19: each line is written at its own level (warn and error are flushed at once),
// and a stalled writer makes lines drop and be counted instead of blocking the caller.
TEST(LogWriter, LinesKeepTheirLevelAndAFullQueueDropsInsteadOfBlocking) {
  auto sink = std::make_shared<HeldSink>();
  use_sink_for_testing(sink, 16);
  init("debug", "json");
  const std::uint64_t dropped_before = dropped();

  std::atomic<bool> finished{false};
  std::thread writer([&] {
    for (int i = 0; i < 2000; ++i) info("line", {{"i", i}});
    finished = true;
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!finished && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool blocked = !finished;
  sink->open();  // let a blocked writer (the old behaviour) finish, then judge
  writer.join();
  EXPECT_FALSE(blocked) << "log writes blocked on a full queue";
  flush();
  EXPECT_GE(dropped() - dropped_before, 2000u - 16u - 1u);

  // An async logger's flush does not wait: wait for the queue to drain (the count settles).
  auto settled = [&] {
    std::size_t n = sink->lines().size();
    for (int i = 0; i < 100; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const std::size_t m = sink->lines().size();
      if (m == n && i > 2) break;
      n = m;
    }
    return sink->lines();
  };
  const std::size_t before = settled().size();
  const int flushes_before = sink->flushes();
  debug("d");
  warn("w");
  error("e");
  auto lines = settled();
  ASSERT_EQ(lines.size(), before + 3);
  EXPECT_EQ(lines[before].first, spdlog::level::debug);
  EXPECT_EQ(lines[before + 1].first, spdlog::level::warn);
  EXPECT_EQ(lines[before + 2].first, spdlog::level::err);
  EXPECT_GE(sink->flushes() - flushes_before, 2) << "warn and error lines are flushed as they are written";

  init("info", "json");
  debug("not written");
  EXPECT_EQ(settled().size(), before + 3);
}

TEST(LogLevel, ParsesKnownNamesOnly) {
  Level l = Level::info;
  EXPECT_TRUE(parse_level("debug", l));
  EXPECT_EQ(l, Level::debug);
  EXPECT_TRUE(parse_level("off", l));
  EXPECT_EQ(l, Level::off);
  EXPECT_FALSE(parse_level("verbose", l));
  EXPECT_FALSE(parse_level("INFO", l));
}

}  // namespace
}  // namespace pc::log
