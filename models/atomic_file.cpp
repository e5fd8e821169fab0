#include "atomic_file.hpp"

#include "error.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/stat.h>
#include <unistd.h>

namespace scee {

bool environmental_errno(int err)
{
  return err == ENOSPC || err == EDQUOT || err == EIO || err == ENOMEM || err == EMFILE || err == ENFILE;
}

namespace {

/// The error of a failed write: an EnvironmentError when the machine is at fault (retrying may succeed).
[[noreturn]] void write_error(const std::string& what, int err)
{
  if (environmental_errno(err))
    throw EnvironmentError(what);
  throw InputError(what);
}

} // namespace

void write_file_atomic(const std::string& path, const std::string& content)
{
  namespace fs = std::filesystem;
  const fs::path p(path);
  if (p.has_parent_path()) {
    std::error_code ec;
    fs::create_directories(p.parent_path(), ec);
    if (ec)
      throw InputError(fmt::format("{}: cannot create the folder {} ({})", path, p.parent_path().string(),
                                   ec.message()));
  }
  // Unique per process, so that concurrent writers never share a temporary file.
  const std::string tmp = fmt::format("{}.tmp.{}", path, ::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    write_error(fmt::format("{}: cannot write ({})", path, std::strerror(errno)), errno);
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      write_error(fmt::format("{}: write failed ({})", path, std::strerror(err)), err);
    }
    done += std::size_t(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    write_error(fmt::format("{}: write failed ({})", path, std::strerror(err)), err);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    throw InputError(fmt::format("{}: cannot rename {} into place ({})", path, tmp, std::strerror(err)));
  }
}

void check_path_text(const std::string& path, const std::string& what)
{
  for (std::size_t i = 0; i < path.size(); ++i)
    if (static_cast<unsigned char>(path[i]) < 0x20 || path[i] == 0x7f)
      throw InputError(fmt::format("{}: the path must not contain control characters (a newline, a tab, a NUL), got "
                                   "one at character {}",
                                   what, i + 1));
  if (path.empty())
    throw InputError(fmt::format("{}: the path must not be empty", what));
}

void check_writable_file(const std::string& path, const std::string& what)
{
  namespace fs = std::filesystem;
  check_path_text(path, what);
  const fs::path p(normal_path(path));
  std::error_code ec;
  if (fs::is_directory(p, ec))
    throw InputError(fmt::format("{} {}: is a folder; give a file name", what, path));
  const fs::path parent = p.has_parent_path() ? p.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec)
    throw InputError(fmt::format("{} {}: cannot create the folder {} ({})", what, path, parent.string(), ec.message()));
  const std::string probe = (parent / fmt::format(".{}.probe.{}", p.filename().string(), ::getpid())).string();
  const int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0)
    throw InputError(fmt::format("{} {}: cannot write there ({})", what, path, std::strerror(errno)));
  ::close(fd);
  ::unlink(probe.c_str());
}

std::string normal_path(const std::string& path)
{
  std::string s = std::filesystem::path(path).lexically_normal().string();
  while (s.size() > 1 && s.back() == '/')
    s.pop_back();
  return s.empty() ? "." : s;
}

void check_output_folder(const std::string& dir, const std::vector<std::string>& files, const std::string& what)
{
  namespace fs = std::filesystem;
  check_path_text(dir, what);
  std::error_code ec;
  const fs::path p(normal_path(dir));
  if (!fs::exists(p, ec)) {
    // It will be created: its nearest existing ancestor must be a folder this process can write to.
    fs::path up = fs::absolute(p).parent_path();
    while (!up.empty() && !fs::exists(up, ec) && up != up.root_path())
      up = up.parent_path();
    if (!fs::is_directory(up, ec))
      throw InputError(fmt::format("{} {}: cannot create the folder ({} is not a folder)", what, dir, up.string()));
    if (::access(up.c_str(), W_OK | X_OK) != 0)
      throw InputError(fmt::format("{} {}: cannot create the folder ({}: {})", what, dir, up.string(),
                                   std::strerror(errno)));
    return;
  }
  if (!fs::is_directory(p, ec))
    throw InputError(fmt::format("{} {}: exists and is not a folder; give a new folder", what, dir));
  std::vector<std::string> other;
  for (const auto& entry : fs::directory_iterator(p, ec)) {
    const std::string name = entry.path().filename().string();
    if (std::find(files.begin(), files.end(), name) == files.end() || !entry.is_regular_file())
      other.push_back(name);
  }
  if (ec)
    throw InputError(fmt::format("{} {}: cannot list the folder ({})", what, dir, ec.message()));
  if (!other.empty()) {
    std::sort(other.begin(), other.end());
    throw InputError(fmt::format("{} {}: the folder holds other files than a run's outputs ({}{}); a run replaces "
                                 "its folder, so give a new folder or one with only {}",
                                 what, dir, other.front(), other.size() > 1 ? fmt::format(" and {} more", other.size() - 1) : "",
                                 fmt::format("{}", fmt::join(files, ", "))));
  }
}

void write_folder_atomic(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                         const std::string& what)
{
  namespace fs = std::filesystem;
  std::vector<std::string> names;
  for (const auto& [name, content] : files)
    names.push_back(name);
  check_output_folder(dir, names, what);
  const fs::path clean = fs::absolute(fs::path(normal_path(dir))).lexically_normal();
  const fs::path parent = clean.parent_path();
  std::error_code ec;
  fs::create_directories(parent, ec);
  if (ec)
    throw InputError(fmt::format("{} {}: cannot create the folder {} ({})", what, dir, parent.string(), ec.message()));
  const fs::path tmp = parent / fmt::format(".{}.tmp.{}", clean.filename().string(), ::getpid());
  const fs::path old = parent / fmt::format(".{}.old.{}", clean.filename().string(), ::getpid());
  fs::remove_all(tmp, ec);
  try {
    for (const auto& [name, content] : files)
      write_file_atomic((tmp / name).string(), content);
  } catch (...) {
    fs::remove_all(tmp, ec); // nothing half-written is left, and the earlier run's folder is untouched
    throw;
  }
  const bool replacing = fs::exists(clean, ec);
  if (replacing && std::rename(clean.c_str(), old.c_str()) != 0) {
    const int err = errno;
    fs::remove_all(tmp, ec);
    throw InputError(fmt::format("{} {}: cannot replace the earlier run's folder ({})", what, dir, std::strerror(err)));
  }
  if (std::rename(tmp.c_str(), clean.c_str()) != 0) {
    const int err = errno;
    if (replacing)
      std::rename(old.c_str(), clean.c_str());
    fs::remove_all(tmp, ec);
    throw InputError(fmt::format("{} {}: cannot move the outputs into place ({})", what, dir, std::strerror(err)));
  }
  if (replacing)
    fs::remove_all(old, ec);
}

} // namespace scee
