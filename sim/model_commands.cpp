#include "model_commands.hpp"

#include "connectivity.hpp"
#include "dataset.hpp"
#include "error.hpp"
#include "inference.hpp"
#include "metrics.hpp"
#include "model_cache.hpp"
#include "model_file.hpp"
#include "model_spec.hpp"
#include "output.hpp"
#include "strict_json.hpp"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <memory>

namespace scee {

namespace {

struct TrainOptions {
  std::string spec_file, out = "results/model.scee", log;
  std::vector<int> widths, fan_outs, exits;
  std::vector<double> densities;
  std::string dataset, init_from;
  int epochs = -1, batch_size = -1, train_samples = -1, test_samples = -1;
  double learning_rate = -1;
  std::int64_t seed = -1;
  bool freeze_backbone = false, quiet = false;
};

ModelSpec resolve_spec(const TrainOptions& o)
{
  ModelSpec m = o.spec_file.empty() ? default_model_spec() : load_model_spec(o.spec_file);
  auto& net = m.network;
  // Name what set the network: the flags, the spec file, or both.
  const bool flags = !o.widths.empty() || !o.fan_outs.empty() || !o.densities.empty() || !o.exits.empty();
  const std::string from_flags = "--widths/--fan-outs/--densities/--exits";
  const std::string where = o.spec_file.empty() ? from_flags
                            : flags             ? o.spec_file + " with " + from_flags
                                                : o.spec_file + ": $";
  if (flags) { // the flags edit the MLP shorthand
    const std::optional<MlpShape> given = net.mlp_shape();
    if (!given && o.widths.empty())
      throw InputError(fmt::format("{}: --fan-outs, --densities and --exits edit an MLP (widths) spec; this one has "
                                   "\"layers\": set each layer's fan_out in the spec",
                                   where));
    MlpShape mlp = given ? *given : MlpShape{};
    if (!o.widths.empty()) {
      mlp.widths = o.widths;
      mlp.fan_outs.assign(mlp.widths.begin() + (mlp.widths.empty() ? 0 : 1), mlp.widths.end()); // dense unless told
      mlp.exits.clear();
    }
    if (mlp.widths.size() < 2)
      throw InputError(fmt::format("{}: widths needs at least an input and an output layer", where));
    for (int w : mlp.widths)
      if (w < 1)
        throw InputError(fmt::format("{}: every width must be >= 1", where));
    const std::size_t junctions = mlp.widths.size() - 1;
    if (!o.fan_outs.empty())
      mlp.fan_outs = o.fan_outs;
    if (mlp.fan_outs.size() != junctions)
      throw InputError(fmt::format("{}: {} fan-outs given for {} junctions", where, mlp.fan_outs.size(), junctions));
    if (!o.densities.empty()) {
      if (o.densities.size() != junctions)
        throw InputError(
            fmt::format("--densities: needs {} values (one per junction), got {}", junctions, o.densities.size()));
      mlp.fan_outs.clear();
      for (std::size_t j = 0; j < o.densities.size(); ++j)
        mlp.fan_outs.push_back(fan_out_for_density(mlp.widths[j], mlp.widths[j + 1], o.densities[j]));
    }
    if (!o.exits.empty()) {
      mlp.exits.clear();
      for (int layer : o.exits)
        mlp.exits.emplace_back(layer, mlp.widths.back());
    }
    net = NetworkSpec::mlp(mlp.widths, mlp.fan_outs, mlp.exits, net.seed);
  }
  auto& t = m.training;
  if (!o.dataset.empty())
    t.dataset = o.dataset;
  if (o.epochs > 0)
    t.epochs = o.epochs;
  if (o.batch_size > 0)
    t.batch_size = o.batch_size;
  if (o.learning_rate > 0)
    t.learning_rate = o.learning_rate;
  if (o.train_samples >= 0)
    t.train_samples = o.train_samples;
  if (o.test_samples >= 0)
    t.test_samples = o.test_samples;
  if (o.seed > (std::int64_t(1) << 53))
    throw InputError(fmt::format("--seed: must be in [0, 2^53], got {}", o.seed));
  if (o.seed >= 0)
    t.seed = std::uint64_t(o.seed);
  if (o.freeze_backbone)
    t.freeze_backbone = true;
  net.validate(where);
  const Shape in = net.input;
  check_input_shape(in.c, in.h, in.w, flags ? where : o.spec_file + (in.flat() ? ": $.widths[0]" : ": $.input"));
  if (!t.exit_loss_weights.empty() && t.exit_loss_weights.size() != net.exits.size())
    t.exit_loss_weights.clear();
  return m;
}

/// A CLI check for a real number in [lo, hi] with a message in the same words as the JSON readers'.
CLI::Validator real_range(double lo, double hi)
{
  return CLI::Validator(
      [lo, hi](std::string& text) {
        char* end = nullptr;
        const double x = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0' || !std::isfinite(x) || x < lo || x > hi)
          return fmt::format("must be a number in [{}, {}], got {}", lo, hi, text);
        return std::string();
      },
      fmt::format("in [{}, {}]", lo, hi));
}

std::string csv_number(double v)
{
  return std::isfinite(v) ? fmt::format("{}", v) : "";
}

/// How tables and summaries name a layer: fully connected ones as the paper's junctions.
std::string layer_label(const LayerSpec& l, Shape in, int j)
{
  if (l.kind == LayerKind::fc)
    return fmt::format("junction {} ({}->{})", j, in.size(), l.out);
  return fmt::format("{} {} ({}->{})", j, to_string(l.kind), in.str(), output_shape(l, in).str());
}

/// One row per layer (main path, then each exit branch): the layer's cost next to its fully connected counterpart.
struct CostRow {
  std::string label;
  LayerCost cost, dense;
};
std::vector<CostRow> cost_rows(const NetworkSpec& s)
{
  std::vector<CostRow> rows;
  for (int j = 1; j <= s.depth(); ++j) {
    const LayerSpec& l = s.layers[std::size_t(j - 1)];
    rows.push_back({layer_label(l, s.shape(j - 1), j), layer_cost(l, s.shape(j - 1)),
                    layer_cost(dense_counterpart(l), s.shape(j - 1))});
  }
  for (std::size_t e = 0; e < s.exits.size(); ++e)
    for (int i = 1; i <= int(s.exits[e].layers.size()); ++i) {
      const LayerSpec& l = s.exits[e].layers[std::size_t(i - 1)];
      const Shape in = s.exit_shape(e, i - 1);
      // Exits are named by the layer they follow (an exit's index means nothing to the reader).
      const std::string label = s.exits[e].layers.size() == 1
                                    ? fmt::format("exit after layer {}", s.exits[e].after_layer)
                                    : fmt::format("exit after {}: {} {}", s.exits[e].after_layer, i, to_string(l.kind));
      rows.push_back({label, layer_cost(l, in), layer_cost(dense_counterpart(l), in)});
    }
  return rows;
}

void print_cost_table(const Network& net)
{
  fmt::print("{:<30} {:>10} {:>10} {:>12} {:>12} {:>8}\n", "layer", "weights", "macs", "storage_B", "dense_B",
             "density");
  NetworkCost total, dense_total;
  for (const CostRow& r : cost_rows(net.spec())) {
    total += r.cost;
    dense_total += r.dense;
    if (r.dense.weights == 0) {
      fmt::print("{:<30} {:>10} {:>10} {:>12} {:>12} {:>8}\n", r.label, 0, 0, 0, 0, "-");
      continue;
    }
    fmt::print("{:<30} {:>10} {:>10} {:>12} {:>12} {:>7.2f}%\n", r.label, r.cost.weights, r.cost.macs,
               r.cost.storage_bytes, r.dense.storage_bytes, 100.0 * double(r.cost.weights) / double(r.dense.weights));
  }
  fmt::print("{:<30} {:>10} {:>10} {:>12} {:>12} {:>7.2f}%  ({:.1f}x fewer weights, {:.1f}x less storage)\n", "total",
             total.weights, total.macs, total.storage_bytes, dense_total.storage_bytes,
             100.0 * double(total.weights) / double(dense_total.weights),
             double(dense_total.weights) / double(total.weights),
             double(dense_total.storage_bytes) / double(total.storage_bytes));
}

int run_train(const TrainOptions& o, const std::string& /*command_line*/)
{
  ModelSpec m = resolve_spec(o);
  const auto& t = m.training;
  const int width = int(m.network.input.size());
  const Dataset train_set = load_dataset(t.dataset, Split::train, width, t.train_samples);
  const Dataset test_set = load_dataset(t.dataset, Split::test, width, t.test_samples);
  Network net(m.network);
  if (t.freeze_backbone) {
    if (o.init_from.empty())
      throw InputError("--freeze-backbone: needs --init-from MODEL, the trained backbone to keep");
    const ModelFile base = load_model(o.init_from);
    NetworkSpec want = m.network, have = base.network.spec();
    want.exits.clear();
    have.exits.clear();
    if (!(want == have))
      throw InputError(
          fmt::format("{}: its backbone (layers, fan-outs, seed) differs from the requested model", o.init_from));
    for (int j = 1; j <= net.depth(); ++j) { // the backbone's trained parameters; the exit branches are trained
      const auto from = base.network.layer(j).parameters();
      const auto to = net.layer(j).parameters();
      for (std::size_t p = 0; p < to.size(); ++p)
        std::copy_n(from[p].data, to[p].size, to[p].data);
    }
  }
  const std::string log_path = o.log.empty() ? o.out + ".epochs.csv" : o.log;
  check_writable_file(o.out, "--out"); // before training, not after it
  check_writable_file(log_path, "--log");
  fmt::print("training {} on {} ({} train / {} test samples), {} epochs, batch {}, seed {}\n",
             fmt::join(activation_sizes(m.network), "-"), t.dataset, train_set.count(), test_set.count(), t.epochs,
             t.batch_size, t.seed);
  std::string log = "epoch,loss,train_accuracy,test_accuracy";
  for (const auto& e : m.network.exits)
    log += fmt::format(",test_accuracy_exit_after_{}", e.after_layer);
  log += ",epoch_s\n";
  const ModelFile file = train_model_file(std::move(net), t, train_set, test_set, o.quiet, [&](const EpochRecord& r) {
    log += fmt::format("{},{},{},{}", r.epoch, csv_number(r.loss), csv_number(r.train_accuracy),
                       csv_number(r.test_accuracy));
    for (double a : r.test_exit_accuracy)
      log += "," + csv_number(a);
    log += fmt::format(",{:.3f}\n", r.seconds);
  });
  const double last_accuracy = file.results["test_accuracy"].get<double>();
  const auto exit_accuracy = file.results["test_exit_accuracy"].get<std::vector<double>>();
  // The log first, then the model: a model file is only ever left with its log (a failed model write removes it).
  write_file_atomic(log_path, log);
  try {
    save_model(o.out, file);
  } catch (...) {
    std::error_code ec;
    std::filesystem::remove(log_path, ec);
    throw;
  }
  fmt::print("final test accuracy {:.2f}%", 100 * last_accuracy);
  for (std::size_t e = 0; e < exit_accuracy.size(); ++e)
    fmt::print(", exit after layer {}: {:.2f}%", m.network.exits[e].after_layer, 100 * exit_accuracy[e]);
  fmt::print(" ({:.2f} s per epoch)\n", file.results["seconds_per_epoch"].get<double>());
  print_cost_table(file.network);
  fmt::print("wrote {} and {}\n", o.out, log_path);
  return 0;
}

struct EvalOptions {
  std::string model, dataset, split = "test", out = "results/eval";
  int limit = 0;
};

int run_eval(const EvalOptions& o, const std::string& command_line)
{
  check_output_folder(o.out, {"samples.csv", "summary.json", "summary.csv", "manifest.json"}, "--out");
  const ModelFile m = load_model(o.model);
  const Network& net = m.network;
  const Shape in = net.spec().input;
  check_input_shape(in.c, in.h, in.w, o.model + (in.flat() ? ": $.network.widths[0]" : ": $.network.input"));
  const std::string dataset = o.dataset.empty() ? m.training.dataset : o.dataset;
  const Dataset data = load_dataset(dataset, o.split == "train" ? Split::train : Split::test, int(in.size()), o.limit);
  const auto& spec = net.spec();
  std::string csv = "sample,label";
  for (const auto& e : spec.exits)
    csv += fmt::format(",exit{}_prediction,exit{}_max_softmax,exit{}_entropy", e.after_layer, e.after_layer,
                       e.after_layer);
  csv += ",final_prediction,final_max_softmax,final_entropy\n";
  // The network on every sample, batched (the pass a simulation runs), every exit scored.
  const SplitInference r = infer_all(net, data);
  std::vector<long> exit_correct(net.exit_count(), 0);
  long correct = 0;
  for (int i = 0; i < data.count(); ++i) {
    csv += fmt::format("{},{}", i, int(data.labels[i]));
    for (std::size_t e = 0; e < spec.exits.size(); ++e) { // r's exits are the model's, in its order
      const Confidence& c = r.exit(i, e);
      exit_correct[e] += c.prediction == data.labels[i];
      csv += fmt::format(",{},{},{}", c.prediction, c.max_prob, c.entropy);
    }
    const Confidence& c = r.final_output[std::size_t(i)];
    correct += c.prediction == data.labels[i];
    csv += fmt::format(",{},{},{}\n", c.prediction, c.max_prob, c.entropy);
  }
  // Costs, per layer and per exit branch, next to the fully connected network of the same shapes.
  auto cost_json = [](const LayerCost& c) {
    return nlohmann::json{{"weights", c.weights},
                          {"biases", c.biases},
                          {"macs", c.macs},
                          {"storage_bytes", c.storage_bytes},
                          {"output_elements", c.output_elements}};
  };
  auto layer_json = [&](const LayerSpec& l, Shape from, int index) {
    nlohmann::json j = {{"layer", index},
                        {"type", to_string(l.kind)},
                        {"input_shape", from.str()},
                        {"output_shape", output_shape(l, from).str()},
                        {"sparse", cost_json(layer_cost(l, from))},
                        {"fully_connected", cost_json(layer_cost(dense_counterpart(l), from))}};
    if (l.has_parameters()) {
      j["fan_out"] = l.fan_out;
      j["fan_in"] = fan_in(l, from);
    }
    return j;
  };
  auto total_json = [](const NetworkCost& c) {
    return nlohmann::json{
        {"weights", c.weights}, {"biases", c.biases}, {"macs", c.macs}, {"storage_bytes", c.storage_bytes}};
  };
  const NetworkSpec dense = spec.dense();
  nlohmann::json layers = nlohmann::json::array(), exits = nlohmann::json::array();
  NetworkCost total = net.cost(0, net.depth()), dense_total = dense.cost(0, net.depth());
  for (int j = 1; j <= net.depth(); ++j)
    layers.push_back(layer_json(spec.layers[std::size_t(j - 1)], spec.shape(j - 1), j));
  for (std::size_t e = 0; e < net.exit_count(); ++e) {
    nlohmann::json branch = nlohmann::json::array();
    for (int i = 1; i <= net.exit_depth(e); ++i)
      branch.push_back(layer_json(spec.exits[e].layers[std::size_t(i - 1)], spec.exit_shape(e, i - 1), i));
    const NetworkCost c = net.exit_cost(e), dc = dense.exit_cost(e);
    exits.push_back({{"after_layer", spec.exits[e].after_layer},
                     {"accuracy", double(exit_correct[e]) / data.count()},
                     {"layers", branch},
                     {"sparse", total_json(c)},
                     {"fully_connected", total_json(dc)}});
    total += c;
    dense_total += dc;
  }
  nlohmann::json summary = {{"model", o.model},
                            {"dataset", dataset},
                            {"split", o.split},
                            {"samples", data.count()},
                            {"final_accuracy", double(correct) / data.count()},
                            {"layers", layers},
                            {"exits", exits},
                            {"main_path", total_json(net.cost(0, net.depth()))},
                            {"main_path_fully_connected", total_json(dense.cost(0, net.depth()))},
                            {"with_exits", total_json(total)},
                            {"with_exits_fully_connected", total_json(dense_total)},
                            {"weight_reduction", double(dense_total.weights) / double(total.weights)},
                            {"storage_reduction", double(dense_total.storage_bytes) / double(total.storage_bytes)}};
  std::string summary_csv = "model,dataset,split,samples,final_accuracy";
  for (const auto& e : spec.exits)
    summary_csv += fmt::format(",exit{}_accuracy", e.after_layer);
  // One definition with scee run's summary (docs/outputs.md): model_* and fc_* are the main path (the fully
  // connected counterpart for fc_*), exit_* all exit branches together.
  summary_csv += ",model_weights,model_macs,model_storage_bytes,exit_weights,exit_macs,exit_storage_bytes,fc_weights,"
                 "fc_macs,fc_storage_bytes\n";
  summary_csv += fmt::format("{},{},{},{},{}", o.model, dataset, o.split, data.count(), double(correct) / data.count());
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    summary_csv += fmt::format(",{}", double(exit_correct[e]) / data.count());
  const NetworkCost main_path = net.cost(0, net.depth()), main_dense = dense.cost(0, net.depth());
  summary_csv += fmt::format(",{},{},{},{},{},{},{},{},{}\n", main_path.weights, main_path.macs,
                             main_path.storage_bytes, total.weights - main_path.weights, total.macs - main_path.macs,
                             total.storage_bytes - main_path.storage_bytes, main_dense.weights, main_dense.macs,
                             main_dense.storage_bytes);
  nlohmann::json manifest = manifest_base(command_line);
  manifest["model_header"] = read_model_header(o.model);
  manifest["model_header"].erase("tensors");
  write_folder_atomic(o.out,
                      {{"samples.csv", csv},
                       {"summary.json", summary.dump(2) + "\n"},
                       {"summary.csv", summary_csv},
                       {"manifest.json", manifest.dump(2) + "\n"}},
                      "--out");

  fmt::print("{} on {} {} ({} samples): final accuracy {:.2f}%\n", o.model, dataset, o.split, data.count(),
             100.0 * correct / data.count());
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    fmt::print("  exit after layer {}: accuracy {:.2f}%\n", spec.exits[e].after_layer,
               100.0 * exit_correct[e] / data.count());
  print_cost_table(net);
  fmt::print("wrote {}/samples.csv, summary.json, summary.csv, manifest.json\n", o.out);
  return 0;
}

} // namespace

void add_train_command(CLI::App& app, Action& action, const std::string& command_line)
{
  auto o = std::make_shared<TrainOptions>();
  auto* c = app.add_subcommand("train", "Train a predefined-sparse network with early exits; write a model file "
                                        "and a per-epoch CSV log. Defaults: the paper's [800,40,40,10] with fan-outs "
                                        "[2,9,10], a dense exit after hidden layer 1, the paper's recipe.");
  c->add_option("--spec", o->spec_file,
                "JSON model spec (widths, fan_outs|densities, exits, seed, training); "
                "flags below override it")
      ->check(CLI::ExistingFile);
  c->add_option("--widths", o->widths,
                "layer widths, input first, e.g. 800,40,40,10 (all junctions dense unless "
                "--fan-outs or --densities)")
      ->delimiter(',');
  c->add_option("--fan-outs", o->fan_outs, "fan-out per junction, e.g. 2,9,10")->delimiter(',');
  c->add_option("--densities", o->densities, "density per junction in (0,1]; the nearest valid fan-out is used")
      ->delimiter(',');
  c->add_option("--exits", o->exits, "hidden layers with a dense exit head, e.g. 1 or 1,2")->delimiter(',');
  // The same ranges as a spec file's "training" keys (model_spec.cpp).
  c->add_option("--dataset", o->dataset, "mnist or fashion-mnist")->check(CLI::IsMember(dataset_names()));
  c->add_option("--epochs", o->epochs, "epochs (default 50)")->check(CLI::Range(1, 100000));
  c->add_option("--batch-size", o->batch_size, "mini-batch size (default 256)")->check(CLI::Range(1, 1 << 20));
  c->add_option("--learning-rate", o->learning_rate, "Adam learning rate (default 1e-3)")
      ->check(real_range(1e-12, 10.0));
  c->add_option("--train-samples", o->train_samples, "use the first N training samples (0 = all 60,000)")
      ->check(CLI::Range(0, 60000));
  c->add_option("--test-samples", o->test_samples, "use the first N test samples (0 = all 10,000)")
      ->check(CLI::Range(0, 10000));
  c->add_option("--seed", o->seed, "seed of initialisation and shuffling (default 1)")
      ->check(CLI::Range(std::int64_t(0), std::int64_t(1) << 53));
  c->add_flag("--freeze-backbone", o->freeze_backbone, "train only the exit heads on the backbone of --init-from");
  c->add_option("--init-from", o->init_from, "trained model whose backbone --freeze-backbone keeps");
  c->add_option("--out", o->out, "model file to write")->capture_default_str();
  c->add_option("--log", o->log, "per-epoch CSV log (default: <out>.epochs.csv)");
  c->add_flag("--quiet", o->quiet, "no progress bar");
  c->callback([o, &action, command_line] { action = [o, command_line] { return run_train(*o, command_line); }; });
}

void add_eval_command(CLI::App& app, Action& action, const std::string& command_line)
{
  auto o = std::make_shared<EvalOptions>();
  auto* c = app.add_subcommand("eval", "Evaluate a model file: per-sample CSV (label, and for every exit and the "
                                       "final output the prediction, max-softmax and entropy), accuracy per exit, "
                                       "weights, storage and MACs against the fully connected network");
  c->add_option("model", o->model, "model file written by `scee train`")->required();
  c->add_option("--dataset", o->dataset, "mnist or fashion-mnist (default: the model's)")
      ->check(CLI::IsMember(dataset_names()));
  c->add_option("--split", o->split, "test or train")->check(CLI::IsMember({"test", "train"}))->capture_default_str();
  c->add_option("--limit", o->limit, "first N samples only (0 = all)")->check(CLI::NonNegativeNumber);
  c->add_option("--out", o->out, "output directory")->capture_default_str();
  c->callback([o, &action, command_line] { action = [o, command_line] { return run_eval(*o, command_line); }; });
}

} // namespace scee
