#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "direct_io.h"
#include "file_io.h"
#include "js_options.h"

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

NativeError OpenForRead(const ReadSpec& spec, UniqueFd* fd) {
  int flags = O_RDONLY | O_CLOEXEC;
  if (spec.direct) {
    if (!kHaveODirect) return DirectIoUnsupported(spec.path, "O_DIRECT is only implemented on Linux");
    flags |= DirectOpenFlag();
  }
  *fd = UniqueFd(::open(spec.path.c_str(), flags));
  if (fd->valid()) return {};
  int error = errno;
  if (spec.direct && error == EINVAL) {
    struct stat st;
    if (::stat(spec.path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
      return NativeError::FromErrno(EISDIR, "open", spec.path);
    }
    return DirectIoUnsupported(spec.path, "open(O_DIRECT) was refused with EINVAL");
  }
  return NativeError::FromErrno(error, "open", spec.path);
}

}  // namespace

namespace {

// One allocation per read, freed by the ArrayBuffer's finalizer.
class OwnAllocation : public ReadAllocator {
 public:
  bool Allocate(size_t size, size_t alignment, ReadResult* result) override {
    result->memory = AlignedMemory::Allocate(size, alignment);
    result->data = result->memory.data();
    return static_cast<bool>(result->memory);
  }
};

}  // namespace

NativeError ReadRange(const ReadSpec& spec, const CancelFlag& cancel, ReadResult* result,
                      ReadAllocator* allocator) {
  if (cancel.requested()) return Cancelled(spec.path);
  UniqueFd fd;
  NativeError error = OpenForRead(spec, &fd);
  if (!error.ok()) return error;

  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return NativeError::FromErrno(errno, "fstat", spec.path);
  if (S_ISDIR(st.st_mode)) return NativeError::FromErrno(EISDIR, "read", spec.path);
  if (!S_ISREG(st.st_mode)) {
    return NativeError::Custom("ERR_NOT_A_FILE", "not a regular file", spec.path);
  }

  const uint64_t size = static_cast<uint64_t>(st.st_size);
  if (spec.offset > size) {
    return NativeError::Custom("ERR_RANGE_NOT_SATISFIABLE",
                               "offset " + std::to_string(spec.offset) +
                                   " is past the end of the object (size " +
                                   std::to_string(size) + ")",
                               spec.path);
  }
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
  object.Set("buffer", ToArrayBuffer(env, std::move(result.memory), bytes, &copied));
  if (copied) object.Set("copied", true);
  object.Set("byteOffset", static_cast<double>(result.length == 0 ? 0 : result.view_offset));
  object.Set("length", static_cast<double>(result.length));
  object.Set("fileSize", static_cast<double>(result.file_size));
  return object;
}

ReadSpec ReadSpecFromJs(const Napi::Object& options) {
  ReadSpec spec;
  spec.direct = OptionBool(options, "direct", false);
  spec.alignment = static_cast<uint32_t>(OptionInt(options, "alignment", 0));
  spec.cache_mode = static_cast<CacheMode>(OptionInt(options, "cacheMode", 0));
  spec.offset = static_cast<uint64_t>(OptionInt(options, "offset", 0));
  spec.length = OptionInt(options, "length", -1);
  spec.chunk_size = static_cast<uint64_t>(OptionInt(options, "chunkSize", spec.chunk_size));
  spec.direct_threads = static_cast<unsigned>(std::max<int64_t>(1, OptionInt(options, "directThreads", spec.direct_threads)));
  int64_t max_length = OptionInt(options, "maxLength", -1);
  if (max_length >= 0) spec.max_length = static_cast<uint64_t>(max_length);
  return spec;
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
// memory a caller can retain to one slab per object it keeps.
constexpr size_t kSlabSize = 8u << 20;
constexpr size_t kLargestSlabItem = 1u << 20;

struct Slab {
  AlignedMemory memory;
  uint64_t used = 0;  // written only by the thread that owns the slab, read after join
};

class SlabAllocator : public ReadAllocator {
 public:
  SlabAllocator(std::vector<std::unique_ptr<Slab>>* slabs, std::mutex* mutex)
      : slabs_(slabs), mutex_(mutex) {}

  bool Allocate(size_t size, size_t alignment, ReadResult* result) override {
    if (size > kLargestSlabItem) {
      result->memory = AlignedMemory::Allocate(size, alignment);
      result->data = result->memory.data();
      return static_cast<bool>(result->memory);
    }
    uint64_t offset = current_ == nullptr ? 0 : AlignUp(current_->used, alignment);
    if (current_ == nullptr || offset + size > kSlabSize) {
      auto slab = std::make_unique<Slab>();
      slab->memory = AlignedMemory::Allocate(kSlabSize, std::max<size_t>(alignment, 4096));
      if (!slab->memory) return false;
      std::lock_guard<std::mutex> lock(*mutex_);
      current_index_ = static_cast<int64_t>(slabs_->size());
      current_ = slab.get();
      slabs_->push_back(std::move(slab));
      offset = 0;
    }
    current_->used = offset + size;
    result->data = current_->memory.data() + offset;
    result->slab = current_index_;
    result->slab_offset = offset;
    return true;
  }

 private:
  std::vector<std::unique_ptr<Slab>>* slabs_;
  std::mutex* mutex_;
  Slab* current_ = nullptr;
  int64_t current_index_ = -1;
};

// Many files in one native call: `threads` workers pull indices from a shared counter, so the
// disk sees that many requests in flight without one libuv round-trip per file.
struct ReadManyJob {
  std::vector<std::string> paths;
  ReadSpec common;
  unsigned threads = 16;
  CancelFlag cancel;
  std::vector<ReadResult> results;
  std::vector<NativeError> errors;
  std::vector<std::unique_ptr<Slab>> slabs;
  NativeError error;

  void Execute() {
    const size_t count = paths.size();
    results.resize(count);
    errors.resize(count);
    std::atomic<size_t> next{0};
    std::mutex slab_mutex;
    auto work = [&]() {
      SlabAllocator allocator(&slabs, &slab_mutex);
      for (size_t index = next++; index < count; index = next++) {
        ReadSpec spec = common;
        spec.path = paths[index];
        errors[index] = ReadRange(spec, cancel, &results[index], &allocator);
      }
    };
    std::vector<std::thread> pool;
    const size_t extra = std::min<size_t>(threads, count) > 0 ? std::min<size_t>(threads, count) - 1 : 0;
    for (size_t i = 0; i < extra; ++i) {
      try {
        pool.emplace_back(work);
      } catch (const std::exception&) {
        break;  // fewer threads than asked: the remaining ones still drain the queue
      }
    }
    work();
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
        array.Set(static_cast<uint32_t>(i), ReadResultToJs(env, result));
      } else {
        Napi::ArrayBuffer& buffer = slab_buffers[static_cast<size_t>(result.slab)];
        Slab& slab = *slabs[static_cast<size_t>(result.slab)];
        bool copied = false;
        if (buffer.IsEmpty()) buffer = ToArrayBuffer(env, std::move(slab.memory), slab.used, &copied);
        Napi::Object object = Napi::Object::New(env);
        object.Set("buffer", buffer);
        if (copied) object.Set("copied", true);
        object.Set("byteOffset", static_cast<double>(result.slab_offset + result.view_offset));
        object.Set("length", static_cast<double>(result.length));
        object.Set("fileSize", static_cast<double>(result.file_size));
        array.Set(static_cast<uint32_t>(i), object);
      }
    }
    return array;
  }
};

}  // namespace

// readFile(path, options, cancelFlag?) -> Promise<ReadResult>
Napi::Value ReadFile(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReadJob job;
  job.spec = ReadSpecFromJs(info[1].As<Napi::Object>());
  job.spec.path = info[0].As<Napi::String>().Utf8Value();
  job.cancel = CancelFlag::From(info[2]);
  return QueueJob(env, std::move(job), {info[2]});
}

// readFiles(paths, options, cancelFlag?) -> Promise<Array<ReadResult | Error>>
Napi::Value ReadFiles(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Array paths = info[0].As<Napi::Array>();
  Napi::Object options = info[1].As<Napi::Object>();
  ReadManyJob job;
  job.common = ReadSpecFromJs(options);
  job.threads = static_cast<unsigned>(std::max<int64_t>(1, OptionInt(options, "threads", 16)));
  job.paths.reserve(paths.Length());
  for (uint32_t i = 0; i < paths.Length(); ++i) {
    job.paths.push_back(paths.Get(i).As<Napi::String>().Utf8Value());
  }
  job.cancel = CancelFlag::From(info[2]);
  return QueueJob(env, std::move(job), {info[2]});
}

}  // namespace s3dlio
