// Local copies (copy, and rename across filesystems): the kernel moves the bytes (reflink, then
// copy_file_range), into a temporary file renamed into place. The source is opened like every
// read (never blocking on a FIFO, special files refused), and a file of unknown size (procfs,
// sysfs, st_size 0) is read to its end instead of being copied as the 0 bytes st_size claims.
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef __linux__
#include <linux/fs.h>
#endif

#include <algorithm>
#include <cerrno>

#include "args.h"
#include "file_io.h"

namespace s3dlio {

namespace {

constexpr size_t kCopyChunk = 16u << 20;

// pread/pwrite from `offset` to the end of the source.
NativeError CopyByReading(int source, int target, uint64_t offset, const CancelFlag& cancel,
                          const std::string& path) {
  AlignedMemory buffer = AlignedMemory::Allocate(1u << 20, 4096);
  if (!buffer) return NativeError::FromErrno(ENOMEM, "posix_memalign", path);
  for (;;) {
    if (cancel.requested()) return Cancelled(path);
    ssize_t got = ::pread(source, buffer.data(), buffer.size(), static_cast<off_t>(offset));
    if (got < 0) {
      if (errno == EINTR) continue;
      return NativeError::FromErrno(errno, "read", path);
    }
    if (got == 0) return {};
    NativeError error = WriteAll(target, buffer.data(), static_cast<size_t>(got), offset, path);
    if (!error.ok()) return error;
    offset += static_cast<uint64_t>(got);
  }
}

NativeError CopyContent(int source, int target, const CancelFlag& cancel, const std::string& path) {
#if defined(__linux__) && defined(FICLONE)
  if (::ioctl(target, FICLONE, source) == 0) return {};  // shares the extents: no bytes move
#endif
  uint64_t offset = 0;
#ifdef __linux__
  for (;;) {
    if (cancel.requested()) return Cancelled(path);
    loff_t in = static_cast<loff_t>(offset);
    loff_t out = static_cast<loff_t>(offset);
    ssize_t copied = ::copy_file_range(source, &in, target, &out, kCopyChunk, 0);
    if (copied < 0 && errno == EINTR) continue;
    // Not possible between these two files (old kernel, filesystem, cross-device): copy by hand.
    if (copied <= 0) break;
    offset += static_cast<uint64_t>(copied);
  }
#endif
  // Also confirms the end after copy_file_range reported 0, which some filesystems do early.
  return CopyByReading(source, target, offset, cancel, path);
}

struct CopyJob {
  std::string source;
  std::string destination;
  bool fsync = false;
  uint64_t max_length = UINT64_MAX;  // content limit for files read whole (unknown size)
  CancelFlag cancel;
  NativeError error;

  void Execute() { error = Copy(); }
  Napi::Value Result(Napi::Env env) { return env.Undefined(); }

  NativeError Copy() {
    if (cancel.requested()) return Cancelled(source);
    SourceFile from;
    NativeError failure = OpenSourceFile(source, false, &from);
    if (!failure.ok()) return failure;
    TempFile temp(destination);
    failure = temp.Open(O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC);
    if (!failure.ok()) return failure;
    if (from.streamed) {
      AlignedMemory content;
      uint64_t size = 0;
      failure = ReadToEnd(from.fd.get(), source, max_length, false, cancel, &content, &size);
      if (failure.ok()) failure = WriteAll(temp.fd(), content.data(), static_cast<size_t>(size), 0, destination);
    } else {
      failure = CopyContent(from.fd.get(), temp.fd(), cancel, source);
    }
    if (!failure.ok()) return failure;
    // Like fs.copyFile (which this replaces), the copy gets the source's permission bits; not
    // setuid/setgid/sticky: an object copy is data, never a new privileged executable.
    if (::fchmod(temp.fd(), static_cast<mode_t>(from.mode & 0777)) != 0) {
      return NativeError::FromErrno(errno, "fchmod", destination);
    }
    return temp.Commit(fsync, cancel);
  }
};

}  // namespace

// copyFile(source, destination, options: { fsync?, maxLength? }, cancelFlag?) -> Promise<undefined>
Napi::Value CopyFile(const Napi::CallbackInfo& info) {
  Args args(info, "copyFile");
  CopyJob job;
  Napi::Object options;
  int64_t max_length = -1;
  if (!args.Count(3, 4) || !args.Path(0, "source", &job.source) ||
      !args.Path(1, "destination", &job.destination) || !args.Object(2, "options", &options)) {
    return {};
  }
  Options fields(options, "options");
  if (!fields.Bool("fsync", &job.fsync) || !fields.Integer("maxLength", -1, kMaxSafeInteger, &max_length) ||
      !args.Cancel(3, &job.cancel)) {
    return {};
  }
  if (max_length >= 0) job.max_length = static_cast<uint64_t>(max_length);
  return QueueJob(info.Env(), std::move(job), {info[3]});
}

}  // namespace s3dlio
