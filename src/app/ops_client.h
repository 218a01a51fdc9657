// The Admin REST API as `portcullis ops` reaches it (SPEC §2: the API, never the database):
// where the credentials come from, one client_credentials token per run, the calls, and the
// mapping of every failure to a one-line message and an exit code.
//
// Blocking (net::fetch): a CLI process, one call at a time.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pc::app::ops {

// A failure the CLI reports as one line and an exit code: 2 for usage and configuration (bad
// flags, an unreadable credentials file), 1 for everything that went wrong at run time.
class Failure : public std::runtime_error {
 public:
  Failure(int exit_code, const std::string& message) : std::runtime_error(message), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

inline Failure usage_error(const std::string& m) { return Failure(2, m); }
inline Failure run_error(const std::string& m) { return Failure(1, m); }

// A non-2xx answer of an API route; what() is the one-line message (see format_api_error).
class ApiError : public Failure {
 public:
  ApiError(int status, std::string code, const std::string& message)
      : Failure(1, message), status_(status), code_(std::move(code)) {}
  int status() const { return status_; }
  const std::string& code() const { return code_; }

 private:
  int status_;
  std::string code_;
};

struct Credentials {
  std::string client_id;
  std::string client_secret;
  std::string token_url;
};

// Where `ops` gets its identity, in order of precedence: --client-id/--client-secret (the
// secret may come from $PORTCULLIS_CLIENT_SECRET instead of the command line, which shell
// history keeps), --credentials FILE, or <data_dir>/bootstrap-admin.json with data_dir from
// --config (default ./var).
struct CredentialSource {
  std::string config_path;
  std::string credentials_file;
  std::string client_id;
  std::string client_secret;
  std::string token_url;  // overrides the file's token_url
  std::string url;        // the gateway; also the default token_url's origin
};

// Resolves the source into credentials and the gateway's base URL (no trailing slash). Usage
// and configuration problems throw Failure(2).
std::pair<Credentials, std::string> resolve_credentials(const CredentialSource& src);

// Parses a bootstrap-admin.json-shaped document; throws Failure(2) naming `origin`.
Credentials parse_credentials_file(std::string_view text, const std::string& origin);

// "https://gw.example:8443" from "https://gw.example:8443/oauth2/token"; nullopt when the URL
// has no scheme://authority.
std::optional<std::string> url_origin(std::string_view url);

// RFC 6749 §2.3.1: client id and secret each application/x-www-form-urlencoded, joined by ':',
// base64 (with padding). The whole header value, "Basic …".
std::string basic_authorization(std::string_view client_id, std::string_view client_secret);

// application/x-www-form-urlencoded (unreserved kept, space as '+', the rest %XX).
std::string form_urlencode(std::string_view s);
// A path segment: everything outside RFC 3986 unreserved is %XX (so "/" in a name cannot
// reach another route).
std::string path_segment(std::string_view s);
// "?a=1&b=x" from the pairs whose value is non-empty; "" when none.
std::string query_string(const std::vector<std::pair<std::string, std::string>>& params);

// The SPEC §5 error body {"error":{"code","message","requestId"}}; nullopt for any other shape.
struct ApiErrorBody {
  std::string code;
  std::string message;
  std::string request_id;
};
std::optional<ApiErrorBody> parse_api_error(std::string_view body);

// The one-line message of a failed API call: "<message> (<code>, request <requestId>)" from the
// SPEC error body; when the body is not that shape, "HTTP <status> from <what>" with the
// X-Request-Id header when there is one.
std::string format_api_error(int status, std::string_view body, std::string_view header_request_id,
                             std::string_view what);

// A filter time: RFC 3339 passes through; "<n>m", "<n>h" or "<n>d" means that long before
// `now` (as RFC 3339 UTC). Anything else throws Failure(2).
std::string resolve_time(std::string_view text, std::chrono::system_clock::time_point now);

struct Reply {
  int status = 0;
  std::string body;        // as received
  boost::json::value json;  // parsed body; null when the body is empty
};

struct ClientSettings {
  Credentials credentials;
  std::string base_url;
  std::string ca_file;
  std::chrono::milliseconds timeout{30000};
};

class OpsClient {
 public:
  explicit OpsClient(ClientSettings s);

  // One call; `path` starts with '/' and carries its query. A 2xx answer is returned (its JSON
  // parsed unless `raw`); anything else throws ApiError, an unreachable gateway Failure(1).
  Reply call(std::string_view method, const std::string& path, const boost::json::value* body = nullptr);
  // Same, but the body is returned unparsed (NDJSON export) and may be up to max_bytes long.
  Reply call_raw(std::string_view method, const std::string& path, std::size_t max_bytes,
                 std::chrono::milliseconds timeout);

 private:
  const std::string& token();
  Reply send(std::string_view method, const std::string& path, const std::string* json_body, bool raw,
             std::size_t max_bytes, std::chrono::milliseconds timeout);

  ClientSettings s_;
  std::string token_;  // never printed or logged
};

}  // namespace pc::app::ops
