#include "direct_io.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>

#ifdef __linux__
#include <linux/magic.h>
#include <sys/vfs.h>
#endif

namespace s3dlio {

namespace {
constexpr uint32_t kSafeDefaultAlignment = 4096;

#ifdef __linux__
// Filesystems where O_DIRECT is refused or meaningless (no page cache to bypass).
bool IsMemoryFilesystem(uint64_t type) {
  return type == TMPFS_MAGIC || type == RAMFS_MAGIC;
}
#endif
}  // namespace

int DirectOpenFlag() {
#ifdef __linux__
  return O_DIRECT;
#else
  return 0;
#endif
}

DirectIoAlignment ProbeDirectIo(int fd, uint32_t requested) {
  DirectIoAlignment result;
#ifdef __linux__
  struct statfs fs;
  if (fstatfs(fd, &fs) == 0) result.filesystem_type = static_cast<uint64_t>(fs.f_type);
  if (IsMemoryFilesystem(result.filesystem_type)) {
    result.reason = "the filesystem keeps files in memory (tmpfs/ramfs), so O_DIRECT has no effect";
    return result;
  }
#if defined(STATX_DIOALIGN)
  struct statx stx;
  if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN)) {
    result.from_statx = true;
    if (stx.stx_dio_mem_align == 0 || stx.stx_dio_offset_align == 0) {
      result.reason = "the filesystem reports no direct I/O support (statx STATX_DIOALIGN is 0)";
      return result;
    }
    result.memory = stx.stx_dio_mem_align;
    result.offset = stx.stx_dio_offset_align;
  }
#endif
  if (!result.from_statx) result.memory = result.offset = kSafeDefaultAlignment;
  result.memory = std::max(result.memory, requested);
  result.offset = std::max(result.offset, requested);
  result.supported = true;
#else
  (void)fd;
  (void)requested;
  result.reason = "O_DIRECT is only implemented on Linux in this build";
#endif
  return result;
}

NativeError DirectIoUnsupported(const std::string& path, const std::string& reason) {
  return NativeError::Custom("ERR_DIRECT_IO_UNSUPPORTED",
                             "direct I/O is not supported for this file: " + reason, path);
}

}  // namespace s3dlio

// ---- directIoInfo(path): what O_DIRECT would do for a file or a directory ----

#include <sys/stat.h>
#include <unistd.h>

#include "aligned_memory.h"
#include "args.h"
#include "async_job.h"
#include "file_io.h"

namespace s3dlio {

namespace {

struct DirectIoInfoJob {
  std::string path;
  DirectIoAlignment alignment;
  NativeError error;

  void Execute() {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) {
      error = NativeError::FromErrno(errno, "stat", path);
      return;
    }
    const bool directory = S_ISDIR(st.st_mode);
    if (!directory && !S_ISREG(st.st_mode)) {
      error = NativeError::Custom("ERR_NOT_A_FILE", "a special file, not a regular file or a directory", path);
      return;
    }
    if (!kHaveODirect) {
      alignment = ProbeDirectIo(-1, 0);
      return;
    }
    // statx reports DIO alignment for regular files only: probe a directory with a scratch file.
    // O_NONBLOCK: the path may have become a FIFO since the stat, and opening one would block.
    const std::string target = directory ? TempPathFor(path + "/probe") : path;
    const int flags = directory ? (O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC) : (O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    UniqueFd fd(::open(target.c_str(), flags | DirectOpenFlag(), 0600));
    if (directory && fd.valid()) ::unlink(target.c_str());
    if (!fd.valid()) {
      if (errno == EINVAL) {
        alignment.reason = "open(O_DIRECT) was refused with EINVAL";
        return;
      }
      error = NativeError::FromErrno(errno, "open", target);
      return;
    }
    alignment = ProbeDirectIo(fd.get(), 0);
  }

  Napi::Value Result(Napi::Env env) {
    Napi::Object object = Napi::Object::New(env);
    object.Set("supported", alignment.supported);
    object.Set("memoryAlignment", alignment.memory);
    object.Set("offsetAlignment", alignment.offset);
    object.Set("fromStatx", alignment.from_statx);
    object.Set("filesystemType", static_cast<double>(alignment.filesystem_type));
    if (!alignment.reason.empty()) object.Set("reason", alignment.reason);
    return object;
  }
};

}  // namespace

// directIoInfo(path) -> Promise<{ supported, memoryAlignment, offsetAlignment, ... }>
Napi::Value DirectIoInfo(const Napi::CallbackInfo& info) {
  Args args(info, "directIoInfo");
  DirectIoInfoJob job;
  if (!args.Count(1, 1) || !args.Path(0, "path", &job.path)) return {};
  return QueueJob(info.Env(), std::move(job));
}

}  // namespace s3dlio
