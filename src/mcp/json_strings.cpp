#include "mcp/json_strings.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <vector>

namespace pc::mcp {
namespace json = boost::json;

namespace {

// One explicit stack for both walks: (value, depth of the container holding it).
template <class Value, class OnString, class OnKey>
void walk(Value& root, std::size_t max_depth, OnString on_string, OnKey on_key) {
  std::vector<std::pair<Value*, std::size_t>> stack;
  stack.emplace_back(&root, 0);
  while (!stack.empty()) {
    auto [v, depth] = stack.back();
    stack.pop_back();
    switch (v->kind()) {
      case json::kind::string:
        on_string(*v);
        break;
      case json::kind::array: {
        if (depth >= max_depth) throw JsonTooDeep();
        auto& a = v->get_array();
        // Pushed in reverse so that strings are visited in document order.
        for (auto it = a.end(); it != a.begin();) {
          --it;
          stack.emplace_back(&*it, depth + 1);
        }
        break;
      }
      case json::kind::object: {
        if (depth >= max_depth) throw JsonTooDeep();
        auto& o = v->get_object();
        for (auto it = o.end(); it != o.begin();) {
          --it;
          on_key(it->key());
          stack.emplace_back(&it->value(), depth + 1);
        }
        break;
      }
      default:
        break;
    }
  }
}

}  // namespace

void for_each_string(json::value& v, const std::function<void(json::string&)>& fn, std::size_t max_depth) {
  walk(v, max_depth, [&](json::value& s) { fn(s.get_string()); }, [](std::string_view) {});
}

void for_each_string(const json::value& v, const std::function<void(std::string_view)>& fn, bool include_keys,
                     std::size_t max_depth) {
  walk(v, max_depth, [&](const json::value& s) { fn(s.get_string()); },
       [&](std::string_view k) {
         if (include_keys) fn(k);
       });
}

}  // namespace pc::mcp
