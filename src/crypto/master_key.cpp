#include "crypto/master_key.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>  // renameat2
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "crypto/random.h"

namespace pc::crypto {
namespace {

[[noreturn]] void fail(const std::string& what, const std::string& path, int err) {
  throw std::runtime_error(what + " " + path + ": " + std::strerror(err));
}

// Closes a file descriptor on every exit path.
struct Fd {
  int fd;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

std::string parent_dir(const std::string& path) {
  std::string p = std::filesystem::path(path).parent_path().string();
  return p.empty() ? "." : p;
}

void write_all(int fd, std::string_view data, const std::string& path) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path, errno);
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
}

// A rename is durable only once the directory entry itself is on disk.
void fsync_dir(const std::string& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.fd < 0 || ::fsync(fd.fd) != 0) fail("cannot fsync directory", dir, errno);
}

// Moves `from` to `to` unless `to` exists (false then). renameat2(RENAME_NOREPLACE) does this in
// one step; on file systems without it, link() gives the same no-clobber guarantee.
bool rename_noreplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return true;
  if (errno == EEXIST) return false;
  if (errno != EINVAL && errno != ENOSYS) fail("cannot rename " + from + " to", to, errno);
  if (::link(from.c_str(), to.c_str()) != 0) {
    if (errno == EEXIST) return false;
    fail("cannot link " + from + " to", to, errno);
  }
  ::unlink(from.c_str());
  return true;
}

// Returns false when the file does not exist; throws for every other problem.
bool read_key_file(const std::string& path, std::array<unsigned char, MasterKey::kSize>& out) {
  // O_NOFOLLOW: a symbolic link in the key's place (planted to make the gateway read, or later
  // replace, another file) is refused, not followed. O_NONBLOCK: a FIFO cannot stall the open;
  // it is refused below as not a regular file.
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
  if (fd.fd < 0) {
    if (errno == ENOENT) return false;
    if (errno == ELOOP)
      throw std::runtime_error("master key file " + path + " is a symbolic link; refused (point the configuration "
                               "at the file itself)");
    fail("cannot open master key file", path, errno);
  }
  struct stat st{};
  if (::fstat(fd.fd, &st) != 0) fail("cannot stat master key file", path, errno);
  if (!S_ISREG(st.st_mode)) throw std::runtime_error("master key file " + path + " is not a regular file");
  // A key file someone else owns could be read or swapped by that user: only the gateway's own.
  if (st.st_uid != ::geteuid())
    throw std::runtime_error("master key file " + path + " is owned by uid " + std::to_string(st.st_uid) +
                             ", not by the user running portcullis (uid " + std::to_string(::geteuid()) +
                             "); run: chown " + std::to_string(::geteuid()) + " " + path);
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    throw std::runtime_error("master key file " + path + " is accessible by group or others (mode " +
                             mode + "); run: chmod 600 " + path);
  }
  if (st.st_size != static_cast<off_t>(MasterKey::kSize))
    throw std::runtime_error("master key file " + path + " has " + std::to_string(st.st_size) +
                             " bytes; a master key is exactly " + std::to_string(MasterKey::kSize) +
                             " bytes");
  std::size_t got = 0;
  while (got < out.size()) {
    ssize_t n = ::read(fd.fd, out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot read master key file", path, errno);
    if (n == 0) throw std::runtime_error("master key file " + path + " was truncated while reading");
    got += static_cast<std::size_t>(n);
  }
  return true;
}

// Cleanses a local copy of key bytes when it goes out of scope.
struct KeyBuffer {
  std::array<unsigned char, MasterKey::kSize> bytes{};
  ~KeyBuffer() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
};

}  // namespace

// ---- MasterKey -----------------------------------------------------------------------------

MasterKey::MasterKey(std::span<const unsigned char, kSize> bytes) {
  std::memcpy(bytes_.data(), bytes.data(), kSize);
}

MasterKey::~MasterKey() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

MasterKey::MasterKey(MasterKey&& other) noexcept : bytes_(other.bytes_) {
  OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
}

MasterKey& MasterKey::operator=(MasterKey&& other) noexcept {
  if (this != &other) {
    bytes_ = other.bytes_;
    OPENSSL_cleanse(other.bytes_.data(), other.bytes_.size());
  }
  return *this;
}

MasterKey load_master_key(const std::string& path) {
  KeyBuffer buf;
  if (!read_key_file(path, buf.bytes))
    throw std::runtime_error("master key file " + path + " does not exist");
  return MasterKey(buf.bytes);
}

MasterKey load_or_create_master_key(const std::string& path, bool* created) {
  if (created) *created = false;
  KeyBuffer buf;
  if (read_key_file(path, buf.bytes)) return MasterKey(buf.bytes);

  std::string fresh = random_bytes(MasterKey::kSize);
  bool landed;
  try {
    // Never replace: if another process created a key meanwhile, data may already be encrypted
    // under it, so its key wins and ours is discarded.
    landed = write_private_file(path, fresh, /*replace_existing=*/false);
  } catch (...) {
    OPENSSL_cleanse(fresh.data(), fresh.size());
    throw;
  }
  if (landed) {
    std::memcpy(buf.bytes.data(), fresh.data(), MasterKey::kSize);
    OPENSSL_cleanse(fresh.data(), fresh.size());
    if (created) *created = true;
    return MasterKey(buf.bytes);
  }
  OPENSSL_cleanse(fresh.data(), fresh.size());
  return load_master_key(path);
}

// ---- Private files -------------------------------------------------------------------------

void ensure_private_dir(const std::string& dir) {
  struct stat st{};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) throw std::runtime_error(dir + " exists but is not a directory");
    return;
  }
  if (errno != ENOENT) fail("cannot stat", dir, errno);
  std::string parent = std::filesystem::path(dir).parent_path().string();
  if (!parent.empty() && parent != dir) ensure_private_dir(parent);
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) return ensure_private_dir(dir);  // created concurrently: re-check type
    fail("cannot create directory", dir, errno);
  }
  // mkdir's mode is filtered by the umask; make it exactly owner-only.
  if (::chmod(dir.c_str(), 0700) != 0) fail("cannot chmod directory", dir, errno);
}

PendingPrivateFile::PendingPrivateFile(std::string path, std::string_view contents)
    : path_(std::move(path)) {
  std::filesystem::path p(path_);
  temp_path_ = (p.parent_path() / ("." + p.filename().string() + ".tmp-" + random_hex(8))).string();
  Fd fd(::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.fd < 0) fail("cannot create", temp_path_, errno);
  try {
    if (::fchmod(fd.fd, 0600) != 0) fail("cannot chmod", temp_path_, errno);  // umask-proof
    write_all(fd.fd, contents, temp_path_);
    if (::fsync(fd.fd) != 0) fail("cannot fsync", temp_path_, errno);
  } catch (...) {
    ::unlink(temp_path_.c_str());
    throw;
  }
}

PendingPrivateFile::~PendingPrivateFile() {
  if (!released_) ::unlink(temp_path_.c_str());
}

bool PendingPrivateFile::commit(bool replace_existing) {
  if (released_) throw std::logic_error("PendingPrivateFile::commit: already committed or released");
  if (replace_existing) {
    if (::rename(temp_path_.c_str(), path_.c_str()) != 0)
      fail("cannot rename " + temp_path_ + " to", path_, errno);
  } else if (!rename_noreplace(temp_path_, path_)) {
    return false;  // the destructor removes the temporary file
  }
  released_ = true;
  fsync_dir(parent_dir(path_));
  return true;
}

bool write_private_file(const std::string& path, std::string_view contents, bool replace_existing) {
  PendingPrivateFile file(path, contents);
  return file.commit(replace_existing);
}

std::string derive_key(const MasterKey& master, std::string_view label) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  const auto key = master.bytes();
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(label.data()),
            label.size(), out, &n))
    throw std::runtime_error("key derivation failed");
  std::string derived(reinterpret_cast<const char*>(out), n);
  OPENSSL_cleanse(out, sizeof out);
  return derived;
}

}  // namespace pc::crypto
