// Reading and writing IDX files (the MNIST file format), plain or gzip-compressed; only unsigned-byte arrays.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace scee {

/// An IDX array of unsigned bytes: dims (outermost first) and the data in row-major order.
struct IdxArray {
  std::vector<std::uint32_t> dims;
  std::vector<std::uint8_t> data;
};

/// The hint appended to file errors when the caller gives none.
inline constexpr const char* default_data_hint = "run .ci/setup to fetch the datasets";

/// Reads a whole file, decompressing it if it starts with the gzip magic (0x1f 0x8b). Throws InputError.
std::vector<std::uint8_t> read_file_bytes(const std::string& path, const std::string& hint = default_data_hint);

/// Parses the bytes of an IDX file (header, big-endian dims, payload of exactly prod(dims) bytes); path and hint
/// only go into error messages. Throws InputError.
IdxArray parse_idx(std::vector<std::uint8_t> bytes, const std::string& path,
                   const std::string& hint = default_data_hint);

/// Reads a plain or gzip IDX file of unsigned bytes. Throws InputError with one line naming the file, the problem
/// and `hint` (how to get or fix the file).
IdxArray read_idx(const std::string& path, const std::string& hint = default_data_hint);

/// Writes an IDX file of unsigned bytes, gzip-compressed if `gzip`. Throws std::runtime_error on I/O failure.
void write_idx(const std::string& path, const IdxArray& array, bool gzip);

}  // namespace scee
