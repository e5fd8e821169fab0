// Deterministic random numbers that give the same stream on every standard library: a fixed generator
// (xoshiro256**, seeded by SplitMix64) with our own transforms, since std::*_distribution differ between libraries.
#pragma once

#include <cmath>
#include <cstdint>
#include <numbers>
#include <utility>

namespace scee {

/// xoshiro256** with SplitMix64 seeding and library-independent transforms.
class Rng {
public:
  explicit Rng(std::uint64_t seed)
  {
    for (auto& s : s_) {
      seed += 0x9E3779B97F4A7C15ULL;
      std::uint64_t z = seed;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
      s = z ^ (z >> 31);
    }
  }

  std::uint64_t next()
  {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  /// Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

  /// Uniform integer in [0, n), unbiased (rejection of the incomplete top range).
  std::uint64_t below(std::uint64_t n)
  {
    const std::uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    std::uint64_t x = next();
    while (x >= limit)
      x = next();
    return x % n;
  }

  /// Standard normal by Box-Muller (one value per call; the pair's second value is discarded for simplicity).
  double normal()
  {
    const double u1 = 1.0 - uniform(); // (0, 1]
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  }

  /// Exponential with the given rate (mean 1/rate).
  double exponential(double rate) { return -std::log(1.0 - uniform()) / rate; }

  /// Fisher-Yates shuffle of a random-access range.
  template <class It> void shuffle(It first, It last)
  {
    const auto n = static_cast<std::uint64_t>(last - first);
    for (std::uint64_t i = n; i > 1; --i)
      std::swap(first[i - 1], first[below(i)]);
  }

private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::uint64_t s_[4]{};
};

} // namespace scee
