#include "a2a/protocol.h"

namespace pc::a2a {

std::string_view version_name(Version v) { return v == Version::v0_3 ? "0.3" : "1.0"; }

std::string_view kind_name(Kind k) {
  switch (k) {
    case Kind::send: return "send";
    case Kind::stream: return "stream";
    case Kind::get_task: return "get_task";
    case Kind::list_tasks: return "list_tasks";
    case Kind::cancel_task: return "cancel_task";
    case Kind::subscribe: return "subscribe";
    case Kind::push_set: return "push_set";
    case Kind::push_get: return "push_get";
    case Kind::push_list: return "push_list";
    case Kind::push_delete: return "push_delete";
    case Kind::extended_card: return "extended_card";
  }
  return "unknown";
}

bool is_streaming(Kind k) { return k == Kind::stream || k == Kind::subscribe; }

}  // namespace pc::a2a
