// Tests for the built-in profiles and their strict validation: every shipped profile is valid and round-trips through
// to_json; unknown names list the built-ins; each kind of bad profile is refused with the file and JSON path.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "error.hpp"
#include "profiles.hpp"
#include "strict_json.hpp"

using namespace scee;
namespace fs = std::filesystem;

namespace {

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

nlohmann::json builtin(const std::string& kind, const std::string& name)
{
  return read_json_file(builtin_profile_file(kind, name));
}

} // namespace

TEST_CASE("profile_dir points at the shipped profiles unless SCEE_PROFILE_DIR is set")
{
  if (std::getenv("SCEE_PROFILE_DIR") == nullptr)
    CHECK(fs::equivalent(profile_dir(), fs::path(SCEE_SOURCE_DIR) / "scenarios" / "profiles"));
  CHECK(builtin_profile_file("device", "rpi4") == (fs::path(profile_dir()) / "devices" / "rpi4.json").string());
}

TEST_CASE("the built-in profile names are sorted and cover the shipped files")
{
  const auto devices = builtin_profile_names("device");
  const auto servers = builtin_profile_names("server");
  const auto networks = builtin_profile_names("network");
  CHECK(std::is_sorted(devices.begin(), devices.end()));
  CHECK(std::find(devices.begin(), devices.end(), "rpi4") != devices.end());
  CHECK(std::find(devices.begin(), devices.end(), "esp32") != devices.end());
  CHECK(std::find(servers.begin(), servers.end(), "x86_core") != servers.end());
  CHECK(std::find(networks.begin(), networks.end(), "wifi") != networks.end());
  CHECK(std::find(networks.begin(), networks.end(), "lora_sf7") != networks.end());
  CHECK(devices.size() >= 10);
  CHECK(servers.size() >= 3);
  CHECK(networks.size() >= 8);
}

TEST_CASE("every built-in compute profile passes strict validation and round-trips through to_json")
{
  for (const std::string kind : {"device", "server"})
    for (const auto& name : builtin_profile_names(kind)) {
      CAPTURE(kind);
      CAPTURE(name);
      const auto file = builtin_profile_file(kind, name);
      const auto j = builtin_profile_json(kind, name, "s.json", "$.devices.profile");
      ComputeProfile p;
      REQUIRE_NOTHROW(p = compute_profile_from_json(j, kind, file, "$"));
      CHECK(p.name == name);
      CHECK(p.kind == kind);
      CHECK(!p.pstates.empty());
      CHECK(p.pstates[0].rate_macs_per_s > 0);
      CHECK(p.memory_bytes >= 1);
      CHECK(!p.sources.empty());
      // The file holds every key, so to_json gives it back exactly.
      CHECK(to_json(p) == j);
      CHECK(to_json(compute_profile_from_json(to_json(p), kind, "x.json", "$")) == to_json(p));
    }
}

TEST_CASE("every built-in network profile passes strict validation and round-trips through to_json")
{
  for (const auto& name : builtin_profile_names("network")) {
    CAPTURE(name);
    const auto file = builtin_profile_file("network", name);
    auto j = builtin_profile_json("network", name, "s.json", "$.network.profile");
    NetworkProfile p;
    REQUIRE_NOTHROW(p = network_profile_from_json(j, file, "$"));
    CHECK(p.name == name);
    CHECK(p.kind == "network");
    CHECK(p.uplink_bandwidth_bps > 0);
    CHECK(p.downlink_bandwidth_bps > 0);
    CHECK(p.duty_cycle > 0);
    CHECK(p.duty_cycle <= 1);
    if (!j.contains("duty_cycle"))
      j["duty_cycle"] = 1.0; // the one optional key: to_json fills it
    CHECK(to_json(p) == j);
    CHECK(to_json(network_profile_from_json(to_json(p), "x.json", "$")) == to_json(p));
  }
}

TEST_CASE("known values of the built-in profiles")
{
  const auto rpi4 = compute_profile_from_json(builtin("device", "rpi4"), "device", "rpi4.json", "$");
  CHECK(rpi4.pstates[0].rate_macs_per_s == doctest::Approx(6.9e9));
  CHECK(rpi4.pstates[0].idle_power_w == doctest::Approx(3.06));
  CHECK(rpi4.pstates[0].active_power_w == doctest::Approx(6.12));
  CHECK(rpi4.memory_bytes == 1073741824);
  CHECK(rpi4.confidence == "R");
  CHECK(rpi4.pstates.size() == 3);
  CHECK(rpi4.pstates[2].rate_macs_per_s == doctest::Approx(2.76e9)); // 0.6 GHz
  REQUIRE(rpi4.cost_model);
  CHECK(rpi4.cost_model->invoke_overhead_s == doctest::Approx(5e-5));
  CHECK(rpi4.cost_model->default_format == Encoding::int8);
  const auto esp32 = compute_profile_from_json(builtin("device", "esp32"), "device", "esp32.json", "$");
  REQUIRE(esp32.sleep_states.size() == 2);
  CHECK(esp32.sleep_states[0].name == "light_sleep");
  CHECK(esp32.sleep_states[0].power_w == doctest::Approx(0.0008 * 3.3));
  CHECK(esp32.sleep_states[1].wake_s == doctest::Approx(0.101));
  const auto lora = network_profile_from_json(builtin("network", "lora_sf7"), "lora.json", "$");
  CHECK(lora.duty_cycle == doctest::Approx(0.01));
  CHECK(lora.max_payload_bytes == 250);
  const auto lte = network_profile_from_json(builtin("network", "lte"), "lte.json", "$");
  CHECK(lte.radio.tail_s == doctest::Approx(11.576));
  CHECK(lte.radio.tx_power_w_per_bps == doctest::Approx(4.3839e-7));
}

TEST_CASE("an unknown profile name is refused, naming where it was written and listing the built-ins")
{
  const auto msg = error_of([] { builtin_profile_json("device", "foo", "s.json", "$.devices.profile"); });
  CHECK(msg.find("s.json: $.devices.profile: unknown device profile \"foo\"; built-in: ") == 0);
  for (const auto& name : builtin_profile_names("device"))
    CHECK(msg.find(name) != std::string::npos);
  const auto net = error_of([] { builtin_profile_json("network", "wlan", "s.json", "$.network.profile"); });
  CHECK(net.find("s.json: $.network.profile: unknown network profile \"wlan\"; built-in: ble5, ") == 0);
  // Names are looked up, never used as paths.
  CHECK(error_of([] {
          builtin_profile_json("server", "../devices/rpi4", "s.json", "$.server.profile");
        }).find("unknown server profile") != std::string::npos);
}

TEST_CASE("bad compute profiles are refused with the file and JSON path")
{
  const auto good = builtin("device", "rpi4");
  auto check = [](const nlohmann::json& j, const std::string& kind, const std::string& expected_start) {
    const auto msg = error_of([&] { compute_profile_from_json(j, kind, "p.json", "$.devices.profile"); });
    CAPTURE(msg);
    CHECK(msg.find(expected_start) == 0);
    CHECK(msg.find('\n') == std::string::npos);
  };
  {
    auto j = good;
    j.erase("memory_bytes");
    check(j, "device", "p.json: $.devices.profile: missing required key \"memory_bytes\"");
  }
  {
    auto j = good;
    j["colour"] = "red";
    check(j, "device", "p.json: $.devices.profile.colour: unknown key");
  }
  {
    auto j = good;
    j["pstates"][0]["idle_power_w"] = -1;
    check(j, "device", "p.json: $.devices.profile.pstates[0].idle_power_w: must be a number >= 0, got -1");
  }
  {
    auto j = good;
    j["pstates"][0]["rate_macs_per_s"] = 0;
    check(j, "device", "p.json: $.devices.profile.pstates[0].rate_macs_per_s: must be a number > 0, got 0");
  }
  {
    auto j = good;
    j["pstates"][0]["turbo"] = true;
    check(j, "device", "p.json: $.devices.profile.pstates[0].turbo: unknown key");
  }
  {
    auto j = good;
    j["pstates"] = nlohmann::json::array();
    check(j, "device", "p.json: $.devices.profile.pstates: must be a non-empty array of objects");
  }
  {
    auto j = good;
    j["memory_bytes"] = 0;
    check(j, "device", "p.json: $.devices.profile.memory_bytes: must be an integer >= 1, got 0");
  }
  {
    auto j = good;
    j["confidence"] = "X";
    check(j, "device", "p.json: $.devices.profile.confidence: must be one of \"S\", \"D\", \"R\", got \"X\"");
  }
  {
    auto j = good;
    j["sources"] = nlohmann::json::array();
    check(j, "device", "p.json: $.devices.profile.sources: must be a non-empty array of strings");
  }
  {
    auto j = good;
    j["sources"] = {"a", 3};
    check(j, "device", "p.json: $.devices.profile.sources[1]: must be a non-empty string, got 3");
  }
  // kind must match what is asked for.
  check(good, "server", "p.json: $.devices.profile.kind: must be one of \"server\", got \"device\"");
  check(nlohmann::json::array(), "device", "p.json: $.devices.profile: must be a JSON object");
}

TEST_CASE("bad network profiles are refused with the file and JSON path")
{
  const auto good = builtin("network", "wifi");
  auto check = [](const nlohmann::json& j, const std::string& expected_start) {
    const auto msg = error_of([&] { network_profile_from_json(j, "n.json", "$"); });
    CAPTURE(msg);
    CHECK(msg.find(expected_start) == 0);
  };
  {
    auto j = good;
    j["uplink_bandwidth_bps"] = 0;
    check(j, "n.json: $.uplink_bandwidth_bps: must be a number > 0, got 0");
  }
  {
    auto j = good;
    j["downlink_bandwidth_bps"] = "fast";
    check(j, "n.json: $.downlink_bandwidth_bps: must be a number > 0, got \"fast\"");
  }
  {
    auto j = good;
    j["latency_s"] = -0.001;
    check(j, "n.json: $.latency_s: must be a number >= 0");
  }
  {
    auto j = good;
    j["radio"]["tx_power_w"] = -0.5;
    check(j, "n.json: $.radio.tx_power_w: must be a number >= 0, got -0.5");
  }
  {
    auto j = good;
    j["radio"].erase("tail_s");
    check(j, "n.json: $.radio: missing required key \"tail_s\"");
  }
  {
    auto j = good;
    j["radio"]["tail_ms"] = 1;
    check(j, "n.json: $.radio.tail_ms: unknown key");
  }
  {
    auto j = good;
    j["duty_cycle"] = 1.5;
    check(j, "n.json: $.duty_cycle: must be a fraction in (0, 1]");
  }
  {
    auto j = good;
    j["duty_cycle"] = 0;
    check(j, "n.json: $.duty_cycle: must be a number > 0, got 0");
  }
  {
    auto j = good;
    j["kind"] = "device";
    check(j, "n.json: $.kind: must be one of \"network\", got \"device\"");
  }
  {
    auto j = good;
    j["max_payload_bytes"] = -1;
    check(j, "n.json: $.max_payload_bytes: must be an integer >= 0, got -1");
  }
}
