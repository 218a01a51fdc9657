// The example agent's A2A side (docs/a2a.md): what `portcullis example-agent` answers besides the
// invocation contract, so the demo and the tests have an A2A runtime that is not the SDK's.
//
//   GET  /.well-known/agent-card.json  the A2A 1.0 card: one JSONRPC interface at <base>/a2a,
//                                      capabilities.streaming true
//   GET  /.well-known/agent.json       the same card in the 0.3 shape (url, preferredTransport)
//   POST /a2a                          JSON-RPC 2.0: SendMessage, SendStreamingMessage, GetTask,
//                                      CancelTask (1.0 shapes) and message/send, message/stream,
//                                      tasks/get, tasks/cancel (0.3 shapes, `kind` discriminators)
//
// It echoes: a message becomes a completed task whose one artifact ("echo") holds the message's
// text. A stream shows the task submitted, then working, the text as artifact chunks (one per
// word, at most kMaxChunks), then completed. Knobs in the message's `metadata`:
//   "hold": true        the task stays working (no artifact) until CancelTask or a next message
//                       naming it (which completes it with that message's echo); a held stream
//                       stays open until then (at most kMaxHoldMs)
//   "intervalMs": N     pause between stream events (default 20, at most 10000)
// Every task's `metadata` says what the agent learned about the call (verified identity claims,
// session id, A2A-Version), as the invocation output does; never a token. A task created with a
// verified identity answers only callers of that identity's tenant (another tenant's id is
// TaskNotFound): defence in depth behind the gateway's own task bindings.
//
// Pure: no I/O, no Beast. The HTTP side (identity check first, writing, stream pacing) is in
// example_agent.cpp. Tasks live in memory, at most `max_tasks` (the oldest go first).
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json.hpp>

namespace pc::examples {

class ExampleA2a {
 public:
  static constexpr std::string_view kJsonRpcPath = "/a2a";
  static constexpr std::string_view kCardPath = "/.well-known/agent-card.json";
  static constexpr std::string_view kLegacyCardPath = "/.well-known/agent.json";
  static constexpr std::size_t kMaxChunks = 32;
  static constexpr std::int64_t kMaxHoldMs = 60000;

  explicit ExampleA2a(std::string agent_name, std::size_t max_tasks = 1000);

  // The cards, with interface URLs under `base_url` ("http://host:port", as the caller reached us).
  std::string card_v1(std::string_view base_url) const;
  std::string card_v03(std::string_view base_url) const;

  // What the call learned about its caller, copied into each new task's metadata.
  struct Caller {
    std::optional<boost::json::object> identity;  // verified claims (already reduced to a view)
    std::string session_id;
    std::string a2a_version;  // the A2A-Version header as received ("" when absent)
    std::string request_id;
  };

  // One server-sent event of a stream, due `delay` after the previous one. `task` is the task as
  // the event leaves it (committed when the event is sent, so GetTask follows the stream).
  struct StreamEvent {
    std::chrono::milliseconds delay{0};
    boost::json::object task;  // snapshot (1.0 shape) to commit
    std::string data;          // the JSON-RPC response text for `data:`
  };

  struct Reply {
    std::string body;                 // buffered answer (always HTTP 200: JSON-RPC errors included)
    bool stream = false;              // true: answer text/event-stream with `events`
    std::vector<StreamEvent> events;  // stream only
    bool hold = false;                // stream only: after the events, wait for cancel/next message
    std::string task_id;              // stream only
    boost::json::value rpc_id;        // stream only
    bool legacy = false;              // 0.3 shapes
    std::chrono::milliseconds interval{20};
  };

  // A POST to kJsonRpcPath. Never throws on bad input: a JSON-RPC error reply.
  Reply handle(std::string_view body, const Caller& caller);

  // A stream event is due: commits its snapshot unless the task was canceled (or completed by a
  // next message) since the stream was planned; then returns that final event instead and `last`.
  struct Emit {
    std::string data;
    bool last = false;
  };
  Emit emit(const Reply& reply, const StreamEvent& ev);
  // A held stream's check: once its task left `working`, the event that says so (last).
  std::optional<std::string> poll_held(const Reply& reply);
  // A held stream gave up (kMaxHoldMs): the task fails; the event that says so.
  std::string give_up(const Reply& reply);

  std::size_t task_count() const;

 private:
  struct Stored {
    boost::json::object task;  // 1.0 shape
  };
  boost::json::value dispatch(const std::string& method, const boost::json::object& params,
                              const boost::json::value& id, const Caller& caller, Reply& reply);
  void put(boost::json::object task);                     // locked by caller
  boost::json::object* find(const std::string& task_id);  // locked by caller

  const std::string name_;
  const std::size_t max_tasks_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Stored> tasks_;
  std::deque<std::string> order_;  // creation order, for eviction
};

// The 0.3 JSON shape of a 1.0 task / stream result (kind discriminators, lower-case states and
// roles, parts with `kind`). Exposed for tests.
boost::json::object a2a_task_to_v03(const boost::json::object& task);

}  // namespace pc::examples
