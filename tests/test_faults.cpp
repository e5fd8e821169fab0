// Faults of the simulated system against hand-computed expectations: link outages (SimGrid state profiles) cut a
// transfer at the outage's start and refuse new ones, bandwidth steps (bandwidth profiles) slow the rest of a
// transfer, a failed server (host state profile) loses what it holds and comes back, and the device policy (timeout,
// retries with backoff, fallback to its deepest exit) decides every sample's end. One engine per process: each case
// runs in its own process (doctest_discover_tests).
//
// The platform (sim_test_helpers.hpp): head = 2,000 MACs at 2 MMAC/s = 1 ms; request = 40 + 160 bytes over
// 250 kbit/s + 5 ms = 11.4 ms (5 ms latency, then 6.4 ms of data); reply = 44 bytes over 1 Mbit/s + 5 ms.
#include "encoding.hpp"
#include "metrics.hpp"
#include "sim_test_helpers.hpp"
#include "simulation.hpp"

#include <doctest/doctest.h>
#include <limits>

using namespace scee;
using namespace scee::test;

namespace {

constexpr double inf = std::numeric_limits<double>::infinity();

struct Times {
  double head_s, up_s, up_data_s, down_s, down_data_s, server_s;
};

Times times(const Scenario& s, const Network& net)
{
  Times t{};
  t.head_s = double(net.cost(0, 1).macs + net.exit_cost(0).macs) / s.device.pstates[0].rate_macs_per_s;
  t.up_data_s = double(s.header_bytes + payload_bytes(40, Encoding::fp32)) * 8 / s.network.uplink_bandwidth_bps;
  t.up_s = s.network.latency_s + t.up_data_s;
  t.down_data_s = double(s.header_bytes + s.reply_bytes) * 8 / s.network.downlink_bandwidth_bps;
  t.down_s = s.network.latency_s + t.down_data_s;
  t.server_s = double(net.cost(1, 3).macs) / s.server.pstates[0].rate_macs_per_s;
  return t;
}

/// Never confident (entropy <= 0 needs a one-hot softmax): every sample is offloaded, and the exit after layer 1
/// is evaluated, so a fallback has an answer.
Scenario always_offload(int samples)
{
  Scenario s = base_scenario();
  s.samples = samples;
  s.criterion = Criterion::entropy;
  s.threshold = 0.0;
  return s;
}

int exit_prediction(const Network& net, const Dataset& data, int i)
{
  return confidence(net.exit_logits(0, net.forward_range(0, 1, data.x.col(i))).data(), 10).prediction;
}

int final_prediction(const Network& net, const Dataset& data, int i)
{
  return confidence(net.forward_range(0, 3, data.x.col(i)).data(), 10).prediction;
}

void check_normal(const SampleRecord& x, const Times& t, const Network& net, const Dataset& data)
{
  CAPTURE(x.sample);
  CHECK(x.answered_by == AnsweredBy::server);
  CHECK(x.attempts == 1);
  CHECK(x.prediction == final_prediction(net, data, x.sample));
  check_close(x.latency_s(), t.head_s + t.up_s + t.server_s + t.down_s);
}

} // namespace

TEST_CASE("faults: an uplink outage cuts the transfer in flight and refuses new ones; the device answers with its exit")
{
  Scenario s = always_offload(6);
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const Times t = times(s, net);
  const double cut = 2 + t.head_s + s.network.latency_s + t.up_data_s / 2; // halfway through sample 2's data
  s.faults.uplink_outages = {{cut, 1.5}};                                  // sample 3 sends inside it
  const SimulationResult r = simulate(s, net, data);
  for (int i : {0, 1, 4, 5})
    check_normal(r.samples[std::size_t(i)], t, net, data);
  for (int i : {2, 3}) {
    const SampleRecord& x = r.samples[std::size_t(i)];
    CAPTURE(i);
    CHECK(x.answered_by == AnsweredBy::edge_fallback);
    CHECK(x.prediction == exit_prediction(net, data, i));
    CHECK(x.exit_layer == 1);
    CHECK(x.attempts == 1);
    CHECK(x.link_failures == 1);
    CHECK(x.timeouts == 0);
    CHECK(x.bytes_up == 0); // nothing delivered
    CHECK(x.bytes_down == 0);
    CHECK(x.server_macs == 0);
  }
  check_close(r.samples[2].finish_s, cut);
  check_close(r.samples[2].uplink_s, cut - (2 + t.head_s));
  check_close(r.samples[2].radio_energy_j, 0.1 * (cut - (2 + t.head_s))); // transmitting until the cut
  check_close(r.samples[3].finish_s, 3 + t.head_s);                       // refused at once
  check_close(r.samples[3].radio_energy_j, 0.0);
  const auto summary = summarize(s, net, r);
  CHECK(summary["fallback_rate"].get<double>() == doctest::Approx(2.0 / 6));
  CHECK(summary["failure_rate"].get<double>() == 0.0);
  CHECK(summary["offload_rate"].get<double>() == doctest::Approx(4.0 / 6));
  CHECK(summary["link_failures_per_inference"].get<double>() == doctest::Approx(2.0 / 6));
}

TEST_CASE("faults: a downlink outage loses an answer; the retry after the backoff succeeds")
{
  Scenario s = always_offload(3);
  s.offload.retries = 1;
  s.offload.retry_backoff_s = 0.2;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const Times t = times(s, net);
  const double reply_start = 1 + t.head_s + t.up_s + t.server_s;
  const double cut = reply_start + s.network.latency_s + t.down_data_s / 2;
  s.faults.downlink_outages = {{cut, 0.1}}; // over before the retry
  const SimulationResult r = simulate(s, net, data);
  check_normal(r.samples[0], t, net, data);
  check_normal(r.samples[2], t, net, data);
  const SampleRecord& x = r.samples[1];
  CHECK(x.answered_by == AnsweredBy::server);
  CHECK(x.prediction == final_prediction(net, data, 1));
  CHECK(x.attempts == 2);
  CHECK(x.link_failures == 1);
  check_close(x.finish_s, cut + 0.2 + t.up_s + t.server_s + t.down_s);
  CHECK(x.bytes_up == 2 * 200);
  CHECK(x.bytes_down == 44); // the lost answer never arrived
  check_close(x.uplink_s, 2 * t.up_s);
  check_close(x.response_wait_s, (cut - (1 + t.head_s + t.up_s)) + t.server_s + t.down_s);
  const auto summary = summarize(s, net, r);
  CHECK(summary["retries_per_inference"].get<double>() == doctest::Approx(1.0 / 3));
  CHECK(summary["fallback_rate"].get<double>() == 0.0);
}

TEST_CASE("faults: a bandwidth step halves the rest of a transfer, and a later step restores it")
{
  Scenario s = always_offload(2);
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const Times t = times(s, net);
  s.faults.uplink_bandwidth = {{t.head_s + s.network.latency_s + t.up_data_s / 2, 0.5}, {0.5, 1.0}};
  const SimulationResult r = simulate(s, net, data);
  // Half the data at full speed, the other half at half speed: 0.5 + 1 data times.
  check_close(r.samples[0].uplink_s, s.network.latency_s + 1.5 * t.up_data_s);
  check_close(r.samples[0].latency_s(), t.head_s + s.network.latency_s + 1.5 * t.up_data_s + t.server_s + t.down_s);
  check_normal(r.samples[1], t, net, data);
}

TEST_CASE("faults: a failed server loses the request it computes, then holds new ones until it is back")
{
  Scenario s = always_offload(4);
  s.server = compute("server", 1e3, 10.0, 30.0); // 760 MACs: 0.76 s per request, long enough to fail inside
  s.offload.request_timeout_s = 0.9;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const Times t = times(s, net);
  const double down = 1 + t.head_s + t.up_s + 0.3, back = down + 0.8; // back 0.1 s + up_s after sample 2 sends
  s.faults.server_outages = {{down, back - down}};
  const SimulationResult r = simulate(s, net, data);
  check_normal(r.samples[0], t, net, data);
  check_normal(r.samples[3], t, net, data);
  const SampleRecord& lost = r.samples[1];
  CHECK(lost.answered_by == AnsweredBy::edge_fallback);
  CHECK(lost.prediction == exit_prediction(net, data, 1));
  CHECK(lost.timeouts == 1);
  CHECK(lost.link_failures == 0);
  CHECK(lost.bytes_up == 200); // delivered, then lost with the server
  check_close(lost.finish_s, 1 + t.head_s + 0.9);
  const SampleRecord& held = r.samples[2]; // sent while the server is down: transferred when it is back
  CHECK(held.answered_by == AnsweredBy::server);
  CHECK(held.prediction == final_prediction(net, data, 2));
  CHECK(held.timeouts == 0);
  check_close(held.uplink_s, back + t.up_s - (2 + t.head_s));
  check_close(held.finish_s, back + t.up_s + t.server_s + t.down_s);
  check_close(held.radio_energy_j, 0.1 * t.up_s + 2e-8 * 8 * 200 + 0.05 * (t.server_s + t.down_s) + 1e-8 * 8 * 44);
  // The host energy plugin: nothing while off; busy for three whole requests and 0.3 s of the lost one.
  const double busy = 3 * t.server_s + 0.3;
  check_close(r.server_energy_j, 10.0 * (r.end_s - 0.8 - busy) + 30.0 * busy);
}

TEST_CASE("faults: with fallback none, or without a device exit, a failed offload is a recorded failure")
{
  Scenario s = always_offload(3);
  s.offload.fallback = Fallback::none;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const Times t = times(s, net);
  s.faults.uplink_outages = {{0.5, inf}}; // down until the end
  const SimulationResult r = simulate(s, net, data);
  check_normal(r.samples[0], t, net, data);
  for (int i : {1, 2}) {
    const SampleRecord& x = r.samples[std::size_t(i)];
    CHECK(x.answered_by == AnsweredBy::failed);
    CHECK(x.prediction == -1);
    CHECK(!x.correct());
    CHECK(x.exit_layer == 0);
    check_close(x.finish_s, i + t.head_s);
  }
  const auto summary = summarize(s, net, r);
  CHECK(summary["failure_rate"].get<double>() == doctest::Approx(2.0 / 3));
  CHECK(summary["accuracy"].get<double>() == doctest::Approx(r.samples[0].correct() / 3.0));
  CHECK(summary["answered_accuracy"].get<double>() == double(r.samples[0].correct()));
  CHECK(summary["samples"].get<int>() == 3); // none disappears
}

TEST_CASE("faults: timeouts on a crawling uplink, retried, and no exit to fall back on")
{
  Scenario s = always_offload(1);
  s.device_exits.clear(); // no exit evaluated on the device: nothing to fall back on
  s.offload.request_timeout_s = 0.5;
  s.offload.retries = 1;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  s.faults.uplink_bandwidth = {{0.0, 0.001}}; // 6.4 s of data: every attempt times out while sending
  const SimulationResult r = simulate(s, net, data);
  const SampleRecord& x = r.samples[0];
  const double head_s = double(net.cost(0, 1).macs) / s.device.pstates[0].rate_macs_per_s;
  CHECK(x.answered_by == AnsweredBy::failed);
  CHECK(x.attempts == 2);
  CHECK(x.timeouts == 2);
  CHECK(x.bytes_up == 0);
  check_close(x.finish_s, head_s + 2 * 0.5);
  check_close(x.uplink_s, 2 * 0.5);
  check_close(x.radio_energy_j, 0.1 * 2 * 0.5); // transmitting, in vain, for both attempts
}

TEST_CASE("faults: a late answer to a timed-out attempt answers the sample; stale answers are discarded")
{
  Scenario s = always_offload(2);
  s.period_s = 2.0;
  s.server = compute("server", 1e3, 10.0, 30.0); // 0.76 s per request, longer than the timeout
  s.offload.request_timeout_s = 0.5;
  s.offload.retries = 1;
  const Network net = small_network();
  const Dataset data = synthetic(s.samples);
  const Times t = times(s, net);
  const SimulationResult r = simulate(s, net, data);
  for (int i : {0, 1}) {
    const SampleRecord& x = r.samples[std::size_t(i)];
    CAPTURE(i);
    CHECK(x.answered_by == AnsweredBy::server);
    CHECK(x.prediction == final_prediction(net, data, i));
    CHECK(x.attempts == 2);
    CHECK(x.timeouts == 1);
    CHECK(x.bytes_up == 2 * 200);
    // The first attempt's answer, after 0.76 s of server time, arrives during the second attempt.
    check_close(x.latency_s(), t.head_s + t.up_s + t.server_s + t.down_s);
  }
  CHECK(r.samples[0].bytes_down == 44);
  CHECK(r.samples[1].bytes_down == 2 * 44); // sample 0's second answer arrived too, and was discarded
}
