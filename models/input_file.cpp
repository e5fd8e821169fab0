#include "input_file.hpp"

#include "error.hpp"

#include <cerrno>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

namespace scee {

std::optional<std::string> read_input_file(const std::string& path, std::uint64_t max_bytes, const std::string& what)
{
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0)
    return std::nullopt;
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st{};
  if (::fstat(fd, &st) != 0)
    return std::nullopt;
  if (S_ISDIR(st.st_mode))
    throw InputError(fmt::format("{}: is a directory, not {}", path, what));
  if (!S_ISREG(st.st_mode))
    throw InputError(fmt::format("{}: is not a regular file (a FIFO, device or socket); give {}", path, what));
  if (std::uint64_t(st.st_size) > max_bytes)
    throw InputError(fmt::format("{}: {} bytes is more than {} may have ({} MiB)", path, st.st_size, what,
                                 max_bytes >> 20));
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string bytes(std::size_t(st.st_size), '\0');
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break; // the file shrank while being read: what was there
    done += std::size_t(n);
  }
  bytes.resize(done);
  return bytes;
}

} // namespace scee
