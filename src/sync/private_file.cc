// Atomic 0600 writes and exact reads of the sync files (internal/private_file.h).
#include "sync/internal/private_file.h"

#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace ruvector_dag::sync::internal {

Status WritePrivateFile(const std::string& path, const uint8_t* data, size_t size, const char* what) {
  const std::string tmp = path + ".tmp";
  // Whatever is at the temporary path (a stale file, a symlink, a FIFO) is
  // removed and the file created anew: the secret is never written through
  // a symlink into another file, and opening never waits on a FIFO.
  if (::unlink(tmp.c_str()) != 0 && errno != ENOENT) {
    return Status::FailedPrecondition(std::string(what) + ": cannot remove " + tmp + ": " + std::strerror(errno));
  }
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    return Status::FailedPrecondition(std::string(what) + ": cannot create " + tmp + ": " + std::strerror(errno));
  }
  // Exactly 0600, whatever the umask made of O_CREAT's mode.
  bool ok = ::fchmod(fd, 0600) == 0;
  size_t done = 0;
  while (ok && done < size) {
    const ssize_t n = ::write(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ok = false;
    } else {
      done += static_cast<size_t>(n);
    }
  }
  ok = ok && ::fsync(fd) == 0;
  const int saved_errno = errno;
  ::close(fd);
  if (!ok || ::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved_errno);
    ::unlink(tmp.c_str());
    return Status::FailedPrecondition(std::string(what) + ": cannot write " + path + ": " + why);
  }
  // The rename is durable once the directory is.
  std::string dir = path;
  const int dfd = ::open(::dirname(dir.data()), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    (void)::fsync(dfd);
    ::close(dfd);
  }
  return Status::Ok();
}

bool ReadExactly(int fd, uint8_t* data, size_t size) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::read(fd, data + done, size - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace ruvector_dag::sync::internal
