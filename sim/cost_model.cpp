#include "cost_model.hpp"

#include <stdexcept>

namespace scee {

std::string to_string(CostModelChoice c) { return c == CostModelChoice::ideal ? "ideal" : "profile"; }

HostCost::HostCost(const ComputeProfile& p, int pstate, CostModelChoice choice, std::optional<Encoding> format)
{
  if (pstate < 0 || std::size_t(pstate) >= p.pstates.size())
    throw std::invalid_argument("HostCost: pstate out of range");
  speed_ = p.pstates[std::size_t(pstate)].rate_macs_per_s;
  scale_ = speed_ / p.pstates.front().rate_macs_per_s;
  if (choice == CostModelChoice::ideal || !p.cost_model)
    return;
  model_ = &*p.cost_model;
  kernels_ = model_->find(format.value_or(model_->default_format));
  if (!kernels_)
    throw std::invalid_argument("HostCost: the profile's cost model has no kernels for format " +
                                to_string(*format));
}

double HostCost::invoke_s() const { return ideal() ? 0.0 : model_->invoke_overhead_s / scale_; }

LayerTime HostCost::layer(const LayerSpec& l, Shape in) const
{
  const LayerCost c = layer_cost(l, in);
  LayerTime t;
  if (ideal()) {
    t.compute_s = double(c.macs) / speed_;
    return t;
  }
  if (l.kind == LayerKind::flatten)
    return t; // a view of the same memory: no kernel runs
  const int vb = value_bytes(kernels_->format);
  const int bias_bytes = kernels_->format == Encoding::int8 ? 4 : vb; // int8 runtimes keep int32 biases
  t.bytes = c.weights * vb + c.biases * bias_bytes + c.index_bytes + (in.size() + c.output_elements) * vb;
  t.overhead_s = model_->layer_overhead_s / scale_;
  t.memory_s = double(t.bytes) / model_->memory_bandwidth_bytes_per_s;
  switch (l.kind) {
  case LayerKind::fc:
  case LayerKind::conv: {
    const bool fc = l.kind == LayerKind::fc;
    const double rate = (fc ? kernels_->fc_rate_macs_per_s : kernels_->conv_rate_macs_per_s) * scale_;
    if (l.fan_out == l.out) {
      t.compute_s = double(c.macs) / rate;
    } else {
      const double dense_macs = double(layer_cost(dense_counterpart(l), in).macs);
      const SparseSpeedup& s = fc ? kernels_->fc_sparse_speedup : kernels_->conv_sparse_speedup;
      t.compute_s = dense_macs / (rate * s.at(double(c.macs) / dense_macs));
    }
    break;
  }
  case LayerKind::max_pool:
  case LayerKind::avg_pool: // one window element costs what one MAC of a dense convolution costs
    t.compute_s = double(c.output_elements) * l.kernel * l.kernel / (kernels_->conv_rate_macs_per_s * scale_);
    break;
  case LayerKind::relu:
    t.compute_s = double(c.output_elements) / (kernels_->conv_rate_macs_per_s * scale_);
    break;
  case LayerKind::flatten: break;
  }
  return t;
}

double HostCost::layer_work(const LayerSpec& l, Shape in) const
{
  if (ideal())
    return double(layer_cost(l, in).macs);
  return layer(l, in).seconds() * speed_;
}

double HostCost::range_work(const NetworkSpec& s, int from, int to) const
{
  double w = 0;
  for (int j = from + 1; j <= to; ++j)
    w += layer_work(s.layers[std::size_t(j - 1)], s.shape(j - 1));
  return w;
}

double HostCost::exit_work(const NetworkSpec& s, std::size_t e) const
{
  double w = 0;
  const auto& layers = s.exits[e].layers;
  for (std::size_t i = 0; i < layers.size(); ++i)
    w += layer_work(layers[i], s.exit_shape(e, int(i)));
  return w;
}

} // namespace scee
