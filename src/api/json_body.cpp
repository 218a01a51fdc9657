#include "api/json_body.h"

#include <boost/json.hpp>

namespace pc::api {

std::variant<boost::json::object, net::Response> json_object_body(const net::Request& req,
                                                                  std::initializer_list<std::string_view> known) {
  auto bad = [&](std::string msg) { return net::error_response(400, "invalid_request", msg, req.request_id); };
  boost::json::parse_options opts;
  opts.max_depth = 16;
  boost::system::error_code ec;
  boost::json::value v = boost::json::parse(req.body, ec, {}, opts);
  if (ec) return bad("the body is not valid JSON");
  if (!v.is_object()) return bad("the body must be a JSON object");
  for (const auto& kv : v.get_object())
    if (std::find(known.begin(), known.end(), std::string_view(kv.key())) == known.end())
      return bad("unknown field '" + std::string(kv.key()) + "'");
  return std::move(v.get_object());
}

std::optional<std::string> string_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_string()) throw BadField{std::string(name) + " must be a string"};
  return std::string(v->get_string());
}

std::optional<std::vector<std::string>> strings_field(const boost::json::object& o, std::string_view name) {
  const auto* v = o.if_contains(name);
  if (!v || v->is_null()) return std::nullopt;
  if (!v->is_array()) throw BadField{std::string(name) + " must be an array of strings"};
  std::vector<std::string> out;
  for (const auto& x : v->get_array()) {
    if (!x.is_string()) throw BadField{std::string(name) + " must be an array of strings"};
    out.emplace_back(x.get_string());
  }
  return out;
}

}  // namespace pc::api
