// The seam between the MCP transport (area "transport": POST/GET/DELETE /mcp, JSON-RPC framing,
// Mcp-Session-Id, protocol versions, streams) and the federation (area "federation": the
// upstream servers, listing, calling, interceptors, relaying). The transport parses and checks;
// the federation decides and calls upstreams. Owner: "federation" (additive changes only: the
// transport builds against it).
#pragma once

#include <boost/json/object.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace pc::auth {
struct Principal;
}

namespace pc::mcp {

// Who calls: taken from the verified token and the tenant record, never from the message.
struct McpCaller {
  std::shared_ptr<const auth::Principal> principal;  // sub, tenant, client, roles, scopes, act chain
  std::string tenant;
  std::string tier;
  std::string request_id;
};

// The client's MCP session, bound to tenant and principal (subject and client). Stored by the
// transport (store-backed, so any node resumes it); the federation keeps its per-server state in
// `upstream` (key: the server's tenant ("" for a global) + "/" + name; value: the upstream's
// Mcp-Session-Id and negotiated version as the federation encodes them) and persists a change
// with SessionState::set_upstream.
struct McpSession {
  std::string id;
  std::string tenant;
  std::string subject;
  std::string client;
  std::string protocol_version;             // negotiated at initialize
  boost::json::object client_capabilities;  // from initialize: sampling, elicitation, roots
  boost::json::object client_info;
  std::map<std::string, std::string> upstream;
  std::int64_t created_at = 0;  // unix ms
};

class SessionState {
 public:
  virtual ~SessionState() = default;
  // Records (or, with an empty value, forgets) the federation's state for one upstream server.
  virtual void set_upstream(const std::string& session_id, const std::string& key, const std::string& value) = 0;
};

// How the federation talks back to the client while one request (or the GET stream) is open.
// Thread-safe; calls after the end are dropped.
class Outbox {
 public:
  virtual ~Outbox() = default;
  // A notification (progress, logging, list_changed) or a server→client request (sampling,
  // elicitation, roots/list) for this client. For a POST: sent ahead of the answer when the
  // client accepts text/event-stream (else dropped, except requests, which go to the GET stream).
  virtual void send(boost::json::object message) = 0;
  // The final JSON-RPC response of the request (result or error). Exactly once for a request;
  // never for the GET stream.
  virtual void answer(boost::json::object message) = 0;
  // a server→client request (sampling, elicitation,
  // roots/list). False when it cannot reach the client (no event stream for this POST and no GET
  // stream open): the federation then answers the upstream with an error at once instead of
  // letting it wait for an answer that will never come. The default sends and assumes delivery.
  virtual bool send_request(boost::json::object message) {
    send(std::move(message));
    return true;
  }
};

class Federation {
 public:
  virtual ~Federation() = default;
  // The gateway's own initialize result fields (capabilities, serverInfo, instructions) for this
  // caller: the transport adds protocolVersion and answers.
  virtual boost::json::object initialize_result(const McpCaller& caller, const McpSession& session) = 0;
  // A JSON-RPC request other than initialize (tools/list, tools/call, resources/*, prompts/*,
  // completion/complete, ping, logging/setLevel): answered through out->answer exactly once.
  virtual void request(const McpCaller& caller, const McpSession& session, boost::json::object message,
                       std::shared_ptr<Outbox> out) = 0;
  // A notification from the client (notifications/initialized, notifications/cancelled,
  // notifications/roots/list_changed, …): forwarded where it belongs; no answer.
  virtual void notification(const McpCaller& caller, const McpSession& session, boost::json::object message) = 0;
  // A JSON-RPC response from the client to a server→client request the federation sent (ids are
  // the federation's own): routed back to the upstream that asked.
  virtual void client_response(const McpCaller& caller, const McpSession& session, boost::json::object message) = 0;
  // The client opened its GET stream: server-initiated messages for this session go to `stream`
  // until it closes (the transport calls stream_closed).
  virtual void stream_opened(const McpCaller& caller, const McpSession& session, std::shared_ptr<Outbox> stream) = 0;
  virtual void stream_closed(const McpSession& session) = 0;
  // The session ended (DELETE, idle expiry): upstream sessions are ended too (best effort).
  virtual void session_ended(const McpSession& session) = 0;
};

}  // namespace pc::mcp
