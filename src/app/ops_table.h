// Human output of `portcullis ops`: API answers (JSON) rendered as aligned text tables, one row
// per item, and single objects as aligned "key: value" lines. Pure functions over
// boost::json values, so the rendering is unit-tested without a gateway.
//
// What is printed comes from the API, i.e. partly from tenants (display names, descriptions):
// control characters are escaped (\xNN) so a crafted name cannot move the cursor or rewrite the
// operator's terminal, and widths are counted in code points so multi-byte names stay aligned.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace pc::app::ops {

// One table column: its header and where its value is. `paths` are tried in order (the first
// present and non-null wins); "usage.latencyMs" descends into nested objects. Several paths let
// a column survive a field being named differently by two routes (timestamp vs createdAt).
struct Column {
  std::string header;
  std::vector<std::string> paths;
};

// The value at a dotted path, nullptr when a step is missing or not an object.
const boost::json::value* lookup(const boost::json::value& root, std::string_view dotted);

// A value as one cell: strings as they are, integers plainly, doubles with up to 6 significant
// digits (never an exponent for ordinary rates), booleans as yes/no, null or absent as "-",
// arrays of scalars joined with ",", other arrays and objects as compact JSON. Always escaped
// (see sanitize) and on one line.
std::string cell_text(const boost::json::value* v);

// Escapes control characters (C0, DEL) and invalid UTF-8 as \xNN; everything else unchanged.
std::string sanitize(std::string_view text);

// True when `text` is well-formed UTF-8 (RFC 3629).
bool valid_utf8(std::string_view text);

// Terminal columns of sanitized text: one per code point (wide East Asian characters are not
// special-cased).
std::size_t display_width(std::string_view utf8);

// A table: a header row, then one row per item, columns separated by two spaces and padded to
// the widest cell; the last column is not padded (no trailing blanks). An empty list prints
// "(none)" on its own line instead of a lonely header.
std::string render_table(const boost::json::array& rows, const std::vector<Column>& columns);

// An object as "key:  value" lines in the API's field order, keys padded to the longest one.
// `skip` names fields rendered elsewhere (e.g. an agent's versions, shown as a table).
std::string render_record(const boost::json::object& obj, const std::vector<std::string>& skip = {});

}  // namespace pc::app::ops
