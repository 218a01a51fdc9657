// What the gateway reads from an A2A answer without changing it (docs/a2a.md "Tenancy"): the task
// and context ids it reveals (to bind them to the caller before the client sees them), the task's
// state (operators' metadata) and whether a stream is over. Both versions' shapes:
//   1.0: {"task":{id,contextId,status:{state:"TASK_STATE_WORKING"}}}, {"message":{…}},
//        {"statusUpdate":{taskId,contextId,status}}, {"artifactUpdate":{taskId,contextId}}, or a
//        bare Task (REST GetTask/CancelTask);
//   0.3: objects with "kind": "task" | "message" | "status-update" (final) | "artifact-update";
//        0.3 REST's proto JSON {"task"}|{"msg"}|{"statusUpdate"}|{"artifactUpdate"};
// each possibly inside a JSON-RPC envelope {"jsonrpc","id","result"|"error"}.
// And an incremental SSE parser for relayed streams, bounded per event. Owner: "proxy". Pure.
#pragma once

#include <boost/json/value.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pc::a2a {

struct Observation {
  bool rpc_error = false;   // a JSON-RPC error envelope (or a REST error body)
  std::string shape;        // "task" | "message" | "status" | "artifact" | "" (none recognised)
  std::string task_id;
  std::string context_id;
  std::string state;        // normalised: submitted working input-required auth-required completed
                            // canceled failed rejected unknown ("" when the object has none)
  bool final = false;       // a terminal or interrupted state, or 0.3's final flag
};

// Reads one answer or event (a JSON-RPC response or a bare result).
Observation observe(const boost::json::value& v);
// "TASK_STATE_INPUT_REQUIRED" / "input-required" → "input-required"; "TASK_STATE_CANCELLED" →
// "canceled"; unknown spellings → "unknown".
std::string normalize_state(std::string_view s);
// completed canceled failed rejected (terminal) and input-required auth-required (interrupted):
// a stream ends after such a state.
bool ends_stream(std::string_view normalized_state);

// Incremental text/event-stream parser (WHATWG "event stream interpretation", simplified to what
// A2A servers send): feeds arbitrary pieces, yields complete events with their raw bytes (relayed
// verbatim) and their data. An event larger than `max_event_bytes` is an error (the stream is cut).
class SseParser {
 public:
  struct Event {
    std::string raw;    // the event's bytes up to and including its blank line
    std::string name;   // "event:" field ("" = message)
    std::string data;   // "data:" lines joined with '\n'
    bool comment_only = false;  // only ':' comments (keep-alives): relayed, not parsed
  };
  explicit SseParser(std::size_t max_event_bytes = 4u << 20) : max_(max_event_bytes) {}
  // Appends the events completed by `piece` to `out`; false when an event exceeds the bound.
  bool feed(std::string_view piece, std::vector<Event>& out);
  // Bytes of an incomplete event held.
  std::size_t pending() const { return buf_.size(); }

 private:
  void take(std::string_view block, std::vector<Event>& out);
  std::size_t max_;
  std::string buf_;
  std::size_t scanned_ = 0;  // buf_ bytes already searched for a blank line
};

}  // namespace pc::a2a
