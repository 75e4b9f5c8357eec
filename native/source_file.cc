// Opening user-named files for reading without ever blocking, and reading files whose size the
// kernel does not know (pseudo filesystems, st_size 0).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#ifdef __linux__
#include <sys/vfs.h>
#endif

#include "direct_io.h"
#include "file_io.h"

namespace s3dlio {

namespace {

constexpr size_t kFirstStreamBuffer = 64u << 10;
constexpr size_t kStreamAlignment = 4096;  // also valid for O_DIRECT reads

// Filesystems whose files are generated on read: st_size is 0 or made up (sysfs says 4096).
bool IsPseudoFilesystem(int fd) {
#ifdef __linux__
  struct statfs fs;
  if (::fstatfs(fd, &fs) != 0) return false;
  switch (static_cast<uint64_t>(static_cast<uint32_t>(fs.f_type))) {
    case 0x9fa0:      // procfs
    case 0x62656572:  // sysfs
    case 0x64626720:  // debugfs
    case 0x74726163:  // tracefs
    case 0x27e0eb:    // cgroup
    case 0x63677270:  // cgroup2
    case 0x62656570:  // configfs
    case 0x73636673:  // securityfs
    case 0xf97cff8c:  // selinuxfs
    case 0x43415d53:  // smackfs
    case 0xcafe4a11:  // bpf
    case 0xde5e81e4:  // efivarfs
    case 0x6165676c:  // pstore
    case 0x42494e4d:  // binfmt_misc
      return true;
    default:
      return false;
  }
#else
  (void)fd;
  return false;
#endif
}

NativeError NotAFile(const std::string& path, const std::string& what) {
  return NativeError::Custom("ERR_NOT_A_FILE", what + ", not a regular file", path);
}

// What a path that open() refused is, when that explains the refusal better than the errno.
NativeError ExplainOpenFailure(int error, const std::string& path, bool direct) {
  struct stat st;
  const bool known = ::stat(path.c_str(), &st) == 0;
  if (known && S_ISDIR(st.st_mode) && (error == EINVAL || error == EISDIR)) {
    return NativeError::FromErrno(EISDIR, "open", path);
  }
  // A socket (ENXIO), a device without a driver (ENXIO/ENODEV), O_DIRECT on a FIFO (EINVAL).
  if (known && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) return NotAFile(path, "a special file");
  if (direct && error == EINVAL) return DirectIoUnsupported(path, "open(O_DIRECT) was refused with EINVAL");
  return NativeError::FromErrno(error, "open", path);
}

}  // namespace

NativeError OpenSourceFile(const std::string& path, bool direct, SourceFile* out) {
  if (direct && !kHaveODirect) return DirectIoUnsupported(path, "O_DIRECT is only implemented on Linux");
  // O_NONBLOCK: opening a FIFO that has no writer would otherwise block this thread forever.
  const int flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK | (direct ? DirectOpenFlag() : 0);
  out->fd = UniqueFd(::open(path.c_str(), flags));
  if (!out->fd.valid()) return ExplainOpenFailure(errno, path, direct);
  struct stat st;
  if (::fstat(out->fd.get(), &st) != 0) return NativeError::FromErrno(errno, "fstat", path);
  if (S_ISDIR(st.st_mode)) return NativeError::FromErrno(EISDIR, "read", path);
  if (S_ISFIFO(st.st_mode)) return NotAFile(path, "a FIFO (named pipe)");
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) return NotAFile(path, "a device");
  if (S_ISSOCK(st.st_mode)) return NotAFile(path, "a socket");
  if (!S_ISREG(st.st_mode)) return NotAFile(path, "a special file");
  out->size = static_cast<uint64_t>(st.st_size);
  out->mode = st.st_mode;
  out->streamed = st.st_size == 0 || IsPseudoFilesystem(out->fd.get());
  // A pseudo file may block on read (tracefs trace_pipe): keep O_NONBLOCK so that surfaces as
  // EAGAIN. Elsewhere reads are ordinary blocking reads.
  if (!out->streamed) {
    const int current = ::fcntl(out->fd.get(), F_GETFL);
    if (current == -1 || ::fcntl(out->fd.get(), F_SETFL, current & ~O_NONBLOCK) == -1) {
      return NativeError::FromErrno(errno, "fcntl", path);
    }
  }
  return {};
}

NativeError ReadToEnd(int fd, const std::string& path, uint64_t limit, bool direct,
                      const CancelFlag& cancel, AlignedMemory* out, uint64_t* filled) {
  *filled = 0;
  // Room for one byte more than the limit, to tell "exactly the limit" from "more".
  const uint64_t capacity_limit =
      limit >= UINT64_MAX - kStreamAlignment ? UINT64_MAX : AlignUp(limit + 1, kStreamAlignment);
  AlignedMemory buffer;
  for (;;) {
    if (cancel.requested()) return Cancelled(path);
    if (*filled == buffer.size()) {
      const uint64_t wanted = std::min<uint64_t>(
          capacity_limit, std::max<uint64_t>(kFirstStreamBuffer, static_cast<uint64_t>(buffer.size()) * 2));
      AlignedMemory larger = AlignedMemory::Allocate(static_cast<size_t>(wanted), kStreamAlignment);
      if (!larger) return NativeError::FromErrno(ENOMEM, "posix_memalign", path);
      if (*filled > 0) std::memcpy(larger.data(), buffer.data(), static_cast<size_t>(*filled));
      buffer = std::move(larger);
    }
    // Whole aligned blocks, so the same loop serves an O_DIRECT descriptor.
    const size_t room = buffer.size() - static_cast<size_t>(*filled);
    ssize_t got = ::read(fd, buffer.data() + *filled, room);
    if (got < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return NotAFile(path, "a stream whose reads would block (not a file)");
      }
      return NativeError::FromErrno(errno, "read", path);
    }
    if (got == 0) break;
    *filled += static_cast<uint64_t>(got);
    if (*filled > limit) {
      return NativeError::Custom("ERR_OBJECT_TOO_LARGE",
                                 "the file's content exceeds " + std::to_string(limit) +
                                     " bytes (a file without a known size is read whole)",
                                 path);
    }
    // With O_DIRECT a short read is the end (the next offset would be unaligned); a buffered
    // descriptor reads once more to see the end.
    if (direct && *filled % kStreamAlignment != 0) break;
  }
  *out = std::move(buffer);
  return {};
}

}  // namespace s3dlio
