#include "model_spec.hpp"

#include "connectivity.hpp"
#include "dataset.hpp"
#include "error.hpp"
#include "sha256.hpp"
#include "strict_json.hpp"

#include <fmt/format.h>

namespace scee {

namespace {

NetworkSpec read_network(Fields& f)
{
  NetworkSpec s;
  for (auto w : f.integers("widths", 1, 1 << 20, true))
    s.widths.push_back(int(w));
  if (s.widths.size() < 2)
    f.fail("widths", "needs at least an input and an output width, e.g. [800, 40, 40, 10]");
  if (s.widths.back() < 2)
    f.fail("widths", "the last width is the class count and must be >= 2");
  const std::size_t junctions = s.widths.size() - 1;
  // Every input of a junction has at least one edge: refuse a network too large for any fan-out before working out
  // the fan-outs, which costs O(width) per junction for densities (a 4 KB scenario of 2^20-wide layers took over 10 s
  // to refuse under the sanitizers).
  std::int64_t at_least = 0;
  for (std::size_t j = 0; j < junctions; ++j)
    at_least += s.widths[j];
  if (at_least > max_network_weights)
    f.fail("widths", fmt::format("the network would have at least {} weights (one per input of each junction); at "
                                 "most {} (2^26) are supported",
                                 at_least, max_network_weights));
  const bool by_fan_out = f.has("fan_outs"), by_density = f.has("densities");
  if (by_fan_out == by_density)
    f.fail("fan_outs", "give exactly one of \"fan_outs\" (one integer per junction) or \"densities\" (one number "
                       "in (0, 1] per junction)");
  if (by_fan_out) {
    const auto fo = f.integers("fan_outs", 1, 1 << 20, true);
    if (fo.size() != junctions)
      f.fail("fan_outs", fmt::format("needs {} values (one per junction), got {}", junctions, fo.size()));
    for (std::size_t j = 0; j < junctions; ++j) {
      try {
        check_fan_out(s.widths[j], s.widths[j + 1], int(fo[j]), fmt::format("junction {}", j + 1));
      } catch (const InputError& e) {
        Fields::fail_at(f.file(), fmt::format("{}[{}]", f.path_of("fan_outs"), j), e.what());
      }
      s.fan_outs.push_back(int(fo[j]));
    }
  } else {
    const auto d = f.numbers("densities", 1e-9, 1.0, true);
    if (d.size() != junctions)
      f.fail("densities", fmt::format("needs {} values (one per junction), got {}", junctions, d.size()));
    for (std::size_t j = 0; j < junctions; ++j)
      s.fan_outs.push_back(fan_out_for_density(s.widths[j], s.widths[j + 1], d[j]));
  }
  const int depth = int(junctions);
  if (f.has("exits"))
    for (auto& x : f.objects("exits", false)) {
      ExitSpec e;
      e.after_layer = int(x.integer("after_layer", 1, std::max(1, depth - 1)));
      if (depth < 2)
        x.fail("after_layer", "a network without hidden layers cannot have exits");
      const int p = s.widths[e.after_layer], n = s.widths.back();
      if (x.has("fan_out") && x.has("density"))
        x.fail("fan_out", "give at most one of \"fan_out\" and \"density\"");
      if (x.has("density"))
        e.fan_out = fan_out_for_density(p, n, x.number("density", 1e-9, 1.0));
      else
        e.fan_out = int(x.integer("fan_out", 1, n, n));
      try {
        check_fan_out(p, n, e.fan_out, fmt::format("exit after layer {}", e.after_layer));
      } catch (const InputError& err) {
        x.fail("fan_out", err.what());
      }
      for (const auto& other : s.exits)
        if (other.after_layer == e.after_layer)
          x.fail("after_layer", fmt::format("another exit is already after layer {}", e.after_layer));
      x.done();
      s.exits.push_back(e);
    }
  s.seed = std::uint64_t(f.integer("seed", 0, std::int64_t(1) << 53, 1));
  if (s.weight_count() > max_network_weights)
    f.fail("widths", fmt::format("with these fan-outs the network would have {} weights; at most {} (2^26) are "
                                 "supported",
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
  m.network.widths = {800, 40, 40, 10};
  m.network.fan_outs = {2, 9, 10};
  m.network.exits = {ExitSpec{1, 10}};
  return m;
}

std::string model_hash(const ModelSpec& spec)
{
  const std::string text = nlohmann::json{{"network", to_json(spec.network)}, {"training", to_json(spec.training)}}.dump();
  return sha256_hex(text.data(), text.size()).substr(0, 16);
}

} // namespace scee
