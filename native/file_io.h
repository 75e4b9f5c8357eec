// Whole-file and ranged reads (buffered or O_DIRECT) and atomic whole-file writes. These are the
// blocking building blocks; the *Job structs in file_read.cc / file_write.cc run them off the
// event loop.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "aligned_memory.h"
#include "async_job.h"
#include "errors.h"

namespace s3dlio {

// Page-cache hints applied with posix_fadvise (buffered reads only). Values match lib/native.ts.
enum class CacheMode : int32_t { kAuto = 0, kNormal = 1, kSequential = 2, kRandom = 3, kDontNeed = 4 };

struct ReadSpec {
  std::string path;
  bool direct = false;
  uint32_t alignment = 0;            // minimum direct-I/O alignment requested by the user
  CacheMode cache_mode = CacheMode::kAuto;
  uint64_t offset = 0;
  int64_t length = -1;               // -1 reads to the end
  uint64_t chunk_size = 16u << 20;   // bytes per read syscall
  uint64_t max_length = UINT64_MAX;  // larger results fail before anything is allocated
  unsigned direct_threads = 4;       // chunks in flight for one O_DIRECT read
};

struct ReadResult {
  AlignedMemory memory;     // covers the aligned span for direct reads (empty when in a slab)
  uint8_t* data = nullptr;  // start of the span: memory.data(), or a place inside a slab
  int64_t slab = -1;        // index of the shared slab holding the bytes (batch reads), or -1
  uint64_t slab_offset = 0; // where `data` starts inside that slab
  uint64_t view_offset = 0; // where the requested bytes start inside the span
  uint64_t length = 0;      // requested bytes actually available (clamped to the file end)
  uint64_t file_size = 0;
};

// Where a read puts its bytes. The default gives each read its own allocation; batch reads of
// small files carve them out of shared slabs instead (see ReadManyJob).
class ReadAllocator {
 public:
  virtual ~ReadAllocator() = default;
  // Sets result->data (and result->memory or result->slab); false when out of memory.
  virtual bool Allocate(size_t size, size_t alignment, ReadResult* result) = 0;
};

// A user-named file opened for reading. Anything but a regular file is refused (ERR_NOT_A_FILE;
// EISDIR for a directory) before a byte is read, and opening never blocks (O_NONBLOCK: a FIFO
// without a writer).
struct SourceFile {
  UniqueFd fd;
  uint64_t size = 0;      // st_size
  uint32_t mode = 0;      // st_mode
  bool streamed = false;  // st_size is 0 or not the content size (pseudo filesystem): read to EOF
};
NativeError OpenSourceFile(const std::string& path, bool direct, SourceFile* out);

// Reads `fd` to its end into a growing buffer; more than `limit` bytes is ERR_OBJECT_TOO_LARGE, a
// read that would block is ERR_NOT_A_FILE. `direct`: the descriptor has O_DIRECT.
NativeError ReadToEnd(int fd, const std::string& path, uint64_t limit, bool direct,
                      const CancelFlag& cancel, AlignedMemory* out, uint64_t* filled);

NativeError ReadRange(const ReadSpec& spec, const CancelFlag& cancel, ReadResult* result,
                      ReadAllocator* allocator = nullptr);

// { buffer: ArrayBuffer, byteOffset, length, fileSize } for one successful read.
Napi::Object ReadResultToJs(Napi::Env env, ReadResult& result);

struct WriteSpec {
  std::string path;
  bool direct = false;
  uint32_t alignment = 0;
  bool fsync = false;               // fdatasync the file and fsync its directory
  bool no_replace = false;          // an existing destination fails with EEXIST, left as it is
  uint64_t chunk_size = 16u << 20;
};

// Writes to a temporary file beside `spec.path` and renames it into place: the object is either
// complete or absent, and the temporary file never outlives a failure or a cancellation.
NativeError WriteAtomically(const WriteSpec& spec, const uint8_t* data, size_t length,
                            const CancelFlag& cancel);

// pwrite of all `length` bytes at `offset` (retrying short writes and EINTR).
NativeError WriteAll(int fd, const uint8_t* data, size_t length, uint64_t offset, const std::string& path);

// A unique hidden temporary name in the same directory as `path` (so a rename stays atomic).
std::string TempPathFor(const std::string& path);

// The temporary file an atomic write goes through: created beside `path` (parents made as
// needed), removed when this object dies unless Commit renamed it into place.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)), temp_(TempPathFor(path_)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile();

  NativeError Open(int flags);
  int fd() const { return fd_.get(); }
  // fdatasync (with `fsync`), close, rename into place, fsync the directory (with `fsync`).
  // `no_replace`: an existing destination is EEXIST and stays untouched (of two committers of one
  // path exactly one succeeds).
  NativeError Commit(bool fsync, const CancelFlag& cancel, bool no_replace = false);

 private:
  std::string path_;
  std::string temp_;
  UniqueFd fd_;
  bool created_ = false;
};

// Reads the option fields shared by the JS entry points; false with a JS exception pending when a
// field has the wrong type or is out of range.
bool ReadSpecFromJs(const Napi::Object& options, ReadSpec* spec);
bool WriteSpecFromJs(const Napi::Object& options, WriteSpec* spec);

Napi::Value ReadFile(const Napi::CallbackInfo& info);
Napi::Value ReadFiles(const Napi::CallbackInfo& info);
Napi::Value WriteFile(const Napi::CallbackInfo& info);
Napi::Value CopyFile(const Napi::CallbackInfo& info);
Napi::Value DirectIoInfo(const Napi::CallbackInfo& info);

}  // namespace s3dlio
