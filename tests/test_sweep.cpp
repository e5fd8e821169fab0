// Sweep definitions (axes, groups, point order, exits per split, errors) and the Pareto flag on a hand-made table.
#include "error.hpp"
#include "sweep.hpp"
#include "sweep_runner.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
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
