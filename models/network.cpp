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

std::uint64_t layer_stream(int j) { return std::uint64_t(j); }
std::uint64_t exit_layer_stream(std::size_t e, int i) { return 1000 * std::uint64_t(i) + e; }

NetworkSpec NetworkSpec::mlp(const std::vector<int>& widths, const std::vector<int>& fan_outs,
                             const std::vector<std::pair<int, int>>& exits, std::uint64_t seed)
{
  NetworkSpec s;
  s.seed = seed;
  s.input = {widths.empty() ? 0 : widths.front(), 1, 1};
  for (std::size_t j = 1; j < widths.size(); ++j) {
    LayerSpec l;
    l.kind = LayerKind::fc;
    l.out = widths[j];
    l.fan_out = j - 1 < fan_outs.size() ? fan_outs[j - 1] : 0;
    l.relu = j + 1 < widths.size();
    s.layers.push_back(l);
  }
  for (const auto& [after, fo] : exits) {
    LayerSpec l;
    l.out = widths.empty() ? 0 : widths.back();
    l.fan_out = fo;
    s.exits.push_back({after, {l}});
  }
  return s;
}

std::optional<MlpShape> NetworkSpec::mlp_shape() const
{
  if (!input.flat() || layers.empty())
    return std::nullopt;
  MlpShape m;
  m.widths.push_back(input.c);
  for (std::size_t j = 0; j < layers.size(); ++j) {
    const LayerSpec& l = layers[j];
    if (l.kind != LayerKind::fc || l.relu != (j + 1 < layers.size()))
      return std::nullopt;
    m.widths.push_back(l.out);
    m.fan_outs.push_back(l.fan_out);
  }
  for (const auto& e : exits) {
    if (e.layers.size() != 1 || e.layers[0].kind != LayerKind::fc || e.layers[0].relu)
      return std::nullopt;
    m.exits.emplace_back(e.after_layer, e.layers[0].fan_out);
  }
  return m;
}

int NetworkSpec::classes() const { return shape(depth()).c; }

Shape NetworkSpec::shape(int k) const
{
  Shape s = input;
  for (int j = 0; j < k; ++j)
    s = output_shape(layers.at(std::size_t(j)), s);
  return s;
}

Shape NetworkSpec::exit_shape(std::size_t e, int i) const
{
  const ExitSpec& x = exits.at(e);
  Shape s = shape(x.after_layer);
  for (int j = 0; j < i; ++j)
    s = output_shape(x.layers.at(std::size_t(j)), s);
  return s;
}

NetworkCost NetworkSpec::cost(int from, int to) const
{
  NetworkCost c;
  Shape s = shape(from);
  for (int j = from; j < to; ++j) {
    const LayerSpec& l = layers.at(std::size_t(j));
    c += layer_cost(l, s);
    s = output_shape(l, s);
  }
  return c;
}

NetworkCost NetworkSpec::exit_cost(std::size_t e) const
{
  NetworkCost c;
  Shape s = shape(exits.at(e).after_layer);
  for (const LayerSpec& l : exits[e].layers) {
    c += layer_cost(l, s);
    s = output_shape(l, s);
  }
  return c;
}

std::int64_t NetworkSpec::weight_count() const
{
  std::int64_t n = cost(0, depth()).weights;
  for (std::size_t e = 0; e < exits.size(); ++e)
    n += exit_cost(e).weights;
  return n;
}

NetworkSpec NetworkSpec::dense() const
{
  NetworkSpec d = *this;
  for (auto& l : d.layers)
    l = dense_counterpart(l);
  for (auto& e : d.exits)
    for (auto& l : e.layers)
      l = dense_counterpart(l);
  return d;
}

namespace {

/// How messages name a layer: fully connected ones as the paper's junctions, "junction 2 (40->40)".
std::string layer_name(const LayerSpec& l, Shape in, int j)
{
  if (l.kind == LayerKind::fc)
    return fmt::format("junction {} ({}->{})", j, in.size(), l.out);
  return fmt::format("layer {} ({})", j, to_string(l.kind));
}

} // namespace

void NetworkSpec::validate(const std::string& where) const
{
  if (input.c < 1 || input.h < 1 || input.w < 1)
    throw InputError(fmt::format("{}: the input shape {}x{}x{} needs every side >= 1", where, input.c, input.h,
                                 input.w));
  if (layers.empty())
    throw InputError(fmt::format("{}: the network needs at least one layer", where));
  if (depth() > max_layers)
    throw InputError(fmt::format("{}: {} layers; at most {} are supported", where, depth(), max_layers));
  Shape s = input;
  for (int j = 1; j <= depth(); ++j) {
    const LayerSpec& l = layers[std::size_t(j - 1)];
    check_layer(l, s, fmt::format("{}: {}", where, layer_name(l, s, j)));
    s = output_shape(l, s);
    if (s.size() > max_activation_elements)
      throw InputError(fmt::format("{}: layer {} gives {} elements per sample; at most {} are supported", where, j,
                                   s.size(), max_activation_elements));
  }
  if (!s.flat())
    throw InputError(fmt::format("{}: the last layer must give a flat tensor of class scores (e.g. an fc layer), "
                                 "got {}",
                                 where, s.str()));
  if (s.c < 2)
    throw InputError(fmt::format("{}: the output layer needs at least 2 classes", where));
  const int classes = s.c;
  for (std::size_t e = 0; e < exits.size(); ++e) {
    const auto& x = exits[e];
    if (x.after_layer < 1 || x.after_layer > depth() - 1)
      throw InputError(fmt::format("{}: exit {} after layer {}: must be after a hidden layer, 1..{}", where, e,
                                   x.after_layer, depth() - 1));
    for (std::size_t f = 0; f < e; ++f)
      if (exits[f].after_layer == x.after_layer)
        throw InputError(fmt::format("{}: two exits after layer {}", where, x.after_layer));
    if (x.layers.empty() || int(x.layers.size()) > max_layers)
      throw InputError(fmt::format("{}: exit after layer {} needs 1..{} layers", where, x.after_layer, max_layers));
    Shape b = shape(x.after_layer);
    for (std::size_t i = 0; i < x.layers.size(); ++i) {
      const LayerSpec& l = x.layers[i];
      const std::string name = x.layers.size() == 1 && l.kind == LayerKind::fc
                                   ? fmt::format("exit after layer {} ({}->{})", x.after_layer, b.size(), l.out)
                                   : fmt::format("exit after layer {}, {}", x.after_layer, layer_name(l, b, int(i) + 1));
      check_layer(l, b, fmt::format("{}: {}", where, name));
      b = output_shape(l, b);
      if (b.size() > max_activation_elements)
        throw InputError(fmt::format("{}: {} gives {} elements per sample; at most {} are supported", where, name,
                                     b.size(), max_activation_elements));
    }
    if (!b.flat() || b.c != classes)
      throw InputError(fmt::format("{}: exit after layer {} ends in {}, not the {} class scores", where, x.after_layer,
                                   b.str(), classes));
  }
  if (weight_count() > max_network_weights)
    throw InputError(fmt::format("{}: the network would have {} weights; at most {} (2^26) are supported", where,
                                 weight_count(), max_network_weights));
}

nlohmann::json to_json(const LayerSpec& l)
{
  nlohmann::json j = {{"type", to_string(l.kind)}};
  switch (l.kind) {
  case LayerKind::fc:
    j["out_features"] = l.out;
    j["fan_out"] = l.fan_out;
    j["relu"] = l.relu;
    break;
  case LayerKind::conv:
    j["out_channels"] = l.out;
    j["kernel"] = l.kernel;
    j["stride"] = l.stride;
    j["padding"] = l.padding;
    j["fan_out"] = l.fan_out;
    j["relu"] = l.relu;
    break;
  case LayerKind::max_pool:
  case LayerKind::avg_pool:
    j["kernel"] = l.kernel;
    j["stride"] = l.stride;
    j["rounding"] = l.ceil_mode ? "ceil" : "floor";
    break;
  case LayerKind::relu:
  case LayerKind::flatten: break;
  }
  return j;
}

nlohmann::json to_json(const NetworkSpec& spec)
{
  nlohmann::json exits = nlohmann::json::array();
  if (const auto m = spec.mlp_shape()) { // the shorthand, as model files of format 1 and scenario specs wrote it
    for (const auto& [after, fo] : m->exits)
      exits.push_back({{"after_layer", after}, {"fan_out", fo}});
    return {{"widths", m->widths}, {"fan_outs", m->fan_outs}, {"exits", exits}, {"seed", spec.seed}};
  }
  auto list = [](const std::vector<LayerSpec>& layers) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& l : layers)
      out.push_back(to_json(l));
    return out;
  };
  for (const auto& e : spec.exits)
    exits.push_back({{"after_layer", e.after_layer}, {"layers", list(e.layers)}});
  return {{"input", {spec.input.c, spec.input.h, spec.input.w}},
          {"layers", list(spec.layers)},
          {"exits", exits},
          {"seed", spec.seed}};
}

NetworkCost& NetworkCost::operator+=(const LayerCost& c)
{
  return *this += NetworkCost{c.weights, c.biases, c.macs, c.storage_bytes};
}

NetworkCost& NetworkCost::operator+=(const NetworkCost& c)
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
  for (int j = 1; j <= depth(); ++j)
    layers_.push_back(make_layer(spec_.layers[std::size_t(j - 1)], spec_.shape(j - 1),
                                 derive_seed(spec_.seed, layer_stream(j))));
  for (std::size_t e = 0; e < spec_.exits.size(); ++e) {
    LayerStack branch;
    for (int i = 1; i <= int(spec_.exits[e].layers.size()); ++i)
      branch.push_back(make_layer(spec_.exits[e].layers[std::size_t(i - 1)], spec_.exit_shape(e, i - 1),
                                  derive_seed(spec_.seed, exit_layer_stream(e, i))));
    exits_.push_back(std::move(branch));
  }
}

Network::Network(NetworkSpec spec, LayerStack layers, std::vector<LayerStack> exits)
    : spec_(std::move(spec)), layers_(std::move(layers)), exits_(std::move(exits))
{
  spec_.validate("network");
  if (int(layers_.size()) != depth() || exits_.size() != spec_.exits.size())
    throw InputError("network: layer or exit count differs from the spec");
  auto check = [](const Layer& l, const LayerSpec& want, Shape in, const std::string& what) {
    if (!(l.spec() == want) || !(l.in_shape() == in))
      throw InputError(fmt::format("{} is {} on {}, the spec says {} on {}", what, to_json(l.spec()).dump(),
                                   l.in_shape().str(), to_json(want).dump(), in.str()));
  };
  for (int j = 1; j <= depth(); ++j)
    check(layer(j), spec_.layers[std::size_t(j - 1)], spec_.shape(j - 1), fmt::format("layer {}", j));
  for (std::size_t e = 0; e < exits_.size(); ++e) {
    if (exits_[e].size() != spec_.exits[e].layers.size())
      throw InputError(fmt::format("network: exit {} has {} layers, the spec says {}", e, exits_[e].size(),
                                   spec_.exits[e].layers.size()));
    for (int i = 1; i <= exit_depth(e); ++i)
      check(exit_layer(e, i), spec_.exits[e].layers[std::size_t(i - 1)], spec_.exit_shape(e, i - 1),
            fmt::format("exit {} layer {}", e, i));
  }
}

Network::Network(const Network& other) : spec_(other.spec_)
{
  for (const auto& l : other.layers_)
    layers_.push_back(l->clone());
  for (const auto& branch : other.exits_) {
    LayerStack copy;
    for (const auto& l : branch)
      copy.push_back(l->clone());
    exits_.push_back(std::move(copy));
  }
}

Network& Network::operator=(const Network& other)
{
  if (this != &other)
    *this = Network(other);
  return *this;
}

std::vector<Layer*> Network::all_layers()
{
  std::vector<Layer*> out;
  for (auto& l : layers_)
    out.push_back(l.get());
  for (auto& branch : exits_)
    for (auto& l : branch)
      out.push_back(l.get());
  return out;
}

std::vector<const Layer*> Network::all_layers() const
{
  std::vector<const Layer*> out;
  for (Layer* l : const_cast<Network*>(this)->all_layers())
    out.push_back(l);
  return out;
}

std::size_t Network::exit_layer_index(std::size_t e, int i) const
{
  std::size_t index = layers_.size();
  for (std::size_t f = 0; f < e; ++f)
    index += exits_[f].size();
  return index + std::size_t(i - 1);
}

SparseLinear& Network::junction(int j)
{
  auto* fc = dynamic_cast<FullyConnected*>(&layer(j));
  if (!fc)
    throw std::logic_error(fmt::format("layer {} is {}, not fully connected", j, to_string(layer(j).kind())));
  return fc->linear();
}

const SparseLinear& Network::junction(int j) const { return const_cast<Network*>(this)->junction(j); }

void Network::initialise(std::uint64_t seed, double bias_init, bool he_fan_in_dense)
{
  // Keras' he_normal: truncated normal at 2 sigma, stddev sqrt(2/fan_in) corrected for the truncation; fan_in counts
  // the inputs of one output (times the kernel's taps for a convolution).
  Rng rng(derive_seed(seed, 77));
  for (Layer* l : all_layers()) {
    if (!l->spec().has_parameters())
      continue;
    const LayerSpec& spec = l->spec();
    const LayerSpec counted = he_fan_in_dense ? dense_counterpart(spec) : spec;
    const double fan_in = double(layer_cost(counted, l->in_shape()).weights) / double(spec.out);
    const double stddev = std::sqrt(2.0 / fan_in) / 0.87962566103423978;
    auto params = l->parameters();
    for (std::int64_t k = 0; k < params[0].size; ++k) {
      double z = rng.normal();
      while (std::abs(z) > 2.0)
        z = rng.normal();
      params[0].data[k] = float(z * stddev);
    }
    std::fill_n(params[1].data, params[1].size, float(bias_init));
  }
}

Activations Network::forward_range(int from, int to, const Activations& input) const
{
  if (from < 0 || to > depth() || from > to)
    throw std::out_of_range(fmt::format("forward_range({}, {}) on a network of depth {}", from, to, depth()));
  if (from == to)
    return input;
  Activations a, z;
  const Activations* x = &input; // the first layer reads the input in place
  for (int j = from + 1; j <= to; ++j) {
    forward_layer(j, *x, z);
    a.swap(z);
    x = &a;
  }
  return a;
}

Activations Network::exit_logits(std::size_t e, const Activations& hidden) const
{
  Activations a, z;
  const Activations* x = &hidden;
  for (const auto& l : exits_.at(e)) {
    l->forward(*x, z);
    a.swap(z);
    x = &a;
  }
  return a;
}

int Network::exit_after(int layer) const
{
  for (std::size_t e = 0; e < spec_.exits.size(); ++e)
    if (spec_.exits[e].after_layer == layer)
      return int(e);
  return -1;
}

} // namespace scee
