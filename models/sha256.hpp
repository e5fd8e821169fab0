// A small self-contained SHA-256 (FIPS 180-4), used to check that dataset files are the expected ones.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace scee {

/// Incremental SHA-256: call update() any number of times, then finish() once.
class Sha256 {
 public:
  /// Appends n bytes to the message.
  void update(const void* data, std::size_t n);
  /// Pads the message and returns its 32-byte digest; the object must not be used afterwards.
  std::array<std::uint8_t, 32> finish();

 private:
  void compress(const std::uint8_t* block);

  std::array<std::uint32_t, 8> h_{0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<std::uint8_t, 64> buffer_{};
  std::size_t buffered_ = 0;
  std::uint64_t length_ = 0;  // message length in bytes
};

/// Lower-case hexadecimal form of a digest.
std::string to_hex(const std::array<std::uint8_t, 32>& digest);

/// SHA-256 of n bytes, as 64 lower-case hexadecimal digits.
std::string sha256_hex(const void* data, std::size_t n);

}  // namespace scee
