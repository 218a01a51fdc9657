// Structured logging: one JSON object per line (or a readable text line), written through an
// asynchronous spdlog logger so the I/O threads never wait on the terminal or disk: when the
// queue is full the oldest lines are dropped and counted (portcullis_log_lines_dropped_total).
// Callers pass fields, never whole headers: secrets have no way in unless a caller puts one there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace spdlog::sinks {
class sink;
}

namespace pc::log {

enum class Level { trace, debug, info, warn, error, off };

struct Field {
  using Value = std::variant<std::string_view, std::int64_t, double, bool>;
  std::string_view key;
  Value value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, bool v) : key(k), value(v) {}
  Field(std::string_view k, double v) : key(k), value(v) {}
  template <typename I>
    requires std::is_integral_v<I>
  Field(std::string_view k, I v) : key(k), value(static_cast<std::int64_t>(v)) {}
};

using Fields = std::initializer_list<Field>;

// Configures the process logger. Safe to call again (SIGHUP) to change level and format.
void init(std::string_view level, std::string_view format);
bool parse_level(std::string_view text, Level& out);
bool enabled(Level level);
void flush();

void write(Level level, std::string_view msg, Fields fields);
inline void trace(std::string_view msg, Fields f = {}) { write(Level::trace, msg, f); }
inline void debug(std::string_view msg, Fields f = {}) { write(Level::debug, msg, f); }
inline void info(std::string_view msg, Fields f = {}) { write(Level::info, msg, f); }
inline void warn(std::string_view msg, Fields f = {}) { write(Level::warn, msg, f); }
inline void error(std::string_view msg, Fields f = {}) { write(Level::error, msg, f); }

// Writes text as it is (no level, no JSON) through the same queue as the log lines, so it keeps
// its place among them. For the demo banner meant for people; never for request data.
void raw(std::string_view text);

// Lines dropped so far because the queue was full (also portcullis_log_lines_dropped_total).
std::uint64_t dropped();

// Tests: writes go to `sink` through a queue of `queue_lines`. Not for concurrent use with writes.
void use_sink_for_testing(std::shared_ptr<spdlog::sinks::sink> sink, std::size_t queue_lines);

// Renders one log line without writing it (used by write, and by tests).
std::string format_line(Level level, std::string_view msg, Fields fields, bool json);

}  // namespace pc::log
