// Client-side TLS setup shared by fetch() and the proxy's https upstreams (net/detail/tls_client.h).
#include "net/detail/tls_client.h"

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <memory>
#include <unordered_map>

namespace pc::net::detail {

std::string configure_client_tls(asio::ssl::context& ctx, const std::string& ca_file) {
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_compression);
  ctx.set_verify_mode(asio::ssl::verify_peer);
  beast::error_code ec;
  if (ca_file.empty()) ctx.set_default_verify_paths(ec);
  else ctx.load_verify_file(ca_file, ec);
  return ec ? "cannot load the trust anchors: " + ec.message() : std::string();
}

bool bind_peer_identity(SSL* ssl, const std::string& host, bool literal) {
  bool ok = literal ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str()) == 1
                    : SSL_set_tlsext_host_name(ssl, host.c_str()) == 1 && SSL_set1_host(ssl, host.c_str()) == 1;
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  return ok;
}

std::string certificate_refusal(SSL* ssl) {
  const long verify = SSL_get_verify_result(ssl);
  return verify == X509_V_OK ? std::string() : std::string(X509_verify_cert_error_string(verify));
}

asio::ssl::context* client_tls_context(const std::string& ca_file, std::string& error) {
  thread_local std::unordered_map<std::string, std::unique_ptr<asio::ssl::context>> contexts;
  auto it = contexts.find(ca_file);
  if (it != contexts.end()) return it->second.get();
  auto ctx = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
  error = configure_client_tls(*ctx, ca_file);
  if (!error.empty()) return nullptr;
  return contexts.emplace(ca_file, std::move(ctx)).first->second.get();
}

}  // namespace pc::net::detail
