// TempDir (tests only): a fresh directory made with mkdtemp under $TMPDIR (else /tmp),
// removed with its contents when the object goes. For tests that need real files.
#ifndef POWERCUT_ENGINE_POSIX_TEMP_DIR_FOR_TEST_H_
#define POWERCUT_ENGINE_POSIX_TEMP_DIR_FOR_TEST_H_

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace powercut::posix {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "powercut") {
    const char* tmpdir = std::getenv("TMPDIR");
    std::string pattern =
        (tmpdir != nullptr && *tmpdir != '\0' ? std::string(tmpdir) : std::string("/tmp")) +
        "/" + prefix + ".XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp " + pattern);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string File(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace powercut::posix

#endif  // POWERCUT_ENGINE_POSIX_TEMP_DIR_FOR_TEST_H_
