// The per-layer cost model against hand computation: overheads, the kernel rate per layer kind, the sparse kernel's
// speed-up by density, memory-bound layers, number formats and pstate scaling; and its strict validation.
#include <doctest/doctest.h>

#include <cmath>
#include <string>

#include "cost_model.hpp"
#include "error.hpp"
#include "model_test_helpers.hpp"
#include "profiles.hpp"

using namespace scee;

namespace {

void close(double got, double want) { CHECK(std::abs(got - want) <= 1e-12 * std::max(1.0, std::abs(want))); }

/// Two pstates (2 and 1 MMAC/s), int8 and fp32 kernels.
nlohmann::json profile_json()
{
  return nlohmann::json::parse(R"({
    "name": "cm", "kind": "device", "description": "cost model test",
    "pstates": [{"rate_macs_per_s": 2e6, "idle_power_w": 0.5, "active_power_w": 2.0},
                {"rate_macs_per_s": 1e6, "idle_power_w": 0.3, "active_power_w": 1.5}],
    "cost_model": {
      "invoke_overhead_s": 1e-3, "layer_overhead_s": 1e-4, "memory_bandwidth_bytes_per_s": 1e6,
      "default_format": "int8",
      "formats": {
        "int8": {"fc_rate_macs_per_s": 1e6, "conv_rate_macs_per_s": 2e6,
                 "fc_sparse_speedup": [[0.05, 2.0], [0.5, 1.5]], "conv_sparse_speedup": [[0.25, 1.0]]},
        "fp32": {"fc_rate_macs_per_s": 1e7, "conv_rate_macs_per_s": 1e7,
                 "fc_sparse_speedup": [[0.1, 1.0]], "conv_sparse_speedup": [[0.1, 1.0]]}
      }
    },
    "memory_bytes": 1048576, "confidence": "R", "sources": ["test"], "notes": "test"})");
}

ComputeProfile profile() { return compute_profile_from_json(profile_json(), "device", "cm.json", "$"); }

LayerSpec fc(int out, int fan_out)
{
  LayerSpec l;
  l.kind = LayerKind::fc, l.out = out, l.fan_out = fan_out;
  return l;
}

} // namespace

TEST_CASE("cost model: a sparse fc layer takes its dense counterpart's MACs over the rate times the speed-up")
{
  const ComputeProfile p = profile();
  // 800 -> 40 at fan-out 2: density 0.05, 1,600 MACs of 32,000; the table gives a speed-up of 2 there.
  const HostCost at0(p, 0, CostModelChoice::profile);
  const LayerTime t = at0.layer(fc(40, 2), {800});
  close(t.compute_s, 32000.0 / (1e6 * 2.0));
  // int8 weights 1,600 B, int32 biases 160 B, 16-bit indices 40 x 40 x 2 = 3,200 B, activations 800 + 40 B.
  CHECK(t.bytes == 1600 + 160 + 3200 + 840);
  close(t.memory_s, 5800.0 / 1e6);
  close(t.overhead_s, 1e-4);
  close(t.seconds(), 1e-4 + 0.016);
  close(at0.layer_work(fc(40, 2), {800}), (1e-4 + 0.016) * 2e6);
  close(at0.invoke_s(), 1e-3);

  // pstate 1 runs at half the rate: compute and overheads take twice as long, memory does not scale.
  const HostCost at1(p, 1, CostModelChoice::profile);
  const LayerTime t1 = at1.layer(fc(40, 2), {800});
  close(t1.compute_s, 0.032);
  close(t1.overhead_s, 2e-4);
  close(t1.memory_s, 0.0058);
  close(at1.invoke_s(), 2e-3);
  close(at1.speed(), 1e6);

  // Between table points the speed-up is linear in density: 40 -> 40 at fan-out 9 is density 0.225.
  const double speedup = 2.0 + (1.5 - 2.0) * (0.225 - 0.05) / (0.5 - 0.05);
  close(at0.layer(fc(40, 9), {40}).compute_s, 1600.0 / (1e6 * speedup));
  // Beyond the last point it stays constant; a dense layer uses the dense kernel.
  close(at0.layer(fc(40, 30), {40}).compute_s, 1600.0 / (1e6 * 1.5));
  close(at0.layer(fc(10, 10), {40}).compute_s, 400.0 / 1e6);
  CHECK(at0.layer(fc(10, 10), {40}).bytes == 400 + 40 + 0 + 50);
}

TEST_CASE("cost model: a memory-bound fp32 layer takes bytes over bandwidth")
{
  const ComputeProfile p = profile();
  const HostCost h(p, 0, CostModelChoice::profile, Encoding::fp32);
  CHECK(h.format() == Encoding::fp32);
  const LayerTime t = h.layer(fc(40, 9), {40});
  // fp32 weights 360 x 4, biases 40 x 4, indices 40 x 9 x 2, activations (40 + 40) x 4.
  CHECK(t.bytes == 1440 + 160 + 720 + 320);
  close(t.compute_s, 1600.0 / 1e7);
  close(t.seconds(), 1e-4 + 2640.0 / 1e6);
}

TEST_CASE("cost model: convolution, pooling, ReLU and flatten")
{
  const ComputeProfile p = profile();
  const HostCost h(p, 0, CostModelChoice::profile);
  LayerSpec conv;
  conv.kind = LayerKind::conv, conv.out = 8, conv.kernel = 3, conv.fan_out = 4; // 4 -> 8, density 0.5
  const Shape in{4, 6, 6};
  const LayerTime c = h.layer(conv, in);
  // Output 8 x 4 x 4; dense MACs 8 x 4 x 9 x 16 = 4,608; the table's single point gives speed-up 1 everywhere.
  close(c.compute_s, 4608.0 / 2e6);
  CHECK(c.bytes == 8 * 2 * 9 + 8 * 4 + 8 * 2 * 2 + (144 + 128));
  close(c.seconds(), 1e-4 + std::max(4608.0 / 2e6, double(c.bytes) / 1e6));

  LayerSpec pool;
  pool.kind = LayerKind::max_pool, pool.kernel = 2, pool.stride = 2;
  const LayerTime pt = h.layer(pool, in); // 4 x 3 x 3 outputs, 4 window elements each, at the conv rate
  close(pt.compute_s, 36.0 * 4 / 2e6);
  CHECK(pt.bytes == 144 + 36);
  close(pt.seconds(), 1e-4 + 180.0 / 1e6);

  LayerSpec relu;
  relu.kind = LayerKind::relu;
  close(h.layer(relu, in).seconds(), 1e-4 + 288.0 / 1e6);

  LayerSpec flat;
  flat.kind = LayerKind::flatten;
  CHECK(h.layer(flat, in).seconds() == 0.0);
  CHECK(h.layer_work(flat, in) == 0.0);
}

TEST_CASE("cost model: ideal, or a profile without one, takes MACs over the pstate's rate and nothing else")
{
  ComputeProfile p = profile();
  const HostCost ideal(p, 1, CostModelChoice::ideal);
  CHECK(ideal.ideal());
  CHECK(ideal.layer_work(fc(40, 2), {800}) == 1600.0);
  close(ideal.layer(fc(40, 2), {800}).seconds(), 1600.0 / 1e6);
  CHECK(ideal.invoke_work() == 0.0);
  p.cost_model.reset();
  const HostCost none(p, 0, CostModelChoice::profile);
  CHECK(none.ideal());
  LayerSpec pool;
  pool.kind = LayerKind::avg_pool, pool.kernel = 2, pool.stride = 2;
  CHECK(none.layer_work(pool, {4, 6, 6}) == 0.0);
}

TEST_CASE("cost model: a profile's cost model round-trips through to_json")
{
  const ComputeProfile p = profile();
  const ComputeProfile q = compute_profile_from_json(to_json(p), "device", "again.json", "$");
  REQUIRE(q.cost_model);
  CHECK(to_json(q) == to_json(p));
  CHECK(q.cost_model->formats.size() == 2);
  CHECK(q.cost_model->find(Encoding::fp16) == nullptr);
}

TEST_CASE("cost model: bad cost models are refused with the JSON path")
{
  auto err = [](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = profile_json();
    edit(j["cost_model"]);
    return test::input_error([&] { compute_profile_from_json(j, "device", "cm.json", "$"); });
  };
  CHECK(err([](auto& c) { c["formats"]["int8"]["fc_sparse_speedup"] = {{0.5, 1.0}, {0.25, 2.0}}; }) ==
        "cm.json: $.cost_model.formats.int8.fc_sparse_speedup[1]: must be a non-empty array of [density, speed-up] "
        "pairs, densities in (0, 1] and increasing, speed-ups in [0.01, 10000] (1 = as fast as the dense kernel); "
        "this entry is [0.25,2.0]");
  CHECK(err([](auto& c) { c["formats"]["int8"]["conv_sparse_speedup"] = nlohmann::json::array(); })
            .find("cm.json: $.cost_model.formats.int8.conv_sparse_speedup: must be a non-empty array") == 0);
  CHECK(err([](auto& c) { c["formats"]["int4"] = c["formats"]["int8"]; }) ==
        "cm.json: $.cost_model.formats: unknown number format \"int4\"; valid: int8, fp16, fp32");
  CHECK(err([](auto& c) { c["default_format"] = "fp16"; }) ==
        "cm.json: $.cost_model.default_format: must be one of the formats given in \"formats\", got \"fp16\"");
  CHECK(err([](auto& c) { c["memory_bandwidth_bytes_per_s"] = 0; })
            .find("cm.json: $.cost_model.memory_bandwidth_bytes_per_s: ") == 0);
  CHECK(err([](auto& c) { c["formats"]["int8"]["fc_rate_macs_per_s"] = 1e300; })
            .find("cm.json: $.cost_model.formats.int8.fc_rate_macs_per_s: ") == 0);
  CHECK(err([](auto& c) { c["layer_overhead"] = 1; }).find("cm.json: $.cost_model.layer_overhead: unknown key") == 0);
}
