// Request bodies that must be one JSON object: parsed with size and depth limits, and checked
// against the fields a route knows, so a typo in a field name is an error, not a silent no-op.
#pragma once

#include <initializer_list>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>

#include "net/http.h"

namespace pc::api {

// The object, or the 400 answer (invalid JSON, not an object, too deep, a duplicate member name,
// an unknown field). Bodies are already bounded by server.limits.max_body_bytes.
std::variant<boost::json::object, net::Response> json_object_body(const net::Request& req,
                                                                  std::initializer_list<std::string_view> known_fields);

// Field readers: nullopt when absent or null; throws BadField when present with the wrong type.
struct BadField : std::runtime_error {
  using std::runtime_error::runtime_error;
};
std::optional<std::string> string_field(const boost::json::object& o, std::string_view name);
std::optional<std::vector<std::string>> strings_field(const boost::json::object& o, std::string_view name);
std::optional<bool> bool_field(const boost::json::object& o, std::string_view name);
std::optional<std::int64_t> int_field(const boost::json::object& o, std::string_view name);

}  // namespace pc::api
