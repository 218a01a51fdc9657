// The reference agent runtime used by the demo and the tests: it speaks the invocation contract
// (docs/agent-runtime-contract.md: POST /invocations answering JSON or server-sent events, GET
// /ping), echoes what it got so tests can see exactly what the gateway forwarded, and has knobs
// (inside `input`) to misbehave on demand. With a gateway URL it verifies X-Portcullis-Identity
// against that gateway's JWKS and refuses calls without a valid one, and it can call other agents
// through the gateway (docs/agent-identity.md). It also serves A2A (example_a2a.h: card, JSON-RPC
// 1.0 and 0.3), checking the identity the same way, for the agent named `a2a_name`.
#pragma once

#include <memory>
#include <string>

namespace pc::examples {

struct ExampleAgentOptions {
  std::string listen = "127.0.0.1:0";  // "host:port"; port 0 picks one
  std::string name = "echo";           // its agent name: identity tokens must say aud "agent:<name>"
  // The gateway's base URL. Empty: identity is NOT checked (any caller is answered) and the
  // `call` knob is refused — only for benchmarks and tests of the raw proxy.
  std::string gateway;
  std::string issuer;      // the gateway's issuer when it differs from its URL (tokens.issuer)
  std::string gateway_ca;  // PEM trust anchors for an https gateway; empty = the system store
  // The agent name its A2A endpoint is registered as (identity tokens on /a2a must say aud
  // "agent:<a2a_name>"). Empty: `name`. One process can so serve an `http` agent and an `a2a`
  // agent of different names, as the demo's `echo` and `echo-a2a`.
  std::string a2a_name;
};

class ExampleAgent {
 public:
  // Listens with one I/O thread of its own (and a few threads for blocking calls to the gateway).
  explicit ExampleAgent(const std::string& listen);
  explicit ExampleAgent(ExampleAgentOptions options);
  ~ExampleAgent();
  std::string address() const;  // "127.0.0.1:PORT"
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::examples
