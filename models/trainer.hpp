// Training of a predefined-sparse network (any layers of models/layer.hpp) with early exits: joint (BranchyNet-style)
// weighted cross-entropy over the final output and the exit heads, Adam, mini-batches. Gradients exist only for
// existing edges, so the sparsity pattern cannot be violated. Single-threaded and deterministic for a seed.
#pragma once

#include "dataset.hpp"
#include "inference.hpp"
#include "network.hpp"

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scee {

/// Raised whenever a change makes training compute different bits (a kernel, an order of summation, the optimiser):
/// cached models are keyed by it (sim/model_cache), so a cache never serves a model this build would train otherwise.
/// 2: fully connected junctions of at least 3/8 density train by Eigen's dense product (SparseLinear::gemm_path).
/// 3: softmax cross-entropy in float over the whole batch (vectorised), where it was per sample in double.
inline constexpr int training_revision = 3;

/// Training settings; defaults are the paper's recipe (Keras legacy Adam with decay 1e-5, batch 256, 50 epochs).
struct TrainConfig {
  std::string dataset = "mnist";
  int epochs = 50;
  int batch_size = 256;
  double learning_rate = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double epsilon = 1e-7;
  double decay = 1e-5; ///< lr_t = lr / (1 + decay * step), as Keras' legacy Adam
  double bias_init = 0.1;
  bool he_fan_in_dense = true; ///< He-normal std from the dense fan-in (the paper masks a dense kernel)
  double final_loss_weight = 1.0;
  std::vector<double> exit_loss_weights; ///< one per exit; empty means 1.0 each
  bool freeze_backbone = false;          ///< update only the exit heads
  int train_samples = 0;                 ///< 0 = all 60,000
  int test_samples = 0;                  ///< 0 = all 10,000
  std::uint64_t seed = 1;                ///< weight initialisation and shuffling
  bool operator==(const TrainConfig&) const = default;
};
nlohmann::json to_json(const TrainConfig& c);

/// What one epoch achieved.
struct EpochRecord {
  int epoch = 0;
  double loss = 0;           ///< mean over the epoch's batches of each batch's joint loss (BatchLoss::loss)
  double train_accuracy = 0; ///< final output, on the batches as trained
  double test_accuracy = 0;  ///< final output on the test split (NaN without one)
  std::vector<double> test_exit_accuracy;
  double seconds = 0;
};

/// Progress inside an epoch, for a progress bar.
struct TrainProgress {
  int epoch = 0, epochs = 0;
  int batch = 0, batches = 0;
  double loss = 0, accuracy = 0; ///< running means over this epoch
  double elapsed_s = 0;          ///< since training started
};

struct TrainCallbacks {
  std::function<void(const TrainProgress&)> on_batch;
  std::function<void(const EpochRecord&)> on_epoch;
};

/// Initialises (unless cfg.freeze_backbone, which keeps the backbone as given) and trains `net`.
std::vector<EpochRecord> train(Network& net, const TrainConfig& cfg, const Dataset& train_set, const Dataset* test_set,
                               const TrainCallbacks& callbacks = {});

/// dL/dparameter of every layer, per parameter tensor (Layer::parameters(): weights, then bias), in
/// Network::all_layers() order: main layers 1..L at 0..L-1, then the exit branches' layers.
struct Gradients {
  std::vector<std::vector<std::vector<float>>> layers;
  Gradients() = default;
  /// Zero gradients shaped for `net`.
  explicit Gradients(const Network& net);
  /// The weights' (0) or bias' (1) gradient of main layer j (1..L) and of exit e's layer i.
  std::vector<float>& main(int j, int tensor) { return layers.at(std::size_t(j - 1)).at(std::size_t(tensor)); }
  std::vector<float>& exit(const Network& net, std::size_t e, int i, int tensor)
  {
    return layers.at(net.exit_layer_index(e, i)).at(std::size_t(tensor));
  }
};

/// What one batch's forward pass measured.
struct BatchLoss {
  /// Joint loss: final_weight * CE(final output) + sum over exits of exit_weights[e] * CE(exit e), each
  /// cross-entropy the mean over the batch's samples. This is the function whose gradient is computed.
  double loss = 0;
  int correct = 0; ///< samples whose final output's argmax is their label
};

/// Forward and backward pass of one batch: x is input size x batch, labels has one class per column. Overwrites
/// `grads` (shaped by Gradients(net)) with the joint loss's gradient; with `backbone_frozen` only the exit branches'
/// gradients are computed and the main path's are zero.
BatchLoss joint_loss_and_gradients(const Network& net, const Activations& x, const std::vector<std::uint8_t>& labels,
                                   double final_weight, const std::vector<double>& exit_weights, bool backbone_frozen,
                                   Gradients& grads);

} // namespace scee
