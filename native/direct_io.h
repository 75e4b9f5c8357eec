// Detecting whether a file descriptor supports O_DIRECT and with which alignment.
#pragma once

#include <cstdint>
#include <string>

#include "errors.h"

namespace s3dlio {

struct DirectIoAlignment {
  bool supported = false;
  uint32_t memory = 0;   // buffer address alignment
  uint32_t offset = 0;   // file offset and length alignment
  bool from_statx = false;
  uint64_t filesystem_type = 0;
  std::string reason;    // why direct I/O is unsupported, when it is
};

// Whether this build can open files with O_DIRECT at all (Linux only).
constexpr bool kHaveODirect =
#ifdef __linux__
    true;
#else
    false;
#endif

// Open flag for direct I/O (0 where the platform has none).
int DirectOpenFlag();

// Reads the direct-I/O alignment of `fd` (statx STATX_DIOALIGN, then fstatfs). `requested` (0 =
// none) raises both alignments; without statx information the safe default is 4096.
DirectIoAlignment ProbeDirectIo(int fd, uint32_t requested);

NativeError DirectIoUnsupported(const std::string& path, const std::string& reason);

// Rounds `value` up/down to a multiple of `alignment` (a power of two).
inline uint64_t AlignDown(uint64_t value, uint64_t alignment) { return value & ~(alignment - 1); }
inline uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace s3dlio
