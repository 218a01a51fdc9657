// master_key_id, the keyring (which key unwraps which row) and the file steps of a master-key
// rotation: at every step the key file exists and both keys stay on disk.
#include "crypto/master_keyring.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "crypto/aead.h"
#include "support/temp_dir.h"

namespace pc::crypto {
namespace {

namespace fs = std::filesystem;
using pc::testing::file_mode;

MasterKey key_of(unsigned char seed, unsigned char step = 0) {
  std::array<unsigned char, MasterKey::kSize> b{};
  for (std::size_t i = 0; i < b.size(); ++i) b[i] = static_cast<unsigned char>(seed + step * i);
  return MasterKey(b);
}

std::string bytes_of(const MasterKey& k) {
  return {reinterpret_cast<const char*>(k.bytes().data()), k.bytes().size()};
}

std::string read(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no exception)";
}

// Expected values computed independently:
//   python3 -c "import hashlib; print(hashlib.sha256(b'portcullis master key id\0' + bytes(range(32))).hexdigest()[:16])"
TEST(MasterKeyId, KnownAnswers) {
  EXPECT_EQ(master_key_id(key_of(0, 1)), "565a40c1663e2f60");   // bytes 0x00..0x1f
  EXPECT_EQ(master_key_id(key_of(0x42)), "4bbcfbfe3b78700a");  // 32 x 0x42
}

TEST(MasterKeyId, DiffersPerKeyAndDoesNotContainTheKey) {
  const std::string a = master_key_id(key_of(1)), b = master_key_id(key_of(2));
  EXPECT_EQ(a.size(), 16u);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a, b);
  EXPECT_EQ(master_key_id(key_of(1)), a);  // stable
}

TEST(MasterKeyring, WrapsWithTheCurrentKeyAndUnwrapsByIdOrEmptyId) {
  MasterKeyring ring(key_of(1));
  EXPECT_EQ(ring.current_id(), master_key_id(key_of(1)));
  const std::string sealed = ring.wrap("data key bytes", "aad");
  EXPECT_EQ(open(key_of(1).bytes(), sealed, "aad"), "data key bytes");  // really the current key
  EXPECT_EQ(ring.unwrap(ring.current_id(), sealed, "aad"), "data key bytes");
  EXPECT_EQ(ring.unwrap("", sealed, "aad"), "data key bytes");  // rows from before ids existed
  EXPECT_THROW(ring.unwrap("", sealed, "other aad"), AeadError);
}

TEST(MasterKeyring, PreviousKeysOnlyUnwrap) {
  const std::string old_sealed = seal(key_of(1).bytes(), "old row", "aad");
  MasterKeyring ring(key_of(2));
  EXPECT_TRUE(ring.add(key_of(1)));
  EXPECT_FALSE(ring.add(key_of(1)));  // same id twice: ignored
  EXPECT_FALSE(ring.add(key_of(2)));  // the current key: ignored
  EXPECT_EQ(ring.ids(), (std::vector<std::string>{master_key_id(key_of(2)), master_key_id(key_of(1))}));
  EXPECT_EQ(ring.unwrap(master_key_id(key_of(1)), old_sealed, "aad"), "old row");
  // "" means the current key, not "any key": a pre-id row wrapped by some other key fails.
  EXPECT_THROW(ring.unwrap("", old_sealed, "aad"), AeadError);
  // New values are always wrapped by the current key.
  EXPECT_EQ(open(key_of(2).bytes(), ring.wrap("new", "aad"), "aad"), "new");
}

TEST(MasterKeyring, UnknownIdOrWrongKeyFailsNamingTheId) {
  MasterKeyring ring(key_of(1));
  const std::string sealed = seal(key_of(9).bytes(), "x", "aad");
  const std::string unknown = error_of([&] { ring.unwrap("00112233aabbccdd", sealed, "aad"); });
  EXPECT_NE(unknown.find("00112233aabbccdd"), std::string::npos) << unknown;
  EXPECT_NE(unknown.find("not loaded"), std::string::npos) << unknown;
  EXPECT_THROW(ring.unwrap("00112233aabbccdd", sealed, "aad"), AeadError);
  // The row claims the current key but was wrapped by another: a wrong key file.
  const std::string wrong = error_of([&] { ring.unwrap(ring.current_id(), sealed, "aad"); });
  EXPECT_NE(wrong.find("does not unwrap with master key " + ring.current_id()), std::string::npos) << wrong;
}

class KeyFilesTest : public ::testing::Test {
 protected:
  void write_key(const std::string& p, const MasterKey& k, mode_t mode = 0600) {
    { std::ofstream(p, std::ios::binary) << bytes_of(k); }
    ASSERT_EQ(::chmod(p.c_str(), mode), 0);
  }
  pc::testing::TempDir dir{"pc-keyring"};
  std::string path = dir.file("master.key");
};

TEST_F(KeyFilesTest, LoadsTheKeyFileAlone) {
  write_key(path, key_of(1));
  write_key(dir.file("master.key.bak"), key_of(5));  // not a name the loader looks at
  MasterKeyring ring = load_master_keyring(path);
  EXPECT_EQ(ring.ids(), std::vector<std::string>{master_key_id(key_of(1))});
}

TEST_F(KeyFilesTest, AddsThePendingAndRetiredKeys) {
  write_key(path, key_of(1));
  write_key(path + ".new", key_of(2));
  write_key(path + ".old-100", key_of(3));
  write_key(path + ".old-200", key_of(4));
  MasterKeyring ring = load_master_keyring(path);
  EXPECT_EQ(ring.current_id(), master_key_id(key_of(1)));  // the key file stays current
  for (unsigned char s : {2, 3, 4}) EXPECT_NE(ring.find(master_key_id(key_of(s))), nullptr) << int(s);
  EXPECT_EQ(ring.ids().size(), 4u);
}

TEST_F(KeyFilesTest, ABadExtraKeyFileIsAnErrorNamingIt) {
  write_key(path, key_of(1));
  write_key(path + ".new", key_of(2), 0644);
  const std::string err = error_of([&] { load_master_keyring(path); });
  EXPECT_NE(err.find(path + ".new"), std::string::npos) << err;
  EXPECT_NE(err.find("group or others"), std::string::npos) << err;
}

TEST_F(KeyFilesTest, MissingKeyFileIsAnError) {
  EXPECT_NE(error_of([&] { load_master_keyring(path); }).find("does not exist"), std::string::npos);
}

TEST_F(KeyFilesTest, PendingKeyIsCreatedOnceThenResumed) {
  bool resumed = true;
  const std::string first = bytes_of(load_or_create_pending_master_key(path, &resumed));
  EXPECT_FALSE(resumed);
  EXPECT_EQ(file_mode(path + ".new"), 0600u);
  EXPECT_EQ(read(path + ".new"), first);
  // A second run (after a crash) must reuse it: rows may already be wrapped by it.
  EXPECT_EQ(bytes_of(load_or_create_pending_master_key(path, &resumed)), first);
  EXPECT_TRUE(resumed);
}

TEST_F(KeyFilesTest, InstallRetiresTheOldKeyAndMovesTheNewOneIntoPlace) {
  write_key(path, key_of(1));
  write_key(path + ".new", key_of(2));
  const std::string retired = retire_current_master_key(path, 1700000000);
  EXPECT_EQ(retired, path + ".old-1700000000");
  // Between the two steps the old key is still in place and also kept under its new name.
  EXPECT_EQ(read(path), bytes_of(key_of(1)));
  EXPECT_EQ(read(retired), bytes_of(key_of(1)));
  install_pending_master_key(path);
  EXPECT_EQ(read(path), bytes_of(key_of(2)));
  EXPECT_EQ(read(retired), bytes_of(key_of(1)));
  EXPECT_EQ(file_mode(path), 0600u);
  EXPECT_EQ(file_mode(retired), 0600u);
  EXPECT_FALSE(fs::exists(path + ".new"));
  // The loader now sees the new key as current and the retired one as previous.
  MasterKeyring ring = load_master_keyring(path);
  EXPECT_EQ(ring.current_id(), master_key_id(key_of(2)));
  EXPECT_NE(ring.find(master_key_id(key_of(1))), nullptr);
}

TEST_F(KeyFilesTest, InstallNeverOverwritesARetiredKey) {
  write_key(path, key_of(1));
  write_key(path + ".old-5", key_of(7));  // taken already (two rotations in one second)
  write_key(path + ".new", key_of(2));
  EXPECT_EQ(retire_current_master_key(path, 5), path + ".old-5-2");
  EXPECT_EQ(read(path + ".old-5"), bytes_of(key_of(7)));
  EXPECT_EQ(read(path + ".old-5-2"), bytes_of(key_of(1)));
}

TEST_F(KeyFilesTest, InstallRefusesWithoutPendingKeyOrThroughASymlink) {
  write_key(path, key_of(1));
  EXPECT_NE(error_of([&] { install_pending_master_key(path); }).find("no pending master key"), std::string::npos);
  EXPECT_EQ(read(path), bytes_of(key_of(1)));  // untouched

  const std::string real = dir.file("real.key"), link = dir.file("link.key");
  write_key(real, key_of(1));
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  write_key(link + ".new", key_of(2));
  EXPECT_NE(error_of([&] { retire_current_master_key(link, 5); }).find("symbolic link"), std::string::npos);
  EXPECT_NE(error_of([&] { install_pending_master_key(link); }).find("symbolic link"), std::string::npos);
  EXPECT_EQ(read(real), bytes_of(key_of(1)));
  EXPECT_TRUE(fs::exists(link + ".new"));
}

}  // namespace
}  // namespace pc::crypto
