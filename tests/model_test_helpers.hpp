// Helpers shared by the model-side unit tests: temporary directories, error messages, deterministic random data and
// small networks.
#pragma once

#include "error.hpp"
#include "network.hpp"
#include "rng.hpp"
#include "sparse_linear.hpp"

#include <atomic>
#include <cstring>
#include <filesystem>
#include <string>

#include <unistd.h>

namespace scee::test {

/// A fresh directory under the system temp dir (unique per process and instance), removed at scope exit.
struct TempDir {
  std::filesystem::path path;
  explicit TempDir(const std::string& tag)
  {
    static std::atomic<int> counter{0};
    path = std::filesystem::temp_directory_path() /
           ("scee_test_" + tag + "_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return (path / name).string(); }
};

/// The message of the InputError that f throws, or "" if it throws none.
template <class F> std::string input_error(F&& f)
{
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

inline bool contains(const std::string& haystack, const std::string& needle)
{
  return haystack.find(needle) != std::string::npos;
}

/// rows x cols activations, uniform in [lo, hi), from a fixed generator.
inline Activations random_activations(Eigen::Index rows, Eigen::Index cols, std::uint64_t seed, double lo = -1.0,
                                      double hi = 1.0)
{
  Rng rng(seed);
  Activations a(rows, cols);
  for (Eigen::Index r = 0; r < rows; ++r)
    for (Eigen::Index c = 0; c < cols; ++c)
      a(r, c) = float(lo + (hi - lo) * rng.uniform());
  return a;
}

/// Sets every weight and bias of a junction uniform in [-scale, scale).
inline void randomise(SparseLinear& layer, std::uint64_t seed, double scale = 1.0)
{
  Rng rng(seed);
  for (std::int64_t k = 0; k < layer.nnz(); ++k)
    layer.values()[k] = float(scale * (2.0 * rng.uniform() - 1.0));
  for (Eigen::Index o = 0; o < layer.bias().size(); ++o)
    layer.bias()[o] = float(scale * (2.0 * rng.uniform() - 1.0));
}

/// The small test network: widths {12, 8, 6, 4}, fan-outs {2, 3, 4} (the last junction dense), a sparse exit
/// (fan-out 2 of 4) after layer 1 and a dense one after layer 2.
inline NetworkSpec small_spec(std::uint64_t seed = 3)
{
  return NetworkSpec::mlp({12, 8, 6, 4}, {2, 3, 4}, {{1, 2}, {2, 4}}, seed);
}

/// The junction of exit e of an MLP (a single fully connected layer).
inline SparseLinear& exit_head(Network& net, std::size_t e)
{
  return dynamic_cast<FullyConnected&>(net.exit_layer(e, 1)).linear();
}
inline const SparseLinear& exit_head(const Network& net, std::size_t e)
{
  return dynamic_cast<const FullyConnected&>(net.exit_layer(e, 1)).linear();
}

/// Whether two junctions hold bit-identical connectivity, weights and biases.
inline bool identical(const SparseLinear& a, const SparseLinear& b)
{
  if (a.in() != b.in() || a.out() != b.out() || a.nnz() != b.nnz())
    return false;
  for (std::int64_t k = 0; k < a.nnz(); ++k)
    if (a.indices()[k] != b.indices()[k] ||
        std::memcmp(&a.values()[k], &b.values()[k], sizeof(float)) != 0)
      return false;
  return std::memcmp(a.bias().data(), b.bias().data(), sizeof(float) * std::size_t(a.out())) == 0;
}

} // namespace scee::test
