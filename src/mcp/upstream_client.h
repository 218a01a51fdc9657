// An MCP client over net::call_upstream (Streamable HTTP, MCP 2025-06-18 / 2025-11-25): the
// gateway's side of its sessions with upstream MCP servers. Stateless itself: the caller (the
// federation) keeps each upstream session's state (UpstreamSession, persisted in
// McpSession::upstream so another node resumes it) and passes it in.
//
//   initialize: POST initialize (Accept: application/json, text/event-stream), keep the
//     Mcp-Session-Id and the negotiated version, then POST notifications/initialized.
//   request:    POST one JSON-RPC request; the answer is JSON or an event stream whose earlier
//     messages (progress, logging, server→client requests) go to on_message as they arrive.
//     A 404 on a request that carried a session id means the upstream session expired
//     (error "session_expired": the caller re-initializes once).
//   notify:     POST a notification (202 expected) — notifications/cancelled, client answers.
//   end:        DELETE the upstream session (best effort).
//   listen:     GET the stream of server-initiated messages (streaming mode, no idle timeout).
//
// Credentials are computed by the caller (act-on-behalf token or vault secret) and passed as
// headers: the client's own token is never forwarded. No Beast/Asio here.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mcp/server.h"
#include "net/http.h"
#include "net/upstream_call.h"

namespace pc::mcp {

// The gateway's session with one upstream server, for one client session.
struct UpstreamSession {
  std::string session_id;         // the upstream's Mcp-Session-Id ("" when it issued none)
  std::string protocol_version;   // as the upstream negotiated it
  boost::json::object capabilities;  // the upstream's initialize result capabilities
};

// The text kept in McpSession::upstream, and back (nullopt: unreadable, re-initialize).
std::string encode_upstream_session(const UpstreamSession& s);
std::optional<UpstreamSession> decode_upstream_session(std::string_view text);

// Where and how to reach one server for one call.
struct UpstreamTarget {
  ServerEntry server;
  std::vector<net::Header> auth_headers;  // credentials the federation computed
  std::chrono::milliseconds timeout{30000};  // to the head, and between two reads of the body
  // The whole request at most (0: none): an event stream that keeps sending (keep-alives,
  // progress) cannot hold a list or a call past it. Error "upstream_timeout".
  std::chrono::milliseconds deadline{0};
  std::size_t max_bytes = 4u << 20;
  std::string ca_file;
};

struct UpstreamResult {
  std::optional<boost::json::object> response;  // the JSON-RPC response (result or error)
  // "" when `response` is set; else a short reason for logs and health (never upstream text):
  // upstream_unavailable, upstream_timeout, upstream_bad_response, upstream_broken, cancelled,
  // http_<status>, session_expired, unauthorized, content_type, too_large, bad_json, no_response.
  std::string error;
};

using MessageSink = std::function<void(boost::json::object)>;

class UpstreamClient {
 public:
  struct Options {
    std::string client_name = "portcullis";
    std::string client_version = "0";
    std::string protocol_version = "2025-06-18";  // asked for at initialize
  };
  explicit UpstreamClient(Options options) : options_(std::move(options)) {}

  // initialize + notifications/initialized. `client_capabilities`: what the gateway offers the
  // upstream on its client's behalf (sampling, elicitation, roots when the client has them).
  void initialize(const UpstreamTarget& target, const std::string& protocol_version,
                  boost::json::object client_capabilities,
                  std::function<void(std::optional<UpstreamSession>, std::string error)> done) const;

  // One request (`message` carries jsonrpc, id, method, params). Returns a handle that cancels it.
  std::shared_ptr<net::UpstreamCallHandle> request(const UpstreamTarget& target, const UpstreamSession& session,
                                                   boost::json::object message, MessageSink on_message,
                                                   std::function<void(UpstreamResult)> done) const;

  // One notification or client response; done(ok): the upstream accepted it (2xx).
  void notify(const UpstreamTarget& target, const UpstreamSession& session, boost::json::object message,
              std::function<void(bool ok)> done) const;

  void end(const UpstreamTarget& target, const UpstreamSession& session) const;

  // The GET stream: messages to on_message until it ends (on_end) or the handle cancels it.
  std::shared_ptr<net::UpstreamCallHandle> listen(const UpstreamTarget& target, const UpstreamSession& session,
                                                  MessageSink on_message, std::function<void()> on_end) const;

  const Options& options() const { return options_; }

 private:
  net::UpstreamCall base_call(const UpstreamTarget& target, const UpstreamSession* session) const;
  Options options_;
};

// The first header `name` of a reply (case-insensitive), or null.
const std::string* reply_header(const net::UpstreamReply& reply, std::string_view name);

}  // namespace pc::mcp
