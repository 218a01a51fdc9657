#include "crypto/master_keyring.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "crypto/aead.h"

namespace pc::crypto {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(err));
}

std::string parent_dir(const std::string& path) {
  std::string p = fs::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

// A rename or link is durable only once the directory entry itself is on disk.
void fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) fail("cannot fsync directory", dir, err);
}

bool exists_no_follow(const std::string& path) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0) return true;
  if (errno != ENOENT) fail("cannot stat", path, errno);
  return false;
}

}  // namespace

std::string master_key_id(const MasterKey& key) {
  static constexpr char kLabel[] = "portcullis master key id";  // + its terminating NUL, below
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int len = 0;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  const bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) == 1 &&
                  EVP_DigestUpdate(ctx, kLabel, sizeof kLabel) == 1 &&  // sizeof counts the '\0'
                  EVP_DigestUpdate(ctx, key.bytes().data(), key.bytes().size()) == 1 &&
                  EVP_DigestFinal_ex(ctx, digest.data(), &len) == 1 && len == 32;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("master_key_id: SHA-256 failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (std::size_t i = 0; i < 8; ++i) {
    id += kHex[digest[i] >> 4];
    id += kHex[digest[i] & 0xf];
  }
  return id;
}

// ---- MasterKeyring ---------------------------------------------------------------------------

MasterKeyring::MasterKeyring(MasterKey current) {
  Entry e;
  e.id = master_key_id(current);
  e.key = std::make_unique<MasterKey>(std::move(current));
  keys_.push_back(std::move(e));
}

bool MasterKeyring::add(MasterKey key) {
  std::string id = master_key_id(key);
  if (find(id)) return false;  // `key` is cleansed by its destructor
  Entry e;
  e.id = std::move(id);
  e.key = std::make_unique<MasterKey>(std::move(key));
  keys_.push_back(std::move(e));
  return true;
}

std::vector<std::string> MasterKeyring::ids() const {
  std::vector<std::string> out;
  for (const auto& e : keys_) out.push_back(e.id);
  return out;
}

const MasterKey* MasterKeyring::find(std::string_view id) const {
  if (id.empty()) return keys_.front().key.get();
  for (const auto& e : keys_)
    if (e.id == id) return e.key.get();
  return nullptr;
}

std::string MasterKeyring::wrap(std::string_view plaintext, std::string_view aad) const {
  return seal(current().bytes(), plaintext, aad);
}

std::string MasterKeyring::unwrap(std::string_view id, std::string_view sealed, std::string_view aad) const {
  const MasterKey* key = find(id);
  if (!key) {
    std::string have;
    for (const auto& e : keys_) have += (have.empty() ? "" : ", ") + e.id;
    throw AeadError("wrapped by master key " + std::string(id) +
                    ", which is not loaded (loaded: " + have +
                    "); was the master key rotated and its old key file removed?");
  }
  try {
    return open(key->bytes(), sealed, aad);
  } catch (const AeadError& e) {
    throw AeadError("does not unwrap with master key " + (id.empty() ? current_id() : std::string(id)) +
                    " (wrong keys.master_key_file, or an altered row): " + e.what());
  }
}

MasterKeyring load_master_keyring(const std::string& path) {
  MasterKeyring ring(load_master_key(path));
  const std::string pending = pending_master_key_path(path);
  if (exists_no_follow(pending)) ring.add(load_master_key(pending));
  // Retired keys, oldest name first so the order (and any error) is stable.
  const fs::path p(path);
  const std::string prefix = p.filename().string() + ".old-";
  std::vector<std::string> old;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(parent_dir(path), ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() && name.compare(0, prefix.size(), prefix) == 0)
      old.push_back(entry.path().string());
  }
  if (ec) throw std::runtime_error("cannot list the directory of " + path + ": " + ec.message());
  std::sort(old.begin(), old.end());
  for (const auto& f : old) ring.add(load_master_key(f));
  return ring;
}

// ---- Rotation file steps ---------------------------------------------------------------------

std::string pending_master_key_path(const std::string& path) { return path + ".new"; }

MasterKey load_or_create_pending_master_key(const std::string& path, bool* resumed) {
  bool created = false;
  MasterKey key = load_or_create_master_key(pending_master_key_path(path), &created);
  if (resumed) *resumed = !created;
  return key;
}

std::string retire_current_master_key(const std::string& path, std::int64_t now) {
  struct stat st{};
  if (::lstat(path.c_str(), &st) != 0) fail("cannot stat master key file", path, errno);
  if (S_ISLNK(st.st_mode))
    throw std::runtime_error("master key file " + path +
                             " is a symbolic link; rotate the key file it points to instead");
  // link() never clobbers an existing file, so an older retired key is never lost.
  const std::string base = path + ".old-" + std::to_string(now);
  std::string retired;
  for (int n = 1;; ++n) {
    retired = n == 1 ? base : base + "-" + std::to_string(n);
    if (::link(path.c_str(), retired.c_str()) == 0) break;
    if (errno != EEXIST || n >= 1000) fail("cannot link " + path + " to", retired, errno);
  }
  fsync_dir(parent_dir(path));
  return retired;
}

void install_pending_master_key(const std::string& path) {
  const std::string pending = pending_master_key_path(path);
  if (!exists_no_follow(pending)) throw std::runtime_error("no pending master key at " + pending);
  struct stat st{};
  if (::lstat(path.c_str(), &st) == 0 && S_ISLNK(st.st_mode))
    throw std::runtime_error("master key file " + path +
                             " is a symbolic link; rotate the key file it points to instead");
  if (::rename(pending.c_str(), path.c_str()) != 0) fail("cannot rename " + pending + " to", path, errno);
  fsync_dir(parent_dir(path));
}

}  // namespace pc::crypto
