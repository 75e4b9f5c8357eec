#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/syscall.h>
#endif

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <random>

#include "args.h"
#include "direct_io.h"
#include "file_io.h"
#include "job_memory.h"

namespace s3dlio {

namespace {

std::string DirName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string BaseName(const std::string& path) {
  size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

// A unique hidden name in the destination's directory, so the final rename stays on one
// filesystem (atomic) and readers listing the directory skip it.
std::string TempPathFor(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t seed = std::random_device{}() ^
      static_cast<uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  char suffix[64];
  std::snprintf(suffix, sizeof(suffix), ".s3dlio-%d-%016llx.tmp", static_cast<int>(::getpid()),
                static_cast<unsigned long long>(seed + counter.fetch_add(1) * 0x9E3779B97F4A7C15ull));
  // Keep the temporary name within NAME_MAX however long the destination name is.
  std::string base = BaseName(path).substr(0, 160);
  std::string dir = DirName(path);
  return (dir == "/" ? "" : dir) + "/." + base + suffix;
}

NativeError WriteAll(int fd, const uint8_t* data, size_t length, uint64_t offset,
                     const std::string& path) {
  while (length > 0) {
    ssize_t written = ::pwrite(fd, data, length, static_cast<off_t>(offset));
    if (written < 0) {
      if (errno == EINTR) continue;
      return NativeError::FromErrno(errno, "pwrite", path);
    }
    data += written;
    offset += static_cast<uint64_t>(written);
    length -= static_cast<size_t>(written);
  }
  return {};
}

namespace {

// mkdir -p for the parents of `path`.
NativeError MakeParents(const std::string& path) {
  std::string dir = DirName(path);
  for (size_t position = 1; position <= dir.size(); ++position) {
    if (position != dir.size() && dir[position] != '/') continue;
    std::string prefix = dir.substr(0, position);
    if (::mkdir(prefix.c_str(), 0777) != 0 && errno != EEXIST) {
      return NativeError::FromErrno(errno, "mkdir", prefix);
    }
  }
  return {};
}

NativeError WriteChunks(int fd, const uint8_t* data, size_t length, uint64_t chunk,
                        const CancelFlag& cancel, const std::string& path) {
  for (size_t done = 0; done < length;) {
    if (cancel.requested()) return Cancelled(path);
    size_t size = static_cast<size_t>(std::min<uint64_t>(chunk, length - done));
    NativeError error = WriteAll(fd, data + done, size, done, path);
    if (!error.ok()) return error;
    done += size;
  }
  return {};
}

// O_DIRECT needs aligned memory; JS memory is not. Copy chunk k+1 into one bounce buffer while
// chunk k is written from the other, so the copy hides behind the device time.
NativeError WriteChunksThroughBounce(int fd, const uint8_t* data, size_t length, uint64_t chunk,
                                     size_t memory_alignment, const CancelFlag& cancel,
                                     const std::string& path) {
  AlignedMemory buffers[2] = {AlignedMemory::Allocate(chunk, memory_alignment),
                              AlignedMemory::Allocate(chunk, memory_alignment)};
  if (!buffers[0] || !buffers[1]) return NativeError::FromErrno(ENOMEM, "posix_memalign", path);
  std::future<NativeError> in_flight;
  NativeError error;
  size_t index = 0;
  for (size_t done = 0; done < length; done += chunk, ++index) {
    if (cancel.requested()) {
      error = Cancelled(path);
      break;
    }
    size_t size = static_cast<size_t>(std::min<uint64_t>(chunk, length - done));
    uint8_t* target = buffers[index % 2].data();
    std::memcpy(target, data + done, size);
    if (in_flight.valid()) {
      error = in_flight.get();
      if (!error.ok()) break;
    }
    in_flight = std::async(std::launch::async, [=, &path]() {
      return WriteAll(fd, target, size, done, path);
    });
  }
  if (in_flight.valid()) {
    NativeError last = in_flight.get();
    if (error.ok()) error = last;
  }
  return error;
}

NativeError WriteDirect(int fd, const WriteSpec& spec, const DirectIoAlignment& alignment,
                        const uint8_t* data, size_t length, const CancelFlag& cancel) {
  const uint64_t unit = alignment.offset;
  const size_t memory_alignment = std::max<size_t>(alignment.memory, 4096);
  const uint64_t chunk = AlignUp(std::max<uint64_t>(spec.chunk_size, unit), unit);
  const size_t body = static_cast<size_t>(AlignDown(length, unit));
  const bool user_memory_aligned = reinterpret_cast<uintptr_t>(data) % alignment.memory == 0;

  NativeError error =
      user_memory_aligned
          ? WriteChunks(fd, data, body, chunk, cancel, spec.path)
          : WriteChunksThroughBounce(fd, data, body, chunk, memory_alignment, cancel, spec.path);
  if (!error.ok() || body == length) return error;

  // Unaligned tail: write one zero-padded aligned block, then cut the file to its exact size.
  AlignedMemory block = AlignedMemory::Allocate(unit, memory_alignment);
  if (!block) return NativeError::FromErrno(ENOMEM, "posix_memalign", spec.path);
  std::memset(block.data(), 0, unit);
  std::memcpy(block.data(), data + body, length - body);
  error = WriteAll(fd, block.data(), unit, body, spec.path);
  if (!error.ok()) return error;
  if (::ftruncate(fd, static_cast<off_t>(length)) != 0) {
    return NativeError::FromErrno(errno, "ftruncate", spec.path);
  }
  return {};
}

int SyncData(int fd) {
#ifdef __linux__
  return ::fdatasync(fd);
#else
  return ::fsync(fd);
#endif
}

NativeError SyncDirectory(const std::string& path) {
  UniqueFd dir(::open(DirName(path).c_str(), O_RDONLY | O_CLOEXEC | O_DIRECTORY | O_NONBLOCK));
  if (!dir.valid()) return NativeError::FromErrno(errno, "open", DirName(path));
  if (::fsync(dir.get()) != 0) return NativeError::FromErrno(errno, "fsync", DirName(path));
  return {};
}

// Moves `from` to `to` unless `to` exists (EEXIST then, `to` untouched), atomically: of two
// callers with one `to`, exactly one succeeds. Linux: renameat2(RENAME_NOREPLACE); where the
// filesystem or kernel lacks it, link(2) + unlink(2), which is as atomic for the destination.
int RenameNoReplace(const std::string& from, const std::string& to) {
#if defined(__linux__) && defined(SYS_renameat2)
  constexpr unsigned kRenameNoReplace = 1;  // RENAME_NOREPLACE, not declared by older libcs
  if (::syscall(SYS_renameat2, AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), kRenameNoReplace) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return errno;
#endif
  if (::link(from.c_str(), to.c_str()) != 0) return errno;
  ::unlink(from.c_str());  // the object is in place; a leftover name would only be a hidden temp file
  return 0;
}

}  // namespace

TempFile::~TempFile() {
  fd_.Close();
  if (created_) ::unlink(temp_.c_str());
}

NativeError TempFile::Open(int flags) {
  fd_ = UniqueFd(::open(temp_.c_str(), flags, 0666));
  if (!fd_.valid() && errno == ENOENT) {
    NativeError error = MakeParents(path_);
    if (!error.ok()) return error;
    fd_ = UniqueFd(::open(temp_.c_str(), flags, 0666));
  }
  if (!fd_.valid()) {
    if ((flags & DirectOpenFlag()) != 0 && errno == EINVAL) {
      return DirectIoUnsupported(path_, "open(O_DIRECT) was refused with EINVAL");
    }
    return NativeError::FromErrno(errno, "open", path_);
  }
  created_ = true;
  return {};
}

NativeError TempFile::Commit(bool fsync, const CancelFlag& cancel, bool no_replace) {
  if (fsync && SyncData(fd_.get()) != 0) return NativeError::FromErrno(errno, "fdatasync", path_);
  if (int close_error = fd_.Close()) return NativeError::FromErrno(close_error, "close", path_);
  // Last point of no return: after the rename the object is visible and the write has happened.
  if (cancel.requested()) return Cancelled(path_);
  if (no_replace) {
    if (int error = RenameNoReplace(temp_, path_)) return NativeError::FromErrno(error, "rename", path_);
  } else if (::rename(temp_.c_str(), path_.c_str()) != 0) {
    return NativeError::FromErrno(errno, "rename", path_);
  }
  created_ = false;
  if (fsync) return SyncDirectory(path_);
  return {};
}

NativeError WriteAtomically(const WriteSpec& spec, const uint8_t* data, size_t length,
                            const CancelFlag& cancel) {
  if (cancel.requested()) return Cancelled(spec.path);
  if (spec.direct && !kHaveODirect) {
    return DirectIoUnsupported(spec.path, "O_DIRECT is only implemented on Linux");
  }
  TempFile temp(spec.path);
  NativeError error =
      temp.Open(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (spec.direct ? DirectOpenFlag() : 0));
  if (!error.ok()) return error;
  if (spec.direct) {
    DirectIoAlignment alignment = ProbeDirectIo(temp.fd(), spec.alignment);
    if (!alignment.supported) return DirectIoUnsupported(spec.path, alignment.reason);
    error = WriteDirect(temp.fd(), spec, alignment, data, length, cancel);
  } else {
    error = WriteChunks(temp.fd(), data, length, spec.chunk_size, cancel, spec.path);
  }
  if (!error.ok()) return error;
  return temp.Commit(spec.fsync, cancel, spec.no_replace);
}

bool WriteSpecFromJs(const Napi::Object& options, WriteSpec* spec) {
  Options fields(options, "options");
  int64_t alignment = spec->alignment;
  int64_t chunk_size = static_cast<int64_t>(spec->chunk_size);
  if (!fields.Bool("direct", &spec->direct) || !fields.Alignment("alignment", &alignment) ||
      !fields.Bool("fsync", &spec->fsync) || !fields.Bool("noReplace", &spec->no_replace) ||
      !fields.Integer("chunkSize", 1, kMaxChunkSize, &chunk_size)) {
    return false;
  }
  spec->alignment = static_cast<uint32_t>(alignment);
  spec->chunk_size = static_cast<uint64_t>(chunk_size);
  return true;
}

namespace {

struct WriteJob {
  WriteSpec spec;
  JobBytes bytes;  // pinned addon memory, SharedArrayBuffer memory, or a copy made on the main thread
  CancelFlag cancel;
  NativeError error;

  void Execute() { error = WriteAtomically(spec, bytes.data, bytes.length, cancel); }
  Napi::Value Result(Napi::Env env) { return env.Undefined(); }
};

}  // namespace

// writeFile(path, data: Uint8Array, options, cancelFlag?) -> Promise<undefined>
Napi::Value WriteFile(const Napi::CallbackInfo& info) {
  Args args(info, "writeFile");
  WriteJob job;
  Napi::Object options;
  Napi::Uint8Array data;
  if (!args.Count(3, 4) || !args.Path(0, "path", &job.spec.path) || !args.Bytes(1, "data", &data) ||
      !args.Object(2, "options", &options) || !WriteSpecFromJs(options, &job.spec) ||
      !args.Cancel(3, &job.cancel)) {
    return {};
  }
  // Last, after every step that could run user code (option getters): the bytes are pinned or
  // copied now, so a transfer of the buffer from here on changes nothing the job sees.
  if (!PrepareInput(info.Env(), data, "data", &job.bytes)) return {};
  // The view stays referenced (SharedArrayBuffer memory is used in place), the cancel flag too.
  return QueueJob(info.Env(), std::move(job), {info[1], info[3]});
}

}  // namespace s3dlio
