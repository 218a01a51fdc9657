#include "core/log.h"
#include "core/thread_priority.h"

#include <spdlog/async.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "core/json_text.h"
#include "core/metrics.h"

namespace pc::log {
namespace {

std::atomic<Level> g_level{Level::info};
std::atomic<bool> g_json{true};
std::shared_ptr<spdlog::details::thread_pool> g_pool;
std::shared_ptr<spdlog::logger> g_logger;
std::once_flag g_once;
std::atomic<std::size_t> g_overruns_seen{0};

core::Counter& dropped_lines() {
  static core::Counter& c = core::metrics()
                                .counter("portcullis_log_lines_dropped_total",
                                         "Log lines dropped because the log queue was full (the writer fell behind)")
                                .get();
  return c;
}

// A bounded queue that never blocks the caller: when the terminal or disk falls behind, the
// oldest queued lines are dropped and counted (portcullis_log_lines_dropped_total). Blocking
// would stall every I/O thread behind a slow log reader. One background thread does the writes.
void make_logger(std::shared_ptr<spdlog::sinks::sink> sink, std::size_t queue_lines) {
  // Its thread writes to the terminal or a pipe: below the I/O threads (core/thread_priority.h).
  g_pool = std::make_shared<spdlog::details::thread_pool>(queue_lines, 1, [] {
    core::name_this_thread("log-writer");
    core::lower_this_thread_priority(core::kMaintenanceNice);
  });
  g_logger = std::make_shared<spdlog::async_logger>("portcullis", std::move(sink), g_pool,
                                                    spdlog::async_overflow_policy::overrun_oldest);
  g_logger->set_pattern("%v");
  g_logger->set_level(spdlog::level::trace);
  g_logger->flush_on(spdlog::level::warn);
  g_overruns_seen.store(0);
}

std::shared_ptr<spdlog::logger>& logger() {
  std::call_once(g_once, [] {
    if (!g_logger) make_logger(std::make_shared<spdlog::sinks::stdout_sink_mt>(), 65536);
  });
  return g_logger;
}

spdlog::level::level_enum spdlog_level(Level l) {
  switch (l) {
    case Level::trace: return spdlog::level::trace;
    case Level::debug: return spdlog::level::debug;
    case Level::info: return spdlog::level::info;
    case Level::warn: return spdlog::level::warn;
    case Level::error: return spdlog::level::err;
    case Level::off: return spdlog::level::off;
  }
  return spdlog::level::info;
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

// Text for the text format: control characters (CR and LF above all) are escaped, so a value
// can never end the line and forge another one; a value with a space, '=' or '"' is quoted
// (logfmt), so it cannot forge another field either.
void append_text(std::string& out, std::string_view v, bool quote_if_needed) {
  static constexpr char hex[] = "0123456789abcdef";
  const bool quote = quote_if_needed && (v.empty() || v.find_first_of(" =\"") != std::string_view::npos);
  if (quote) out += '"';
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c == '\n') out += "\\n";
    else if (c == '\r') out += "\\r";
    else if (c == '\t') out += "\\t";
    else if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
    } else if (quote && (c == '"' || c == '\\')) {
      out += '\\';
      out += ch;
    } else {
      out += ch;
    }
  }
  if (quote) out += '"';
}

// Strings are quoted and escaped in JSON, escaped (and quoted when needed) in text; other values
// alike in both.
void append_value(std::string& out, const Field::Value& value, bool json) {
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string_view>) {
          if (json) core::append_json_string(out, v);
          else append_text(out, v, true);
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

// Brings portcullis_log_lines_dropped_total up to the queue's own overrun count. Reading it takes
// the queue's lock, so it is done every so many lines rather than on each.
void count_dropped() {
  const std::size_t total = g_pool ? g_pool->overrun_counter() : 0;
  std::size_t seen = g_overruns_seen.load();
  while (total > seen) {
    if (g_overruns_seen.compare_exchange_weak(seen, total)) {
      dropped_lines().inc(static_cast<double>(total - seen));
      return;
    }
  }
}

void flush() {
  logger()->flush();
  count_dropped();
}

std::uint64_t dropped() {
  count_dropped();
  return static_cast<std::uint64_t>(dropped_lines().value());
}

void use_sink_for_testing(std::shared_ptr<spdlog::sinks::sink> sink, std::size_t queue_lines) {
  logger();  // the default is made once; this replaces it (single-threaded test setup only)
  make_logger(std::move(sink), queue_lines);
}

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
    append_text(out, msg, false);
    for (const auto& f : fields) {
      out += ' ';
      append_text(out, f.key, false);
      out += '=';
      append_value(out, f.value, false);
    }
  }
  return out;
}

void write(Level level, std::string_view msg, Fields fields) {
  if (!enabled(level)) return;
  // At the line's own level, so warn and error lines are flushed at once (flush_on).
  logger()->log(spdlog_level(level), format_line(level, msg, fields, g_json.load(std::memory_order_relaxed)));
  thread_local unsigned lines = 0;
  if (++lines % 64 == 0 || level >= Level::warn) count_dropped();
}

void raw(std::string_view text) { logger()->log(spdlog::level::info, text); }

}  // namespace pc::log
