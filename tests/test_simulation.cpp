// Simulation against closed forms: one device without contention under CM02 gives exactly compute = MACs / rate,
// transfer = latency + bytes / bandwidth, energy = power x time. Each case creates one SimGrid engine, so each
// runs in its own process (doctest_discover_tests).
#include "encoding.hpp"
#include "metrics.hpp"
#include "profiles.hpp"
#include "radio.hpp"
#include "sim_test_helpers.hpp"
#include "simulation.hpp"
#include "trainer.hpp"

#include <algorithm>
#include <cmath>

#include <doctest/doctest.h>

using namespace scee;
using namespace scee::test;

TEST_CASE("simulation: one device, no contention, matches the closed form per sample")
{
  Scenario s = base_scenario();
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  // Threshold between the two middle exit confidences, so that both paths (exit and offload) are exercised.
  std::vector<double> conf;
  for (int i = 0; i < s.samples; ++i)
    conf.push_back(confidence(net.exit_logits(0, net.forward_range(0, 1, data.x.col(i))).data(), 10).max_prob);
  s.threshold = median_gap_threshold(conf);
  const SimulationResult r = simulate(s, net, data);
  REQUIRE(r.samples.size() == std::size_t(s.samples));

  const double rate = s.device.pstates[0].rate_macs_per_s;
  const double head_s = double(net.cost(0, 1).macs + net.exit_cost(0).macs) / rate;
  const std::int64_t up_bytes = s.header_bytes + payload_bytes(40, Encoding::fp32);
  const std::int64_t down_bytes = s.header_bytes + s.reply_bytes;
  const double up_s = s.network.latency_s + double(up_bytes) * 8 / s.network.uplink_bandwidth_bps;
  const double server_s = double(net.cost(1, 3).macs) / s.server.pstates[0].rate_macs_per_s;
  const double down_s = s.network.latency_s + double(down_bytes) * 8 / s.network.downlink_bandwidth_bps;
  int offloaded = 0, exited = 0;
  double busy = 0;
  for (const auto& x : r.samples) {
    CAPTURE(x.sample);
    check_close(x.arrival_s, 1.0 * x.sample);
    check_close(x.start_s, x.arrival_s);
    check_close(x.edge_compute_s, head_s);
    check_close(x.edge_compute_energy_j, head_s * 2.0);
    busy += head_s;
    // The prediction is the executed network's.
    Activations h = net.forward_range(0, 1, data.x.col(x.sample));
    const Confidence exit_conf = confidence(net.exit_logits(0, h).data(), 10);
    if (exit_conf.max_prob >= s.threshold) {
      ++exited;
      CHECK(x.answered_by == AnsweredBy::edge_exit);
      CHECK(x.prediction == exit_conf.prediction);
      CHECK(x.bytes_up == 0);
      check_close(x.latency_s(), head_s);
    } else {
      ++offloaded;
      CHECK(x.answered_by == AnsweredBy::server);
      CHECK(x.prediction == confidence(net.forward_range(1, 3, h).data(), 10).prediction);
      CHECK(x.bytes_up == up_bytes);
      CHECK(x.bytes_down == down_bytes);
      check_close(x.uplink_s, up_s);
      check_close(x.response_wait_s, server_s + down_s);
      check_close(x.latency_s(), head_s + up_s + server_s + down_s);
      const double radio =
          0.1 * up_s + 2e-8 * 8.0 * double(up_bytes) + 0.05 * (server_s + down_s) + 1e-8 * 8.0 * double(down_bytes);
      check_close(x.radio_energy_j, radio);
    }
  }
  CHECK(exited > 0); // the synthetic case exercises both paths
  CHECK(offloaded > 0);
  // Host energy plugin: idle power outside compute, active power during it, until the last answer.
  check_close(r.device_energy_j, 0.5 * (r.end_s - busy) + 2.0 * busy);
  check_close(r.device_compute_energy_j, 2.0 * busy);
  check_close(r.server_energy_j, 10.0 * (r.end_s - offloaded * server_s) + 30.0 * offloaded * server_s);
}

TEST_CASE("simulation: split 0 sends the encoded input, edge-only sends nothing")
{
  Scenario s = base_scenario();
  s.device_exits.clear();
  s.split_after = 0;
  s.encoding = Encoding::int8;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const SimulationResult r = simulate(s, net, data);
  for (const auto& x : r.samples) {
    CHECK(x.answered_by == AnsweredBy::server);
    CHECK(x.bytes_up == s.header_bytes + 800 + 4); // int8 values and an fp32 scale
    CHECK(x.edge_macs == 0);
    CHECK(x.server_macs == net.cost(0, 3).macs);
  }
}

TEST_CASE("simulation: edge only sends nothing and answers with the final output")
{
  Scenario s = base_scenario();
  s.device_exits.clear();
  s.split_after = 3;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const SimulationResult r = simulate(s, net, data);
  for (const auto& x : r.samples) {
    CHECK(x.answered_by == AnsweredBy::edge_final);
    CHECK(x.bytes_up == 0);
    CHECK(x.server_macs == 0);
    CHECK(x.prediction == confidence(net.forward_range(0, 3, data.x.col(x.sample)).data(), 10).prediction);
  }
  CHECK(r.server_energy_j == doctest::Approx(10.0 * r.end_s).epsilon(1e-12));
}

TEST_CASE("simulation: two devices sharing one uplink split its bandwidth")
{
  Scenario s = base_scenario();
  s.device_exits.clear();
  s.device_count = 2;
  s.server_workers = 2;
  s.arrival = Arrival::closed_loop; // both devices start at 0 and send at the same instant
  s.samples = 2;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const SimulationResult r = simulate(s, net, data);
  const double bytes = double(s.header_bytes + payload_bytes(40, Encoding::fp32));
  const double alone = s.network.latency_s + bytes * 8 / s.network.uplink_bandwidth_bps;
  const double shared = s.network.latency_s + 2 * bytes * 8 / s.network.uplink_bandwidth_bps;
  for (const auto& x : r.samples) {
    CHECK(x.uplink_s > alone);
    check_close(x.uplink_s, shared);
  }
}

TEST_CASE("radio meter: promotion, tail and idle follow the transfers")
{
  RadioModel m{1.0, 0.0, 0.5, 0.0, 0.01, 0.2, 1.2, 3.0, 0.8};
  RadioMeter r(m);
  CHECK(r.promotion_needed(1.0) == 0.2); // idle at start
  r.promotion(1.0, 1.2);
  r.transmit(1.2, 1.7, 1000);
  r.receive(1.7, 2.0, 100);
  CHECK(r.promotion_needed(4.0) == 0.0); // inside the 3 s tail
  CHECK(r.promotion_needed(5.5) == 0.2); // tail over
  r.transmit(4.0, 4.5, 1000);            // in the tail: 2 s of tail paid, no promotion
  r.finish(10.0);                        // last tail 3 s paid, then idle 4.5+3 .. 10
  const auto& e = r.energy();
  CHECK(e.promotion_j == doctest::Approx(0.24));
  CHECK(e.tx_j == doctest::Approx(1.0));
  CHECK(e.rx_j == doctest::Approx(0.15));
  CHECK(e.tail_j == doctest::Approx(0.8 * (2.0 + 3.0)));
  CHECK(e.idle_j == doctest::Approx(0.01 * (1.0 + 2.5)));
}

TEST_CASE("encoding: sizes and precision of fp32, fp16 and int8")
{
  Activations a(5, 1);
  a << 0.0f, 1.0f, 0.1f, 2.5f, 1000.1f;
  CHECK(payload_bytes(40, Encoding::fp32) == 160);
  CHECK(payload_bytes(40, Encoding::fp16) == 80);
  CHECK(payload_bytes(40, Encoding::int8) == 44);
  CHECK(encode(a, Encoding::fp32).decoded == a);
  const auto h = encode(a, Encoding::fp16).decoded;
  CHECK(h(1, 0) == 1.0f);
  CHECK(h(2, 0) == doctest::Approx(0.1).epsilon(1e-3));
  CHECK(h(2, 0) != 0.1f);
  const auto q = encode(a, Encoding::int8).decoded;
  CHECK(q(4, 0) == doctest::Approx(1000.1).epsilon(1e-6));
  CHECK(std::abs(q(1, 0) - 1.0f) <= 1000.1f / 127 / 2 + 1e-4);
}

TEST_CASE("metrics: nearest-rank percentiles")
{
  CHECK(percentile({5, 1, 4, 2, 3}, 0.5) == 3);
  CHECK(percentile({5, 1, 4, 2, 3}, 0.95) == 5);
  CHECK(percentile({5, 1, 4, 2, 3}, 0.2) == 1);
  CHECK(percentile({7}, 0.99) == 7);
}

namespace {

/// A network briefly trained on real MNIST, and the first test samples: enough for meaningful accuracies.
struct Trained {
  Network net;
  Dataset test;
};
Trained briefly_trained(int samples)
{
  NetworkSpec spec = NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}}, 1);
  Network net(spec);
  TrainConfig cfg;
  cfg.epochs = 3;
  cfg.train_samples = 6000;
  const Dataset train_set = load_dataset("mnist", Split::train, 800, cfg.train_samples);
  train(net, cfg, train_set, nullptr);
  return {net, load_dataset("mnist", Split::test, 800, samples)};
}

} // namespace

TEST_CASE("simulation: a threshold that never exits offloads everything and scores the final output")
{
  const Trained t = briefly_trained(500);
  Scenario s = base_scenario();
  s.samples = t.test.count();
  s.criterion = Criterion::entropy;
  s.threshold = 0.0; // entropy <= 0 needs a one-hot softmax: never
  const SimulationResult r = simulate(s, t.net, t.test);
  long correct = 0;
  for (const auto& x : r.samples) {
    CHECK(x.answered_by == AnsweredBy::server);
    CHECK(x.bytes_up > 0);
    correct += x.correct();
  }
  const Accuracy acc = evaluate(t.net, t.test);
  CHECK(double(correct) / s.samples == doctest::Approx(acc.final_accuracy).epsilon(1e-12));
  CHECK(acc.final_accuracy > 0.5); // a real, trained network
}

TEST_CASE("simulation: a threshold that always exits sends nothing and scores the exit head")
{
  const Trained t = briefly_trained(500);
  Scenario s = base_scenario();
  s.samples = t.test.count();
  s.criterion = Criterion::max_softmax;
  s.threshold = 0.0; // every softmax maximum is >= 0: always
  const SimulationResult r = simulate(s, t.net, t.test);
  long correct = 0;
  for (const auto& x : r.samples) {
    CHECK(x.answered_by == AnsweredBy::edge_exit);
    CHECK(x.bytes_up == 0);
    CHECK(x.server_macs == 0);
    correct += x.correct();
  }
  const Accuracy acc = evaluate(t.net, t.test);
  CHECK(double(correct) / s.samples == doctest::Approx(acc.exit_accuracy[0]).epsilon(1e-12));
  CHECK(r.server_energy_j == doctest::Approx(10.0 * r.end_s).epsilon(1e-12)); // the server only idled
}

TEST_CASE("simulation: each sample's exit decision and server answer are those of its own forward pass")
{
  // The simulation computes its samples batched ahead (infer_split); the reference here runs each sample alone
  // (batch 1, forward_range), encodes layer 1's activation as the device sends it, and runs the tail on the decoded
  // values. Kernels differ between batch sizes in the last bits, so samples within 1e-5 of the threshold or with
  // two logits within 1e-4 are not compared (a handful at most).
  const Trained t = briefly_trained(500);
  for (const Encoding enc : {Encoding::fp32, Encoding::fp16, Encoding::int8}) {
    CAPTURE(to_string(enc));
    Scenario s = base_scenario();
    s.samples = t.test.count();
    s.encoding = enc;
    std::vector<double> confidences; // threshold at the median exit confidence: half exit, half offload
    for (int i = 0; i < s.samples; ++i)
      confidences.push_back(
          confidence(t.net.exit_logits(0, t.net.forward_range(0, 1, t.test.x.col(i))).data(), 10).max_prob);
    s.threshold = percentile(confidences, 0.5);
    const SimulationResult r = simulate(s, t.net, t.test);
    int compared = 0, mismatched = 0, exited = 0;
    for (int i = 0; i < s.samples; ++i) {
      const Activations head = t.net.forward_range(0, 1, t.test.x.col(i));
      const Confidence conf = confidence(t.net.exit_logits(0, head).data(), 10);
      const Activations logits = t.net.forward_range(1, 3, encode(head, enc).decoded);
      Eigen::VectorXf sorted = logits.col(0);
      std::sort(sorted.data(), sorted.data() + sorted.size());
      if (std::abs(conf.max_prob - s.threshold) < 1e-5 || sorted[9] - sorted[8] < 1e-4f)
        continue;
      ++compared;
      const SampleRecord& x = r.samples[std::size_t(i)];
      if (conf.max_prob >= s.threshold) {
        ++exited;
        mismatched += x.answered_by != AnsweredBy::edge_exit || x.prediction != conf.prediction;
      } else {
        Eigen::Index best = 0;
        logits.col(0).maxCoeff(&best);
        mismatched += x.answered_by != AnsweredBy::server || x.prediction != int(best);
      }
    }
    CHECK(compared >= s.samples - 5);
    CHECK(exited > 50); // both paths are exercised
    CHECK(compared - exited > 50);
    CHECK(mismatched == 0);
  }
}

TEST_CASE("simulation: a CNN split after a sparse convolution matches the closed form per sample")
{
  // conv 5x5/2 1->4 (ReLU), max-pool 2 (ceil), conv 3x3 4->8 at channel fan-out 4 (ReLU), flatten, fc 10; an exit
  // branch (flatten, fc 10) after the pooling. Split after the sparse convolution: the device sends 8x4x4 floats.
  NetworkSpec spec;
  spec.input = {1, 28, 28};
  LayerSpec c1, p, c2, flat, fc;
  c1.kind = c2.kind = LayerKind::conv;
  c1.out = 4, c1.kernel = 5, c1.stride = 2, c1.fan_out = 4, c1.relu = true;
  p.kind = LayerKind::max_pool, p.kernel = 2, p.stride = 2, p.ceil_mode = true;
  c2.out = 8, c2.kernel = 3, c2.fan_out = 4, c2.relu = true;
  flat.kind = LayerKind::flatten;
  fc.out = 10, fc.fan_out = 10;
  spec.layers = {c1, p, c2, flat, fc};
  spec.exits = {{2, {flat, fc}}};
  Network net(spec);
  net.initialise(4, 0.05, true);
  REQUIRE(net.spec().shape(3) == Shape{8, 4, 4});

  Scenario s = base_scenario();
  s.split_after = 3;
  s.device_exits = {2};
  Dataset data = synthetic(s.samples);
  data.input_width = 784;
  data.x = Eigen::MatrixXf(data.x.topRows(784));
  std::vector<double> conf;
  for (int i = 0; i < s.samples; ++i)
    conf.push_back(confidence(net.exit_logits(0, net.forward_range(0, 2, data.x.col(i))).data(), 10).max_prob);
  s.threshold = median_gap_threshold(conf);
  const SimulationResult r = simulate(s, net, data);

  const double rate = s.device.pstates[0].rate_macs_per_s;
  const std::int64_t head_macs = net.cost(0, 3).macs + net.exit_cost(0).macs;
  CHECK(head_macs == 4 * 25 * 12 * 12 + 8 * 2 * 9 * 4 * 4 + 144 * 10); // two of four input channels per output
  const double head_s = double(head_macs) / rate;
  const double exit_s = double(net.cost(0, 2).macs + net.exit_cost(0).macs) / rate;
  const std::int64_t up_bytes = s.header_bytes + payload_bytes(128, Encoding::fp32);
  const double up_s = s.network.latency_s + double(up_bytes) * 8 / s.network.uplink_bandwidth_bps;
  const double server_s = double(net.cost(3, 5).macs) / s.server.pstates[0].rate_macs_per_s;
  const double down_s =
      s.network.latency_s + double(s.header_bytes + s.reply_bytes) * 8 / s.network.downlink_bandwidth_bps;
  int offloaded = 0, exited = 0;
  for (const auto& x : r.samples) {
    CAPTURE(x.sample);
    const Activations h = net.forward_range(0, 2, data.x.col(x.sample));
    const Confidence exit_conf = confidence(net.exit_logits(0, h).data(), 10);
    if (exit_conf.max_prob >= s.threshold) {
      ++exited;
      CHECK(x.answered_by == AnsweredBy::edge_exit);
      CHECK(x.prediction == exit_conf.prediction);
      check_close(x.latency_s(), exit_s);
      CHECK(x.edge_macs == net.cost(0, 2).macs + net.exit_cost(0).macs);
    } else {
      ++offloaded;
      CHECK(x.answered_by == AnsweredBy::server);
      CHECK(x.prediction == confidence(net.forward_range(3, 5, net.forward_range(2, 3, h)).data(), 10).prediction);
      CHECK(x.bytes_up == up_bytes);
      CHECK(x.edge_macs == head_macs);
      CHECK(x.server_macs == net.cost(3, 5).macs);
      check_close(x.edge_compute_s, head_s);
      check_close(x.latency_s(), head_s + up_s + server_s + down_s);
    }
  }
  CHECK(exited > 0);
  CHECK(offloaded > 0);
}

TEST_CASE("simulation: calibrated cost models on device and server match the closed form per sample")
{
  // Device: two pstates (2 and 1 MMAC/s), run at pstate 1 (half the first's rate): overheads double, memory does
  // not scale. Server: fp32 kernels, memory bound. Numbers hand-computed from docs/profiles.md, "Cost model".
  const auto device_json = nlohmann::json::parse(R"({
    "name": "cm-device", "kind": "device", "description": "d",
    "pstates": [{"rate_macs_per_s": 2e6, "idle_power_w": 0.5, "active_power_w": 2.0},
                {"rate_macs_per_s": 1e6, "idle_power_w": 0.3, "active_power_w": 1.5}],
    "cost_model": {"invoke_overhead_s": 1e-3, "layer_overhead_s": 1e-4, "memory_bandwidth_bytes_per_s": 1e6,
                   "default_format": "int8",
                   "formats": {"int8": {"fc_rate_macs_per_s": 1e6, "conv_rate_macs_per_s": 2e6,
                                        "fc_sparse_speedup": [[0.05, 2.0], [0.5, 1.5]],
                                        "conv_sparse_speedup": [[0.25, 1.0]]}}},
    "memory_bytes": 1048576, "confidence": "R", "sources": ["test"], "notes": "test"})");
  const auto server_json = nlohmann::json::parse(R"({
    "name": "cm-server", "kind": "server", "description": "s",
    "pstates": [{"rate_macs_per_s": 1e9, "idle_power_w": 10, "active_power_w": 30}],
    "cost_model": {"invoke_overhead_s": 5e-3, "layer_overhead_s": 1e-3, "memory_bandwidth_bytes_per_s": 1e5,
                   "default_format": "int8",
                   "formats": {"int8": {"fc_rate_macs_per_s": 1e8, "conv_rate_macs_per_s": 1e8,
                                        "fc_sparse_speedup": [[0.1, 1.0]], "conv_sparse_speedup": [[0.1, 1.0]]},
                               "fp32": {"fc_rate_macs_per_s": 1e7, "conv_rate_macs_per_s": 1e7,
                                        "fc_sparse_speedup": [[0.1, 1.0]], "conv_sparse_speedup": [[0.1, 1.0]]}}},
    "memory_bytes": 1048576, "confidence": "R", "sources": ["test"], "notes": "test"})");
  Scenario s = base_scenario();
  s.device = compute_profile_from_json(device_json, "device", "d.json", "$");
  s.device_pstate = 1;
  s.device_format = Encoding::int8;
  s.server = compute_profile_from_json(server_json, "server", "s.json", "$");
  s.server_format = Encoding::fp32;
  const Network net = small_network(); // 800 -> 40 (fan-out 2) -> 40 (9) -> 10, exit 40 -> 10 after layer 1
  const Dataset data = synthetic(s.samples);
  std::vector<double> conf;
  for (int i = 0; i < s.samples; ++i)
    conf.push_back(confidence(net.exit_logits(0, net.forward_range(0, 1, data.x.col(i))).data(), 10).max_prob);
  s.threshold = median_gap_threshold(conf);
  const SimulationResult r = simulate(s, net, data);

  // Device at pstate 1: invoke 2 ms; layer 1: 0.2 ms + max(32,000 MACs / (0.5 MMAC/s x speed-up 2) = 32 ms,
  // 5,800 B / 1 MB/s = 5.8 ms); exit: 0.2 ms + max(400 / 0.5e6 = 0.8 ms, 490 B / 1e6 = 0.49 ms).
  const double head_s = 2e-3 + (2e-4 + 0.032) + (2e-4 + 8e-4);
  // Server, fp32: invoke 5 ms; layer 2: 1 ms + max(1,600 / 1e7, 2,640 B / 1e5 B/s = 26.4 ms); layer 3: 1 ms +
  // max(400 / 1e7, 1,840 B / 1e5 = 18.4 ms).
  const double server_s = 5e-3 + (1e-3 + 0.0264) + (1e-3 + 0.0184);
  const std::int64_t up_bytes = s.header_bytes + payload_bytes(40, Encoding::fp32);
  const double up_s = s.network.latency_s + double(up_bytes) * 8 / s.network.uplink_bandwidth_bps;
  const double down_s =
      s.network.latency_s + double(s.header_bytes + s.reply_bytes) * 8 / s.network.downlink_bandwidth_bps;
  int offloaded = 0, exited = 0;
  for (const auto& x : r.samples) {
    CAPTURE(x.sample);
    check_close(x.edge_compute_s, head_s);
    check_close(x.edge_compute_energy_j, 1.5 * head_s); // pstate 1's active power, from the energy plugin
    if (x.answered_by == AnsweredBy::edge_exit) {
      ++exited;
      check_close(x.latency_s(), head_s);
    } else {
      ++offloaded;
      CHECK(x.answered_by == AnsweredBy::server);
      check_close(x.response_wait_s, server_s + down_s);
      check_close(x.latency_s(), head_s + up_s + server_s + down_s);
    }
  }
  CHECK(exited > 0);
  CHECK(offloaded > 0);
  const double busy = s.samples * head_s;
  check_close(r.device_energy_j, 0.3 * (r.end_s - busy) + 1.5 * busy);
  check_close(r.device_compute_energy_j, 1.5 * busy);
  check_close(r.server_energy_j, 10.0 * (r.end_s - offloaded * server_s) + 30.0 * offloaded * server_s);
}

TEST_CASE("simulation: a device sleeps after after_idle_s and a request that finds it asleep pays the wake-up")
{
  // Edge only (no radio), requests 1 s apart; the device computes 0.0215 s per sample (43,000 MACs at 2 MMAC/s).
  // After each answer it idles 0.2 s, sleeps until the next request, then wakes for 10 ms.
  Scenario s = base_scenario();
  s.device_exits.clear();
  s.split_after = 3;
  s.device_sleep = SleepState{"light", 0.01, 0.2, 0.01, 0.8};
  s.battery = Battery{0, 0, 1.0, 0.9, 0.1}; // 1 Wh, from 90% down to 10%: 2,880 J usable
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const SimulationResult r = simulate(s, net, data);
  const double compute_s = double(net.cost(0, 3).macs) / 2e6;
  double idle_s = 0, sleep_s = 0;
  for (const auto& x : r.samples) {
    CAPTURE(x.sample);
    check_close(x.edge_compute_s, compute_s);
    if (x.sample == 0) { // the first request arrives at t = 0: nothing to wake from
      CHECK(x.wake_s == 0);
      check_close(x.latency_s(), compute_s);
      continue;
    }
    const double previous_finish = 1.0 * (x.sample - 1) + (x.sample > 1 ? 0.01 : 0.0) + compute_s;
    check_close(x.wake_s, 0.01);
    check_close(x.start_s, x.arrival_s + 0.01);
    check_close(x.latency_s(), 0.01 + compute_s);
    idle_s += 0.2;
    sleep_s += x.arrival_s - (previous_finish + 0.2);
  }
  CHECK(r.wakeups == s.samples - 1);
  const double busy = s.samples * compute_s, waking = (s.samples - 1) * 0.01;
  check_close(r.device_sleep_energy_j, 0.01 * sleep_s);
  check_close(r.device_wake_energy_j, 0.8 * waking);
  check_close(r.device_compute_energy_j, 2.0 * busy);
  check_close(r.device_energy_j, 0.5 * idle_s + 0.01 * sleep_s + 0.8 * waking + 2.0 * busy);
  check_close(r.end_s, busy + idle_s + sleep_s + waking);

  // The battery columns: usable energy over the average power (host + radio), and that time's inferences.
  const nlohmann::ordered_json m = summarize(s, net, r);
  const double power_w = (r.device_energy_j + r.radio.total_j()) / r.end_s;
  check_close(m["battery_lifetime_s"].get<double>(), 2880.0 / power_w);
  check_close(m["inferences_per_charge"].get<double>(), 2880.0 / power_w * s.samples / r.end_s);
  check_close(m["wakeups_per_inference"].get<double>(), double(s.samples - 1) / s.samples);
  check_close(m["edge_idle_energy_per_inference_j"].get<double>(), 0.5 * idle_s / s.samples);
}

TEST_CASE("simulation: devices without samples idle for the whole run and change nothing else")
{
  // 12 samples on 20 devices: devices 12..19 get none. Each computes nothing and draws its idle power until the end.
  Scenario s = base_scenario();
  s.device_count = 20;
  s.shared_medium = false;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const SimulationResult r = simulate(s, net, data);
  REQUIRE(r.per_device_energy_j.size() == 20);
  for (int d = 12; d < 20; ++d)
    check_close(r.per_device_energy_j[std::size_t(d)], 0.5 * r.end_s);
  for (const auto& x : r.samples) {
    CHECK(x.device == x.sample);
    CHECK(x.answered_by != AnsweredBy::failed);
  }
}
