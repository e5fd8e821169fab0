// Inference over a dataset, batched: the network's layers run on chunks of samples (a training batch's size, in
// reused buffers), so every junction and convolution gets its batched kernel. A simulation computes what a split
// network answers for its samples this way, ahead of the events that use the answers (docs/simulation.md); a test
// accuracy is the same pass scored against the labels.
#pragma once

#include "dataset.hpp"
#include "network.hpp"

#include <cstddef>
#include <functional>
#include <vector>

namespace scee {

/// Samples per chunk of a batched pass: a training batch.
inline constexpr std::size_t inference_chunk = 256;

/// What a network split after layer k (0..L) computes for every sample of a dataset, in dataset order.
struct SplitInference {
  std::vector<int> exit_layers;            ///< the exits scored, by the main layer each follows, as asked
  std::vector<Confidence> exit_confidence; ///< sample-major: [sample * exit_layers.size() + e]
  std::vector<Confidence> final_output;    ///< the whole network's output (fp32 throughout)
  /// k < L: argmax of layers k+1..L computed on what the next tier receives of layer k's activation (the
  /// `received` transform); final_output's predictions when nothing is transformed. Empty when k == L.
  std::vector<int> tail_prediction;

  const Confidence& exit(int sample, std::size_t e) const
  {
    return exit_confidence[std::size_t(sample) * exit_layers.size() + e];
  }
};

/// What the next tier receives of one sample's activation (a single column), e.g. an encoding's precision loss.
using Received = std::function<Activations(const Activations&)>;

/// Runs `net` on every sample of `data`, chunk by chunk: scores the exits after `exit_layers` (each must have an
/// exit, and appear once; results keep their order) and the final output, and with k < L the tail on `received` of
/// layer k's activation, applied to each sample's column alone (no transform when `received` is empty). A sample's
/// results do not depend on the other samples of its chunk beyond the kernel choice (SparseLinear::gemm_path), which
/// depends only on the chunk's size.
SplitInference infer_split(const Network& net, const Dataset& data, int k, std::vector<int> exit_layers,
                           const Received& received = {});

/// infer_split of the whole network (k = L) with every exit, in the network's order.
SplitInference infer_all(const Network& net, const Dataset& data);

/// Accuracy of the final output and of every exit head on a dataset (all samples scored by every head).
struct Accuracy {
  double final_accuracy = 0;
  std::vector<double> exit_accuracy;
};
/// infer_all, scored against the labels.
Accuracy evaluate(const Network& net, const Dataset& data);

} // namespace scee
