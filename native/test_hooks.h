// Test-only hooks. They are off unless an environment variable, read once when the addon loads,
// turns them on; a process that never sets it pays one empty-string check per read.
#pragma once

#include <string>

namespace s3dlio {

// Reads the hook variables (main thread, at addon load: getenv is not safe against a concurrent
// setenv from JS, so workers never call it).
void InitTestHooks();

// S3DLIO_TEST_READ_PAUSE_DIR=<dir>: lets a test change a file between the moment a read has
// learned its size (fstat) and its first read syscall, without racing a timer. A read of a file
// whose base name is N pauses there when <dir>/N exists: it renames <dir>/N to <dir>/N.paused
// (one pause per request), then waits until the test deletes <dir>/N.paused (at most 120 s).
void PauseBeforeReadForTests(const std::string& path);

}  // namespace s3dlio
