// Shared unit-test helpers for tests that touch the file system: a private temporary directory
// that removes itself, and a look at a file's permission bits.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>  // mkdtemp
#include <sys/stat.h>

#include <cerrno>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>

namespace pc::testing {

// A fresh directory (mode 0700, from mkdtemp) under the system temp directory, named
// "<prefix>-XXXXXX", removed with everything in it when this goes out of scope. As a fixture
// member it is made before and removed after each test.
class TempDir {
 public:
  explicit TempDir(std::string_view prefix) {
    std::string tmpl =
        (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      throw std::system_error(errno, std::generic_category(), "mkdtemp " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  // `name` joined to the directory, e.g. file("test.db").
  std::string file(std::string_view name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// stat(2) of `p`; a failure is a test failure (and gives a zeroed struct).
inline struct stat file_stat(const std::string& p) {
  struct stat st{};
  EXPECT_EQ(::stat(p.c_str(), &st), 0) << p;
  return st;
}

// The permission bits of `p` (e.g. 0600u), as file_stat sees them.
inline unsigned file_mode(const std::string& p) { return file_stat(p).st_mode & 07777; }

}  // namespace pc::testing
