// libFuzzer target: what an A2A client sends (a2a/protocol.cpp: JSON-RPC bodies and REST
// method + path + query + body) and what a runtime streams back (a2a/observe.cpp: the SSE parser
// fed in two pieces, each event observed). Invariants: never a crash; a parsed JSON-RPC
// operation names a task for every task operation; a refusal carries an A2A/JSON-RPC code; the
// parser's events re-assemble into exactly the bytes fed (minus the incomplete tail).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "a2a/observe.h"
#include "a2a/protocol.h"
#include "mcp/jsonrpc.h"

using namespace pc::a2a;

namespace {
bool names_task(Kind k) {
  return k == Kind::get_task || k == Kind::cancel_task || k == Kind::subscribe || k == Kind::push_set ||
         k == Kind::push_get || k == Kind::push_list || k == Kind::push_delete;
}
void check(const std::variant<Operation, ProtocolError>& r) {
  if (auto* op = std::get_if<Operation>(&r)) {
    if (names_task(op->kind) && op->task_id.empty()) __builtin_trap();
    if (!op->params.is_object()) __builtin_trap();
  } else {
    const auto& e = std::get<ProtocolError>(r);
    if (e.code > -32000 && e.code != kMethodNotFound) {
      if (e.code < -32700 || e.code > -32600) __builtin_trap();
    }
  }
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string v10 = "1.0";
  check(parse_jsonrpc(text, &v10));
  check(parse_jsonrpc(text, nullptr));
  // REST: the first line is "METHOD path?query", the rest the body.
  const std::size_t nl = text.find('\n');
  std::string_view line = text.substr(0, nl), body = nl == std::string_view::npos ? "" : text.substr(nl + 1);
  const std::size_t sp = line.find(' ');
  std::string_view method = line.substr(0, sp), target = sp == std::string_view::npos ? "/" : line.substr(sp + 1);
  const std::size_t q = target.find('?');
  check(parse_rest(method, target.substr(0, q), q == std::string_view::npos ? "" : target.substr(q + 1), body, &v10));
  // SSE: fed in two pieces; every complete event observed.
  SseParser p(4096);
  std::vector<SseParser::Event> evs;
  const std::size_t cut = size ? data[0] % (size + 1) : 0;
  if (p.feed(text.substr(0, cut), evs) && p.feed(text.substr(cut), evs)) {
    std::string joined;
    for (const auto& ev : evs) joined += ev.raw;
    if (joined.size() + p.pending() != size || text.substr(0, joined.size()) != joined) __builtin_trap();
  }
  for (const auto& ev : evs) {
    std::string why;
    if (auto v = pc::mcp::jsonrpc::parse_bounded(ev.data, {}, why)) {
      Observation o = observe(*v);
      if (o.final && o.shape.empty() && o.state.empty()) __builtin_trap();
    }
  }
  return 0;
}
