// The reference MCP server used by the demo and the tests (`portcullis example-tools`): Streamable
// HTTP (MCP 2025-06-18 and 2025-11-25) on POST /mcp, every answer application/json, with the tools
// echo {text}, add {a, b}, lookup_customer {id} (its answer carries an e-mail address, a phone
// number, a Luhn-valid test card number and an IBAN, for the gateway's redaction to find) and
// slow {ms}. With a gateway URL it accepts only act-on-behalf tokens that gateway minted for its
// own URL (auth/act_on_behalf.h), verified with the gateway's JWKS, answers 401 otherwise, and
// each tool result names the caller the token described (sub, act, tenantid) so tests can see it.
#pragma once

#include <memory>
#include <string>

namespace pc::examples {

struct ExampleToolsOptions {
  std::string listen = "127.0.0.1:0";  // "host:port"; port 0 picks one
  std::string name = "example-tools";  // serverInfo.name
  // Its own URL, the audience act-on-behalf tokens must name. Empty: "http://<listen address>/mcp"
  // once bound (so with port 0, the port actually picked).
  std::string url;
  // The gateway's base URL. Empty: no token is required (any caller is answered).
  std::string gateway;
  std::string issuer;      // the gateway's issuer when it differs from its URL (tokens.issuer)
  std::string gateway_ca;  // PEM trust anchors for an https gateway; empty = the system store
};

class ExampleTools {
 public:
  // Listens with one I/O thread of its own (and a thread for the blocking JWKS fetches).
  explicit ExampleTools(ExampleToolsOptions options);
  ~ExampleTools();
  ExampleTools(const ExampleTools&) = delete;
  ExampleTools& operator=(const ExampleTools&) = delete;

  std::string address() const;  // "127.0.0.1:PORT"
  std::string url() const;      // the MCP endpoint URL, the audience its tokens must name
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::examples
