// Loading MNIST and Fashion-MNIST from IDX files into an Eigen matrix (one column per sample, pixels in [0,1],
// zero padded to the network's input width), with the checks that catch missing or corrupt downloads.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <Eigen/Core>

#include "sparse_linear.hpp" // Activations

namespace scee {

/// Which half of a dataset.
enum class Split { train, test };

/// One split of an image-classification dataset, ready to feed a network.
struct Dataset {
  std::string name; ///< "mnist" or "fashion-mnist" (any name for test data)
  Split split = Split::train;
  int image_pixels = 0; ///< 784
  int input_width = 0;  ///< >= image_pixels; rows past image_pixels are zero (the paper pads 784 to 800)
  int classes = 10;
  Eigen::MatrixXf x;                ///< input_width x count; column i = sample i, pixels scaled to [0,1]
  std::vector<std::uint8_t> labels; ///< count labels, each < classes

  /// Number of samples.
  int count() const { return static_cast<int>(labels.size()); }
};

/// Directory holding MNIST's four IDX files: $SCEE_DATA_DIR/mnist if set, else <source dir>/data/mnist.
std::string mnist_dir();

/// Directory holding Fashion-MNIST's gzip IDX files: $SCEE_FASHION_MNIST_DIR if set, else
/// /usr/share/datasets/fashion-mnist.
std::string fashion_mnist_dir();

/// Input widths a network fed by the datasets may have: the 784 pixels of a 28x28 image, zero-padded (the paper
/// pads to 800) up to a bound that keeps a training set's matrix small (4096 x 70,000 floats is 1.1 GB).
inline constexpr int min_input_width = 784, max_input_width = 4096;
/// Throws an InputError "<where>: ..." unless min_input_width <= width <= max_input_width.
void check_input_width(int width, const std::string& where);

/// A network's input shape fed by the datasets: flat (channels = input width, checked as above) or the image itself,
/// [1, 28, 28]. Throws an InputError "<where>: ..." otherwise.
void check_input_shape(int channels, int height, int width, const std::string& where);

/// Names accepted by load_dataset: {"mnist", "fashion-mnist"}.
const std::vector<std::string>& dataset_names();

/// Loads a split; limit > 0 keeps the first `limit` samples. Throws InputError for an unknown name (listing the
/// valid ones), an input width outside [784, 4096], or any file
/// problem.
Dataset load_dataset(const std::string& name, Split split, int input_width, int limit = 0);

/// Same, from explicit image and label IDX paths; `how_to_get` ends every file error message. For the names
/// "mnist" and "fashion-mnist" the sample count must be the real one (60000 or 10000), and for "mnist" the files'
/// SHA-256 must match the published package.
Dataset load_idx_pair(const std::string& name, Split split, const std::string& images, const std::string& labels,
                      int input_width, int limit, const std::string& how_to_get);

/// A batch of dataset columns samples[first .. first + count) as row-major activations (input_width x count).
Activations gather(const Dataset& data, const std::vector<int>& samples, std::size_t first, std::size_t count);
/// The same, into `x` (resized; its memory is reused when the size does not change).
void gather(const Dataset& data, const std::vector<int>& samples, std::size_t first, std::size_t count, Activations& x);

} // namespace scee
