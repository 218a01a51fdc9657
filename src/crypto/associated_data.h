// The associated data (AAD) that binds each sealed value to what it is and where it lives.
//
// crypto::seal authenticates its `aad` without storing it: whoever opens a value must name the
// same context again. If the context of a row is its identity (tenant, table, row, column), a
// ciphertext copied into another row, another tenant or another column fails to open instead of
// being read as that row's data. For this to hold, two different contexts must never produce
// the same AAD string, so every field is length-prefixed (a netstring, "<decimal length>:<bytes>,")
// rather than joined with a separator that a field could itself contain: with "|" as separator,
// ("a|b", "c") and ("a", "b|c") would collide. Each kind of AAD also starts with its own label
// ("row:", "data-key:"), so a row's AAD can never equal a wrapped key's.
//
// Every AAD format the gateway uses lives here, so the code that writes a value and the code
// that re-wraps or reads it (possibly in another layer) cannot drift apart.
#pragma once

#include <string>
#include <string_view>

namespace pc::crypto {

// Appends `field` to `out` as a netstring: its decimal byte length, ':', the bytes, ','.
void append_length_prefixed(std::string& out, std::string_view field);

// "row:" + the four fields length-prefixed: the AAD of a value stored in `column` of the row
// `row_id` of `table`, owned by `tenant_id` ("platform" for platform rows).
std::string row_aad(std::string_view tenant_id, std::string_view table, std::string_view row_id,
                    std::string_view column);

// "data-key:" + tenant, class and decimal version, length-prefixed: the AAD under which the
// master key wraps one data key (store::DataKeyRecord::wrapped).
std::string data_key_aad(std::string_view tenant_id, std::string_view data_class, int version);

// "signing-key:" + kid: the AAD under which the master key seals a token-signing key's private
// half (store::SigningKeyRecord::private_sealed). Not length-prefixed, for compatibility with the
// rows sealed before this file existed; a kid is a single field, so nothing can be ambiguous.
std::string signing_key_aad(std::string_view kid);

}  // namespace pc::crypto
