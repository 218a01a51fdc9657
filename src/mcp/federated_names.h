// Names across federated servers (PLAN10.md, docs/mcp.md): a tool (or prompt) keeps its own name
// when no other server the caller may use offers the same one; otherwise every clashing copy is
// shown as `<server>__<name>`. Server names follow the tenant-id rule, so "__" never occurs in
// them, and the first "__" of an exposed name ends the server part. A name of the form
// `<one of the caller's servers>__<x>` offered bare by some server would read as the prefixed
// form of another tool, so it is prefixed too: every exposed name resolves to exactly one tool.
//
// And the cursors of federated lists: the gateway pages the merged list itself (clashes are only
// known once every server answered), and the cursor says where the next page starts — a server
// and a position within that server's items — bound to the list method and the client's session
// and authenticated (HMAC-SHA256), so a client can neither forge one nor carry one to another
// session. On use the federation also checks that the server it names is still one the caller
// may use.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pc::mcp {

inline constexpr std::string_view kNameSeparator = "__";

// One item as its server offers it.
struct OfferedName {
  std::string server;  // the server's name
  std::string name;    // the item's name at the server
};

// The exposed name of each item, in the same order.
std::vector<std::string> exposed_names(const std::vector<OfferedName>& items);

// Which item an exposed name means, among `items` (what the caller's servers offer): the index,
// or nullopt when the name is absent or ambiguous (a bare name offered by two servers).
std::optional<std::size_t> resolve_exposed(std::string_view exposed, const std::vector<OfferedName>& items);

// "<server>__<name>" split at the first separator; nullopt without one.
std::optional<OfferedName> split_prefixed(std::string_view exposed);

struct ListPosition {
  std::string method;      // "tools/list", …
  std::string session;     // the client's Mcp-Session-Id
  std::string server_key;  // ServerKey of the server the next page starts in
  std::size_t index = 0;   // items of that server already shown
};

class CursorCodec {
 public:
  // `key`: at least 32 bytes; every node sharing sessions must use the same one.
  explicit CursorCodec(std::string key);
  std::string encode(const ListPosition& pos) const;
  // nullopt when the cursor is malformed, forged, or made for another method or session.
  std::optional<ListPosition> decode(std::string_view cursor, std::string_view method, std::string_view session) const;

 private:
  std::string mac(std::string_view payload) const;
  std::string key_;
};

}  // namespace pc::mcp
