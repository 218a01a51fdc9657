#include "core/log.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "core/json_text.h"

namespace pc::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<bool> g_json{true};
std::shared_ptr<spdlog::logger> g_logger;
std::once_flag g_once;

std::shared_ptr<spdlog::logger>& logger() {
  std::call_once(g_once, [] {
    // A bounded queue that blocks when full: losing log lines silently is worse than a stall
    // the metrics would show. One background thread does all terminal/disk writes.
    spdlog::init_thread_pool(65536, 1);
    auto sink = std::make_shared<spdlog::sinks::stdout_sink_mt>();
    g_logger = std::make_shared<spdlog::async_logger>("portcullis", sink, spdlog::thread_pool(),
                                                      spdlog::async_overflow_policy::block);
    g_logger->set_pattern("%v");
    g_logger->set_level(spdlog::level::trace);
    g_logger->flush_on(spdlog::level::warn);
  });
  return g_logger;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "info";
}

void append_time(std::string& out) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = time_point_cast<seconds>(now);
  auto ms = duration_cast<milliseconds>(now - secs).count();
  std::time_t t = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  out += buf;
}

// Strings are quoted and escaped in JSON, written as they are in text; other values alike in both.
void append_value(std::string& out, const Field::Value& value, bool json) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (json) core::append_json_string(out, v);
          else out += v;
        } else if constexpr (std::is_same_v<T, bool>) {
          out += v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, double>) {
          out += fmt::format("{}", v);
        } else {
          out += std::to_string(v);
        }
      },
      value);
}

}  // namespace

bool parse_level(std::string_view t, Level& out) {
  static constexpr std::pair<std::string_view, Level> names[] = {
      {"trace", Level::trace}, {"debug", Level::debug}, {"info", Level::info},
      {"warn", Level::warn},   {"error", Level::error}, {"off", Level::off}};
  for (auto& [n, l] : names)
    if (n == t) {
      out = l;
      return true;
    }
  return false;
}

void init(std::string_view level, std::string_view format) {
  Level l = Level::info;
  parse_level(level, l);
  g_level.store(l);
  g_json.store(format != "text");
  logger();
}

bool enabled(Level level) { return level >= g_level.load(std::memory_order_relaxed) && level != Level::off; }

void flush() { logger()->flush(); }

std::string format_line(Level level, std::string_view msg, Fields fields, bool json) {
  std::string out;
  out.reserve(160);
  if (json) {
    out += "{\"ts\":\"";
    append_time(out);
    out += "\",\"level\":\"";
    out += level_name(level);
    out += "\",\"msg\":";
    core::append_json_string(out, msg);
    for (const auto& f : fields) {
      out += ',';
      core::append_json_string(out, f.key);
      out += ':';
      append_value(out, f.value, true);
    }
    out += '}';
  } else {
    append_time(out);
    out += ' ';
    out += level_name(level);
    out += ' ';
    out += msg;
    for (const auto& f : fields) {
      out += ' ';
      out += f.key;
      out += '=';
      append_value(out, f.value, false);
    }
  }
  return out;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  logger()->log(spdlog::level::info, format_line(level, msg, fields, g_json.load(std::memory_order_relaxed)));
}

void raw(std::string_view text) { logger()->log(spdlog::level::info, text); }

}  // namespace pc::log
