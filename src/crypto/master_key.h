// The master key (key-encryption key): 32 random bytes in a file that only the gateway's user may
// read. It wraps the per-tenant data keys and the signing keys; losing it makes the encrypted
// data unreadable, leaking it exposes all of it. Hence: created once, atomically, mode 0600;
// never silently replaced; refused when its permissions or size are wrong; zeroed in memory.
//
// This header also holds the "private file" helpers (owner-only directories and atomically
// written 0600 files) that the key file and the bootstrap credentials file share.
#pragma once

#include <array>
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace pc::crypto {

class MasterKey {
 public:
  static constexpr std::size_t kSize = 32;

  explicit MasterKey(std::span<const unsigned char, kSize> bytes);
  ~MasterKey();  // OPENSSL_cleanse
  // Moving copies the bytes and cleanses the source, so no stale copy is left behind.
  MasterKey(MasterKey&& other) noexcept;
  MasterKey& operator=(MasterKey&& other) noexcept;
  MasterKey(const MasterKey&) = delete;
  MasterKey& operator=(const MasterKey&) = delete;

  std::span<const unsigned char, kSize> bytes() const { return bytes_; }

 private:
  std::array<unsigned char, kSize> bytes_;
};

// A key for one purpose derived from the master key: HMAC-SHA256(master key, label), 32 bytes.
// Every node holding the same master key derives the same key (issue 10: the MCP cursor key, so
// a cursor one node issued is accepted by another) without another secret to distribute.
std::string derive_key(const MasterKey& master, std::string_view label);

// Loads an existing key file. Throws std::runtime_error (naming the path) when the file is
// missing, is not a regular file, is accessible by group or others, or is not exactly 32 bytes.
MasterKey load_master_key(const std::string& path);

// Loads the key file, or creates it with fresh random bytes when it does not exist. If another
// process creates it concurrently, the first one to land wins and both load that key.
// `created` (optional) tells whether this call created the file.
MasterKey load_or_create_master_key(const std::string& path, bool* created = nullptr);

// ---- Private files -------------------------------------------------------------------------

// Creates `dir` and any missing parents with mode 0700. An existing directory is left as the
// operator set it up (it may be a mount point with a deliberate mode).
void ensure_private_dir(const std::string& dir);

// A file written in full to a fresh temporary file beside its destination (O_EXCL, mode 0600,
// fsynced) and moved into place only by commit(). Readers therefore see either no file or the
// whole file, never a torn or world-readable one, even after a crash.
class PendingPrivateFile {
 public:
  PendingPrivateFile(std::string path, std::string_view contents);
  ~PendingPrivateFile();  // removes the temporary file unless committed or released
  PendingPrivateFile(const PendingPrivateFile&) = delete;
  PendingPrivateFile& operator=(const PendingPrivateFile&) = delete;

  // Renames the temporary file to the destination and fsyncs the directory. With
  // replace_existing = false the rename never clobbers: it returns false (and discards the
  // temporary file) when the destination already exists. Throws on I/O errors.
  bool commit(bool replace_existing);

  // Leaves the temporary file on disk (for a caller that cannot commit but must not lose the
  // contents, and names temp_path() in its error).
  void release() { released_ = true; }
  const std::string& temp_path() const { return temp_path_; }

 private:
  std::string path_;
  std::string temp_path_;
  bool released_ = false;  // committed or deliberately kept
};

// Convenience: PendingPrivateFile(path, contents).commit(replace_existing).
bool write_private_file(const std::string& path, std::string_view contents, bool replace_existing);

}  // namespace pc::crypto
