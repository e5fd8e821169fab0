// A network as a main path of layers (models/layer.hpp) with early-exit branches. Layers are numbered along the
// main path: layer 0 is the input, layer k the output of the k-th layer, layer L the logits. An exit branch is a
// short sequence of layers reading the output of main layer `after_layer` and ending in the class scores. The
// forward pass runs any range of the main path on a given activation, so a simulator can run the head (layers 1..k)
// on a device and the tail (k+1..L) elsewhere. A multilayer perceptron is the special case of fully connected layers
// with ReLU on all but the last, written in the shorthand of widths and fan-outs (NetworkSpec::mlp).
#pragma once

#include "layer.hpp"

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace scee {

/// An exit branch: layers reading main layer `after_layer` (1..L-1), ending in a flat tensor of the class count.
struct ExitSpec {
  int after_layer = 1;
  std::vector<LayerSpec> layers;
  bool operator==(const ExitSpec&) const = default;
};

/// The most weights a network may have (main path and exits): 2^26, some 1.3 GB to train with Adam. The paper's
/// networks have tens of thousands.
inline constexpr std::int64_t max_network_weights = std::int64_t(1) << 26;
/// The most layers on a main path or an exit branch.
inline constexpr int max_layers = 256;
/// The most elements one sample's activation may have anywhere in a network (16 MB of fp32).
inline constexpr std::int64_t max_activation_elements = std::int64_t(1) << 22;

/// Per-sample cost of a range of layers, or of a whole network.
struct NetworkCost {
  std::int64_t weights = 0, biases = 0, macs = 0, storage_bytes = 0;
  NetworkCost& operator+=(const LayerCost& c);
  NetworkCost& operator+=(const NetworkCost& c);
};

/// The MLP shorthand of a network that is one.
struct MlpShape {
  std::vector<int> widths;   ///< neurons per layer, input first, classes last, e.g. {800, 40, 40, 10}
  std::vector<int> fan_outs; ///< one per junction
  std::vector<std::pair<int, int>> exits; ///< (after_layer, fan_out) of each single-junction exit head
};

/// Everything that fixes a network's shape and connectivity.
struct NetworkSpec {
  Shape input;
  std::vector<LayerSpec> layers;
  std::vector<ExitSpec> exits;
  std::uint64_t seed = 1; ///< connectivity seed
  bool operator==(const NetworkSpec&) const = default;

  /// The MLP of `widths` (input first) with one fan-out per junction, ReLU after every junction but the last, and
  /// exit heads of one junction each, given as (after_layer, fan_out).
  static NetworkSpec mlp(const std::vector<int>& widths, const std::vector<int>& fan_outs,
                         const std::vector<std::pair<int, int>>& exits = {}, std::uint64_t seed = 1);
  /// The shorthand when the network is such an MLP.
  std::optional<MlpShape> mlp_shape() const;

  int depth() const { return static_cast<int>(layers.size()); }
  /// The class count: the size of the main path's output (valid specs).
  int classes() const;
  /// Shape of layer k's output (k = 0: the input), for valid specs.
  Shape shape(int k) const;
  /// Shape of the output of layer i (1-based) of exit branch e, for valid specs (i = 0: the branch's input).
  Shape exit_shape(std::size_t e, int i) const;
  /// Cost of main layers from+1 .. to, and of a whole exit branch (valid specs; no network needs building).
  NetworkCost cost(int from, int to) const;
  NetworkCost exit_cost(std::size_t e) const;
  /// Weights of the main path and all exits (valid specs).
  std::int64_t weight_count() const;
  /// The same network with every fc and conv layer fully connected.
  NetworkSpec dense() const;
  /// Throws InputError (prefixed by `where`) unless every layer fits its input and the exits and sizes are valid.
  void validate(const std::string& where) const;
};

nlohmann::json to_json(const NetworkSpec& spec);
nlohmann::json to_json(const LayerSpec& layer);

/// Softmax statistics of one sample's logits, for the exit criteria.
struct Confidence {
  int prediction = 0;    ///< argmax (lowest index on ties)
  double max_prob = 0;   ///< max softmax probability
  double entropy = 0;    ///< -sum p ln p (natural log, as BranchyNet)
  double margin = 0;     ///< top-1 minus top-2 probability
};
Confidence confidence(const float* logits, int classes);

enum class Criterion { max_softmax, entropy, margin };
Criterion parse_criterion(const std::string& name); ///< "max_softmax", "entropy" or "margin"
std::string to_string(Criterion c);
/// Exit when confident: max_softmax >= t, entropy <= t, margin >= t.
bool confident_enough(Criterion c, const Confidence& conf, double threshold);

using LayerStack = std::vector<std::unique_ptr<Layer>>;

class Network {
public:
  Network() = default;
  /// Builds the connectivity from the spec; weights are zero until initialised or loaded.
  explicit Network(NetworkSpec spec);
  /// A network from built layers (e.g. read from a model file); each must match its spec and input shape.
  Network(NetworkSpec spec, LayerStack layers, std::vector<LayerStack> exits);
  Network(const Network& other);
  Network& operator=(const Network& other);
  Network(Network&&) noexcept = default;
  Network& operator=(Network&&) noexcept = default;

  const NetworkSpec& spec() const { return spec_; }
  int depth() const { return spec_.depth(); }
  int classes() const { return spec_.classes(); }

  /// He-normal weights (truncated at 2 sigma as Keras' he_normal) and constant biases; `he_fan_in_dense` uses the
  /// dense fan-in (inputs x kernel taps, what masking a dense Keras kernel does), otherwise the sparse fan-in.
  void initialise(std::uint64_t seed, double bias_init, bool he_fan_in_dense);

  /// Main layer j (1..L) on the output of layer j-1: the one forward step every caller uses.
  void forward_layer(int j, const Activations& x, Activations& y) const { layers_.at(std::size_t(j - 1))->forward(x, y); }
  /// Runs main layers from+1 .. to on the output of layer `from`; from == to returns the input.
  Activations forward_range(int from, int to, const Activations& input) const;
  /// Logits of exit branch e on the output of its main layer.
  Activations exit_logits(std::size_t e, const Activations& hidden) const;
  /// Index of the exit branch after main layer `layer`, or -1.
  int exit_after(int layer) const;

  Layer& layer(int j) { return *layers_.at(std::size_t(j - 1)); }
  const Layer& layer(int j) const { return *layers_.at(std::size_t(j - 1)); }
  std::size_t exit_count() const { return exits_.size(); }
  int exit_depth(std::size_t e) const { return static_cast<int>(exits_.at(e).size()); }
  /// Layer i (1-based) of exit branch e.
  Layer& exit_layer(std::size_t e, int i) { return *exits_.at(e).at(std::size_t(i - 1)); }
  const Layer& exit_layer(std::size_t e, int i) const { return *exits_.at(e).at(std::size_t(i - 1)); }
  /// The junction of fully connected main layer j (throws std::logic_error for another kind).
  SparseLinear& junction(int j);
  const SparseLinear& junction(int j) const;

  /// Every layer in one fixed order: main layers 1..L, then each exit branch's layers. Gradients, Adam and model
  /// files follow it.
  std::vector<Layer*> all_layers();
  std::vector<const Layer*> all_layers() const;
  /// Position in all_layers() of layer i (1-based) of exit branch e.
  std::size_t exit_layer_index(std::size_t e, int i) const;

  NetworkCost cost(int from, int to) const { return spec_.cost(from, to); }
  NetworkCost exit_cost(std::size_t e) const { return spec_.exit_cost(e); }

private:
  NetworkSpec spec_;
  LayerStack layers_;
  std::vector<LayerStack> exits_;
};

/// Seed of main layer j's connectivity (stream j) and of exit e's layer i (stream 1000 * i + e), derived from the
/// spec seed.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);
std::uint64_t layer_stream(int j);
std::uint64_t exit_layer_stream(std::size_t e, int i);

} // namespace scee
