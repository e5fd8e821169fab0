// Tests for scenario loading: defaults, inline profiles and overrides, one-line errors naming the file and the JSON
// path for each kind of bad scenario, the checks against a model, and the resolved form's round trip.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <string>

#include <unistd.h>

#include "error.hpp"
#include "model_spec.hpp"
#include "scenario.hpp"
#include "sweep.hpp"
#include "strict_json.hpp"

using namespace scee;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

/// A fresh directory under the system temp dir, removed at the end of the test case.
struct TempDir {
  fs::path path;
  TempDir()
  {
    path = fs::temp_directory_path() / ("scee_test_scenario_" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string write(const std::string& name, const std::string& text) const
  {
    const fs::path p = path / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << text;
    return p.string();
  }
  std::string write(const std::string& name, const json& j) const { return write(name, j.dump(2)); }
};

/// The InputError message of `f`, or "" if it does not throw.
template <class F> std::string error_of(F&& f)
{
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "";
}

/// The smallest valid scenario.
json minimal()
{
  return {{"model", {{"file", "models/m.scee"}}},
          {"split", {{"after_layer", 1}, {"exits", {1}}}},
          {"devices", {{"profile", "rpi4"}}},
          {"network", {{"profile", "wifi"}}},
          {"server", {{"profile", "x86_core"}}}};
}

/// Sets an environment variable for the scope, restoring the previous value.
struct ScopedEnv {
  std::string name;
  std::optional<std::string> old;
  ScopedEnv(std::string n, const std::string& value) : name(std::move(n))
  {
    if (const char* v = std::getenv(name.c_str()))
      old = v;
    ::setenv(name.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv()
  {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

} // namespace

TEST_CASE("a minimal scenario loads with every default")
{
  TempDir dir;
  const auto file = dir.write("edge.json", minimal());
  const Scenario s = load_scenario(file);
  CHECK(s.file == file);
  CHECK(s.name == "edge");
  CHECK(s.seed == 1);
  REQUIRE(s.model_file.has_value());
  CHECK(!s.model_spec.has_value());
  CHECK(*s.model_file == (dir.path / "models" / "m.scee").lexically_normal().string());
  CHECK(fs::path(*s.model_file).is_absolute());
  CHECK(s.dataset.empty());
  CHECK(s.samples == 1000);
  CHECK(s.split_after == 1);
  CHECK(s.device_exits == std::vector<int>{1});
  CHECK(s.criterion == Criterion::max_softmax);
  CHECK(s.threshold == 0.9);
  CHECK(s.encoding == Encoding::fp32);
  CHECK(value_bytes(s.encoding) == 4);
  CHECK(s.header_bytes == 40);
  CHECK(s.reply_bytes == 4);
  CHECK(s.device.name == "rpi4");
  CHECK(s.device.kind == "device");
  CHECK(s.device.pstates[0].rate_macs_per_s == doctest::Approx(6.9e9));
  CHECK(s.device_count == 1);
  CHECK(s.device_pstate == 0);
  CHECK(s.network.name == "wifi");
  CHECK(s.network.latency_s == doctest::Approx(0.001));
  CHECK(s.shared_medium);
  CHECK(s.server.name == "x86_core");
  CHECK(s.server.kind == "server");
  CHECK(s.server_workers == 1);
  CHECK(s.server_pstate == 0);
  CHECK(s.arrival == Arrival::periodic);
  CHECK(s.period_s == 0.1);
  CHECK(s.network_model == "CM02");
  CHECK(!s.crosstraffic);
}

TEST_CASE("a scenario with every key set loads as written")
{
  TempDir dir;
  json j = minimal();
  j["name"] = "full";
  j["seed"] = 42;
  j["model"] = {{"file", "/abs/dir/../model.scee"}};
  j["dataset"] = {{"name", "fashion-mnist"}, {"samples", 200}};
  j["split"] = {{"after_layer", 2}, {"exits", {2, 1}}, {"criterion", "entropy"}, {"threshold", 1.5}};
  j["encoding"] = {{"format", "int8"}, {"header_bytes", 0}, {"reply_bytes", 2}};
  j["devices"] = {{"profile", "esp32"}, {"count", 16}, {"pstate", 0}};
  j["network"] = {{"profile", "lte"}, {"shared_medium", false}};
  j["server"] = {{"profile", "gpu_t4"}, {"workers", 4}, {"pstate", 0}};
  j["workload"] = {{"arrival", "poisson"}, {"rate_per_s", 25}};
  j["simgrid"] = {{"network_model", "LV08"}, {"crosstraffic", true}};
  const Scenario s = load_scenario(dir.write("x.json", j));
  CHECK(s.name == "full");
  CHECK(s.seed == 42);
  CHECK(*s.model_file == "/abs/model.scee");
  CHECK(s.dataset == "fashion-mnist");
  CHECK(s.samples == 200);
  CHECK(s.split_after == 2);
  CHECK(s.device_exits == std::vector<int>{2, 1});
  CHECK(s.criterion == Criterion::entropy);
  CHECK(s.threshold == 1.5);
  CHECK(s.encoding == Encoding::int8);
  CHECK(value_bytes(s.encoding) == 1);
  CHECK(s.header_bytes == 0);
  CHECK(s.reply_bytes == 2);
  CHECK(s.device.name == "esp32");
  CHECK(s.device_count == 16);
  CHECK(s.network.name == "lte");
  CHECK(!s.shared_medium);
  CHECK(s.server.name == "gpu_t4");
  CHECK(s.server_workers == 4);
  CHECK(s.arrival == Arrival::poisson);
  CHECK(s.rate_per_s == 25);
  CHECK(s.network_model == "LV08");
  CHECK(s.crosstraffic);
  CHECK(to_string(Arrival::closed_loop) == "closed_loop");
  CHECK(to_string(Encoding::fp16) == "fp16");
  CHECK(value_bytes(Encoding::fp16) == 2);
}

TEST_CASE("a model spec inline and the other workloads")
{
  TempDir dir;
  json j = minimal();
  j["model"] = {{"spec",
                 {{"widths", {800, 40, 40, 10}},
                  {"densities", {0.05, 0.225, 1.0}},
                  {"exits", {{{"after_layer", 1}}}},
                  {"training", {{"epochs", 3}}}}}};
  j["workload"] = {{"arrival", "closed_loop"}, {"think_time_s", 0.5}};
  Scenario s = load_scenario(dir.write("spec.json", j));
  REQUIRE(s.model_spec.has_value());
  CHECK(!s.model_file.has_value());
  CHECK(s.model_spec->network.mlp_shape()->fan_outs == std::vector<int>{2, 9, 10});
  CHECK(s.model_spec->training.epochs == 3);
  CHECK(s.arrival == Arrival::closed_loop);
  CHECK(s.think_time_s == 0.5);

  j["workload"] = {{"arrival", "closed_loop"}};
  s = load_scenario(dir.write("spec.json", j));
  CHECK(s.think_time_s == 0.0);
  j["workload"] = {{"arrival", "periodic"}, {"period_s", 2}};
  s = load_scenario(dir.write("spec.json", j));
  CHECK(s.arrival == Arrival::periodic);
  CHECK(s.period_s == 2);
}

TEST_CASE("an inline profile object is used as it is")
{
  TempDir dir;
  json board = read_json_file(builtin_profile_file("device", "rpi4"));
  board["name"] = "my_board";
  board["pstates"] = {{{"rate_macs_per_s", 1e9}, {"idle_power_w", 1}, {"active_power_w", 2}},
                      {{"rate_macs_per_s", 2e9}, {"idle_power_w", 1.5}, {"active_power_w", 4}}};
  json j = minimal();
  j["devices"] = {{"profile", board}, {"pstate", 1}};
  const Scenario s = load_scenario(dir.write("inline.json", j));
  CHECK(s.device.name == "my_board");
  CHECK(s.device.pstates.size() == 2);
  CHECK(s.device_pstate == 1);
  CHECK(s.device.pstates[1].active_power_w == 4);

  board.erase("notes");
  j["devices"] = {{"profile", board}};
  CHECK(error_of([&] { load_scenario(dir.write("inline.json", j)); }) ==
        dir.path.string() + "/inline.json: $.devices.profile: missing required key \"notes\"");
  board["notes"] = "n";
  board["pstates"][0]["rate_macs_per_s"] = -1;
  j["devices"] = {{"profile", board}};
  CHECK(error_of([&] {
          load_scenario(dir.write("inline.json", j));
        }).find("inline.json: $.devices.profile.pstates[0].rate_macs_per_s: must be a number > 0, got -1") !=
        std::string::npos);
}

TEST_CASE("an override is merged over the profile, and its errors point into the override")
{
  TempDir dir;
  json j = minimal();
  j["network"] = {{"profile", "wifi"}, {"override", {{"latency_s", 0.005}, {"radio", {{"tx_power_w", 1.0}}}}}};
  j["devices"] = {{"profile", "rpi4"}, {"override", {{"memory_bytes", 4294967296}, {"description", "8 GB Pi"}}}};
  const auto file = dir.write("ovr.json", j);
  const Scenario s = load_scenario(file);
  CHECK(s.network.latency_s == 0.005);
  CHECK(s.network.radio.tx_power_w == 1.0);
  CHECK(s.network.radio.rx_power_w == doctest::Approx(0.363)); // untouched
  CHECK(s.network.uplink_bandwidth_bps == doctest::Approx(2e7));
  CHECK(s.device.memory_bytes == 4294967296);
  CHECK(s.device.description == "8 GB Pi");
  CHECK(s.device.pstates[0].rate_macs_per_s == doctest::Approx(6.9e9));

  auto error_with = [&](const std::string& section, const json& value) {
    json k = minimal();
    k[section] = value;
    return error_of([&] { load_scenario(dir.write("ovr.json", k)); });
  };
  CHECK(error_with("network", {{"profile", "wifi"}, {"override", {{"latency_s", -1}}}}) ==
        file + ": $.network.override.latency_s: must be a number >= 0, got -1");
  CHECK(error_with("network", {{"profile", "wifi"}, {"override", {{"radio", {{"rx_power_w", "x"}}}}}})
            .find(file + ": $.network.override.radio.rx_power_w: must be a number >= 0") == 0);
  CHECK(error_with("network", {{"profile", "wifi"}, {"override", {{"latency", 1}}}})
            .find(file + ": $.network.override.latency: unknown key") == 0);
  // Arrays are replaced whole by a merge patch, so errors inside them are the override's.
  CHECK(error_with("devices", {{"profile", "rpi4"},
                               {"override",
                                {{"pstates", {{{"rate_macs_per_s", 0}, {"idle_power_w", 1}, {"active_power_w", 2}}}}}}})
            .find(file + ": $.devices.override.pstates[0].rate_macs_per_s: must be a number > 0, got 0") == 0);
  // null deletes a key: the missing key is the override's doing.
  CHECK(error_with("devices", {{"profile", "rpi4"}, {"override", {{"memory_bytes", nullptr}}}}) ==
        file + ": $.devices.override: missing required key \"memory_bytes\"");
  CHECK(error_with("server", {{"profile", "x86_core"}, {"override", {{"kind", "device"}}}})
            .find(file + ": $.server.override.kind: must be one of \"server\"") == 0);
  CHECK(error_with("server", {{"profile", "x86_core"}, {"override", 3}})
            .find(file + ": $.server.override: must be a JSON object") == 0);
  CHECK(error_with("server", {{"profile", 3}})
            .find(file + ": $.server.profile: must be the name of a built-in "
                         "server profile (one of ") == 0);
  // An override can also patch an inline profile; errors in keys it did not touch point into the inline profile.
  json inline_wifi = read_json_file(builtin_profile_file("network", "wifi"));
  inline_wifi["uplink_bandwidth_bps"] = 0;
  CHECK(error_with("network", {{"profile", inline_wifi}, {"override", {{"latency_s", 1}}}}) ==
        file + ": $.network.profile.uplink_bandwidth_bps: must be a number > 0, got 0");
}

TEST_CASE("an invalid built-in profile is reported in its own file")
{
  TempDir dir;
  json bad = read_json_file(builtin_profile_file("device", "rpi4"));
  bad["name"] = "bad";
  bad["pstates"][0]["active_power_w"] = -2;
  const auto profile = dir.write("profiles/devices/bad.json", bad);
  dir.write("profiles/servers/x86_core.json", read_json_file(builtin_profile_file("server", "x86_core")));
  dir.write("profiles/networks/wifi.json", read_json_file(builtin_profile_file("network", "wifi")));
  dir.write("profiles/devices/misnamed.json", read_json_file(builtin_profile_file("device", "rpi4")));
  const ScopedEnv env("SCEE_PROFILE_DIR", (dir.path / "profiles").string());
  json j = minimal();
  j["devices"] = {{"profile", "bad"}};
  const auto file = dir.write("s.json", j);
  CHECK(error_of([&] { load_scenario(file); }) ==
        profile + ": $.pstates[0].active_power_w: must be a number >= 0, got -2");
  // Overriding the bad value repairs it.
  j["devices"]["override"] = {{"pstates", {{{"rate_macs_per_s", 1e9}, {"idle_power_w", 1}, {"active_power_w", 2}}}}};
  CHECK(load_scenario(dir.write("s.json", j)).device.pstates[0].active_power_w == 2);
  j["devices"] = {{"profile", "misnamed"}};
  CHECK(error_of([&] {
          load_scenario(dir.write("s.json", j));
        }).find("misnamed.json: $.name: must equal the file name \"misnamed\", got \"rpi4\"") != std::string::npos);
  j["devices"] = {{"profile", "rpi4"}};
  CHECK(error_of([&] { load_scenario(dir.write("s.json", j)); }) ==
        file + ": $.devices.profile: unknown device profile \"rpi4\"; built-in: bad, misnamed");
}

TEST_CASE("invalid scenarios: one line naming the file and the JSON path")
{
  TempDir dir;
  int cases = 0;
  // Writes the scenario, loads it and checks the message is "<file>: <path>: ..." and contains `what`.
  auto expect = [&](const json& j, const std::string& path, const std::string& what) {
    ++cases;
    const std::string file = dir.write("bad.json", j);
    const std::string msg = error_of([&] { load_scenario(file); });
    CAPTURE(j.dump());
    CAPTURE(msg);
    CHECK(msg.find(file + ": " + path + ": ") == 0);
    CHECK(msg.find(what) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  };
  auto with = [](const std::string& a, const json& v) {
    json j = minimal();
    j[a] = v;
    return j;
  };
  auto with2 = [](const std::string& a, const std::string& b, const json& v) {
    json j = minimal();
    j[a][b] = v;
    return j;
  };
  auto without = [](const std::string& a) {
    json j = minimal();
    j.erase(a);
    return j;
  };

  // Syntax errors and numbers beyond a double name the file.
  {
    ++cases;
    const auto file = dir.write("syntax.json", std::string("{\"model\": {\"file\": \"m.scee\"},\n  \"split\": }"));
    const auto msg = error_of([&] { load_scenario(file); });
    CHECK(msg.find(file + ": not valid JSON") == 0);
    CHECK(msg.find("line 2") != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  }
  {
    ++cases;
    std::string text = minimal().dump();
    text.insert(1, "\"seed\": 1e999, ");
    const auto file = dir.write("huge.json", text);
    const auto msg = error_of([&] { load_scenario(file); });
    CHECK(msg.find(file + ": not valid JSON: number overflow") == 0);
  }
  CHECK(error_of([&] { load_scenario((dir.path / "missing.json").string()); }).find("missing.json: cannot open") !=
        std::string::npos);

  expect(json::array(), "$", "must be a JSON object");
  expect(with("seed", "one"), "$.seed", "must be an integer in [0, 9007199254740992], got \"one\"");
  expect(with("seed", -1), "$.seed", "must be an integer");
  expect(with("devcies", json::object()), "$.devcies", "unknown key; valid keys here: ");
  expect(with2("split", "exit", 1), "$.split.exit", "unknown key; valid keys here: after_layer, criterion, exits");
  expect(with2("simgrid", "model", "CM02"), "$.simgrid.model", "unknown key");
  expect(without("split"), "$", "missing required key \"split\"");
  expect(without("devices"), "$", "missing required key \"devices\"");
  expect(without("model"), "$", "missing required key \"model\"");
  expect(with("split", {{"exits", {1}}}), "$.split", "missing required key \"after_layer\"");
  expect(with("split", {{"after_layer", -1}}), "$.split.after_layer", "must be an integer in [0, ");
  expect(with2("devices", "count", 0), "$.devices.count", "must be an integer in [1, 100000], got 0");
  expect(with2("devices", "count", 1e300), "$.devices.count", "must be an integer in [1, 100000], got 1e+300");
  expect(with2("devices", "count", 2.5), "$.devices.count", "must be an integer in [1, 100000], got 2.5");
  expect(with("workload", {{"arrival", "periodic"}, {"period_s", -0.1}}), "$.workload.period_s",
         "must be a number > 0, got -0.1");
  expect(with("workload", {{"arrival", "periodic"}, {"period_s", 0}}), "$.workload.period_s", "must be a number > 0");
  expect(with("workload", {{"arrival", "periodic"}}), "$.workload", "missing required key \"period_s\"");
  expect(with("workload", {{"period_s", 1}}), "$.workload", "missing required key \"arrival\"");
  expect(with("workload", {{"arrival", "burst"}}), "$.workload.arrival",
         "must be one of \"periodic\", \"poisson\", \"closed_loop\", got \"burst\"");
  expect(with("workload", {{"arrival", "poisson"}}), "$.workload", "missing required key \"rate_per_s\"");
  expect(with("workload", {{"arrival", "poisson"}, {"rate_per_s", 5}, {"period_s", 0.1}}), "$.workload.period_s",
         "belongs to arrival \"periodic\", not \"poisson\"; arrival \"poisson\" takes \"rate_per_s\"");
  expect(with("workload", {{"arrival", "closed_loop"}, {"think_time_s", -1}}), "$.workload.think_time_s",
         "must be a number >= 0");
  expect(with("split", {{"after_layer", 1}, {"criterion", "maxsoft"}}), "$.split.criterion",
         "must be one of \"max_softmax\", \"entropy\", \"margin\", got \"maxsoft\"");
  expect(with("split", {{"after_layer", 1}, {"threshold", 1.5}}), "$.split.threshold",
         "for criterion \"max_softmax\" must be a number in [0, 1]");
  expect(with("split", {{"after_layer", 1}, {"criterion", "margin"}, {"threshold", 2}}), "$.split.threshold",
         "for criterion \"margin\" must be a number in [0, 1]");
  expect(with("split", {{"after_layer", 1}, {"threshold", 1e308}}), "$.split.threshold", "must be a number in [0, 1]");
  expect(with("split", {{"after_layer", 1}, {"threshold", -0.5}}), "$.split.threshold", "must be a number >= 0");
  expect(with("split", {{"after_layer", 2}, {"exits", {1, 2, 1}}}), "$.split.exits[2]", "layer 1 is listed twice");
  expect(with("split", {{"after_layer", 1}, {"exits", {2}}}), "$.split.exits[0]", "must be <= split.after_layer (1)");
  expect(with("split", {{"after_layer", 1}, {"exits", {0}}}), "$.split.exits[0]", "must be an integer in [1, ");
  expect(with("split", {{"after_layer", 1}, {"exits", 1}}), "$.split.exits", "must be an array of integers");
  expect(with2("devices", "profile", "rpi9"), "$.devices.profile",
         "unknown device profile \"rpi9\"; built-in: esp32, esp32s3, ");
  expect(with2("network", "profile", "5g"), "$.network.profile", "unknown network profile \"5g\"; built-in: ble5");
  expect(with2("server", "profile", "rpi4"), "$.server.profile", "unknown server profile \"rpi4\"; built-in: ");
  expect(with2("devices", "pstate", 5), "$.devices.pstate",
         "must be an integer in [0, 2] (profile \"rpi4\" has 3 pstates), got 5");
  expect(with2("devices", "cost_model", "exact"), "$.devices.cost_model", "must be one of \"profile\", \"ideal\"");
  expect(with2("devices", "number_format", "fp32"), "$.devices.number_format", "must be one of \"int8\", got \"fp32\"");
  expect(with2("server", "number_format", "int8"), "$.server.number_format",
         "applies to a profile's cost model, and profile \"x86_core\" has none");
  expect(with2("devices", "sleep", "light_sleep"), "$.devices.sleep", "must be one of \"none\", got \"light_sleep\"");
  expect(with2("devices", "battery", nlohmann::json{{"capacity_wh", 1}, {"capacity_mah", 100}}), "$.devices.battery",
         "give exactly one of \"capacity_mah\" (with \"voltage_v\") or \"capacity_wh\", got both");
  expect(with2("devices", "battery", nlohmann::json{{"capacity_mah", 225}}), "$.devices.battery",
         "missing required key \"voltage_v\"");
  expect(with2("devices", "battery", nlohmann::json{{"capacity_wh", 1}, {"initial_charge", 0.5}, {"cutoff_charge", 0.5}}),
         "$.devices.battery.cutoff_charge", "must be below initial_charge (0.5): a fraction in [0, 0.5), got 0.5");
  expect(with2("server", "pstate", -1), "$.server.pstate", "must be an integer in [0, ");
  expect(with2("server", "workers", 0), "$.server.workers", "must be an integer in [1, 1024], got 0");
  expect(with2("network", "shared_medium", "yes"), "$.network.shared_medium", "must be true or false");
  expect(with("model", {{"file", "m.scee"}, {"spec", {{"widths", {4, 2}}, {"fan_outs", {2}}}}}), "$.model",
         "give exactly one of \"file\"");
  expect(with("model", json::object()), "$.model", "got neither");
  expect(with("model", {{"path", "m.scee"}}), "$.model.path", "unknown key; valid keys here: file, spec");
  expect(with("model", {{"file", ""}}), "$.model.file", "must be a non-empty string");
  expect(with("model", {{"spec", {{"widths", {800, 40, 10}}, {"fan_outs", {2, 9}}, {"epochs", 3}}}}),
         "$.model.spec.epochs", "unknown key");
  expect(with("model", {{"spec", {{"widths", {800}}, {"fan_outs", {2}}}}}), "$.model.spec.widths",
         "needs at least an input and an output width");
  expect(with("dataset", {{"name", "cifar10"}}), "$.dataset.name",
         "must be one of \"mnist\", \"fashion-mnist\" or \"\" (the model's dataset), got \"cifar10\"");
  expect(with("dataset", {{"samples", 0}}), "$.dataset.samples", "must be an integer in [1, 10000], got 0");
  expect(with("dataset", {{"samples", 10001}}), "$.dataset.samples", "must be an integer in [1, 10000]");
  expect(with("encoding", {{"format", "fp8"}}), "$.encoding.format", "must be one of \"fp32\", \"fp16\", \"int8\"");
  expect(with("encoding", {{"header_bytes", 65536}}), "$.encoding.header_bytes", "must be an integer in [0, 65535]");
  expect(with("encoding", {{"reply_bytes", 0}}), "$.encoding.reply_bytes", "must be an integer in [1, 65535]");
  expect(with("simgrid", {{"network_model", "SMPI"}}), "$.simgrid.network_model",
         "must be one of \"CM02\", \"LV08\", got \"SMPI\"");
  expect(with("simgrid", {{"crosstraffic", 1}}), "$.simgrid.crosstraffic", "must be true or false");
  expect(with("name", ""), "$.name", "must be a non-empty string");
  expect(with("dataset", 5), "$.dataset", "must be a JSON object");
  CHECK(cases >= 14);
}

TEST_CASE("check_against_model: split point, exit heads and the entropy bound")
{
  TempDir dir;
  const NetworkSpec model = default_model_spec().network; // [800, 40, 40, 10], exit after layer 1
  auto scenario = [&](const json& split) {
    json j = minimal();
    j["split"] = split;
    return load_scenario(dir.write("m.json", j));
  };
  const std::string file = (dir.path / "m.json").string();
  CHECK_NOTHROW(check_against_model(scenario({{"after_layer", 3}, {"exits", {1}}}), model));
  CHECK_NOTHROW(check_against_model(scenario({{"after_layer", 0}}), model));
  CHECK_NOTHROW(
      check_against_model(scenario({{"after_layer", 2}, {"criterion", "entropy"}, {"threshold", 2.3}}), model));
  CHECK(error_of([&] {
          check_against_model(scenario({{"after_layer", 4}}), model);
        }) == file +
                  ": $.split.after_layer: must be in 0..3 for this model (3 layers; 0 = full offload, 3 = edge only), "
                  "got 4");
  CHECK(error_of([&] {
          check_against_model(scenario({{"after_layer", 2}, {"exits", {1, 2}}}), model);
        }) == file + ": $.split.exits[1]: no exit head after layer 2; the model has exit heads after layer 1");
  NetworkSpec no_exits = model;
  no_exits.exits.clear();
  CHECK(error_of([&] {
          check_against_model(scenario({{"after_layer", 1}, {"exits", {1}}}), no_exits);
        }) == file + ": $.split.exits[0]: no exit head after layer 1; the model has no exit heads");
  const auto msg = error_of([&] {
    check_against_model(scenario({{"after_layer", 1}, {"criterion", "entropy"}, {"threshold", 2.4}}), model);
  });
  CHECK(msg.find(file + ": $.split.threshold: for criterion \"entropy\" must be in [0, ln(10) = 2.30259]") == 0);
}

TEST_CASE("to_json gives the resolved scenario, which loads back to the same scenario")
{
  TempDir dir;
  json j = minimal();
  j["network"] = {{"profile", "lora_sf7"}, {"override", {{"latency_s", 0.1}}}};
  j["devices"] = {{"profile", "esp32"}, {"count", 3}};
  j["workload"] = {{"arrival", "poisson"}, {"rate_per_s", 0.5}};
  const auto file = dir.write("sub/round.json", j);
  const Scenario s = load_scenario(file);
  const json resolved = to_json(s);

  // Profiles inline and whole, no override, every default present, the model path absolute.
  CHECK(resolved["network"]["profile"].is_object());
  CHECK(resolved["network"]["profile"]["latency_s"] == 0.1);
  CHECK(resolved["network"]["profile"]["duty_cycle"] == 0.01);
  CHECK(!resolved["network"].contains("override"));
  CHECK(resolved["devices"]["profile"]["name"] == "esp32");
  CHECK(resolved["devices"]["count"] == 3);
  CHECK(resolved["devices"]["pstate"] == 0);
  CHECK(resolved["server"]["workers"] == 1);
  CHECK(resolved["name"] == "round");
  CHECK(resolved["seed"] == 1);
  CHECK(resolved["dataset"]["samples"] == 1000);
  CHECK(resolved["split"]["criterion"] == "max_softmax");
  CHECK(resolved["encoding"]["format"] == "fp32");
  CHECK(resolved["workload"] == json{{"arrival", "poisson"}, {"rate_per_s", 0.5}});
  CHECK(resolved["simgrid"] == json{{"network_model", "CM02"}, {"crosstraffic", false}});
  CHECK(resolved["model"]["file"] == (dir.path / "sub" / "models" / "m.scee").string());

  // Same document, same scenario: from the object, and from its text written to another folder.
  CHECK(to_json(scenario_from_json(resolved, s.file)) == resolved);
  const auto elsewhere = dir.write("other/place/copy.json", resolved.dump(2));
  const Scenario again = load_scenario(elsewhere);
  CHECK(to_json(again) == resolved);
  CHECK(again.network.latency_s == 0.1);
  CHECK(again.model_file == s.model_file);

  // A spec model, closed loop, every non-default.
  json k = minimal();
  k["name"] = "spec-run";
  k["seed"] = 7;
  k["model"] = {{"spec",
                 {{"widths", {800, 40, 40, 10}},
                  {"fan_outs", {2, 9, 10}},
                  {"exits", {{{"after_layer", 2}}}},
                  {"seed", 3},
                  {"training", {{"epochs", 2}, {"dataset", "fashion-mnist"}, {"exit_loss_weights", {0.5}}}}}}};
  k["dataset"] = {{"name", "mnist"}, {"samples", 10}};
  k["split"] = {{"after_layer", 2}, {"exits", {2}}, {"criterion", "margin"}, {"threshold", 0.25}};
  k["encoding"] = {{"format", "fp16"}, {"header_bytes", 28}, {"reply_bytes", 1}};
  k["server"] = {{"profile", "gpu_a100"}, {"workers", 8}};
  k["workload"] = {{"arrival", "closed_loop"}, {"think_time_s", 1.25}};
  k["simgrid"] = {{"network_model", "LV08"}, {"crosstraffic", true}};
  const Scenario t = load_scenario(dir.write("spec.json", k));
  const json rt = to_json(t);
  CHECK(rt["model"]["spec"]["training"]["epochs"] == 2);
  CHECK(!rt["model"].contains("file"));
  const Scenario t2 = scenario_from_json(json::parse(rt.dump()), t.file);
  CHECK(to_json(t2) == rt);
  CHECK(t2.model_spec->network == t.model_spec->network);
  CHECK(t2.model_spec->training == t.model_spec->training);
  CHECK(model_hash(*t2.model_spec) == model_hash(*t.model_spec));
}

TEST_CASE("the shipped scenarios load and round-trip, and the schema is valid JSON")
{
  const fs::path dir = fs::path(SCEE_SOURCE_DIR) / "scenarios";
  const json schema = read_json_file((dir / "scenario.schema.json").string());
  CHECK(schema["$schema"] == "https://json-schema.org/draft/2020-12/schema");
  CHECK(schema["$defs"].contains("compute_profile"));
  CHECK(schema["$defs"].contains("network_profile"));
  // The schema's sweep axes are the loader's.
  std::vector<std::string> axes;
  for (const auto& [name, pointer] : sweep_axis_names())
    axes.push_back(name);
  CHECK(schema["$defs"]["sweep_axis"]["properties"]["name"]["enum"] == json(axes));
  CHECK(schema["properties"].contains("faults"));
  CHECK(schema["properties"].contains("offload"));
  int loaded = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto path = entry.path();
    if (!entry.is_regular_file() || path.extension() != ".json" || path.filename() == "scenario.schema.json")
      continue;
    CAPTURE(path.string());
    if (read_json_file(path.string()).contains("sweep")) { // a sweep: every point is a valid scenario
      std::vector<SweepPoint> points;
      REQUIRE_NOTHROW(points = load_sweep(path.string()).points());
      for (const auto& p : points) {
        CAPTURE(p.index);
        const Scenario s = scenario_from_json(p.scenario, path.string());
        if (s.model_spec)
          CHECK_NOTHROW(check_against_model(s, s.model_spec->network));
      }
      ++loaded;
      continue;
    }
    Scenario s;
    REQUIRE_NOTHROW(s = load_scenario(path.string()));
    const json resolved = to_json(s);
    CHECK(to_json(scenario_from_json(resolved, s.file)) == resolved);
    if (s.model_spec)
      CHECK_NOTHROW(check_against_model(s, s.model_spec->network));
    ++loaded;
  }
  CHECK(loaded >= 1);
}

TEST_CASE("faults and offload policy: inline lists, a trace file, the resolved form and every error")
{
  TempDir dir;
  json j = minimal();
  j["faults"] = {{"uplink_outages", {{{"start_s", 1.5}, {"duration_s", 0.5}}, {{"start_s", 4}}}},
                 {"downlink_bandwidth", {{{"at_s", 2}, {"factor", 0.25}}, {{"at_s", 3}, {"factor", 1}}}},
                 {"trace_file", "traces/t.csv"}};
  j["offload"] = {{"request_timeout_s", 0.2}, {"retries", 2}, {"retry_backoff_s", 0.05}};
  dir.write("traces/t.csv", std::string("time_s,target,value\r\n10,server,0\n12.5,server,1\n20,server,0\n"
                                        "1,uplink_bandwidth,0.5\n"));
  const Scenario s = load_scenario(dir.write("f.json", j));
  REQUIRE(s.faults.uplink_outages.size() == 2);
  CHECK(s.faults.uplink_outages[0].start_s == 1.5);
  CHECK(s.faults.uplink_outages[0].end_s() == 2.0);
  CHECK(std::isinf(s.faults.uplink_outages[1].duration_s)); // no duration: until the end
  REQUIRE(s.faults.server_outages.size() == 2);               // from the trace
  CHECK(s.faults.server_outages[0].start_s == 10);
  CHECK(s.faults.server_outages[0].duration_s == 2.5);
  CHECK(std::isinf(s.faults.server_outages[1].duration_s));
  REQUIRE(s.faults.uplink_bandwidth.size() == 1);
  CHECK(s.faults.uplink_bandwidth[0].factor == 0.5);
  CHECK(s.faults.downlink_bandwidth.size() == 2);
  CHECK(s.offload.request_timeout_s == 0.2);
  CHECK(s.offload.retries == 2);
  CHECK(s.offload.fallback == Fallback::device_exit);
  // The resolved form holds the trace's events as lists and reloads to the same scenario.
  const json resolved = to_json(s);
  CHECK(!resolved["faults"].contains("trace_file"));
  CHECK(resolved["faults"]["server_outages"] == json::parse(R"([{"start_s":10.0,"duration_s":2.5},{"start_s":20.0}])"));
  CHECK(to_json(scenario_from_json(resolved, s.file)) == resolved);
  // Without faults there is no "faults" section, and the policy's defaults are written out.
  const json plain = to_json(load_scenario(dir.write("plain.json", minimal())));
  CHECK(!plain.contains("faults"));
  CHECK(plain["offload"] == json{{"retries", 0}, {"retry_backoff_s", 0.0}, {"fallback", "device_exit"}});

  int cases = 0;
  auto expect = [&](const json& faults, const json& offload, const std::string& where, const std::string& what) {
    ++cases;
    json k = minimal();
    if (!faults.is_null())
      k["faults"] = faults;
    if (!offload.is_null())
      k["offload"] = offload;
    const std::string file = dir.write("bad.json", k);
    const std::string msg = error_of([&] { load_scenario(file); });
    CAPTURE(k.dump());
    CAPTURE(msg);
    CHECK(msg.find(where) != std::string::npos);
    CHECK(msg.find(what) != std::string::npos);
    CHECK(msg.find('\n') == std::string::npos);
  };
  const json none;
  const json timeout = {{"request_timeout_s", 1}};
  expect({{"uplink_outage", json::array()}}, none, "$.faults.uplink_outage: unknown key", "uplink_outages");
  expect({{"uplink_outages", {{{"start_s", -1}}}}}, none, "$.faults.uplink_outages[0].start_s", ">= 0, got -1");
  expect({{"uplink_outages", {{{"start_s", 1}, {"duration_s", 0}}}}}, none, "$.faults.uplink_outages[0].duration_s",
         "> 0");
  expect({{"uplink_outages", {{{"start_s", 1}, {"duration_s", 2}}, {{"start_s", 2}}}}}, none,
         "$.faults.uplink_outages[1]", "must start after the previous outage ends (3 s)");
  expect({{"downlink_outages", {{{"start_s", 1}}, {{"start_s", 5}}}}}, none, "$.faults.downlink_outages[1]",
         "without \"duration_s\"");
  expect({{"uplink_bandwidth", {{{"at_s", 1}, {"factor", 1.5}}}}}, none, "$.faults.uplink_bandwidth[0].factor",
         "(0, 1]");
  expect({{"uplink_bandwidth", {{{"at_s", 1}, {"factor", 0}}}}}, none, "$.faults.uplink_bandwidth[0].factor", "> 0");
  expect({{"uplink_bandwidth", {{{"at_s", 2}, {"factor", 0.5}}, {{"at_s", 2}, {"factor", 1}}}}}, none,
         "$.faults.uplink_bandwidth[1].at_s", "later than the previous step's (2 s)");
  expect({{"server_outages", {{{"start_s", 1}, {"duration_s", 1}}}}}, none, "$.offload.request_timeout_s",
         "required when the scenario has server outages");
  expect(none, {{"request_timeout_s", 0}}, "$.offload.request_timeout_s", "> 0");
  expect(none, {{"retries", -1}}, "$.offload.retries", "[0, 100]");
  expect(none, {{"fallback", "server"}}, "$.offload.fallback", "device_exit");
  expect(none, {{"timeout_s", 1}}, "$.offload.timeout_s: unknown key", "request_timeout_s");
  // Traces: each problem names the trace file and its line.
  auto trace = [&](const std::string& text, const std::string& what, const json& more = json::object()) {
    dir.write("traces/bad.csv", text);
    json f = {{"trace_file", "traces/bad.csv"}};
    f.update(more);
    expect(f, timeout, "traces/bad.csv", what);
  };
  trace("", "empty fault trace");
  trace("time,target,value\n", "line 1: the header must be \"time_s,target,value\"");
  trace("time_s,target,value\n1,uplink\n", "line 2: must have 3 comma-separated cells");
  trace("time_s,target,value\n-1,uplink,0\n", "line 2: time_s must be a number of seconds");
  trace("time_s,target,value\n1,wifi,0\n", "line 2: target must be one of uplink, downlink, server");
  trace("time_s,target,value\n1,uplink,0\n1,uplink,1\n", "line 3: rows of target uplink must be in increasing time");
  trace("time_s,target,value\n1,uplink,1\n", "line 2: uplink is already up at 1 s");
  trace("time_s,target,value\n1,server,0.5\n", "line 2: the value of target server must be 0 (down) or 1 (up)");
  trace("time_s,target,value\n1,uplink_bandwidth,2\n", "line 2: the value of target uplink_bandwidth must be a "
                                                        "bandwidth factor in [1e-6, 1]");
  trace("time_s,target,value\n1,uplink,0\n", "\" both describe the same target",
        {{"uplink_outages", {{{"start_s", 5}}}}});
  expect({{"trace_file", "traces/missing.csv"}}, none, "traces/missing.csv", "cannot read the fault trace");
  CHECK(cases == 24);
}

TEST_CASE("integers at the int64 limit: exact bounds, no wrap-around, no undefined conversion")
{
  // Regression (found while writing tests/fuzz/fuzz_scenario): Fields::integer compared integers as doubles, so with
  // the bound INT64_MAX (memory_bytes, max_payload_bytes) the integer 2^63 passed and wrapped to INT64_MIN, and the
  // float 9.223372036854775807e18 (= 2^63) passed and was converted to int64 with undefined behaviour.
  TempDir dir;
  json board = read_json_file(builtin_profile_file("device", "rpi4"));
  json j = minimal();
  auto with_memory = [&](const json& bytes) {
    board["memory_bytes"] = bytes;
    j["devices"] = {{"profile", board}};
    return dir.write("limit.json", j);
  };
  CHECK(load_scenario(with_memory(std::numeric_limits<std::int64_t>::max())).device.memory_bytes ==
        std::numeric_limits<std::int64_t>::max());
  CHECK(error_of([&] { load_scenario(with_memory(std::uint64_t(1) << 63)); })
            .find("$.devices.profile.memory_bytes: must be an integer >= 1, got 9223372036854775808") !=
        std::string::npos);
  CHECK(error_of([&] { load_scenario(with_memory(0x1p63)); })
            .find("$.devices.profile.memory_bytes: must be an integer >= 1, got 9.223372036854776e+18") !=
        std::string::npos);
  CHECK(load_scenario(with_memory(0x1p62)).device.memory_bytes == std::int64_t(1) << 62);
  // Integers compare exactly: 2^53 + 1 is above the seed's bound 2^53 (as a double it rounded to 2^53 and passed).
  j = minimal();
  j["seed"] = (std::uint64_t(1) << 53) + 1;
  CHECK(error_of([&] { load_scenario(dir.write("seed.json", j)); }).find("$.seed: must be an integer in [0, ") !=
        std::string::npos);
}
