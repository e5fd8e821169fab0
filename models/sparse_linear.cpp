#include "sparse_linear.hpp"

#include "connectivity.hpp"
#include "error.hpp"

#include <fmt/format.h>

namespace scee {

SparseLinear::SparseLinear(int in, int out, int fan_out, std::uint64_t connectivity_seed)
    : SparseLinear(in, out, fan_out, make_connectivity(in, out, fan_out, connectivity_seed))
{
}

SparseLinear::SparseLinear(int in, int out, int fan_out, const std::vector<std::vector<int>>& inputs)
    : w_(out, in), b_(Eigen::VectorXf::Zero(out)), fan_out_(fan_out)
{
  check_fan_out(in, out, fan_out, "junction");
  check_connectivity(in, out, fan_out, inputs, "junction");
  fan_in_ = static_cast<int>(static_cast<long long>(in) * fan_out / out);
  w_.reserve(Eigen::VectorXi::Constant(out, fan_in_));
  for (int o = 0; o < out; ++o)
    for (int i : inputs[o])
      w_.insert(o, i) = 0.0f;
  w_.makeCompressed();
}

int SparseLinear::index_bytes() const
{
  if (dense())
    return 0;
  return in() <= 65536 ? 2 : 4;
}

LayerCost SparseLinear::cost() const
{
  LayerCost c;
  c.weights = nnz();
  c.biases = out();
  c.macs = nnz();
  c.index_bytes = static_cast<std::int64_t>(index_bytes()) * c.weights;
  c.storage_bytes = 4 * (c.weights + c.biases) + c.index_bytes;
  c.output_elements = out();
  return c;
}

namespace {

using RowMatrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
using ConstRowMap = Eigen::Map<const RowMatrix>;

/// The weights as a dense out x in matrix: a fully connected junction's values in place (their storage order is
/// that matrix's, row by row), else a copy with absent edges at zero in `scratch`.
ConstRowMap dense_weights(const SparseLinear& l, RowMatrix& scratch)
{
  if (l.dense())
    return ConstRowMap(l.values(), l.out(), l.in());
  scratch.setZero(l.out(), l.in());
  const float* v = l.values();
  const int* idx = l.indices();
  for (int o = 0; o < l.out(); ++o)
    for (int k = 0; k < l.fan_in(); ++k, ++v, ++idx)
      scratch(o, *idx) = *v;
  return ConstRowMap(scratch.data(), l.out(), l.in());
}

} // namespace

bool SparseLinear::gemm_path(Eigen::Index batch) const
{
  return dense() || (batch >= gemm_min_batch && double(fan_out_) >= gemm_min_density * double(out()));
}

void SparseLinear::forward(const Activations& x, Activations& y) const
{
  if (gemm_path(x.cols()))
    forward_gemm(x, y);
  else
    forward_edges(x, y);
}

void SparseLinear::backward(const Activations& x, const Activations& dy, Activations* dx, float* dw, float* db) const
{
  if (gemm_path(x.cols()))
    backward_gemm(x, dy, dx, dw, db);
  else
    backward_edges(x, dy, dx, dw, db);
}

void SparseLinear::forward_gemm(const Activations& x, Activations& y) const
{
  thread_local RowMatrix scratch;
  const ConstRowMap w = dense_weights(*this, scratch);
  y.resize(out(), x.cols());
  y.noalias() = w * x;
  y.colwise() += b_;
}

void SparseLinear::backward_gemm(const Activations& x, const Activations& dy, Activations* dx, float* dw,
                                 float* db) const
{
  for (int o = 0; o < out(); ++o)
    db[o] += dy.row(o).sum();
  thread_local RowMatrix scratch, grad;
  if (dense()) {
    Eigen::Map<RowMatrix>(dw, out(), in()).noalias() += dy * x.transpose();
  } else {
    grad.noalias() = dy * x.transpose();
    const int* idx = indices();
    for (int o = 0; o < out(); ++o)
      for (int k = 0; k < fan_in_; ++k, ++dw, ++idx)
        *dw += grad(o, *idx);
  }
  if (dx) {
    const ConstRowMap w = dense_weights(*this, scratch);
    dx->resize(in(), x.cols());
    dx->noalias() = w.transpose() * dy;
  }
}

void SparseLinear::forward_edges(const Activations& x, Activations& y) const
{
  const Eigen::Index batch = x.cols();
  y.resize(out(), batch);
  const float* v = w_.valuePtr();
  const int* idx = w_.innerIndexPtr();
  if (batch == 1) { // a gather per edge, one sum per output
    // Each sum is a chain of dependent additions (one per FP-add latency); four outputs at a time keep four chains in
    // flight. Every sum still adds its fan_in products in order, so the result is that of one output at a time.
    constexpr int together = 4;
    const float* xv = x.data(); // one column: contiguous
    int o = 0;
    for (; o + together <= out(); o += together) {
      float acc[together];
      for (int r = 0; r < together; ++r)
        acc[r] = b_[o + r];
      const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(o) * fan_in_;
      for (int k = 0; k < fan_in_; ++k)
        for (int r = 0; r < together; ++r)
          acc[r] += v[base + r * fan_in_ + k] * xv[idx[base + r * fan_in_ + k]];
      for (int r = 0; r < together; ++r)
        y(o + r, 0) = acc[r];
    }
    for (; o < out(); ++o) {
      float acc = b_[o];
      const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(o) * fan_in_;
      for (int k = 0; k < fan_in_; ++k)
        acc += v[base + k] * xv[idx[base + k]];
      y(o, 0) = acc;
    }
    return;
  }
  for (int o = 0; o < out(); ++o) {
    auto row = y.row(o);
    row.setConstant(b_[o]);
    const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(o) * fan_in_;
    for (int k = 0; k < fan_in_; ++k)
      row.noalias() += v[base + k] * x.row(idx[base + k]);
  }
}

void SparseLinear::backward_edges(const Activations& x, const Activations& dy, Activations* dx, float* dw,
                                  float* db) const
{
  const float* v = w_.valuePtr();
  const int* idx = w_.innerIndexPtr();
  if (dx)
    dx->setZero(in(), x.cols());
  for (int o = 0; o < out(); ++o) {
    const auto g = dy.row(o);
    db[o] += g.sum();
    const std::ptrdiff_t base = static_cast<std::ptrdiff_t>(o) * fan_in_;
    for (int k = 0; k < fan_in_; ++k) {
      const int i = idx[base + k];
      dw[base + k] += g.dot(x.row(i));
      if (dx)
        dx->row(i).noalias() += v[base + k] * g;
    }
  }
}

} // namespace scee
