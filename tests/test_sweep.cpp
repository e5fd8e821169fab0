// Sweep definitions (axes, groups, point order, exits per split, errors) and the Pareto flag on a hand-made table.
#include "dataset.hpp"
#include "error.hpp"
#include "metrics.hpp"
#include "model_cache.hpp"
#include "runner.hpp"
#include "simulation.hpp"
#include "sweep.hpp"
#include "sweep_runner.hpp"

#include <chrono>
#include <doctest/doctest.h>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

using namespace scee;

namespace {

const auto temp_dir = std::filesystem::temp_directory_path() / ("scee_test_sweep_" + std::to_string(getpid()));
struct RemoveAtExit {
  ~RemoveAtExit() { std::filesystem::remove_all(temp_dir); }
} remove_at_exit;

std::string write_temp(const std::string& name, const std::string& text)
{
  const auto& dir = temp_dir;
  std::filesystem::create_directories(dir);
  const auto path = (dir / name).string();
  std::ofstream(path) << text;
  return path;
}

const char* base = R"({
  "model": {"spec": {"widths": [800, 40, 40, 10], "fan_outs": [2, 9, 10], "exits": [{"after_layer": 1}]}},
  "split": {"after_layer": 1, "exits": [1]},
  "devices": {"profile": "rpi4"}, "network": {"profile": "wifi"}, "server": {"profile": "x86_core"},
  "sweep": {"axes": [AXES]}
})";

std::string with_axes(const std::string& axes)
{
  std::string s = base;
  s.replace(s.find("AXES"), 4, axes);
  return s;
}

nlohmann::ordered_json row(const std::string& device, const std::string& network, double acc, double p95,
                           double energy, const std::string& status = "ok")
{
  nlohmann::ordered_json r;
  r["status"] = status;
  r["summary"] = {{"device", device}, {"network", network}, {"accuracy", acc}, {"latency_p95_s", p95},
                  {"edge_energy_per_inference_j", energy}};
  return r;
}

} // namespace

TEST_CASE("sweep: cartesian product in axis order, groups vary together, exits follow the split")
{
  const auto file = write_temp(
      "s1.json", with_axes(R"({"name": "split_after", "values": [0, 1, 3]},
                             {"names": ["criterion", "threshold"], "values": [["max_softmax", 0.9], ["entropy", 0.2]]},
                             {"name": "device", "values": ["rpi4", "esp32"]})"));
  const Sweep sw = load_sweep(file);
  CHECK(sw.point_count() == 12);
  const auto points = sw.points();
  REQUIRE(points.size() == 12);
  CHECK(points[0].axis_values.dump() == R"({"split_after":0,"criterion":"max_softmax","threshold":0.9,"device":"rpi4"})");
  CHECK(points[1].axis_values["device"] == "esp32");
  CHECK(points[2].axis_values["criterion"] == "entropy");
  CHECK(points[2].axis_values["threshold"] == 0.2);
  CHECK(points[4].axis_values["split_after"] == 1);
  CHECK(points[11].axis_values.dump() == R"({"split_after":3,"criterion":"entropy","threshold":0.2,"device":"esp32"})");
  CHECK(points[0].scenario["split"]["exits"] == nlohmann::json::array()); // no exit before the split at 0
  CHECK(points[4].scenario["split"]["exits"] == nlohmann::json::array({1}));
  CHECK(points[5].scenario["devices"]["profile"] == "esp32");
  CHECK(points[0].scenario["split"]["after_layer"] == 0);
  CHECK(sw.fingerprint() == load_sweep(file).fingerprint());
}

TEST_CASE("sweep: densities replace fan-outs")
{
  const auto sw = load_sweep(write_temp("s2.json", with_axes(R"({"name": "densities", "values": [[0.1, 0.5, 1]]})")));
  const auto p = sw.points().at(0);
  CHECK(!p.scenario["model"]["spec"].contains("fan_outs"));
  CHECK(p.scenario["model"]["spec"]["densities"] == nlohmann::json::array({0.1, 0.5, 1}));
}

TEST_CASE("sweep: mistakes are refused with the file and the JSON path")
{
  auto error = [](const std::string& name, const std::string& text) {
    try {
      load_sweep(write_temp(name, text));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("e1.json", with_axes(R"({"name": "colour", "values": [1]})")).find("e1.json: $.sweep.axes[0].name: must be one of") != std::string::npos);
  CHECK(error("e2.json", with_axes(R"({"name": "threshold", "values": []})")).find("e2.json: $.sweep.axes[0].values: must be a non-empty array") != std::string::npos);
  CHECK(error("e3.json", with_axes("")).find("e3.json: $.sweep.axes: must be a non-empty array") != std::string::npos);
  CHECK(error("e4.json", with_axes(R"({"name": "threshold", "values": [0.5]}, {"name": "threshold", "values": [0.6]})")).find("swept twice") != std::string::npos);
  CHECK(error("e5.json", with_axes(R"({"names": ["criterion", "threshold"], "values": [["entropy"]]})")).find("e5.json: $.sweep.axes[0].values[0]: must be an array of 2 values") != std::string::npos);
  CHECK(error("e6.json", with_axes(R"({"name": "device", "values": ["rpi9"]})")).find("unknown device profile \"rpi9\"") != std::string::npos);
  CHECK(error("e7.json", with_axes(R"({"name": "threshold", "values": [0.5], "step": 1})")).find("e7.json: $.sweep.axes[0].step: unknown key") != std::string::npos);
  CHECK(error("e8.json", R"({"split": {"after_layer": 1}})").find("e8.json: $: a sweep needs a \"sweep\" section") != std::string::npos);
}

TEST_CASE("sweep: an axis whose place in the base scenario is not an object is refused with its path")
{
  // Regression: a base scenario with "split": 5 and a split_after axis made the expansion throw nlohmann's
  // out_of_range.404 ("unresolved reference token"), which the CLI reported as an internal error (exit status 3).
  auto error = [](const std::string& name, const std::string& text) {
    try {
      load_sweep(write_temp(name, text));
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  auto replaced = [](std::string text, const std::string& from, const std::string& to) {
    text.replace(text.find(from), from.size(), to);
    return text;
  };
  const std::string split = with_axes(R"({"name": "split_after", "values": [0, 1]})");
  CHECK(error("o1.json", replaced(split, R"({"after_layer": 1, "exits": [1]})", "5"))
            .find("o1.json: $.split: must be a JSON object (sweep axis \"split_after\" sets $.split.after_layer), got 5") !=
        std::string::npos);
  const std::string dataset = with_axes(R"({"name": "dataset", "values": ["mnist"]})");
  CHECK(error("o2.json", replaced(dataset, R"("exits": [{"after_layer": 1}]})", R"("exits": [{"after_layer": 1}], "training": [1]})"))
            .find("o2.json: $.model.spec.training: must be a JSON object (sweep axis \"dataset\" sets $.model.spec.training.dataset)") !=
        std::string::npos);
  // Without a "split" in the base, the error is the missing key (the expansion used to add "split": null).
  CHECK(error("o3.json", replaced(with_axes(R"({"name": "seed", "values": [1]})"), R"("split": {"after_layer": 1, "exits": [1]},)", ""))
            .find("o3.json: $: missing required key \"split\" (in every point of the sweep)") != std::string::npos);
}

TEST_CASE("sweep: a sweep at the point limit loads without building every point")
{
  // Regression (found by tests/fuzz/fuzz_sweep): load_sweep built all points to validate the first, 2.1 GB and 10 s
  // for 836,482 points in a Release build; it now builds them one at a time and stops at the first valid one.
  std::string seeds, samples;
  for (int i = 0; i < 1000; ++i) {
    if (i) { // (not `(i ? "," : "") + std::to_string(i)`: GCC 12 warns -Wrestrict on that string insertion)
      seeds += ',';
      samples += ',';
    }
    seeds += std::to_string(i);
    samples += std::to_string(i + 1);
  }
  const auto file = write_temp("limit.json", with_axes(R"({"name": "seed", "values": [)" + seeds +
                                                       R"(]}, {"name": "samples", "values": [)" + samples + "]}"));
  const auto start = std::chrono::steady_clock::now();
  const Sweep sw = load_sweep(file);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  CHECK(sw.point_count() == 1000000);
  CHECK(seconds < 5.0); // about 10 ms; building every point took over 10 s
}

TEST_CASE("sweep: the Pareto flag on a hand-made table")
{
  const std::vector<nlohmann::ordered_json> rows = {
      row("rpi4", "wifi", 0.95, 0.010, 1.0),  // 0: front (best accuracy)
      row("rpi4", "wifi", 0.90, 0.005, 0.5),  // 1: front (fastest, cheapest)
      row("rpi4", "wifi", 0.90, 0.006, 0.5),  // 2: dominated by 1 (slower, same otherwise)
      row("rpi4", "wifi", 0.94, 0.010, 1.0),  // 3: dominated by 0
      row("rpi4", "wifi", 0.92, 0.004, 2.0),  // 4: front (fastest)
      row("rpi4", "lte", 0.80, 0.100, 9.0),   // 5: front of its own pair
      row("rpi4", "lte", 0.99, 0.001, 0.1, "failed"), // 6: failed rows never count
      row("rpi4", "wifi", 0.95, 0.010, 1.0),  // 7: equal to 0: neither dominates
  };
  const auto front = pareto_front(rows);
  CHECK(front == std::vector<bool>{true, true, false, false, true, true, false, true});
}

TEST_CASE("sweep: --shard parsing")
{
  CHECK(parse_shard("0/1") == std::pair{0, 1});
  CHECK(parse_shard("2/3") == std::pair{2, 3});
  for (const char* bad : {"3/3", "-1/2", "1", "a/b", "1/0", "1/2x"})
    CHECK_THROWS_AS(parse_shard(bad), InputError);
}

TEST_CASE("sweep: inputs preloaded before the points fork are those the points would load")
{
  // A sweep reads every point's model and test samples once (preload_inputs) and its points' processes inherit them.
  Network net(NetworkSpec::mlp({800, 40, 10}, {2, 10}, {{1, 10}}, 5));
  net.initialise(6, 0.1, true);
  const std::string model_path = write_temp("preload.scee", "");
  save_model(model_path, {net, TrainConfig{}, nlohmann::json::object()});
  const std::string broken_path = write_temp("broken.scee", "not a model");
  auto scenario = [&](const std::string& model, int samples) {
    const std::string text = fmt::format(R"({{"model": {{"file": "{}"}}, "dataset": {{"samples": {}}},
      "split": {{"after_layer": 1, "exits": [1]}}, "devices": {{"profile": "rpi4"}}, "network": {{"profile": "wifi"}},
      "server": {{"profile": "x86_core"}}}})",
                                         model, samples);
    return scenario_from_json(nlohmann::json::parse(text), write_temp("preload.json", text));
  };
  const Scenario good = scenario(model_path, 120), broken = scenario(broken_path, 120);

  preload_inputs({&good, &broken}); // the broken model is left for the point to report
  const ResolvedModel m = obtain_model(good, true);
  CHECK(m.path == model_path);
  CHECK(!m.trained_now);
  const ModelFile loaded = load_model(model_path);
  for (int j = 1; j <= 2; ++j) {
    CHECK(m.model.network.junction(j).to_dense() == loaded.network.junction(j).to_dense());
    CHECK(m.model.network.junction(j).bias() == loaded.network.junction(j).bias());
  }
  CHECK_THROWS_AS(obtain_model(broken, true), InputError);

  const Dataset& samples = test_samples("mnist", 800, 120);
  CHECK(&samples == &test_samples("mnist", 800, 120)); // loaded once
  const Dataset fresh = load_dataset("mnist", Split::test, 800, 120);
  CHECK(samples.x == fresh.x);
  CHECK(samples.labels == fresh.labels);
}

TEST_CASE("sweep: points share the network's answers only where they would compute the same ones")
{
  // Once a point has run, a sweep's process computes its network's answers (prepare_answers) for the points it forks
  // later with the same model, samples, split, device exits and encoding; every other point gets its own.
  Network net(NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}, {2, 10}}, 5));
  net.initialise(7, 0.1, true);
  const std::string path = write_temp("answers.scee", "");
  save_model(path, {net, TrainConfig{}, nlohmann::json::object()});
  auto scenario = [&](int split, const std::string& exits, const std::string& format, int samples,
                      const std::string& model) {
    const std::string text = fmt::format(R"({{"model": {{"file": "{}"}}, "dataset": {{"samples": {}}},
      "split": {{"after_layer": {}, "exits": [{}]}}, "encoding": {{"format": "{}"}}, "devices": {{"profile": "rpi4"}},
      "network": {{"profile": "wifi"}}, "server": {{"profile": "x86_core"}}}})",
                                         model, samples, split, exits, format);
    return scenario_from_json(nlohmann::json::parse(text), write_temp("answers.json", text));
  };
  auto same = [](const SplitInference& a, const SplitInference& b) {
    auto eq = [](const std::vector<Confidence>& x, const std::vector<Confidence>& y) {
      if (x.size() != y.size())
        return false;
      for (std::size_t i = 0; i < x.size(); ++i)
        if (x[i].prediction != y[i].prediction || x[i].max_prob != y[i].max_prob || x[i].entropy != y[i].entropy ||
            x[i].margin != y[i].margin)
          return false;
      return true;
    };
    return a.exit_layers == b.exit_layers && eq(a.exit_confidence, b.exit_confidence) &&
           eq(a.final_output, b.final_output) && a.tail_prediction == b.tail_prediction;
  };

  // Each differs from the first in one input of the answers (samples, split, exits, encoding), or in two.
  const std::vector<Scenario> points = {
      scenario(1, "1", "fp32", 300, path), scenario(1, "1", "int8", 300, path), scenario(2, "1, 2", "fp32", 300, path),
      scenario(2, "2", "fp32", 300, path), scenario(1, "1", "fp32", 200, path), scenario(2, "1", "int8", 300, path)};
  const Scenario not_loaded = scenario(1, "1", "fp32", 300, write_temp("other.scee", ""));
  CHECK(!loaded_answers_key(points[0])); // the model is not loaded in this process yet: nothing is read
  prepare_answers(points[0]);
  std::vector<const Scenario*> preload;
  for (const Scenario& s : points)
    preload.push_back(&s);
  preload_inputs(preload);
  CHECK(!loaded_answers_key(not_loaded));

  std::set<AnswersKey> keys;
  std::vector<const SplitInference*> kept;
  for (Scenario s : points) {
    const auto key = loaded_answers_key(s);
    REQUIRE(key);
    CHECK(key->dataset == "mnist"); // the model's, as the run resolves it
    keys.insert(*key);
    CHECK(kept_answers(*key) == nullptr);
    prepare_answers(s);
    const SplitInference* a = kept_answers(*key);
    REQUIRE(a != nullptr);
    prepare_answers(s);
    CHECK(kept_answers(*key) == a); // computed once
    s.dataset = "mnist";
    const Dataset& d = test_samples("mnist", 800, s.samples);
    CHECK(same(*a, network_answers(s, load_model(path).network, d))); // what the point would compute alone
    kept.push_back(a);
  }
  CHECK(keys.size() == points.size());
  CHECK(kept[0]->tail_prediction.size() == 300);
  CHECK(kept[4]->tail_prediction.size() == 200);
  CHECK(kept[2]->exit_layers == std::vector<int>{1, 2});
  CHECK(kept[3]->exit_layers == std::vector<int>{2});
  // int8's rounding changes some of the tail's answers, and where it is applied: fp32's answers would be wrong for an
  // int8 point, and one split's for another.
  CHECK(kept[0]->tail_prediction != kept[1]->tail_prediction);
  CHECK(kept[1]->tail_prediction != kept[5]->tail_prediction);

  // A scenario the run refuses against the model (a split after the output) gets nothing kept.
  const Scenario refused = scenario(4, "1", "fp32", 300, path);
  prepare_answers(refused);
  CHECK(kept_answers(*loaded_answers_key(refused)) == nullptr);

  // A run finds the kept answers and simulates the same as with answers of its own (computed in a forked process:
  // SimGrid runs one engine per process).
  Scenario s = points[1];
  s.dataset = "mnist";
  const std::string own_summary = write_temp("own-summary.json", "");
  std::fflush(nullptr);
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    try {
      const Network own_net = load_model(path).network;
      std::ofstream(own_summary) << summarize(s, own_net, simulate(s, own_net, test_samples("mnist", 800, 300))).dump();
    } catch (...) {
      _exit(1);
    }
    _exit(0);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE((WIFEXITED(status) && WEXITSTATUS(status) == 0));
  const RunOutput run = run_scenario(points[1], true);
  CHECK(run.answers_shared);
  std::ifstream in(own_summary);
  CHECK(run.summary == nlohmann::ordered_json::parse(in));
}

TEST_CASE("sweep: pstate, cost model, number format and sleep axes set the device's keys")
{
  const auto sw = load_sweep(write_temp(
      "s_dev.json", with_axes(R"({"names": ["device", "device_pstate", "device_cost_model", "device_sleep"],
                                  "values": [["rpi4", 2, "ideal", "none"], ["esp32", 0, "profile", "light_sleep"]]},
                                 {"name": "server_pstate", "values": [0]})")));
  const auto points = sw.points();
  REQUIRE(points.size() == 2);
  CHECK(points[0].scenario["devices"]["pstate"] == 2);
  CHECK(points[0].scenario["devices"]["cost_model"] == "ideal");
  CHECK(points[1].scenario["devices"]["sleep"] == "light_sleep");
  CHECK(points[1].scenario["server"]["pstate"] == 0);
}

TEST_CASE("sweep: points built one at a time equal the whole list; combinations pick one point per model")
{
  const auto sw = load_sweep(write_temp(
      "s_lazy.json", with_axes(R"({"name": "threshold", "values": [0.5, 0.6, 0.7]},
                                  {"name": "fan_outs", "values": [[40, 40, 10], [2, 9, 10]]},
                                  {"names": ["split_after", "exits"], "values": [[1, [1]], [3, [1]]]})")));
  const auto all = sw.points();
  REQUIRE(all.size() == 12);
  for (std::size_t i = 0; i < all.size(); ++i) {
    CHECK(sw.point(i).scenario == all[i].scenario);
    CHECK(sw.axis_values(i) == all[i].axis_values);
  }
  // fan_outs is the second axis (stride 2): one point per fan-out, the other axes at their first step...
  CHECK(sw.combinations({"fan_outs", "densities", "dataset"}) == std::vector<std::size_t>{0, 2});
  // ... or at the next combination of the other axes (threshold 0.5, split 3), and nothing past their range.
  CHECK(sw.combinations({"fan_outs"}, 1) == std::vector<std::size_t>{1, 3});
  CHECK(sw.combinations({"fan_outs"}, 5) == std::vector<std::size_t>{9, 11});
  CHECK(sw.combinations({"fan_outs"}, 6).empty());
  CHECK(sw.combinations({"seed"}) == std::vector<std::size_t>{0}); // no axis names it: the first point alone
}
