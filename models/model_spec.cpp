#include "model_spec.hpp"

#include "connectivity.hpp"
#include "dataset.hpp"
#include "error.hpp"
#include "sha256.hpp"
#include "strict_json.hpp"

#include <algorithm>
#include <fmt/format.h>

namespace scee {

namespace {

/// Fan-out of a layer connecting p inputs (neurons or channels) to n outputs: "fan_out" or "density", dense when
/// neither is given.
int read_fan_out(Fields& f, int p, int n, const std::string& what, const std::string& noun)
{
  if (f.has("fan_out") && f.has("density"))
    f.fail("fan_out", "give at most one of \"fan_out\" and \"density\"");
  int fo = n;
  if (f.has("density"))
    fo = fan_out_for_density(p, n, f.number("density", 1e-9, 1.0));
  else
    fo = int(f.integer("fan_out", 1, n, n));
  try {
    check_fan_out(p, n, fo, what, noun);
  } catch (const InputError& e) {
    f.fail(f.has("density") ? "density" : "fan_out", e.what());
  }
  return fo;
}

/// One entry of a "layers" list, on input shape `in`; shape errors name the entry's path.
LayerSpec read_layer(Fields& f, Shape in)
{
  static const std::vector<std::string> kinds = {"fc", "conv", "max_pool", "avg_pool", "relu", "flatten"};
  const std::string type = f.text("type", kinds);
  LayerSpec l;
  l.kind = LayerKind(std::find(kinds.begin(), kinds.end(), type) - kinds.begin());
  switch (l.kind) {
  case LayerKind::fc:
    l.out = int(f.integer("out_features", 1, 1 << 20));
    if (!in.flat())
      f.fail("type", fmt::format("fc needs a flat input but gets {}; put a {{\"type\": \"flatten\"}} layer before it",
                                 in.str()));
    l.fan_out = read_fan_out(f, in.c, l.out, fmt::format("fc {}->{}", in.c, l.out), "junction");
    l.relu = f.flag("relu", false);
    break;
  case LayerKind::conv:
    l.out = int(f.integer("out_channels", 1, 4096));
    l.kernel = int(f.integer("kernel", 1, 64));
    l.stride = int(f.integer("stride", 1, 64, 1));
    l.padding = int(f.integer("padding", 0, l.kernel - 1, 0));
    l.fan_out = read_fan_out(f, in.c, l.out, fmt::format("conv {}->{} channels", in.c, l.out),
                             "convolution's channels");
    l.relu = f.flag("relu", false);
    break;
  case LayerKind::max_pool:
  case LayerKind::avg_pool:
    l.kernel = int(f.integer("kernel", 1, 64));
    l.stride = int(f.integer("stride", 1, 64, l.kernel));
    l.ceil_mode = f.text("rounding", {"floor", "ceil"}, "floor") == "ceil";
    break;
  case LayerKind::relu:
  case LayerKind::flatten: break;
  }
  f.done();
  try {
    check_layer(l, in, type);
  } catch (const InputError& e) {
    Fields::fail_at(f.file(), f.path(), fmt::format("{} (input {})", e.what(), in.str()));
  }
  const Shape out = output_shape(l, in);
  if (out.size() > max_activation_elements)
    Fields::fail_at(f.file(), f.path(),
                    fmt::format("{} gives {} = {} elements per sample; at most {} are supported", type, out.str(),
                                out.size(), max_activation_elements));
  return l;
}

std::vector<LayerSpec> read_layers(Fields& f, const std::string& key, Shape in)
{
  std::vector<LayerSpec> out;
  auto entries = f.objects(key, true);
  if (int(entries.size()) > max_layers)
    f.fail(key, fmt::format("{} layers; at most {} are supported", entries.size(), max_layers));
  for (auto& entry : entries) {
    out.push_back(read_layer(entry, in));
    in = output_shape(out.back(), in);
  }
  return out;
}

/// The MLP shorthand: widths plus fan_outs or densities.
void read_mlp(Fields& f, NetworkSpec& s)
{
  std::vector<int> widths;
  for (auto w : f.integers("widths", 1, 1 << 20, true))
    widths.push_back(int(w));
  if (widths.size() < 2)
    f.fail("widths", "needs at least an input and an output width, e.g. [800, 40, 40, 10]");
  if (widths.back() < 2)
    f.fail("widths", "the last width is the class count and must be >= 2");
  const std::size_t junctions = widths.size() - 1;
  // Every input of a junction has at least one edge: refuse a network too large for any fan-out before working out
  // the fan-outs, which costs O(width) per junction for densities (a 4 KB scenario of 2^20-wide layers took over 10 s
  // to refuse under the sanitizers).
  std::int64_t at_least = 0;
  for (std::size_t j = 0; j < junctions; ++j)
    at_least += widths[j];
  if (at_least > max_network_weights)
    f.fail("widths", fmt::format("the network would have at least {} weights (one per input of each junction); at "
                                 "most {} (2^26) are supported",
                                 at_least, max_network_weights));
  const bool by_fan_out = f.has("fan_outs"), by_density = f.has("densities");
  if (by_fan_out == by_density)
    f.fail("fan_outs", "give exactly one of \"fan_outs\" (one integer per junction) or \"densities\" (one number "
                       "in (0, 1] per junction)");
  std::vector<int> fan_outs;
  if (by_fan_out) {
    const auto fo = f.integers("fan_outs", 1, 1 << 20, true);
    if (fo.size() != junctions)
      f.fail("fan_outs", fmt::format("needs {} values (one per junction), got {}", junctions, fo.size()));
    for (std::size_t j = 0; j < junctions; ++j) {
      try {
        check_fan_out(widths[j], widths[j + 1], int(fo[j]), fmt::format("junction {}", j + 1));
      } catch (const InputError& e) {
        Fields::fail_at(f.file(), fmt::format("{}[{}]", f.path_of("fan_outs"), j), e.what());
      }
      fan_outs.push_back(int(fo[j]));
    }
  } else {
    const auto d = f.numbers("densities", 1e-9, 1.0, true);
    if (d.size() != junctions)
      f.fail("densities", fmt::format("needs {} values (one per junction), got {}", junctions, d.size()));
    for (std::size_t j = 0; j < junctions; ++j)
      fan_outs.push_back(fan_out_for_density(widths[j], widths[j + 1], d[j]));
  }
  const NetworkSpec m = NetworkSpec::mlp(widths, fan_outs);
  s.input = m.input;
  s.layers = m.layers;
}

NetworkSpec read_network(Fields& f)
{
  NetworkSpec s;
  if (f.has("widths") == f.has("layers"))
    f.fail("layers", "give exactly one of \"layers\" (with \"input\") or the MLP shorthand \"widths\" (with "
                     "\"fan_outs\" or \"densities\")");
  if (f.has("widths")) {
    read_mlp(f, s);
  } else {
    for (const char* key : {"fan_outs", "densities"})
      if (f.has(key))
        f.fail(key, "belongs to the \"widths\" shorthand; with \"layers\" give each fc or conv layer its own "
                    "\"fan_out\" or \"density\"");
    const auto shape = f.integers("input", 1, 4096, true);
    if (shape.size() != 3)
      f.fail("input", fmt::format("needs [channels, height, width], e.g. [1, 28, 28], got {} values", shape.size()));
    s.input = {int(shape[0]), int(shape[1]), int(shape[2])};
    if (s.input.size() > max_activation_elements)
      f.fail("input", fmt::format("{} elements; at most {} are supported", s.input.size(), max_activation_elements));
    s.layers = read_layers(f, "layers", s.input);
    const Shape last = s.shape(s.depth());
    if (!last.flat() || last.c < 2)
      f.fail("layers", fmt::format("the last layer must give a flat tensor of at least 2 class scores (e.g. an fc "
                                   "layer), got {}",
                                   last.str()));
  }
  const int depth = s.depth();
  const int classes = s.classes();
  if (f.has("exits"))
    for (auto& x : f.objects("exits", false)) {
      ExitSpec e;
      e.after_layer = int(x.integer("after_layer", 1, std::max(1, depth - 1)));
      if (depth < 2)
        x.fail("after_layer", "a network without hidden layers cannot have exits");
      for (const auto& other : s.exits)
        if (other.after_layer == e.after_layer)
          x.fail("after_layer", fmt::format("another exit is already after layer {}", e.after_layer));
      const Shape in = s.shape(e.after_layer);
      if (x.has("layers")) {
        for (const char* key : {"fan_out", "density"})
          if (x.has(key))
            x.fail(key, "an exit with \"layers\" gives each fc or conv layer its own fan-out or density");
        e.layers = read_layers(x, "layers", in);
        Shape b = in;
        for (const auto& l : e.layers)
          b = output_shape(l, b);
        if (!b.flat() || b.c != classes)
          x.fail("layers", fmt::format("must end in the {} class scores, got {}", classes, b.str()));
      } else { // one fc junction to the classes
        if (!in.flat())
          x.fail("after_layer", fmt::format("layer {} gives {}: an exit here needs \"layers\" (e.g. flatten, fc)",
                                            e.after_layer, in.str()));
        LayerSpec head;
        head.out = classes;
        head.fan_out = read_fan_out(x, in.c, classes, fmt::format("exit after layer {}", e.after_layer), "junction");
        e.layers = {head};
      }
      x.done();
      s.exits.push_back(e);
    }
  s.seed = std::uint64_t(f.integer("seed", 0, std::int64_t(1) << 53, 1));
  if (s.weight_count() > max_network_weights)
    f.fail(f.has("widths") ? "widths" : "layers",
           fmt::format("with these fan-outs the network would have {} weights; at most {} (2^26) are supported",
                       s.weight_count(), max_network_weights));
  return s;
}

TrainConfig read_training(Fields& f)
{
  TrainConfig c;
  c.dataset = f.text("dataset", dataset_names(), c.dataset);
  c.epochs = int(f.integer("epochs", 1, 100000, c.epochs));
  c.batch_size = int(f.integer("batch_size", 1, 1 << 20, c.batch_size));
  c.learning_rate = f.number("learning_rate", 1e-12, 10.0, c.learning_rate);
  c.beta1 = f.number("beta1", 0.0, 0.999999, c.beta1);
  c.beta2 = f.number("beta2", 0.0, 0.99999999, c.beta2);
  c.epsilon = f.number("epsilon", 1e-15, 1.0, c.epsilon);
  c.decay = f.number("decay", 0.0, 1.0, c.decay);
  c.bias_init = f.number("bias_init", -10.0, 10.0, c.bias_init);
  c.he_fan_in_dense = f.text("he_fan_in", {"dense", "sparse"}, "dense") == "dense";
  c.final_loss_weight = f.number("final_loss_weight", 0.0, 1e6, c.final_loss_weight);
  if (f.has("exit_loss_weights"))
    c.exit_loss_weights = f.numbers("exit_loss_weights", 0.0, 1e6, false);
  c.freeze_backbone = f.flag("freeze_backbone", c.freeze_backbone);
  c.train_samples = int(f.integer("train_samples", 0, 60000, c.train_samples));
  c.test_samples = int(f.integer("test_samples", 0, 10000, c.test_samples));
  c.seed = std::uint64_t(f.integer("seed", 0, std::int64_t(1) << 53, std::int64_t(c.seed)));
  return c;
}

} // namespace

NetworkSpec network_spec_from_json(const nlohmann::json& j, const std::string& file, const std::string& path)
{
  Fields f(j, file, path);
  NetworkSpec s = read_network(f);
  f.done();
  return s;
}

TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& file, const std::string& path)
{
  Fields f(j, file, path);
  TrainConfig c = read_training(f);
  f.done();
  return c;
}

ModelSpec model_spec_from_json(const nlohmann::json& j, const std::string& file, const std::string& path)
{
  Fields f(j, file, path);
  ModelSpec m;
  m.network = read_network(f);
  if (f.has("training")) {
    Fields t = f.object("training");
    m.training = read_training(t);
    t.done();
  }
  f.done();
  if (!m.training.exit_loss_weights.empty() && m.training.exit_loss_weights.size() != m.network.exits.size())
    Fields::fail_at(file, path + ".training.exit_loss_weights",
                    fmt::format("needs one weight per exit ({}), got {}", m.network.exits.size(),
                                m.training.exit_loss_weights.size()));
  if (m.training.freeze_backbone && m.network.exits.empty())
    Fields::fail_at(file, path + ".training.freeze_backbone", "needs at least one exit to train");
  return m;
}

ModelSpec load_model_spec(const std::string& file) { return model_spec_from_json(read_json_file(file), file, "$"); }

ModelSpec default_model_spec()
{
  ModelSpec m;
  m.network = NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}});
  return m;
}

std::string model_hash(const ModelSpec& spec)
{
  const std::string text = nlohmann::json{{"network", to_json(spec.network)}, {"training", to_json(spec.training)}}.dump();
  return sha256_hex(text.data(), text.size()).substr(0, 16);
}

} // namespace scee
