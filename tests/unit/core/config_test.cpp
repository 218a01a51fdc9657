#include "core/config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace pc::core {
namespace {

std::string dump(const ConfigResult& r) {
  std::string out;
  for (const auto& e : r.errors) out += "  " + e.to_string() + "\n";
  return out.empty() ? "  (no errors)\n" : out;
}

// Passes when some error sits at exactly `path` and its message contains `fragment`.
testing::AssertionResult HasError(const ConfigResult& r, const std::string& path,
                                  const std::string& fragment) {
  for (const auto& e : r.errors)
    if (e.path == path && e.message.find(fragment) != std::string::npos)
      return testing::AssertionSuccess();
  return testing::AssertionFailure() << "no error at '" << path << "' containing '" << fragment
                                     << "'; got:\n"
                                     << dump(r);
}

testing::AssertionResult IsValid(const ConfigResult& r) {
  if (r.errors.empty() && r.config) return testing::AssertionSuccess();
  return testing::AssertionFailure() << "expected a valid config; got:\n" << dump(r);
}

// A file in the test temp dir, removed when the test ends.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    std::string templ = testing::TempDir() + "pc_config_test_XXXXXX";
    int fd = ::mkstemp(templ.data());
    EXPECT_GE(fd, 0);
    ::close(fd);
    path_ = templ;
    std::ofstream(path_) << content;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Sets (or unsets) an environment variable for one test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      ::unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// ---------------------------------------------------------------------------------------------
// Defaults

TEST(ConfigDefaults, EmptyInputsGiveTheDefaultConfig) {
  for (const char* text : {"", "\n", "# only a comment\n", "---\n", "--- {}\n", "{}"}) {
    ConfigResult r = parse_config(text);
    ASSERT_TRUE(IsValid(r)) << "input: '" << text << "'";
    EXPECT_EQ(*r.config, Config{}) << "input: '" << text << "'";
  }
}

TEST(ConfigDefaults, MatchTheSpec) {
  const Config c = *parse_config("").config;
  EXPECT_EQ(c.data_dir, "./var");
  EXPECT_EQ(c.server.listen, "127.0.0.1:8080");
  EXPECT_FALSE(c.server.tls.enabled());
  EXPECT_EQ(c.server.tls.min_version, "1.2");
  EXPECT_EQ(c.server.threads, 0u);
  EXPECT_EQ(c.server.limits.max_header_bytes, 16384u);
  EXPECT_EQ(c.server.limits.max_body_bytes, 1048576u);
  EXPECT_EQ(c.server.limits.max_connections, 10000u);
  EXPECT_EQ(c.server.limits.header_timeout_ms, 10000u);
  EXPECT_EQ(c.server.limits.idle_timeout_ms, 60000u);
  EXPECT_EQ(c.storage.backend, "sqlite");
  EXPECT_TRUE(c.cluster.redis_url.empty());
  EXPECT_TRUE(c.issuers.empty());
  ASSERT_EQ(c.tiers.size(), 3u);
  EXPECT_EQ(c.tiers.at("basic"), (TierConfig{10, 100, 1000, 0, 0, 0, 20, 1000}));
  EXPECT_EQ(c.tiers.at("standard"), (TierConfig{50, 500, 10000, 1, 0, 0, 100, 10000}));
  EXPECT_EQ(c.tiers.at("premium"), (TierConfig{500, 2000, 0, 2, 0, 0, 500, 0}));
  EXPECT_EQ(c.retention.invocation_content_days, 90u);
  EXPECT_EQ(c.retention.audit_years, 7u);
  EXPECT_EQ(c.retention.sessions_hours, 24u);
  EXPECT_EQ(c.redaction.builtin.size(), 10u);  // the SPEC's eight + private_key, api_key (redact, issue 10)
  EXPECT_EQ(c.log.level, "info");
  EXPECT_EQ(c.log.format, "json");
  EXPECT_TRUE(c.log.access);
}

TEST(ConfigDefaults, NullValuesKeepTheDefault) {
  ConfigResult r = parse_config("server:\n  threads:\n  limits: ~\nlog:\n  level: null\n");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(*r.config, Config{});
}

TEST(ConfigDefaults, DerivedPathsFollowDataDir) {
  Config c;
  EXPECT_EQ(c.sqlite_path(), "./var/portcullis.db");
  EXPECT_EQ(c.master_key_path(), "./var/master.key");
  c.data_dir = "/srv/portcullis/";
  EXPECT_EQ(c.sqlite_path(), "/srv/portcullis/portcullis.db");
  EXPECT_EQ(c.master_key_path(), "/srv/portcullis/master.key");
  c.storage.sqlite_path = "/db/pc.db";
  c.keys.master_key_file = "/run/secrets/kek";
  EXPECT_EQ(c.sqlite_path(), "/db/pc.db");
  EXPECT_EQ(c.master_key_path(), "/run/secrets/kek");
}

TEST(ConfigExample, ShippedExampleLoadsAndHoldsTheDefaults) {
  ConfigResult r = load_config_file(PORTCULLIS_SOURCE_DIR "/examples/portcullis.yaml");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(*r.config, Config{}) << "examples/portcullis.yaml must show every key at its default";
}

// ---------------------------------------------------------------------------------------------
// Reading values

TEST(ConfigParse, ReadsEverySection) {
  TempFile cert("cert"), key("key");
  ConfigResult r = parse_config(R"(
data_dir: /srv/pc
server:
  listen: "[::1]:0"
  tls: { cert_file: )" + cert.path() + R"(, key_file: )" + key.path() + R"(, min_version: "1.3" }
  threads: 4
  limits: { max_header_bytes: 1024, max_body_bytes: 1073741824, max_connections: 1,
            header_timeout_ms: 1, idle_timeout_ms: 2, body_timeout_ms: 3 }
  upstream: { connect_timeout_ms: 4, response_timeout_ms: 5, pool_idle_timeout_ms: 6,
              pool_max_idle_per_host: 0 }
  drain_timeout_ms: 7
  metrics_public: false
storage: { backend: postgres, sqlite: { path: /db/x.db }, postgres: { url: "postgresql://u@db/pc" } }
cluster: { redis: { url: "rediss://cache:6380" } }
keys: { master_key_file: /run/kek }
issuers:
  - name: corp
    issuer: https://idp.example.com/tenant
    discovery: false
    jwks_uri: https://idp.example.com/keys
    audiences: [ "api://portcullis", other ]
    allowed_clients: [ cli ]
    algorithms: [ PS384, EdDSA ]
    leeway_seconds: 0
    claims: { tenant: tid, app: azp, roles: groups, email: upn, name: display_name }
tiers:
  gold: { rps: 0.5, burst: 1, daily_quota: 18446744073709551615, rank: 3 }
retention: { invocation_content_days: 1, audit_years: 2, sessions_hours: 3 }
redaction: { builtin: [ jwt ], custom: [ { name: ticket, pattern: "TCK-[0-9]+" } ] }
log: { level: "off", format: text, access: False }
)");
  ASSERT_TRUE(IsValid(r));
  const Config& c = *r.config;
  EXPECT_EQ(c.data_dir, "/srv/pc");
  EXPECT_EQ(c.server.listen, "[::1]:0");
  EXPECT_EQ(c.server.tls.cert_file, cert.path());
  EXPECT_EQ(c.server.tls.key_file, key.path());
  EXPECT_EQ(c.server.tls.min_version, "1.3");
  EXPECT_EQ(c.server.threads, 4u);
  EXPECT_EQ(c.server.limits, (LimitsConfig{1024, 1073741824, 1, 1, 2, 3}));
  EXPECT_EQ(c.server.upstream, (UpstreamConfig{4, 5, 6, 0}));
  EXPECT_EQ(c.server.drain_timeout_ms, 7u);
  EXPECT_FALSE(c.server.metrics_public);
  EXPECT_EQ(c.storage.backend, "postgres");
  EXPECT_EQ(c.storage.sqlite_path, "/db/x.db");
  EXPECT_EQ(c.storage.postgres_url, "postgresql://u@db/pc");
  EXPECT_EQ(c.cluster.redis_url, "rediss://cache:6380");
  EXPECT_EQ(c.keys.master_key_file, "/run/kek");
  ASSERT_EQ(c.issuers.size(), 1u);
  const IssuerConfig& i = c.issuers[0];
  EXPECT_EQ(i.name, "corp");
  EXPECT_EQ(i.issuer, "https://idp.example.com/tenant");
  EXPECT_FALSE(i.discovery);
  EXPECT_EQ(i.jwks_uri, "https://idp.example.com/keys");
  EXPECT_EQ(i.audiences, (std::vector<std::string>{"api://portcullis", "other"}));
  EXPECT_EQ(i.allowed_clients, (std::vector<std::string>{"cli"}));
  EXPECT_EQ(i.algorithms, (std::vector<std::string>{"PS384", "EdDSA"}));
  EXPECT_EQ(i.leeway_seconds, 0u);
  EXPECT_EQ(i.claims, (IssuerClaimsConfig{"tid", "azp", "groups", "upn", "display_name"}));
  EXPECT_EQ(c.tiers.at("gold"), (TierConfig{0.5, 1, 18446744073709551615u, 3}));
  EXPECT_EQ(c.retention, (RetentionConfig{1, 2, 3}));
  EXPECT_EQ(c.redaction.builtin, (std::vector<std::string>{"jwt"}));
  ASSERT_EQ(c.redaction.custom.size(), 1u);
  EXPECT_EQ(c.redaction.custom[0], (CustomRedaction{"ticket", "TCK-[0-9]+"}));
  EXPECT_EQ(c.log, (LogConfig{"off", "text", false}));
}

// the detectors added with the redactor are accepted.
TEST(ConfigParse, AcceptsTheRedactorsNewKinds) {
  ConfigResult r = parse_config("redaction: { builtin: [ip_address, private_key, api_key] }");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->redaction.builtin, (std::vector<std::string>{"ip_address", "private_key", "api_key"}));
  EXPECT_TRUE(inactive_key_notices(*r.config).empty());
}

TEST(ConfigParse, AcceptsListenAddressForms) {
  for (const char* listen : {"127.0.0.1:8080", "0.0.0.0:65535", "[::]:0", "[::1]:443",
                             "localhost:1", "gateway-1.internal.example:8443"}) {
    EXPECT_TRUE(IsValid(parse_config(std::string("server: { listen: \"") + listen + "\" }")))
        << listen;
  }
}

TEST(ConfigParse, AllowsPlainHttpIssuersOnlyOnLoopback) {
  for (const char* url : {"http://localhost:9000", "http://LOCALHOST/realm", "http://127.0.0.1",
                          "http://127.8.9.10:1234/x", "http://[::1]:8080/"}) {
    std::string yaml = std::string("issuers: [ { name: dev, issuer: \"") + url +
                       "\", audiences: [a], discovery: false, jwks_uri: \"" + url + "\" } ]";
    EXPECT_TRUE(IsValid(parse_config(yaml))) << url;
  }
}

TEST(ConfigParse, ErrorToStringJoinsPathAndMessage) {
  EXPECT_EQ((ConfigError{"server.threads", "must be a non-negative integer"}).to_string(),
            "server.threads: must be a non-negative integer");
  EXPECT_EQ((ConfigError{"", "invalid YAML"}).to_string(), "invalid YAML");
}

// ---------------------------------------------------------------------------------------------
// One table row per validation rule: the YAML, the key path of the error, a message fragment.

struct InvalidCase {
  const char* name;
  const char* yaml;
  const char* path;
  const char* fragment;
};

void PrintTo(const InvalidCase& c, std::ostream* os) { *os << c.name; }

class ConfigInvalid : public testing::TestWithParam<InvalidCase> {};

TEST_P(ConfigInvalid, ReportsPathAndMessage) {
  const InvalidCase& c = GetParam();
  ConfigResult r = parse_config(c.yaml);
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(HasError(r, c.path, c.fragment)) << "yaml:\n" << c.yaml;
}

const InvalidCase kInvalidCases[] = {
    // Document shape and types.
    {"RootIsAList", "- a\n- b\n", "", "the configuration must be a YAML mapping"},
    {"RootIsAScalar", "hello", "", "the configuration must be a YAML mapping"},
    {"SectionIsAScalar", "server: 5", "server", "must be a mapping"},
    {"StringIsAList", "data_dir: [a]", "data_dir", "must be a string"},
    {"DataDirEmpty", "data_dir: ''", "data_dir", "must not be empty"},
    {"DuplicateKey", "log: { level: info, level: warn }", "log.level", "duplicate key"},
    {"TwoDocuments", "log: {}\n---\nlog: {}\n", "", "single YAML document"},
    // yaml-cpp's LoadAll never returned on this (fuzz/config_fuzz.cpp found it).
    {"EndlessEmptyDocuments", ",s\n  l%sten:`\":0\"\nl;og:\n x", "", "single YAML document"},
    // server.listen
    {"ListenWithoutPort", "server: { listen: localhost }", "server.listen", "host:port"},
    {"ListenBareIpv6", "server: { listen: '::1:8080' }", "server.listen", "host:port"},
    {"ListenPortTooBig", "server: { listen: '127.0.0.1:65536' }", "server.listen",
     "between 0 and 65535"},
    {"ListenPortNotNumber", "server: { listen: 'localhost:http' }", "server.listen",
     "between 0 and 65535"},
    {"ListenBadIpv6", "server: { listen: '[nothex]:80' }", "server.listen", "host must be"},
    {"ListenBadIpv4", "server: { listen: '999.0.0.1:80' }", "server.listen", "host must be"},
    {"ListenBadHostname", "server: { listen: '-bad-.example:80' }", "server.listen",
     "host must be"},
    {"ListenEmptyHost", "server: { listen: ':8080' }", "server.listen", "host must be"},
    // server.threads
    {"ThreadsNegative", "server: { threads: -1 }", "server.threads",
     "must be a non-negative integer"},
    {"ThreadsWord", "server: { threads: four }", "server.threads",
     "must be a non-negative integer"},
    {"ThreadsFraction", "server: { threads: 1.5 }", "server.threads",
     "must be a non-negative integer"},
    {"ThreadsList", "server: { threads: [1] }", "server.threads",
     "must be a non-negative integer"},
    {"ThreadsTooMany", "server: { threads: 257 }", "server.threads", "between 0 and 256"},
    {"ThreadsOverflow", "server: { threads: 99999999999999999999999 }", "server.threads",
     "between 0 and 256"},
    // server.limits
    {"HeaderBytesTooSmall", "server: { limits: { max_header_bytes: 1023 } }",
     "server.limits.max_header_bytes", "between 1024 and 1048576"},
    {"HeaderBytesTooBig", "server: { limits: { max_header_bytes: 1048577 } }",
     "server.limits.max_header_bytes", "between 1024 and 1048576"},
    {"BodyBytesZero", "server: { limits: { max_body_bytes: 0 } }", "server.limits.max_body_bytes",
     "between 1 and 1073741824"},
    {"BodyBytesTooBig", "server: { limits: { max_body_bytes: 1073741825 } }",
     "server.limits.max_body_bytes", "between 1 and 1073741824"},
    {"ConnectionsZero", "server: { limits: { max_connections: 0 } }",
     "server.limits.max_connections", "at least 1"},
    {"HeaderTimeoutZero", "server: { limits: { header_timeout_ms: 0 } }",
     "server.limits.header_timeout_ms", "at least 1"},
    {"HeaderTimeoutOverflow", "server: { limits: { header_timeout_ms: 4294967296 } }",
     "server.limits.header_timeout_ms", "at most 4294967295"},
    {"IdleTimeoutZero", "server: { limits: { idle_timeout_ms: 0 } }",
     "server.limits.idle_timeout_ms", "at least 1"},
    {"BodyTimeoutZero", "server: { limits: { body_timeout_ms: 0 } }",
     "server.limits.body_timeout_ms", "at least 1"},
    // server.upstream and the rest of server
    {"ConnectTimeoutZero", "server: { upstream: { connect_timeout_ms: 0 } }",
     "server.upstream.connect_timeout_ms", "at least 1"},
    {"ResponseTimeoutZero", "server: { upstream: { response_timeout_ms: 0 } }",
     "server.upstream.response_timeout_ms", "at least 1"},
    {"PoolIdleTimeoutZero", "server: { upstream: { pool_idle_timeout_ms: 0 } }",
     "server.upstream.pool_idle_timeout_ms", "at least 1"},
    {"PoolMaxIdleNegative", "server: { upstream: { pool_max_idle_per_host: -5 } }",
     "server.upstream.pool_max_idle_per_host", "non-negative integer"},
    {"DrainTimeoutZero", "server: { drain_timeout_ms: 0 }", "server.drain_timeout_ms",
     "at least 1"},
    {"MetricsPublicNotBool", "server: { metrics_public: maybe }", "server.metrics_public",
     "must be true or false"},
    // server.tls (file-backed cases are in ConfigTls)
    {"TlsCertMissingFile", "server: { tls: { cert_file: /nonexistent/cert.pem } }",
     "server.tls.cert_file", "cannot read /nonexistent/cert.pem"},
    {"TlsOldVersion", "server: { tls: { min_version: '1.1' } }", "server.tls.min_version",
     "must be one of: 1.2, 1.3"},
    // storage and cluster
    {"BackendUnknown", "storage: { backend: mysql }", "storage.backend",
     "must be one of: sqlite, postgres"},
    {"PostgresWithoutUrl", "storage: { backend: postgres }", "storage.postgres.url",
     "required when storage.backend is postgres"},
    {"PostgresBadScheme", "storage: { postgres: { url: 'mysql://db' } }", "storage.postgres.url",
     "must start with postgres:// or postgresql://"},
    {"RedisBadScheme", "cluster: { redis: { url: 'http://cache:6379' } }", "cluster.redis.url",
     "must start with redis:// or rediss://"},
    {"RedisCaFileUnreadable", "cluster: { redis: { url: 'rediss://cache', ca_file: /nonexistent/ca.pem } }",
     "cluster.redis.ca_file", "cannot read /nonexistent/ca.pem"},
    // issuers
    {"IssuersNotAList", "issuers: { name: corp }", "issuers", "must be a list"},
    {"IssuerNullItem", "issuers:\n  -\n", "issuers[0]", "must not be empty"},
    {"IssuerNameMissing", "issuers: [ { issuer: 'https://idp', audiences: [a] } ]",
     "issuers[0].name", "required"},
    {"IssuerNameEmpty", "issuers: [ { name: '', issuer: 'https://idp', audiences: [a] } ]",
     "issuers[0].name", "must not be empty"},
    {"IssuerUrlMissing", "issuers: [ { name: corp, audiences: [a] } ]", "issuers[0].issuer",
     "required"},
    {"IssuerNamesNotUnique",
     "issuers:\n  - { name: corp, issuer: 'https://a', audiences: [x] }\n"
     "  - { name: corp, issuer: 'https://b', audiences: [x] }\n",
     "issuers[1].name", "duplicate name 'corp' (also issuers[0])"},
    {"IssuerPlainHttpRemote",
     "issuers: [ { name: corp, issuer: 'http://idp.example.com', audiences: [a] } ]",
     "issuers[0].issuer", "http:// is allowed only for loopback"},
    {"IssuerLoopbackLookalike",
     "issuers: [ { name: corp, issuer: 'http://127.0.0.1.evil.example', audiences: [a] } ]",
     "issuers[0].issuer", "http:// is allowed only for loopback"},
    {"IssuerLocalhostSubdomain",
     "issuers: [ { name: corp, issuer: 'http://localhost.evil.example', audiences: [a] } ]",
     "issuers[0].issuer", "http:// is allowed only for loopback"},
    {"IssuerOtherScheme", "issuers: [ { name: corp, issuer: 'ftp://idp', audiences: [a] } ]",
     "issuers[0].issuer", "must be an https:// URL"},
    {"IssuerNoHost", "issuers: [ { name: corp, issuer: 'https://', audiences: [a] } ]",
     "issuers[0].issuer", "valid host"},
    {"IssuerCredentials",
     "issuers: [ { name: corp, issuer: 'http://localhost@evil.example', audiences: [a] } ]",
     "issuers[0].issuer", "must not contain credentials"},
    {"IssuerQuery", "issuers: [ { name: corp, issuer: 'https://idp/?x=1', audiences: [a] } ]",
     "issuers[0].issuer", "query or fragment"},
    {"DiscoveryOffWithoutJwks",
     "issuers: [ { name: corp, issuer: 'https://idp', discovery: false, audiences: [a] } ]",
     "issuers[0].jwks_uri", "required when discovery is false"},
    {"JwksPlainHttpRemote",
     "issuers: [ { name: corp, issuer: 'https://idp', jwks_uri: 'http://idp/keys', "
     "audiences: [a] } ]",
     "issuers[0].jwks_uri", "http:// is allowed only for loopback"},
    {"DiscoveryNotBool",
     "issuers: [ { name: corp, issuer: 'https://idp', discovery: sometimes, audiences: [a] } ]",
     "issuers[0].discovery", "true or false"},
    {"AudiencesMissing", "issuers: [ { name: corp, issuer: 'https://idp' } ]",
     "issuers[0].audiences", "required"},
    {"AudiencesEmpty", "issuers: [ { name: corp, issuer: 'https://idp', audiences: [] } ]",
     "issuers[0].audiences", "must not be empty"},
    {"AudiencesScalar", "issuers: [ { name: corp, issuer: 'https://idp', audiences: a } ]",
     "issuers[0].audiences", "must be a list"},
    {"AlgorithmNone",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], algorithms: [RS256, none] "
     "} ]",
     "issuers[0].algorithms[1]", "'none' is never accepted"},
    {"AlgorithmHs256",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], algorithms: [HS256] } ]",
     "issuers[0].algorithms[0]", "shared-secret algorithm"},
    {"AlgorithmHs512",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], algorithms: [HS512] } ]",
     "issuers[0].algorithms[0]", "shared-secret algorithm"},
    {"AlgorithmUnknown",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], algorithms: [rs256] } ]",
     "issuers[0].algorithms[0]", "must be one of: RS256"},
    {"AlgorithmsEmpty",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], algorithms: [] } ]",
     "issuers[0].algorithms", "must not be empty"},
    {"LeewayTooBig",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], leeway_seconds: 301 } ]",
     "issuers[0].leeway_seconds", "between 0 and 300"},
    {"ClaimNameEmpty",
     "issuers: [ { name: corp, issuer: 'https://idp', audiences: [a], claims: { tenant: '' } } "
     "]",
     "issuers[0].claims.tenant", "must not be empty"},
    // issue 9: identity
    {"AgentCallDepthZero", "tokens: { agent_call_max_depth: 0 }", "tokens.agent_call_max_depth", "between 1 and 7"},
    {"AgentCallDepthBeyondTheActLimit", "tokens: { agent_call_max_depth: 8 }", "tokens.agent_call_max_depth",
     "between 1 and 7"},
    // tiers
    {"TiersAList", "tiers: [ basic ]", "tiers", "must be a mapping"},
    {"TierNameUpperCase", "tiers: { Gold: { rps: 1, burst: 1 } }", "tiers.Gold",
     "^[a-z][a-z0-9_-]{0,31}$"},
    {"TierNameStartsWithDigit", "tiers: { 1st: { rps: 1, burst: 1 } }", "tiers.1st",
     "^[a-z][a-z0-9_-]{0,31}$"},
    {"TierNameTooLong", "tiers: { abcdefghijklmnopqrstuvwxyz0123456: { rps: 1, burst: 1 } }",
     "tiers.abcdefghijklmnopqrstuvwxyz0123456", "^[a-z][a-z0-9_-]{0,31}$"},
    {"TierRpsZero", "tiers: { basic: { rps: 0, burst: 1 } }", "tiers.basic.rps",
     "greater than 0"},
    {"TierRpsNegative", "tiers: { basic: { rps: -2, burst: 1 } }", "tiers.basic.rps",
     "greater than 0"},
    {"TierRpsInfinite", "tiers: { basic: { rps: inf, burst: 1 } }", "tiers.basic.rps",
     "greater than 0"},
    {"TierRpsMissing", "tiers: { gold: { burst: 1 } }", "tiers.gold.rps", "required"},
    {"TierBurstZero", "tiers: { basic: { rps: 1, burst: 0 } }", "tiers.basic.burst",
     "at least 1"},
    {"TierBurstMissing", "tiers: { gold: { rps: 1 } }", "tiers.gold.burst", "required"},
    {"TierQuotaNegative", "tiers: { basic: { rps: 1, burst: 1, daily_quota: -1 } }",
     "tiers.basic.daily_quota", "non-negative integer"},
    // retention
    {"RetentionContentZero", "retention: { invocation_content_days: 0 }",
     "retention.invocation_content_days", "at least 1"},
    {"RetentionAuditZero", "retention: { audit_years: 0 }", "retention.audit_years",
     "at least 1"},
    {"RetentionSessionsZero", "retention: { sessions_hours: 0 }", "retention.sessions_hours",
     "at least 1"},
    // redaction
    {"BuiltinUnknown", "redaction: { builtin: [email, passport] }", "redaction.builtin[1]",
     "must be one of: email, phone"},
    {"CustomNameMissing", "redaction: { custom: [ { pattern: 'x' } ] }",
     "redaction.custom[0].name", "required"},
    {"CustomNameEmpty", "redaction: { custom: [ { name: '', pattern: 'x' } ] }",
     "redaction.custom[0].name", "must not be empty"},
    {"CustomPatternMissing", "redaction: { custom: [ { name: a } ] }",
     "redaction.custom[0].pattern", "required"},
    {"CustomPatternEmpty", "redaction: { custom: [ { name: a, pattern: '' } ] }",
     "redaction.custom[0].pattern", "must not be empty"},
    {"CustomNamesNotUnique",
     "redaction: { custom: [ { name: a, pattern: x }, { name: a, pattern: y } ] }",
     "redaction.custom[1].name", "duplicate name 'a'"},
    // log
    {"LogLevelUnknown", "log: { level: verbose }", "log.level",
     "must be one of: trace, debug, info, warn, error, off"},
    {"LogFormatUnknown", "log: { format: xml }", "log.format", "must be one of: json, text"},
    {"LogAccessNotBool", "log: { access: sometimes }", "log.access", "must be true or false"},
};

INSTANTIATE_TEST_SUITE_P(Config, ConfigInvalid, testing::ValuesIn(kInvalidCases),
                         [](const auto& info) { return std::string(info.param.name); });

// ---------------------------------------------------------------------------------------------
// TLS files

TEST(ConfigTls, BothReadableFilesEnableTls) {
  TempFile cert("-----BEGIN CERTIFICATE-----\n"), key("-----BEGIN PRIVATE KEY-----\n");
  ConfigResult r = parse_config("server: { tls: { cert_file: " + cert.path() +
                                ", key_file: " + key.path() + " } }");
  ASSERT_TRUE(IsValid(r));
  EXPECT_TRUE(r.config->server.tls.enabled());
}

TEST(ConfigTls, CertWithoutKeyIsAnError) {
  TempFile cert("pem");
  ConfigResult r = parse_config("server: { tls: { cert_file: " + cert.path() + " } }");
  EXPECT_TRUE(HasError(r, "server.tls.key_file", "required when server.tls.cert_file is set"));
}

TEST(ConfigTls, KeyWithoutCertIsAnError) {
  TempFile key("pem");
  ConfigResult r = parse_config("server: { tls: { key_file: " + key.path() + " } }");
  EXPECT_TRUE(HasError(r, "server.tls.cert_file", "required when server.tls.key_file is set"));
}

TEST(ConfigTls, UnreadableKeyFileIsAnError) {
  TempFile cert("pem");
  ConfigResult r = parse_config("server: { tls: { cert_file: " + cert.path() +
                                ", key_file: /nonexistent/key.pem } }");
  EXPECT_TRUE(HasError(r, "server.tls.key_file", "cannot read /nonexistent/key.pem"));
}

TEST(ConfigTls, DirectoryIsNotAReadableFile) {
  ConfigResult r = parse_config("server: { tls: { cert_file: /tmp, key_file: /tmp } }");
  EXPECT_TRUE(HasError(r, "server.tls.cert_file", "is a directory"));
}

// ---------------------------------------------------------------------------------------------
// Unknown keys and error collection

TEST(ConfigUnknownKeys, AreReportedWithTheirFullPathAtEveryDepth) {
  ConfigResult r = parse_config(R"(
colour: red
server:
  limits: { max_bodybytes: 5 }
  tls: { ciphers: all }
storage: { sqlite: { file: x.db } }
issuers:
  - { name: corp, issuer: 'https://idp', audiences: [a], claims: { tenantid: tid } }
tiers: { basic: { rps: 1, burst: 1, rate: 3 } }
redaction: { custom: [ { name: a, pattern: b, regex: c } ] }
)");
  EXPECT_FALSE(r.config.has_value());
  EXPECT_TRUE(HasError(r, "colour", "unknown key"));
  EXPECT_TRUE(HasError(r, "server.limits.max_bodybytes", "unknown key"));
  EXPECT_TRUE(HasError(r, "server.tls.ciphers", "unknown key"));
  EXPECT_TRUE(HasError(r, "storage.sqlite.file", "unknown key"));
  EXPECT_TRUE(HasError(r, "issuers[0].claims.tenantid", "unknown key"));
  EXPECT_TRUE(HasError(r, "tiers.basic.rate", "unknown key"));
  EXPECT_TRUE(HasError(r, "redaction.custom[0].regex", "unknown key"));
  EXPECT_EQ(r.errors.size(), 7u) << dump(r);
}

TEST(ConfigUnknownKeys, SuggestANearbyKey) {
  ConfigResult r = parse_config("server: { limits: { max_bodybytes: 5 } }");
  EXPECT_TRUE(HasError(r, "server.limits.max_bodybytes", "did you mean 'max_body_bytes'?"));
  r = parse_config("zzzzzz: 1");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].to_string(), "zzzzzz: unknown key");
}

TEST(ConfigErrors, AreAllCollectedInDocumentOrder) {
  ConfigResult r = parse_config(R"(
server:
  threads: many
  listen: nowhere
  limits: { max_header_bytes: 1 }
storage: { backend: oracle }
log: { level: loud, format: xml }
tiers: { Gold: { rps: 1, burst: 1 } }
)");
  EXPECT_FALSE(r.config.has_value());
  std::vector<std::string> paths;
  for (const auto& e : r.errors) paths.push_back(e.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"server.threads", "server.listen",
                                             "server.limits.max_header_bytes", "storage.backend",
                                             "log.level", "log.format", "tiers.Gold"}))
      << dump(r);
}

TEST(ConfigErrors, OneErrorPerKeyPath) {
  // The wrongly typed jwks_uri must not also be reported as missing for discovery: false.
  ConfigResult r = parse_config(
      "issuers: [ { name: c, issuer: 'https://i', discovery: false, jwks_uri: [x], audiences: [a] "
      "} ]");
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_TRUE(HasError(r, "issuers[0].jwks_uri", "must be a string"));
}

// ---------------------------------------------------------------------------------------------
// ${ENV} expansion

TEST(ConfigEnv, ExpandsVariablesInStringsAndNumbers) {
  ScopedEnv dir("PC_TEST_DIR", "/srv/data"), threads("PC_TEST_THREADS", "8");
  ConfigResult r = parse_config(
      "data_dir: ${PC_TEST_DIR}/pc\nserver: { threads: '${PC_TEST_THREADS}', listen: "
      "'localhost:${PC_TEST_THREADS}0' }");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->data_dir, "/srv/data/pc");
  EXPECT_EQ(r.config->server.threads, 8u);
  EXPECT_EQ(r.config->server.listen, "localhost:80");
}

TEST(ConfigEnv, ExpandsInsideLists) {
  ScopedEnv aud("PC_TEST_AUD", "api://gw");
  ConfigResult r =
      parse_config("issuers: [ { name: c, issuer: 'https://i', audiences: ['${PC_TEST_AUD}'] } ]");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->issuers[0].audiences, (std::vector<std::string>{"api://gw"}));
}

TEST(ConfigEnv, UnsetVariableIsAnErrorNamingKeyAndVariable) {
  ScopedEnv unset("PC_TEST_UNSET", nullptr);
  ConfigResult r = parse_config("keys: { master_key_file: '${PC_TEST_UNSET}/kek' }");
  EXPECT_TRUE(HasError(r, "keys.master_key_file", "PC_TEST_UNSET is not set"));
}

TEST(ConfigEnv, EmptyVariableExpandsToEmpty) {
  ScopedEnv empty("PC_TEST_EMPTY", "");
  ConfigResult r = parse_config("keys: { master_key_file: '${PC_TEST_EMPTY}' }");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->keys.master_key_file, "");
}

TEST(ConfigEnv, DoubleDollarIsALiteral) {
  ScopedEnv set("PC_TEST_DIR", "/expanded");
  ConfigResult r = parse_config("data_dir: '/a/$${PC_TEST_DIR}/$$x/$y'");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->data_dir, "/a/${PC_TEST_DIR}/$$x/$y");
}

TEST(ConfigEnv, MalformedReferencesAreErrors) {
  EXPECT_TRUE(HasError(parse_config("data_dir: '${PC_TEST_DIR'"), "data_dir", "unterminated ${"));
  EXPECT_TRUE(HasError(parse_config("data_dir: '${}'"), "data_dir",
                       "invalid environment variable name"));
  EXPECT_TRUE(HasError(parse_config("data_dir: '${A-B}'"), "data_dir",
                       "invalid environment variable name"));
}

TEST(ConfigEnv, ExpandedValuesCannotInjectYaml) {
  ScopedEnv evil("PC_TEST_EVIL", "x\nserver: { threads: 9 }\nlog: { level: debug }");
  ConfigResult r = parse_config("data_dir: ${PC_TEST_EVIL}");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->data_dir, "x\nserver: { threads: 9 }\nlog: { level: debug }");
  EXPECT_EQ(r.config->server.threads, 0u);
  EXPECT_EQ(r.config->log.level, "info");
}

TEST(ConfigEnv, KeysAreNotExpanded) {
  ScopedEnv key("PC_TEST_KEY", "data_dir");
  EXPECT_TRUE(HasError(parse_config("${PC_TEST_KEY}: /x"), "${PC_TEST_KEY}", "unknown key"));
}

// ---------------------------------------------------------------------------------------------
// file: secrets

TEST(ConfigSecrets, FileValuesAreReadAndTrimmed) {
  TempFile pg("postgresql://pc:s3cret@db/pc\n\n"), redis("rediss://:pw@cache:6380 \t\n");
  ConfigResult r =
      parse_config("storage: { backend: postgres, postgres: { url: 'file:" + pg.path() +
                   "' } }\ncluster: { redis: { url: file:" + redis.path() + " } }");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->storage.postgres_url, "postgresql://pc:s3cret@db/pc");
  EXPECT_EQ(r.config->cluster.redis_url, "rediss://:pw@cache:6380");
}

TEST(ConfigSecrets, FilePathMayUseEnv) {
  TempFile redis("redis://cache:6379\n");
  ScopedEnv path("PC_TEST_SECRET_PATH", redis.path().c_str());
  ConfigResult r = parse_config("cluster: { redis: { url: 'file:${PC_TEST_SECRET_PATH}' } }");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->cluster.redis_url, "redis://cache:6379");
}

TEST(ConfigSecrets, UnreadableFileIsAnErrorNamingTheKey) {
  ConfigResult r = parse_config("cluster: { redis: { url: 'file:/nonexistent/redis-url' } }");
  EXPECT_TRUE(HasError(r, "cluster.redis.url", "cannot read /nonexistent/redis-url"));
  r = parse_config("storage: { postgres: { url: 'file:/nonexistent/pg-url' } }");
  EXPECT_TRUE(HasError(r, "storage.postgres.url", "cannot read /nonexistent/pg-url"));
}

TEST(ConfigSecrets, FileContentIsValidatedWithoutEchoingIt) {
  TempFile bad("http://user:hunter2@cache\n");
  ConfigResult r = parse_config("cluster: { redis: { url: 'file:" + bad.path() + "' } }");
  EXPECT_TRUE(HasError(r, "cluster.redis.url", "must start with redis://"));
  EXPECT_EQ(dump(r).find("hunter2"), std::string::npos) << dump(r);
}

TEST(ConfigSecrets, FilePrefixIsLiteralOnOtherKeys) {
  ConfigResult r = parse_config("data_dir: 'file:/etc/passwd'");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->data_dir, "file:/etc/passwd");
}

// ---------------------------------------------------------------------------------------------
// Tiers

TEST(ConfigTiers, FileTiersReplaceTheirNameAndKeepOtherDefaults) {
  ConfigResult r = parse_config(R"(
tiers:
  basic: { rps: 2.5, burst: 5 }
  enterprise-1: { rps: 1000, burst: 5000, daily_quota: 0, rank: 7 }
)");
  ASSERT_TRUE(IsValid(r));
  const auto& tiers = r.config->tiers;
  ASSERT_EQ(tiers.size(), 4u);
  // Replaced as a whole: the omitted daily_quota is 0 (unlimited), not basic's default 1000.
  EXPECT_EQ(tiers.at("basic"), (TierConfig{2.5, 5, 0, 0}));  // keeps its built-in rank
  EXPECT_EQ(tiers.at("standard"), (TierConfig{50, 500, 10000, 1, 0, 0, 100, 10000}));
  EXPECT_EQ(tiers.at("premium"), (TierConfig{500, 2000, 0, 2, 0, 0, 500, 0}));
  EXPECT_EQ(tiers.at("enterprise-1"), (TierConfig{1000, 5000, 0, 7}));
}

// Issue 8 item 19: a configured tier must rank (else it would meet no tierMinimum at all), and the
// built-in ones can be re-ranked to make room.
TEST(ConfigTiers, ATierOtherThanTheBuiltInOnesNeedsARank) {
  ConfigResult r = parse_config("tiers: { gold: { rps: 1, burst: 1 } }");
  ASSERT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "tiers.gold.rank");
  EXPECT_NE(r.errors[0].message.find("required"), std::string::npos);

  r = parse_config(R"(
tiers:
  silver: { rps: 20, burst: 200, rank: 15 }
  standard: { rps: 50, burst: 500, rank: 20 }
)");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->tiers.at("silver").rank, 15);
  EXPECT_EQ(r.config->tiers.at("standard").rank, 20);
  EXPECT_EQ(r.config->tiers.at("basic").rank, 0);

  r = parse_config("tiers: { gold: { rps: 1, burst: 1, rank: -1 } }");
  ASSERT_FALSE(r.config.has_value());
  EXPECT_EQ(r.errors[0].path, "tiers.gold.rank");
}

TEST(ConfigTiers, EmptyTiersMappingKeepsDefaults) {
  ConfigResult r = parse_config("tiers: {}");
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->tiers, Config{}.tiers);
}

// ---------------------------------------------------------------------------------------------
// Broken input never throws

TEST(ConfigYaml, GarbageGivesAnErrorWithPosition) {
  for (const char* text : {"server: [unclosed", "log: { level: info", "a: 'unterminated",
                           "server:\n\tthreads: 1", "key: value\n  bad indent: x\n", "[}",
                           "*undefined_alias"}) {
    ConfigResult r;
    ASSERT_NO_THROW(r = parse_config(text)) << text;
    EXPECT_FALSE(r.config.has_value()) << text;
    ASSERT_FALSE(r.errors.empty()) << text;
    EXPECT_EQ(r.errors[0].path, "") << text;
    EXPECT_NE(r.errors[0].message.find("invalid YAML at line"), std::string::npos)
        << text << "\n"
        << dump(r);
  }
}

TEST(ConfigYaml, BinaryInputDoesNotCrash) {
  ConfigResult r;
  ASSERT_NO_THROW(r = parse_config(std::string("\x00\xff\xfe{[:\x01\x80", 9)));
  EXPECT_FALSE(r.config.has_value());
  EXPECT_FALSE(r.errors.empty());
}

TEST(ConfigYaml, DeepNestingIsAnErrorNotAStackOverflow) {
  ConfigResult r;
  ASSERT_NO_THROW(r = parse_config(std::string(100000, '[')));
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_NE(r.errors[0].message.find("nesting is too deep"), std::string::npos) << dump(r);
}

TEST(ConfigYaml, NonStringKeysAreErrors) {
  ConfigResult r = parse_config("log: { [a, b]: 1 }");
  EXPECT_TRUE(HasError(r, "log", "keys must be plain strings"));
}

// ---------------------------------------------------------------------------------------------
// load_config_file

TEST(ConfigFile, LoadsAFile) {
  TempFile file("log: { level: debug }\n");
  ConfigResult r = load_config_file(file.path());
  ASSERT_TRUE(IsValid(r));
  EXPECT_EQ(r.config->log.level, "debug");
}

TEST(ConfigFile, MissingFileIsOneErrorNamingIt) {
  ConfigResult r = load_config_file("/nonexistent/portcullis.yaml");
  EXPECT_FALSE(r.config.has_value());
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.errors[0].path, "");
  EXPECT_NE(r.errors[0].message.find("/nonexistent/portcullis.yaml"), std::string::npos);
}

TEST(ConfigFile, DirectoryIsOneError) {
  ConfigResult r = load_config_file(testing::TempDir());
  ASSERT_EQ(r.errors.size(), 1u) << dump(r);
  EXPECT_NE(r.errors[0].message.find("is a directory"), std::string::npos) << dump(r);
}

}  // namespace
}  // namespace pc::core

// ---- issue 9: jobs
namespace pc::core {
namespace {

TEST(ConfigJobs, DefaultsAndValuesAndBounds) {
  const Config d = *parse_config("").config;
  EXPECT_EQ(d.server.jobs.workers, 4u);
  EXPECT_EQ(d.server.jobs.timeout_ms, 30000u);
  EXPECT_EQ(d.server.jobs.max_attempts, 3u);
  EXPECT_EQ(d.server.jobs.backoff_initial_ms, 1000u);
  EXPECT_EQ(d.server.jobs.backoff_max_ms, 60000u);
  EXPECT_EQ(d.server.jobs.lease_ms, 30000u);
  EXPECT_EQ(d.server.jobs.poll_interval_ms, 500u);

  ConfigResult r = parse_config(
      "server:\n  jobs: { workers: 8, timeout_ms: 5000, max_attempts: 5, backoff_initial_ms: 100, backoff_max_ms: 900,"
      " lease_ms: 4000, poll_interval_ms: 50 }\n");
  ASSERT_TRUE(r.config) << (r.errors.empty() ? "" : r.errors.front().message);
  const JobsConfig& j = r.config->server.jobs;
  EXPECT_EQ(j.workers, 8u);
  EXPECT_EQ(j.timeout_ms, 5000u);
  EXPECT_EQ(j.max_attempts, 5u);
  EXPECT_EQ(j.backoff_initial_ms, 100u);
  EXPECT_EQ(j.backoff_max_ms, 900u);
  EXPECT_EQ(j.lease_ms, 4000u);
  EXPECT_EQ(j.poll_interval_ms, 50u);

  for (const char* bad : {"server: { jobs: { workers: 0 } }", "server: { jobs: { max_attempts: 0 } }",
                          "server: { jobs: { lease_ms: 10 } }", "server: { jobs: { retries: 2 } }"})
    EXPECT_FALSE(parse_config(bad).config) << bad;
}

}  // namespace
}  // namespace pc::core
