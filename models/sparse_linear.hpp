// A predefined-sparse fully connected junction y = W x + b whose weights exist only on the fixed edges. W is an
// Eigen compressed row-major sparse matrix with exactly fan_in entries per row, so memory and time follow the
// number of edges; activations are row-major (one row per neuron, the batch contiguous).
#pragma once

#include <Eigen/Core>
#include <Eigen/SparseCore>
#include <cstdint>
#include <vector>

namespace scee {

/// Activations: one row per neuron, one column per sample; row-major so that a neuron's batch is contiguous.
using Activations = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

/// Cost figures of one layer, per sample.
struct LayerCost {
  std::int64_t weights = 0;         ///< existing edges (nnz)
  std::int64_t biases = 0;          ///< one per output
  std::int64_t macs = 0;            ///< multiply-accumulates per sample = nnz
  std::int64_t storage_bytes = 0;   ///< fp32 values and biases, plus column indices when sparse
  std::int64_t index_bytes = 0;     ///< of those, the input indices (one per existing connection when sparse)
  std::int64_t output_elements = 0; ///< elements of the output activation (per sample)
};

class SparseLinear {
public:
  SparseLinear() = default;
  /// A junction of `in` inputs and `out` outputs with the given fan-out; connectivity from `connectivity_seed`.
  SparseLinear(int in, int out, int fan_out, std::uint64_t connectivity_seed);
  /// A junction with explicit connectivity (out rows of sorted input indices, all of the same length).
  SparseLinear(int in, int out, int fan_out, const std::vector<std::vector<int>>& inputs);

  int in() const { return static_cast<int>(w_.cols()); }
  int out() const { return static_cast<int>(w_.rows()); }
  int fan_out() const { return fan_out_; }
  int fan_in() const { return fan_in_; }
  bool dense() const { return fan_out_ == out(); }
  std::int64_t nnz() const { return w_.nonZeros(); }
  LayerCost cost() const;

  /// Bytes of one column index: 0 when fully connected (no index needed), else 2 if in <= 65536, else 4.
  int index_bytes() const;

  /// y = W x + b (y is resized to out x batch), by the kernel gemm_path(batch) names.
  void forward(const Activations& x, Activations& y) const;
  /// Given dL/dy, accumulates dL/dW into dw (nnz, in storage order) and dL/db into db; writes dL/dx if dx != nullptr.
  void backward(const Activations& x, const Activations& dy, Activations* dx, float* dw, float* db) const;

  /// Whether forward and backward at this batch size use Eigen's dense product (the weights laid out as a dense
  /// out x in matrix, absent edges at zero) instead of one gather or axpy per edge: always for a fully connected
  /// junction, whose values already are that matrix; from gemm_min_batch samples at gemm_min_density and above,
  /// where the dense product costs less than the edges (the crossover measured in docs/performance.md). The choice
  /// depends only on the shape and the batch size, so results are deterministic for a build.
  bool gemm_path(Eigen::Index batch) const;
  static constexpr double gemm_min_density = 0.375;
  static constexpr Eigen::Index gemm_min_batch = 8;
  /// The two kernels, whatever gemm_path says (benchmarks and tests).
  void forward_edges(const Activations& x, Activations& y) const;
  void forward_gemm(const Activations& x, Activations& y) const;
  void backward_edges(const Activations& x, const Activations& dy, Activations* dx, float* dw, float* db) const;
  void backward_gemm(const Activations& x, const Activations& dy, Activations* dx, float* dw, float* db) const;

  Eigen::SparseMatrix<float, Eigen::RowMajor, int>& weights() { return w_; }
  const Eigen::SparseMatrix<float, Eigen::RowMajor, int>& weights() const { return w_; }
  Eigen::VectorXf& bias() { return b_; }
  const Eigen::VectorXf& bias() const { return b_; }
  /// Weight values in storage order (row by row, fan_in per row), nnz of them.
  float* values() { return w_.valuePtr(); }
  const float* values() const { return w_.valuePtr(); }
  /// Column index of every value, nnz of them.
  const int* indices() const { return w_.innerIndexPtr(); }
  /// The dense matrix with absent edges at zero (tests and reference only).
  Eigen::MatrixXf to_dense() const { return Eigen::MatrixXf(w_); }

private:
  Eigen::SparseMatrix<float, Eigen::RowMajor, int> w_;
  Eigen::VectorXf b_;
  int fan_out_ = 0;
  int fan_in_ = 0;
};

} // namespace scee
