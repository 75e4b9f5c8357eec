// RAII owners for file descriptors and aligned heap memory, plus the zero-copy hand-off of that
// memory to JavaScript as an external ArrayBuffer.
#pragma once

#include <napi.h>

#include <cstddef>
#include <cstdint>
#include <memory>

namespace s3dlio {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.Release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  ~UniqueFd();

  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  int Release();
  // Closes now and returns close()'s errno (0 on success): close can report deferred write errors.
  int Close();

 private:
  int fd_ = -1;
};

struct FreeDeleter {
  void operator()(void* pointer) const;
};

// Heap memory from posix_memalign, released with free().
class AlignedMemory {
 public:
  AlignedMemory() = default;
  // Returns an empty AlignedMemory when the allocation fails.
  static AlignedMemory Allocate(size_t size, size_t alignment);

  uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }
  explicit operator bool() const { return data_ != nullptr; }
  void* Release();

 private:
  std::unique_ptr<uint8_t, FreeDeleter> data_;
  size_t size_ = 0;
};

// Hands `memory` to JS without copying, as addon memory (job_memory.h): the allocation is freed
// once the ArrayBuffer is collected and no job uses it any more. Where the runtime
// forbids external buffers (Electron >= 21) it falls back to one copy and counts it.
// `copied` (optional) tells the caller which of the two happened. Empty when no buffer can be
// made (V8 out of memory, or an environment that can no longer run JS): the memory is freed.
Napi::ArrayBuffer ToArrayBuffer(Napi::Env env, AlignedMemory memory, size_t length,
                                bool* copied = nullptr);

// How many ArrayBuffers had to be copied because external buffers were refused.
uint64_t ExternalBufferFallbackCount();

// allocAligned(size, alignment) -> ArrayBuffer whose memory is aligned for O_DIRECT.
Napi::Value AllocAligned(const Napi::CallbackInfo& info);

}  // namespace s3dlio
