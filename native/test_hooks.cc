#include "test_hooks.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace s3dlio {

namespace {

std::string& ReadPauseDir() {
  static std::string dir;
  return dir;
}

}  // namespace

void InitTestHooks() {
  const char* dir = std::getenv("S3DLIO_TEST_READ_PAUSE_DIR");
  ReadPauseDir() = dir == nullptr ? "" : dir;
}

void PauseBeforeReadForTests(const std::string& path) {
  const std::string& dir = ReadPauseDir();
  if (dir.empty()) return;
  const size_t slash = path.find_last_of('/');
  const std::string request = dir + "/" + (slash == std::string::npos ? path : path.substr(slash + 1));
  const std::string paused = request + ".paused";
  // The rename both tells the test that the read is paused and consumes the request.
  if (std::rename(request.c_str(), paused.c_str()) != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (::access(paused.c_str(), F_OK) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

}  // namespace s3dlio
