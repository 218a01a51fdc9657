#include "api/json_body.h"

#include <boost/json.hpp>

#include "jose/jws.h"

namespace pc::api {

std::variant<boost::json::object, net::Response> json_object_body(const net::Request& req,
                                                                  std::initializer_list<std::string_view> known) {
  auto bad = [&](std::string msg) { return net::error_response(400, "invalid_request", msg, req.request_id); };
  boost::json::object o;
  try {
    // The JOSE layer's strict parser: bounded depth and no duplicate member names, which a
    // last-wins parser would let two readers of the same body disagree on.
    o = jose::parse_json_object_strict(req.body);
  } catch (const std::exception&) {
    return bad("the body must be one JSON object without duplicate member names");
  }
  for (const auto& kv : o)
    if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end())
      return bad("unknown field '" + std::string(kv.key()) + "'");
  return o;
}

std::optional<std::string> string_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) throw BadField(std::string(name) + " must be a string");
  return std::string(v->get_string());
}

std::optional<std::vector<std::string>> strings_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) throw BadField(std::string(name) + " must be an array of strings");
  std::vector<std::string> out;
  for (const auto& x : v->get_array()) {
    if (!x.is_string()) throw BadField(std::string(name) + " must be an array of strings");
    out.emplace_back(x.get_string());
  }
  return out;
}

std::optional<bool> bool_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_bool()) throw BadField(std::string(name) + " must be true or false");
  return v->get_bool();
}

std::optional<std::int64_t> int_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64() && v->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(v->get_uint64());
  throw BadField(std::string(name) + " must be an integer");
}

}  // namespace pc::api
