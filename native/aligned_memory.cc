#include "aligned_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "args.h"
#include "job_memory.h"

namespace s3dlio {

namespace {
constexpr size_t kHugePageSize = 2u << 20;
constexpr size_t kHugePageThreshold = 8u << 20;
}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = other.Release();
  }
  return *this;
}

UniqueFd::~UniqueFd() { Close(); }

int UniqueFd::Release() {
  int fd = fd_;
  fd_ = -1;
  return fd;
}

int UniqueFd::Close() {
  if (fd_ < 0) return 0;
  int result = ::close(fd_);
  fd_ = -1;
  return result == 0 ? 0 : errno;
}

void FreeDeleter::operator()(void* pointer) const { std::free(pointer); }

AlignedMemory AlignedMemory::Allocate(size_t size, size_t alignment) {
  AlignedMemory memory;
  void* pointer = nullptr;
  // posix_memalign rejects a zero size on some platforms; callers never need empty memory.
  if (size == 0) size = alignment;
#ifdef MADV_HUGEPAGE
  // Large buffers are filled once by read(): with 2 MiB pages the kernel takes 512x fewer page
  // faults to populate them (transparent huge pages in "madvise" mode need the hint).
  const bool huge = size >= kHugePageThreshold;
  if (huge) alignment = std::max(alignment, kHugePageSize);
#endif
  if (posix_memalign(&pointer, alignment, size) != 0) return memory;
#ifdef MADV_HUGEPAGE
  if (huge) (void)madvise(pointer, size, MADV_HUGEPAGE);  // a hint: failure changes nothing
#endif
  memory.data_.reset(static_cast<uint8_t*>(pointer));
  memory.size_ = size;
  return memory;
}

void* AlignedMemory::Release() {
  size_ = 0;
  return data_.release();
}

namespace {
std::atomic<uint64_t> external_fallbacks{0};

// The ArrayBuffer is gone: drop its share (jobs still using the memory hold theirs).
void ReleaseExternal(napi_env /*env*/, void* data, void* /*hint*/) { ReleaseAllocation(data); }
}  // namespace

Napi::ArrayBuffer ToArrayBuffer(Napi::Env env, AlignedMemory memory, size_t length, bool* copied) {
  if (copied != nullptr) *copied = false;
  if (length == 0 || !memory) return Napi::ArrayBuffer::New(env, 0);
  void* data = memory.data();
  RegisterAllocation(std::make_shared<AlignedMemory>(std::move(memory)));
  napi_value result;
  napi_status status =
      napi_create_external_arraybuffer(env, data, length, ReleaseExternal, nullptr, &result);
  if (status == napi_ok) return Napi::ArrayBuffer(env, result);
  if (status != napi_no_external_buffers_allowed) {
    // No JS can run here any more (a worker being terminated), or V8 is out of memory: there is
    // no buffer to give. Raw calls only: a failing wrapper would try to throw.
    ReleaseAllocation(data);
    return Napi::ArrayBuffer();
  }

  // External buffers refused: copy once, free ours.
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  external_fallbacks.fetch_add(1, std::memory_order_relaxed);
  if (copied != nullptr) *copied = true;
  void* copy_data = nullptr;
  status = napi_create_arraybuffer(env, length, &copy_data, &result);
  if (status == napi_ok) std::memcpy(copy_data, data, length);
  ReleaseAllocation(data);
  return status == napi_ok ? Napi::ArrayBuffer(env, result) : Napi::ArrayBuffer();
}

uint64_t ExternalBufferFallbackCount() { return external_fallbacks.load(); }

// allocAligned(size, alignment) -> ArrayBuffer whose memory is aligned for O_DIRECT.
Napi::Value AllocAligned(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Args args(info, "allocAligned");
  int64_t size = 0;
  int64_t alignment = 0;
  if (!args.Count(2, 2) || !args.Integer(0, "size", 1, kMaxSafeInteger, &size) ||
      !args.Integer(1, "alignment", 1, kMaxAlignment, &alignment)) {
    return {};
  }
  if ((alignment & (alignment - 1)) != 0) {
    ThrowInvalidRange(env, "ERR_INVALID_ARG_VALUE", "alignment", "a power of two up to 1048576", info[1]);
    return {};
  }
  AlignedMemory memory = AlignedMemory::Allocate(static_cast<size_t>(size), static_cast<size_t>(alignment));
  if (!memory) {
    ThrowOutOfMemory(env, static_cast<size_t>(size));
    return {};
  }
  std::memset(memory.data(), 0, static_cast<size_t>(size));
  return ToArrayBuffer(env, std::move(memory), static_cast<size_t>(size));
}

}  // namespace s3dlio
