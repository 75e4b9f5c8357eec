#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "args.h"
#include "direct_io.h"
#include "file_io.h"
#include "io_pool.h"
#include "test_hooks.h"

namespace s3dlio {

namespace {

constexpr size_t kBufferedAlignment = 64;
constexpr size_t kPageSize = 4096;
constexpr uint64_t kSequentialHintThreshold = 4u << 20;

void Advise(int fd, uint64_t offset, uint64_t length, int advice) {
#ifdef POSIX_FADV_NORMAL
  // Advice is a hint: a failure changes nothing about correctness.
  (void)posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(length), advice);
#else
  (void)fd; (void)offset; (void)length; (void)advice;
#endif
}

void AdviseBeforeRead(int fd, const ReadSpec& spec, uint64_t offset, uint64_t length,
                      bool whole_file) {
#ifdef POSIX_FADV_NORMAL
  switch (spec.cache_mode) {
    case CacheMode::kAuto:
      // Small files are read in one go anyway: the hint would only cost a syscall per file.
      if (whole_file && length >= kSequentialHintThreshold) Advise(fd, offset, length, POSIX_FADV_SEQUENTIAL);
      break;
    case CacheMode::kSequential: Advise(fd, offset, length, POSIX_FADV_SEQUENTIAL); break;
    case CacheMode::kRandom: Advise(fd, offset, length, POSIX_FADV_RANDOM); break;
    case CacheMode::kNormal: Advise(fd, offset, length, POSIX_FADV_NORMAL); break;
    case CacheMode::kDontNeed: break;
  }
#else
  (void)fd; (void)spec; (void)offset; (void)length; (void)whole_file;
#endif
}

// Reads one chunk fully; returns the bytes read (fewer only at end of file).
NativeError ReadChunk(int fd, uint8_t* memory, uint64_t file_offset, uint64_t want, uint64_t unit,
                      const CancelFlag& cancel, const std::string& path, uint64_t* got_total) {
  uint64_t done = 0;
  while (done < want) {
    if (cancel.requested()) return Cancelled(path);
    ssize_t got = ::pread(fd, memory + done, static_cast<size_t>(want - done),
                          static_cast<off_t>(file_offset + done));
    if (got < 0) {
      if (errno == EINTR) continue;
      return NativeError::FromErrno(errno, "pread", path);
    }
    if (got == 0) break;
    done += static_cast<uint64_t>(got);
    if (static_cast<uint64_t>(got) % unit != 0) break;  // O_DIRECT short read: end of file
  }
  *got_total = done;
  return {};
}

// Reads the first `needed` bytes of [start, start + span) into `memory`, chunk by chunk. With
// threads > 1 several chunks are in flight at once: O_DIRECT has no readahead, so this is what
// keeps the device queue full.
NativeError ReadSpan(int fd, uint8_t* memory, uint64_t start, uint64_t span, uint64_t needed,
                     uint64_t chunk, uint64_t unit, unsigned threads, const CancelFlag& cancel,
                     const std::string& path) {
  const uint64_t chunks = (span + chunk - 1) / chunk;
  std::atomic<uint64_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex error_mutex;
  NativeError first_error;
  auto work = [&]() {
    for (uint64_t index = next++; index < chunks && !failed.load(); index = next++) {
      const uint64_t begin = index * chunk;
      const uint64_t want = std::min(chunk, span - begin);
      uint64_t got = 0;
      NativeError error = ReadChunk(fd, memory + begin, start + begin, want, unit, cancel, path, &got);
      if (error.ok() && begin + got < std::min(begin + want, needed)) {
        error = NativeError::Custom("ERR_CHANGED_DURING_READ",
                                    "the file became shorter while it was being read", path);
      }
      if (!error.ok()) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!failed.exchange(true)) first_error = std::move(error);
      }
    }
  };
  std::vector<std::thread> pool;
  const uint64_t extra = std::min<uint64_t>(threads, chunks) > 1 ? std::min<uint64_t>(threads, chunks) - 1 : 0;
  for (uint64_t i = 0; i < extra; ++i) {
    try {
      pool.emplace_back(work);
    } catch (const std::exception&) {
      break;  // fewer threads than asked: the others still read every chunk
    }
  }
  work();
  for (std::thread& thread : pool) thread.join();
  return first_error;
}

// One allocation per read, freed by the ArrayBuffer's finalizer.
class OwnAllocation : public ReadAllocator {
 public:
  bool Allocate(size_t size, size_t alignment, ReadResult* result) override {
    result->memory = AlignedMemory::Allocate(size, alignment);
    result->data = result->memory.data();
    return static_cast<bool>(result->memory);
  }
};

NativeError PastTheEnd(const ReadSpec& spec, uint64_t size) {
  return NativeError::Custom("ERR_RANGE_NOT_SATISFIABLE",
                             "offset " + std::to_string(spec.offset) +
                                 " is past the end of the object (size " + std::to_string(size) + ")",
                             spec.path);
}

// A file whose size the kernel does not know (st_size 0, pseudo filesystems): read whole, up to
// maxLength, then cut to the requested range. Never 0 bytes because st_size said 0.
NativeError ReadStreamed(int fd, const ReadSpec& spec, const CancelFlag& cancel, ReadResult* result,
                         ReadAllocator* allocator) {
  AlignedMemory content;
  uint64_t size = 0;
  NativeError error = ReadToEnd(fd, spec.path, spec.max_length, spec.direct, cancel, &content, &size);
  if (!error.ok()) return error;
  if (spec.offset > size) return PastTheEnd(spec, size);
  const uint64_t available = size - spec.offset;
  const uint64_t length =
      spec.length < 0 ? available : std::min<uint64_t>(static_cast<uint64_t>(spec.length), available);
  result->file_size = size;
  result->length = length;
  if (length == 0) return {};
  OwnAllocation own;
  if (!(allocator != nullptr ? allocator : &own)->Allocate(length, kBufferedAlignment, result)) {
    return NativeError::FromErrno(ENOMEM, "posix_memalign", spec.path);
  }
  std::memcpy(result->data, content.data() + spec.offset, static_cast<size_t>(length));
  result->view_offset = 0;
  return {};
}

}  // namespace

NativeError ReadRange(const ReadSpec& spec, const CancelFlag& cancel, ReadResult* result,
                      ReadAllocator* allocator) {
  if (cancel.requested()) return Cancelled(spec.path);
  SourceFile source;
  NativeError error = OpenSourceFile(spec.path, spec.direct, &source);
  if (!error.ok()) return error;
  UniqueFd& fd = source.fd;
  if (source.streamed) return ReadStreamed(fd.get(), spec, cancel, result, allocator);

  const uint64_t size = source.size;
  if (spec.offset > size) return PastTheEnd(spec, size);
  const uint64_t available = size - spec.offset;
  const uint64_t length =
      spec.length < 0 ? available : std::min<uint64_t>(static_cast<uint64_t>(spec.length), available);
  if (length > spec.max_length) {
    return NativeError::Custom("ERR_OBJECT_TOO_LARGE",
                               std::to_string(length) + " bytes do not fit in one buffer (limit " +
                                   std::to_string(spec.max_length) +
                                   "); read it with getStream or getRange windows",
                               spec.path);
  }
  result->file_size = size;
  result->length = length;
  if (length == 0) return {};
  PauseBeforeReadForTests(spec.path);

  uint64_t start = spec.offset;
  uint64_t span = length;
  uint64_t chunk = std::max<uint64_t>(spec.chunk_size, kPageSize);
  uint64_t unit = 1;  // a short read that is not a multiple of this means end of file
  size_t memory_alignment = kBufferedAlignment;
  if (spec.direct) {
    DirectIoAlignment alignment = ProbeDirectIo(fd.get(), spec.alignment);
    if (!alignment.supported) return DirectIoUnsupported(spec.path, alignment.reason);
    unit = alignment.offset;
    start = AlignDown(spec.offset, unit);
    span = AlignUp(spec.offset + length, unit) - start;
    chunk = AlignUp(chunk, unit);
    memory_alignment = std::max<size_t>(alignment.memory, kPageSize);
  } else {
    AdviseBeforeRead(fd.get(), spec, start, length, spec.offset == 0 && length == size);
  }

  OwnAllocation own;
  if (!(allocator != nullptr ? allocator : &own)->Allocate(span, memory_alignment, result)) {
    return NativeError::FromErrno(ENOMEM, "posix_memalign", spec.path);
  }

  const uint64_t needed = spec.offset + length - start;
  error = ReadSpan(fd.get(), result->data, start, span, needed, chunk, unit,
                   spec.direct ? spec.direct_threads : 1, cancel, spec.path);
  if (!error.ok()) return error;
#ifdef POSIX_FADV_DONTNEED
  if (!spec.direct && spec.cache_mode == CacheMode::kDontNeed) {
    Advise(fd.get(), spec.offset, length, POSIX_FADV_DONTNEED);
  }
#endif
  result->view_offset = spec.offset - start;
  return {};
}

Napi::Object ReadResultToJs(Napi::Env env, ReadResult& result) {
  Napi::Object object = Napi::Object::New(env);
  size_t bytes = result.length == 0 ? 0 : static_cast<size_t>(result.view_offset + result.length);
  // The ArrayBuffer covers only what was asked for (plus the leading alignment slack for direct
  // reads); the allocation may be larger and is freed whole by the finalizer.
  bool copied = false;
  Napi::ArrayBuffer buffer = ToArrayBuffer(env, std::move(result.memory), bytes, &copied);
  if (buffer.IsEmpty()) return Napi::Object();
  object.Set("buffer", buffer);
  if (copied) object.Set("copied", true);
  object.Set("byteOffset", static_cast<double>(result.length == 0 ? 0 : result.view_offset));
  object.Set("length", static_cast<double>(result.length));
  object.Set("fileSize", static_cast<double>(result.file_size));
  return object;
}

bool ReadSpecFromJs(const Napi::Object& options, ReadSpec* spec) {
  Options fields(options, "options");
  int64_t alignment = spec->alignment;
  int64_t cache_mode = static_cast<int64_t>(spec->cache_mode);
  int64_t offset = static_cast<int64_t>(spec->offset);
  int64_t chunk_size = static_cast<int64_t>(spec->chunk_size);
  int64_t max_length = -1;
  int64_t direct_threads = spec->direct_threads;
  if (!fields.Bool("direct", &spec->direct) || !fields.Alignment("alignment", &alignment) ||
      !fields.Integer("cacheMode", 0, static_cast<int64_t>(CacheMode::kDontNeed), &cache_mode) ||
      !fields.Integer("offset", 0, kMaxSafeInteger, &offset) ||
      !fields.Integer("length", -1, kMaxSafeInteger, &spec->length) ||
      !fields.Integer("chunkSize", 1, kMaxChunkSize, &chunk_size) ||
      !fields.Integer("maxLength", -1, kMaxSafeInteger, &max_length) ||
      !fields.Integer("directThreads", 1, kMaxThreads, &direct_threads)) {
    return false;
  }
  spec->alignment = static_cast<uint32_t>(alignment);
  spec->cache_mode = static_cast<CacheMode>(cache_mode);
  spec->offset = static_cast<uint64_t>(offset);
  spec->chunk_size = static_cast<uint64_t>(chunk_size);
  if (max_length >= 0) spec->max_length = static_cast<uint64_t>(max_length);
  spec->direct_threads = static_cast<unsigned>(direct_threads);
  return true;
}

namespace {

struct ReadJob {
  ReadSpec spec;
  CancelFlag cancel;
  ReadResult result;
  NativeError error;

  void Execute() { error = ReadRange(spec, cancel, &result); }
  Napi::Value Result(Napi::Env env) { return ReadResultToJs(env, result); }
};

// Small files of a batch share slabs: one 8 MiB allocation (huge pages where available) holds
// dozens of results, instead of one mmap'd allocation and dozens of page faults per file. A
// result keeps its slab alive (it is a view of the slab's ArrayBuffer), which bounds the extra
// memory a caller can retain to one slab per object it keeps. The workers of a batch fill one
// slab together (a slab per worker would fault in a huge page per thread for a batch of a few
// small files: 16 threads, 32 MiB zeroed for 4 MiB read).
constexpr size_t kSlabSize = 8u << 20;
constexpr size_t kLargestSlabItem = 1u << 20;

struct Slab {
  AlignedMemory memory;
  uint64_t used = 0;  // written under the allocator's lock, read after the workers joined
};

class SlabAllocator : public ReadAllocator {
 public:
  explicit SlabAllocator(std::vector<std::unique_ptr<Slab>>* slabs) : slabs_(slabs) {}

  bool Allocate(size_t size, size_t alignment, ReadResult* result) override {
    if (size > kLargestSlabItem) {
      result->memory = AlignedMemory::Allocate(size, alignment);
      result->data = result->memory.data();
      return static_cast<bool>(result->memory);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    Slab* current = slabs_->empty() ? nullptr : slabs_->back().get();
    uint64_t offset = current == nullptr ? 0 : AlignUp(current->used, alignment);
    if (current == nullptr || offset + size > kSlabSize) {
      auto slab = std::make_unique<Slab>();
      slab->memory = AlignedMemory::Allocate(kSlabSize, std::max<size_t>(alignment, 4096));
      if (!slab->memory) return false;
      current = slab.get();
      slabs_->push_back(std::move(slab));
      offset = 0;
    }
    current->used = offset + size;
    result->data = current->memory.data() + offset;
    result->slab = static_cast<int64_t>(slabs_->size() - 1);
    result->slab_offset = offset;
    return true;
  }

 private:
  std::vector<std::unique_ptr<Slab>>* slabs_;
  std::mutex mutex_;
};

// Many files in one native call: `threads` workers pull indices from a shared counter, so the
// disk sees that many requests in flight without one libuv round-trip per file.
struct ReadManyJob {
  std::vector<std::string> paths;
  ReadSpec common;
  unsigned threads = 16;
  // Per file, when asked (the op-log): start and end (uv_hrtime, ns) and the worker that read it.
  bool timing = false;
  std::vector<double> times;
  CancelFlag cancel;
  std::vector<ReadResult> results;
  std::vector<NativeError> errors;
  std::vector<std::unique_ptr<Slab>> slabs;
  NativeError error;

  void Execute() {
    const size_t count = paths.size();
    results.resize(count);
    errors.resize(count);
    if (timing) times.assign(count * 3, 0.0);
    std::atomic<size_t> next{0};
    SlabAllocator allocator(&slabs);
    auto work = [&](size_t worker) {
      for (size_t index = next++; index < count; index = next++) {
        ReadSpec spec = common;
        spec.path = paths[index];
        const uint64_t start = timing ? uv_hrtime() : 0;
        errors[index] = ReadRange(spec, cancel, &results[index], &allocator);
        if (timing) {
          times[index * 3] = static_cast<double>(start);
          times[index * 3 + 1] = static_cast<double>(uv_hrtime());
          times[index * 3 + 2] = static_cast<double>(worker);
        }
      }
    };
    std::vector<std::thread> pool;
    const size_t extra = std::min<size_t>(threads, count) > 0 ? std::min<size_t>(threads, count) - 1 : 0;
    for (size_t i = 0; i < extra; ++i) {
      try {
        pool.emplace_back(work, i + 1);
      } catch (const std::exception&) {
        break;  // fewer threads than asked: the remaining ones still drain the queue
      }
    }
    work(0);
    for (std::thread& thread : pool) thread.join();
    if (cancel.requested()) error = Cancelled(count > 0 ? paths[0] : std::string());
  }

  Napi::Value Result(Napi::Env env) {
    Napi::Array array = Napi::Array::New(env, paths.size());
    std::vector<Napi::ArrayBuffer> slab_buffers(slabs.size());
    for (size_t i = 0; i < paths.size(); ++i) {
      ReadResult& result = results[i];
      if (!errors[i].ok()) {
        array.Set(static_cast<uint32_t>(i), ToJsError(env, errors[i]).Value());
      } else if (result.slab < 0) {
        Napi::Object object = ReadResultToJs(env, result);
        if (object.IsEmpty()) return Napi::Value();
        array.Set(static_cast<uint32_t>(i), object);
      } else {
        Napi::ArrayBuffer& buffer = slab_buffers[static_cast<size_t>(result.slab)];
        Slab& slab = *slabs[static_cast<size_t>(result.slab)];
        bool copied = false;
        if (buffer.IsEmpty()) buffer = ToArrayBuffer(env, std::move(slab.memory), slab.used, &copied);
        if (buffer.IsEmpty()) return Napi::Value();
        Napi::Object object = Napi::Object::New(env);
        object.Set("buffer", buffer);
        if (copied) object.Set("copied", true);
        object.Set("byteOffset", static_cast<double>(result.slab_offset + result.view_offset));
        object.Set("length", static_cast<double>(result.length));
        object.Set("fileSize", static_cast<double>(result.file_size));
        array.Set(static_cast<uint32_t>(i), object);
      }
    }
    if (timing) {
      Napi::Float64Array list = Napi::Float64Array::New(env, times.size());
      std::copy(times.begin(), times.end(), list.Data());
      array.Set("times", list);
    }
    return array;
  }
};

}  // namespace

// readFile(path, options, cancelFlag?) -> Promise<ReadResult>
Napi::Value ReadFile(const Napi::CallbackInfo& info) {
  Args args(info, "readFile");
  ReadJob job;
  Napi::Object options;
  if (!args.Count(2, 3) || !args.Path(0, "path", &job.spec.path) || !args.Object(1, "options", &options) ||
      !ReadSpecFromJs(options, &job.spec) || !args.Cancel(2, &job.cancel)) {
    return {};
  }
  // On the I/O pool: single reads in flight are not capped by libuv's four threads.
  return QueueIoJob(info.Env(), std::move(job), {info[2]});
}

// readFiles(paths, options, cancelFlag?) -> Promise<Array<ReadResult | Error>>
Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Args args(info, "readFiles");
  ReadManyJob job;
  Napi::Object options;
  int64_t threads = job.threads;
  if (!args.Count(2, 3) || !args.Paths(0, "paths", &job.paths) || !args.Object(1, "options", &options) ||
      !ReadSpecFromJs(options, &job.common) ||
      !Options(options, "options").Integer("threads", 1, kMaxThreads, &threads) ||
      !Options(options, "options").Bool("timing", &job.timing) || !args.Cancel(2, &job.cancel)) {
    return {};
  }
  job.threads = static_cast<unsigned>(threads);
  return QueueJob(info.Env(), std::move(job), {info[2]});
}

}  // namespace s3dlio
