// A Store that forwards every call to a real one; tests derive from it and override the one call
// whose answer they need to stage (a stale read, a race lost to another gateway).
#pragma once

#include "store/store.h"

namespace pc::testing {

class ForwardingStore : public store::Store {
 public:
  explicit ForwardingStore(store::Store& real) : real_(real) {}
  bool ping() override { return real_.ping(); }
  int schema_version() override { return real_.schema_version(); }
  void insert_client(const store::ClientRecord& c) override { real_.insert_client(c); }
  std::optional<store::ClientRecord> find_client(std::string_view id) override { return real_.find_client(id); }
  std::optional<store::ClientRecord> find_bootstrap_client() override { return real_.find_bootstrap_client(); }
  std::vector<store::ClientRecord> list_clients(std::string_view t) override { return real_.list_clients(t); }
  bool update_client_secret(std::string_view id, std::string_view h) override {
    return real_.update_client_secret(id, h);
  }
  store::TenantRecord insert_tenant(const store::TenantRecord& t) override { return real_.insert_tenant(t); }
  std::optional<store::TenantRecord> find_tenant(std::string_view id) override { return real_.find_tenant(id); }
  std::vector<store::TenantRecord> list_tenants(std::string_view a, std::size_t l) override {
    return real_.list_tenants(a, l);
  }
  std::optional<store::TenantRecord> update_tenant(std::string_view id, const store::TenantPatch& p) override {
    return real_.update_tenant(id, p);
  }
  std::vector<store::TenantRecord> tenants_changed_since(std::int64_t r) override {
    return real_.tenants_changed_since(r);
  }
  std::vector<store::SigningKeyRecord> published_signing_keys() override { return real_.published_signing_keys(); }
  bool insert_first_signing_key(const store::SigningKeyRecord& k) override { return real_.insert_first_signing_key(k); }
  void rotate_signing_key(const store::SigningKeyRecord& k, std::int64_t a, std::int64_t n) override {
    real_.rotate_signing_key(k, a, n);
  }

 protected:
  store::Store& real_;
};

}  // namespace pc::testing
