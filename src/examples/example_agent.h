// The reference agent runtime used by the demo and the tests: it speaks the invocation contract
// (POST /invocations answering JSON or server-sent events, GET /ping) and echoes what it got, so
// tests can see exactly what the gateway forwarded.
#pragma once

#include <memory>
#include <string>

namespace pc::examples {

class ExampleAgent {
 public:
  // Listens on `listen` ("127.0.0.1:0" picks a port) with one thread of its own.
  explicit ExampleAgent(const std::string& listen);
  ~ExampleAgent();
  std::string address() const;  // "127.0.0.1:PORT"
  void stop();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pc::examples
