// Shared by the simulation tests: a small platform whose numbers make closed forms easy (one device at 2 MMAC/s,
// 250 kbit/s up, 1 Mbit/s down, 5 ms latency, requests 1 s apart), a small untrained network and synthetic data.
#pragma once

#include "dataset.hpp"
#include "network.hpp"
#include "rng.hpp"
#include "scenario.hpp"

#include <algorithm>
#include <cmath>
#include <doctest/doctest.h>
#include <vector>

namespace scee::test {

inline ComputeProfile compute(const std::string& kind, double rate, double idle_w, double active_w)
{
  ComputeProfile p;
  p.name = kind == "device" ? "test-device" : "test-server";
  p.kind = kind;
  p.pstates = {{rate, idle_w, active_w}};
  p.memory_bytes = 1 << 20;
  return p;
}

inline Scenario base_scenario()
{
  Scenario s;
  s.name = "closed-form";
  s.dataset = "synthetic";
  s.samples = 12;
  s.split_after = 1;
  s.device_exits = {1};
  s.criterion = Criterion::max_softmax;
  s.threshold = 0.5;
  s.encoding = Encoding::fp32;
  s.header_bytes = 40;
  s.reply_bytes = 4;
  s.device = compute("device", 2e6, 0.5, 2.0); // 2 MMAC/s: compute times in the ms range
  s.server = compute("server", 1e9, 10.0, 30.0);
  s.network.name = "test-net";
  s.network.uplink_bandwidth_bps = 250e3;
  s.network.downlink_bandwidth_bps = 1e6;
  s.network.latency_s = 0.005;
  s.network.radio = {0.1, 2e-8, 0.05, 1e-8, 0.001, 0.0, 0.0, 0.0, 0.0};
  s.arrival = Arrival::periodic;
  s.period_s = 1.0; // far longer than one inference: no queueing
  return s;
}

inline Network small_network()
{
  NetworkSpec spec = NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}}, 3);
  Network net(spec);
  net.initialise(5, 0.1, true);
  return net;
}

inline Dataset synthetic(int count)
{
  Dataset d;
  d.name = "synthetic";
  d.image_pixels = 784;
  d.input_width = 800;
  d.x = Eigen::MatrixXf::Zero(800, count);
  Rng rng(11);
  for (int i = 0; i < count; ++i) {
    for (int p = 0; p < 784; ++p)
      d.x(p, i) = float(rng.uniform());
    d.labels.push_back(std::uint8_t(i % 10));
  }
  return d;
}

inline void check_close(double got, double want)
{
  CHECK(std::abs(got - want) <= 1e-9 * std::max(1.0, std::abs(want)));
}

/// A threshold between the two middle values of `confidences` (half the samples on each side), and at least 1e-6
/// from every one of them: a batch-1 reference and the simulation's batched pass may differ in the last bits, so no
/// sample may sit on the threshold itself.
inline double median_gap_threshold(std::vector<double> confidences)
{
  std::sort(confidences.begin(), confidences.end());
  const std::size_t half = confidences.size() / 2;
  REQUIRE(half >= 1);
  const double below = confidences[half - 1], above = confidences[half];
  REQUIRE(above - below > 2e-6);
  return 0.5 * (below + above);
}

} // namespace scee::test
