// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence a JSON value signs as, so a
// signer and a verifier that parsed and re-serialized it agree (A2A 1.0 §8.4 agent card
// signatures, a2a/card.h). Pure, no I/O.
//
//  - object members sorted by their names' UTF-16 code units (not UTF-8 bytes: they differ
//    above U+FFFF, e.g. an emoji sorts before U+FB33);
//  - strings as ECMAScript JSON.stringify writes them: \b \f \n \r \t \" \\ escaped, other
//    controls as \u00xx (lower-case hex), everything else as literal UTF-8;
//  - numbers as IEEE 754 doubles written the ECMAScript Number.prototype.toString way (shortest
//    round-trip digits; plain notation for 1e-7 ≤ |x| < 1e21, else d.ddde±x; -0 is "0"). An
//    integer beyond 2^53 is written as the double it rounds to, as a JavaScript verifier would.
#pragma once

#include <boost/json/value.hpp>
#include <stdexcept>
#include <string>

namespace pc::a2a {

// Thrown for a value that has no canonical form: a string or name that is not valid UTF-8.
struct JcsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string jcs(const boost::json::value& v);
// One number, as JCS (and ECMAScript) writes it.
std::string jcs_number(double d);

}  // namespace pc::a2a
