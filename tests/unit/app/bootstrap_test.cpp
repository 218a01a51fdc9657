#include "app/bootstrap.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/json.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "crypto/secret_hash.h"
#include "store/sqlite_db.h"
#include "support/temp_dir.h"

namespace pc::app {
namespace {

namespace fs = std::filesystem;
using pc::testing::file_mode;
using pc::testing::file_stat;

constexpr const char* kBase = "http://127.0.0.1:8080";

class BootstrapTest : public ::testing::Test {
 protected:
  void SetUp() override { cfg.data_dir = dir.file("var"); }

  static std::string read(const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  std::int64_t client_count() const {
    store::SqliteDb db(cfg.sqlite_path());
    store::Statement q = db.prepare("SELECT COUNT(*) FROM clients");
    q.step();
    return q.column_int64(0);
  }
  // One start as serve does it: key, store, first start.
  BootstrapResult start() {
    ensure_master_key(cfg);
    auto store = store::Store::open_sqlite(cfg.sqlite_path());
    return first_start(cfg, *store, kBase);
  }
  std::string file() const { return (fs::path(cfg.data_dir) / "bootstrap-admin.json").string(); }

  pc::testing::TempDir dir{"pc-app"};
  core::Config cfg;
};

TEST_F(BootstrapTest, FirstStartCreatesKeyClientAndCredentialsFile) {
  crypto::MasterKey key = ensure_master_key(cfg);
  EXPECT_EQ(file_mode(cfg.data_dir), 0700u);
  EXPECT_EQ(file_mode(cfg.master_key_path()), 0600u);
  EXPECT_EQ(file_stat(cfg.master_key_path()).st_size, 32);

  auto store = store::Store::open_sqlite(cfg.sqlite_path());
  BootstrapResult r = first_start(cfg, *store, kBase);
  EXPECT_TRUE(r.created_admin);
  EXPECT_EQ(r.bootstrap_file, file());
  EXPECT_EQ(file_mode(file()), 0600u);
  for (const auto& e : fs::directory_iterator(cfg.data_dir))  // no temporary file left behind
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();

  boost::json::object creds = boost::json::parse(read(file())).as_object();
  EXPECT_EQ(creds.size(), 3u);
  std::string id(creds.at("client_id").as_string());
  std::string secret(creds.at("client_secret").as_string());
  EXPECT_EQ(creds.at("token_url").as_string(), "http://127.0.0.1:8080/oauth2/token");
  EXPECT_TRUE(id.starts_with("pc-admin-")) << id;
  EXPECT_EQ(id.size(), 9u + 16u);
  EXPECT_EQ(secret.size(), 43u);  // 32 random bytes, base64url

  auto client = store->find_bootstrap_client();
  ASSERT_TRUE(client.has_value());
  EXPECT_EQ(client->client_id, id);
  EXPECT_EQ(client->tenant_id, "platform");
  EXPECT_EQ(client->name, "bootstrap-admin");
  EXPECT_EQ(client->roles, std::vector<std::string>{"Platform.Admin"});
  EXPECT_EQ(client->grant_types, std::vector<std::string>{"client_credentials"});
  EXPECT_EQ(client->status, "active");
  EXPECT_TRUE(client->is_bootstrap);
  EXPECT_EQ(client->secret_hash.find(secret), std::string::npos);  // stored hashed only
  EXPECT_TRUE(crypto::verify_secret(secret, client->secret_hash));
  EXPECT_FALSE(crypto::verify_secret(secret + "x", client->secret_hash));
}

TEST_F(BootstrapTest, SecondStartChangesNothing) {
  ASSERT_TRUE(start().created_admin);
  std::string key_before = read(cfg.master_key_path());
  std::string file_before = read(file());
  struct stat st_before = file_stat(file());

  BootstrapResult r = start();
  EXPECT_FALSE(r.created_admin);
  EXPECT_EQ(r.bootstrap_file, file());
  EXPECT_EQ(read(cfg.master_key_path()), key_before);
  EXPECT_EQ(read(file()), file_before);
  struct stat st_after = file_stat(file());
  EXPECT_EQ(st_after.st_ino, st_before.st_ino);
  EXPECT_EQ(st_after.st_mtim.tv_sec, st_before.st_mtim.tv_sec);
  EXPECT_EQ(st_after.st_mtim.tv_nsec, st_before.st_mtim.tv_nsec);
  EXPECT_EQ(client_count(), 1);
}

TEST_F(BootstrapTest, DeletedFileIsNotRecreatedOnceTheClientExists) {
  ASSERT_TRUE(start().created_admin);
  fs::remove(file());
  EXPECT_FALSE(start().created_admin);
  EXPECT_FALSE(fs::exists(file()));
  EXPECT_EQ(client_count(), 1);
}

TEST_F(BootstrapTest, NewDatabaseReplacesAStaleCredentialsFile) {
  ASSERT_TRUE(start().created_admin);
  std::string old_id(boost::json::parse(read(file())).at("client_id").as_string());
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(cfg.sqlite_path() + suffix);

  ensure_master_key(cfg);
  auto store = store::Store::open_sqlite(cfg.sqlite_path());
  ASSERT_TRUE(first_start(cfg, *store, kBase).created_admin);
  auto creds = boost::json::parse(read(file())).as_object();
  std::string id(creds.at("client_id").as_string());
  EXPECT_NE(id, old_id);
  EXPECT_EQ(store->find_bootstrap_client()->client_id, id);
  EXPECT_TRUE(crypto::verify_secret(std::string(creds.at("client_secret").as_string()),
                                    store->find_bootstrap_client()->secret_hash));
  EXPECT_EQ(file_mode(file()), 0600u);
}

TEST_F(BootstrapTest, TokenUrlToleratesATrailingSlash) {
  ensure_master_key(cfg);
  auto store = store::Store::open_sqlite(cfg.sqlite_path());
  first_start(cfg, *store, "https://gw.example.com/");
  EXPECT_EQ(boost::json::parse(read(file())).at("token_url").as_string(),
            "https://gw.example.com/oauth2/token");
}

TEST_F(BootstrapTest, ConfiguredMasterKeyFileMustExist) {
  cfg.keys.master_key_file = (dir.path() / "mounted" / "master.key").string();
  try {
    ensure_master_key(cfg);
    FAIL() << "created a key in place of the configured one";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(cfg.keys.master_key_file), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(cfg.keys.master_key_file));
}

TEST_F(BootstrapTest, CredentialsSurviveWhenTheFileCannotBePutInPlace) {
  ensure_master_key(cfg);
  auto store = store::Store::open_sqlite(cfg.sqlite_path());
  fs::create_directory(file());  // a directory where the file should go: rename fails
  try {
    first_start(cfg, *store, kBase);
    FAIL() << "first start claimed success";
  } catch (const std::runtime_error& e) {
    std::string msg = e.what();
    auto at = msg.rfind(" in ");
    ASSERT_NE(at, std::string::npos) << msg;
    std::string temp = msg.substr(at + 4);
    auto creds = boost::json::parse(read(temp)).as_object();
    EXPECT_TRUE(crypto::verify_secret(std::string(creds.at("client_secret").as_string()),
                                      store->find_bootstrap_client()->secret_hash));
    EXPECT_EQ(file_mode(temp), 0600u);
  }
}

}  // namespace
}  // namespace pc::app
