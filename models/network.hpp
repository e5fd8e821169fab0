// A multilayer perceptron of predefined-sparse junctions with early-exit heads. Layers are numbered by their
// activation: layer 0 is the input, layer L the output logits. The forward pass runs any range of junctions on a
// given activation, so a simulator can run the head (layers 1..k) on a device and the tail (k+1..L) elsewhere.
#pragma once

#include "sparse_linear.hpp"

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scee {

/// An exit head: one junction from hidden layer `after_layer` to the class count, dense or predefined-sparse.
struct ExitSpec {
  int after_layer = 1; ///< hidden layer (1..L-1) whose activation the head reads
  int fan_out = 0;     ///< fan-out of the head's junction; equals the class count when dense
  bool operator==(const ExitSpec&) const = default;
};

/// The most weights a network may have (junctions and exits): 2^26, some 1.3 GB to train with Adam. The paper's
/// networks have tens of thousands.
inline constexpr std::int64_t max_network_weights = std::int64_t(1) << 26;

/// Everything that fixes a network's shape and connectivity.
struct NetworkSpec {
  std::vector<int> widths;   ///< neurons per layer, input first, classes last, e.g. {800, 40, 40, 10}
  std::vector<int> fan_outs; ///< one per junction (widths.size() - 1)
  std::vector<ExitSpec> exits;
  std::uint64_t seed = 1; ///< connectivity seed
  bool operator==(const NetworkSpec&) const = default;

  int depth() const { return static_cast<int>(widths.size()) - 1; }
  int classes() const { return widths.back(); }
  /// Edges (weights) of all junctions and exit heads, from widths and fan-outs (which must have their sizes).
  std::int64_t weight_count() const;
  /// Throws InputError (prefixed by `where`) unless widths, fan-outs and exits are consistent.
  void validate(const std::string& where) const;
};

nlohmann::json to_json(const NetworkSpec& spec);

/// Per-sample cost of a range of layers, or of a whole network.
struct NetworkCost {
  std::int64_t weights = 0, biases = 0, macs = 0, storage_bytes = 0;
  NetworkCost& operator+=(const LayerCost& c);
};

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

class Network {
public:
  Network() = default;
  /// Builds the connectivity from the spec; weights are zero until initialised or loaded.
  explicit Network(NetworkSpec spec);
  /// A network from explicit junctions (e.g. read from a model file); shapes must match the spec.
  Network(NetworkSpec spec, std::vector<SparseLinear> layers, std::vector<SparseLinear> exits);

  const NetworkSpec& spec() const { return spec_; }
  int depth() const { return spec_.depth(); }
  int classes() const { return spec_.classes(); }

  /// He-normal weights (truncated at 2 sigma as Keras' he_normal) and constant biases; `he_fan_in_dense` uses the
  /// dense input count p as fan-in (what masking a dense Keras kernel does), otherwise the sparse fan-in.
  void initialise(std::uint64_t seed, double bias_init, bool he_fan_in_dense);

  /// Runs junctions from+1 .. to on the activation of layer `from`; hidden layers go through ReLU, layer L gives
  /// logits. from == to returns the input.
  Activations forward_range(int from, int to, const Activations& input) const;
  /// Logits of exit head e on the activation of its layer.
  Activations exit_logits(std::size_t e, const Activations& hidden) const;
  /// Index of the exit head after `layer`, or -1.
  int exit_after(int layer) const;

  /// Junction j (1..L) maps layer j-1 to layer j.
  SparseLinear& junction(int j) { return layers_.at(j - 1); }
  const SparseLinear& junction(int j) const { return layers_.at(j - 1); }
  SparseLinear& exit_head(std::size_t e) { return exits_.at(e); }
  const SparseLinear& exit_head(std::size_t e) const { return exits_.at(e); }
  std::size_t exit_count() const { return exits_.size(); }

  /// Cost of junctions from+1 .. to.
  NetworkCost cost(int from, int to) const;
  NetworkCost exit_cost(std::size_t e) const { NetworkCost c; c += exits_.at(e).cost(); return c; }

private:
  NetworkSpec spec_;
  std::vector<SparseLinear> layers_;
  std::vector<SparseLinear> exits_;
};

/// Seed of junction j's connectivity (and of exit e's, with j = 1000 + e), derived from the spec seed.
std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream);

} // namespace scee
