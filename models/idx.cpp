// IDX reader and writer: plain files through iostreams, gzip files through zlib's gzread/gzwrite.
#include "idx.hpp"

#include <zlib.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include <fmt/core.h>

#include "error.hpp"

namespace scee {
namespace {

constexpr std::uint8_t type_ubyte = 0x08;

[[noreturn]] void fail(const std::string& path, const std::string& what, const std::string& hint) {
  throw InputError(fmt::format("{}: {} ({})", path, what, hint));
}

const char* idx_type_name(std::uint8_t type) {
  switch (type) {
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    default: return "unknown";
  }
}

std::vector<std::uint8_t> read_gzip(const std::string& path, const std::string& hint) {
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) fail(path, "gzopen failed", hint);
  std::vector<std::uint8_t> bytes;
  std::vector<std::uint8_t> chunk(1 << 20);
  for (;;) {
    const int n = gzread(file, chunk.data(), static_cast<unsigned>(chunk.size()));
    if (n <= 0) break;
    bytes.insert(bytes.end(), chunk.begin(), chunk.begin() + n);
  }
  int code = Z_OK;
  std::string message = gzerror(file, &code);
  gzclose(file);
  if (message.starts_with(path + ": ")) message.erase(0, path.size() + 2);  // zlib prefixes the path
  if (code != Z_OK) fail(path, fmt::format("corrupt gzip data: {}", message), hint);
  return bytes;
}

}  // namespace

std::vector<std::uint8_t> read_file_bytes(const std::string& path, const std::string& hint) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw InputError(fmt::format("{}: cannot open ({}); {}", path, std::strerror(errno), hint));
  if (std::filesystem::is_directory(path)) fail(path, "is a directory, not an IDX file", hint);
  const auto size = static_cast<std::size_t>(std::max<std::streamoff>(in.tellg(), 0));
  std::array<char, 2> magic{};
  in.seekg(0);
  if (size >= 2 && in.read(magic.data(), 2) && magic[0] == '\x1f' && magic[1] == '\x8b') return read_gzip(path, hint);
  std::vector<std::uint8_t> bytes(size);
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), static_cast<std::streamsize>(size));
  if (!in) fail(path, "read error", hint);
  return bytes;
}

IdxArray parse_idx(std::vector<std::uint8_t> bytes, const std::string& path, const std::string& hint) {
  if (bytes.size() < 4) fail(path, fmt::format("not an IDX file: only {} bytes", bytes.size()), hint);
  if (bytes[0] != 0 || bytes[1] != 0) {
    fail(path, fmt::format("not an IDX file: bad magic {:02x} {:02x} (expected 00 00)", bytes[0], bytes[1]), hint);
  }
  if (bytes[2] != type_ubyte) {
    fail(path,
         fmt::format("unsupported IDX element type 0x{:02x} ({}); only unsigned byte (0x08) is supported", bytes[2],
                     idx_type_name(bytes[2])),
         hint);
  }
  const std::size_t ndims = bytes[3];
  if (ndims == 0) fail(path, "IDX header declares 0 dimensions", hint);
  const std::size_t header = 4 + 4 * ndims;
  if (bytes.size() < header) {
    fail(path, fmt::format("truncated header: {} dimensions need {} bytes, found {}", ndims, header, bytes.size()),
         hint);
  }
  IdxArray array;
  std::uint64_t expected = 1;
  for (std::size_t i = 0; i < ndims; ++i) {
    const std::uint8_t* p = bytes.data() + 4 + 4 * i;
    const std::uint32_t dim = std::uint32_t{p[0]} << 24 | std::uint32_t{p[1]} << 16 | std::uint32_t{p[2]} << 8 | p[3];
    array.dims.push_back(dim);
    expected *= dim;
    if (expected > (std::uint64_t{1} << 40)) fail(path, "implausibly large dimensions in the IDX header", hint);
  }
  const std::uint64_t found = bytes.size() - header;
  if (found < expected) {
    fail(path, fmt::format("truncated: expected {} bytes of data after the {}-byte header, found {}", expected, header,
                           found),
         hint);
  }
  if (found > expected) {
    fail(path, fmt::format("{} trailing bytes after the {} bytes of data the header declares", found - expected,
                           expected),
         hint);
  }
  bytes.erase(bytes.begin(), bytes.begin() + static_cast<std::ptrdiff_t>(header));
  array.data = std::move(bytes);
  return array;
}

IdxArray read_idx(const std::string& path, const std::string& hint) {
  return parse_idx(read_file_bytes(path, hint), path, hint);
}

void write_idx(const std::string& path, const IdxArray& array, bool gzip) {
  std::vector<std::uint8_t> bytes{0, 0, type_ubyte, static_cast<std::uint8_t>(array.dims.size())};
  for (const std::uint32_t dim : array.dims) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(dim >> shift));
  }
  bytes.insert(bytes.end(), array.data.begin(), array.data.end());
  if (gzip) {
    gzFile file = gzopen(path.c_str(), "wb");
    if (file == nullptr) throw std::runtime_error(path + ": cannot create");
    const int written = gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
    if (gzclose(file) != Z_OK || written != static_cast<int>(bytes.size())) {
      throw std::runtime_error(path + ": gzip write failed");
    }
    return;
  }
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error(path + ": write failed");
}

}  // namespace scee
