#include "network.hpp"

#include "connectivity.hpp"
#include "error.hpp"
#include "rng.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>

namespace scee {

std::uint64_t derive_seed(std::uint64_t seed, std::uint64_t stream)
{
  Rng r(seed ^ (0xD1B54A32D192ED03ULL * (stream + 1)));
  return r.next();
}

std::int64_t NetworkSpec::weight_count() const
{
  std::int64_t n = 0;
  for (std::size_t j = 0; j + 1 < widths.size() && j < fan_outs.size(); ++j)
    n += std::int64_t(widths[j]) * fan_outs[j];
  for (const auto& e : exits)
    if (e.after_layer >= 0 && std::size_t(e.after_layer) < widths.size())
      n += std::int64_t(widths[std::size_t(e.after_layer)]) * e.fan_out;
  return n;
}

void NetworkSpec::validate(const std::string& where) const
{
  if (widths.size() < 2)
    throw InputError(fmt::format("{}: widths needs at least an input and an output layer", where));
  for (int w : widths)
    if (w < 1)
      throw InputError(fmt::format("{}: every width must be >= 1", where));
  if (classes() < 2)
    throw InputError(fmt::format("{}: the output layer needs at least 2 classes", where));
  if (fan_outs.size() != widths.size() - 1)
    throw InputError(fmt::format("{}: {} fan-outs given for {} junctions", where, fan_outs.size(), depth()));
  for (int j = 0; j < depth(); ++j)
    check_fan_out(widths[j], widths[j + 1], fan_outs[j], fmt::format("{}: junction {} ({}->{})", where, j + 1,
                                                                     widths[j], widths[j + 1]));
  for (std::size_t e = 0; e < exits.size(); ++e) {
    const auto& x = exits[e];
    if (x.after_layer < 1 || x.after_layer > depth() - 1)
      throw InputError(fmt::format("{}: exit {} after layer {}: must be after a hidden layer, 1..{}", where, e,
                                   x.after_layer, depth() - 1));
    for (std::size_t f = 0; f < e; ++f)
      if (exits[f].after_layer == x.after_layer)
        throw InputError(fmt::format("{}: two exits after layer {}", where, x.after_layer));
    check_fan_out(widths[x.after_layer], classes(), x.fan_out,
                  fmt::format("{}: exit after layer {} ({}->{})", where, x.after_layer, widths[x.after_layer],
                              classes()));
  }
  if (weight_count() > max_network_weights)
    throw InputError(fmt::format("{}: the network would have {} weights; at most {} (2^26) are supported", where,
                                 weight_count(), max_network_weights));
}

nlohmann::json to_json(const NetworkSpec& spec)
{
  nlohmann::json exits = nlohmann::json::array();
  for (const auto& e : spec.exits)
    exits.push_back({{"after_layer", e.after_layer}, {"fan_out", e.fan_out}});
  return {{"widths", spec.widths}, {"fan_outs", spec.fan_outs}, {"exits", exits}, {"seed", spec.seed}};
}

NetworkCost& NetworkCost::operator+=(const LayerCost& c)
{
  weights += c.weights;
  biases += c.biases;
  macs += c.macs;
  storage_bytes += c.storage_bytes;
  return *this;
}

Confidence confidence(const float* logits, int classes)
{
  Confidence c;
  const float top = *std::max_element(logits, logits + classes);
  double sum = 0;
  for (int k = 0; k < classes; ++k)
    sum += std::exp(double(logits[k]) - top);
  double best = -1, second = -1, entropy = 0;
  for (int k = 0; k < classes; ++k) {
    const double p = std::exp(double(logits[k]) - top) / sum;
    if (p > 0)
      entropy -= p * std::log(p);
    if (p > best) {
      second = best;
      best = p;
      c.prediction = k;
    } else if (p > second) {
      second = p;
    }
  }
  c.max_prob = best;
  c.entropy = entropy;
  c.margin = best - second;
  return c;
}

Criterion parse_criterion(const std::string& name)
{
  if (name == "max_softmax")
    return Criterion::max_softmax;
  if (name == "entropy")
    return Criterion::entropy;
  if (name == "margin")
    return Criterion::margin;
  throw InputError(fmt::format("unknown exit criterion \"{}\"; valid: max_softmax, entropy, margin", name));
}

std::string to_string(Criterion c)
{
  switch (c) {
  case Criterion::max_softmax: return "max_softmax";
  case Criterion::entropy: return "entropy";
  case Criterion::margin: return "margin";
  }
  return "?";
}

bool confident_enough(Criterion c, const Confidence& conf, double threshold)
{
  switch (c) {
  case Criterion::max_softmax: return conf.max_prob >= threshold;
  case Criterion::entropy: return conf.entropy <= threshold;
  case Criterion::margin: return conf.margin >= threshold;
  }
  return false;
}

Network::Network(NetworkSpec spec) : spec_(std::move(spec))
{
  spec_.validate("network");
  for (int j = 0; j < depth(); ++j)
    layers_.emplace_back(spec_.widths[j], spec_.widths[j + 1], spec_.fan_outs[j], derive_seed(spec_.seed, j + 1));
  for (std::size_t e = 0; e < spec_.exits.size(); ++e)
    exits_.emplace_back(spec_.widths[spec_.exits[e].after_layer], classes(), spec_.exits[e].fan_out,
                        derive_seed(spec_.seed, 1000 + e));
}

Network::Network(NetworkSpec spec, std::vector<SparseLinear> layers, std::vector<SparseLinear> exits)
    : spec_(std::move(spec)), layers_(std::move(layers)), exits_(std::move(exits))
{
  spec_.validate("network");
  auto check = [](const SparseLinear& l, int in, int out, int fo, const std::string& what) {
    if (l.in() != in || l.out() != out || l.fan_out() != fo)
      throw InputError(fmt::format("{} is {}->{} with fan-out {}, the spec says {}->{} with fan-out {}", what, l.in(),
                                   l.out(), l.fan_out(), in, out, fo));
  };
  if (int(layers_.size()) != depth() || exits_.size() != spec_.exits.size())
    throw InputError("network: junction or exit count differs from the spec");
  for (int j = 0; j < depth(); ++j)
    check(layers_[j], spec_.widths[j], spec_.widths[j + 1], spec_.fan_outs[j], fmt::format("junction {}", j + 1));
  for (std::size_t e = 0; e < exits_.size(); ++e)
    check(exits_[e], spec_.widths[spec_.exits[e].after_layer], classes(), spec_.exits[e].fan_out,
          fmt::format("exit {}", e));
}

static void he_normal(SparseLinear& layer, Rng& rng, double bias_init, bool dense_fan_in)
{
  // Keras' he_normal: truncated normal at 2 sigma, stddev sqrt(2/fan_in) corrected for the truncation.
  const double fan_in = dense_fan_in ? layer.in() : layer.fan_in();
  const double stddev = std::sqrt(2.0 / fan_in) / 0.87962566103423978;
  float* v = layer.values();
  for (std::int64_t k = 0; k < layer.nnz(); ++k) {
    double z = rng.normal();
    while (std::abs(z) > 2.0)
      z = rng.normal();
    v[k] = float(z * stddev);
  }
  layer.bias().setConstant(float(bias_init));
}

void Network::initialise(std::uint64_t seed, double bias_init, bool he_fan_in_dense)
{
  Rng rng(derive_seed(seed, 77));
  for (auto& l : layers_)
    he_normal(l, rng, bias_init, he_fan_in_dense);
  for (auto& l : exits_)
    he_normal(l, rng, bias_init, he_fan_in_dense);
}

Activations Network::forward_range(int from, int to, const Activations& input) const
{
  if (from < 0 || to > depth() || from > to)
    throw std::out_of_range(fmt::format("forward_range({}, {}) on a network of depth {}", from, to, depth()));
  if (from == to)
    return input;
  Activations a, z;
  const Activations* x = &input; // the first junction reads the input in place
  for (int j = from + 1; j <= to; ++j) {
    layers_[j - 1].forward(*x, z);
    if (j < depth())
      z = z.cwiseMax(0.0f);
    a.swap(z);
    x = &a;
  }
  return a;
}

Activations Network::exit_logits(std::size_t e, const Activations& hidden) const
{
  Activations z;
  exits_.at(e).forward(hidden, z);
  return z;
}

int Network::exit_after(int layer) const
{
  for (std::size_t e = 0; e < spec_.exits.size(); ++e)
    if (spec_.exits[e].after_layer == layer)
      return int(e);
  return -1;
}

NetworkCost Network::cost(int from, int to) const
{
  NetworkCost c;
  for (int j = from + 1; j <= to; ++j)
    c += layers_.at(j - 1).cost();
  return c;
}

} // namespace scee
