#include "simulation.hpp"

#include "encoding.hpp"
#include "error.hpp"
#include "inference.hpp"
#include "rng.hpp"

#include "faults.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <memory>
#include <simgrid/Exception.hpp>
#include <simgrid/kernel/ProfileBuilder.hpp>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>
#include <sys/resource.h>

namespace sg4 = simgrid::s4u;

namespace scee {

std::string to_string(AnsweredBy a)
{
  switch (a) {
  case AnsweredBy::edge_exit:
    return "edge_exit";
  case AnsweredBy::edge_final:
    return "edge_final";
  case AnsweredBy::server:
    return "server";
  case AnsweredBy::edge_fallback:
    return "edge_fallback";
  case AnsweredBy::failed:
    return "failed";
  }
  return "?";
}

std::vector<double> arrival_times(const Scenario& s, int device, int requests)
{
  std::vector<double> t;
  if (s.arrival == Arrival::closed_loop)
    return t;
  t.reserve(requests);
  if (s.arrival == Arrival::periodic) {
    // Devices are staggered across one period so that N devices do not all fire at once.
    const double phase = s.period_s * double(device) / double(s.device_count);
    for (int r = 0; r < requests; ++r)
      t.push_back(phase + s.period_s * r);
  } else {
    Rng rng(derive_seed(s.seed, 5000 + std::uint64_t(device)));
    double now = 0;
    for (int r = 0; r < requests; ++r) {
      now += rng.exponential(s.rate_per_s);
      t.push_back(now);
    }
  }
  return t;
}

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr bool built_with_address_sanitizer = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr bool built_with_address_sanitizer = true;
#else
constexpr bool built_with_address_sanitizer = false;
#endif
#else
constexpr bool built_with_address_sanitizer = false;
#endif

constexpr long actor_stack_kib = 512;

/// Refuses, with the real cause, a run whose actor stacks cannot fit the process's address-space limit (ulimit -v):
/// SimGrid would abort with "Failed to allocate stack" and a backtrace.
void check_stack_space(const Scenario& s, long actors)
{
  rlimit limit{};
  if (built_with_address_sanitizer || ::getrlimit(RLIMIT_AS, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY)
    return;
  const double need = double(actors) * double(actor_stack_kib + 4) * 1024.0; // stack and its guard page
  const double have = double(limit.rlim_cur);
  if (need > 0.75 * have) // (the rest is for the network, the data and SimGrid itself)
    throw InputError(fmt::format("{}: {} actors (the devices that have samples and the server workers) need {:.3g} "
                                 "GB of address space for their stacks ({} KiB each), more than 3/4 of this process's "
                                 "limit of {:.3g} GB (ulimit -v); raise the limit or lower devices.count",
                                 s.file, actors, need / 1e9, actor_stack_kib, have / 1e9));
}

/// A device's energy by state (energy plugin deltas over each interval) and its wake-ups.
struct DeviceEnergy {
  double compute_j = 0, sleep_j = 0, wake_j = 0;
  long wakeups = 0;
};

/// Executes `work` (seconds x the host's speed); work without any takes no simulated time.
void execute_work(double work)
{
  if (work > 0)
    sg4::this_actor::execute(work);
}

/// An offloaded activation on its way to the server (owned by the receiver once delivered). What the tail computes
/// on it is the point's inference, batched ahead (Context::inference): the message carries its size, not its values.
struct Request {
  int device = 0;
  std::size_t record = 0; ///< index into the records
  bool last_fragment = true;
};

/// The answer sent back to a device.
struct Reply {
  std::size_t record = 0; ///< which request it answers (a late answer to an earlier request is discarded)
  int prediction = 0;
};

struct Context {
  const Scenario& s;
  const Network& net;
  /// What the network computes for every sample, batched ahead of the events that use it: the device exits'
  /// confidences and, for an offloaded sample, the tail's prediction on the decoded activation.
  const SplitInference& inference;
  std::vector<SampleRecord>& records;
  std::vector<RadioMeter> radios = {};
  std::vector<DeviceEnergy> energy = {}; ///< per device, from the energy plugin
  // SimGrid work amounts (docs/simulation.md): per main layer on the device (index j), per exit branch, the
  // device's per-inference overhead, and one offloaded tail on the server (overhead included).
  std::vector<double> device_layer_work = {};
  std::vector<double> device_exit_work = {};
  double device_invoke_work = 0;
  double server_tail_work = 0;
  std::vector<std::int64_t> layer_macs = {}; ///< per main layer (index j), per sample
  std::vector<int> exit_slot = {};           ///< per main layer: its device exit in `inference`, or -1
  std::int64_t payload_bytes = 0;            ///< layer k's activation encoded: the payload of every offload
  int sleep_pstate = -1; ///< the devices' sleep pstate (the wake-up is the next one), when they sleep
  sg4::Mailbox* server_box = nullptr;
  std::vector<sg4::Mailbox*> reply_boxes = {}; ///< per device
  std::vector<char> answered = {};             ///< per record: has its answer (or its recorded failure)
  int done = 0;
  const std::function<void(int)>* on_sample = nullptr;
};

std::int64_t message_bytes(const Scenario& s, std::int64_t payload)
{
  return payload + s.header_bytes;
}

constexpr double no_deadline = std::numeric_limits<double>::infinity();

/// Waits for `comm` until `deadline` (simulated time; infinite = no limit). False on timeout (the comm is then
/// cancelled); a link or host failure throws simgrid::NetworkFailureException.
bool wait_until(const sg4::CommPtr& comm, double deadline)
{
  if (std::isinf(deadline)) {
    comm->wait();
    return true;
  }
  const double left = deadline - sg4::Engine::get_clock();
  try {
    if (left > 0) { // (wait_for with a negative timeout would wait forever)
      comm->wait_for(left);
      return true;
    }
  } catch (const simgrid::TimeoutException&) {
  }
  comm->cancel();
  return false;
}

/// What one offload attempt gave.
struct Outcome {
  bool answered = false;
  int prediction = 0;
  double send_start_s = 0, send_end_s = 0; ///< the transfers (promotion excluded)
};

/// One attempt: promotion if the radio is idle, every fragment sent, then the answer awaited; the attempt ends at
/// the answer, at the first link or server failure, or at the request timeout. Accounts bytes, radio energy and
/// times in the sample's record.
Outcome offload_once(Context& c, int d, std::size_t record, std::int64_t payload, RadioMeter& radio)
{
  const Scenario& s = c.s;
  SampleRecord& rec = c.records[record];
  Outcome out;
  const double start = sg4::Engine::get_clock();
  const double deadline = s.offload.request_timeout_s > 0 ? start + s.offload.request_timeout_s : no_deadline;
  if (const double p = radio.promotion_needed(start); p > 0) {
    sg4::this_actor::sleep_for(std::min(p, deadline - start));
    radio.promotion(start, sg4::Engine::get_clock());
    rec.promotion_s += sg4::Engine::get_clock() - start;
    if (sg4::Engine::get_clock() >= deadline) {
      ++rec.timeouts;
      return out;
    }
  }

  // Send every fragment; only the last carries the activation (the server answers when it has them all).
  const std::int64_t max_payload = s.network.max_payload_bytes > 0 ? s.network.max_payload_bytes : payload;
  const std::int64_t fragments = std::max<std::int64_t>(1, (payload + max_payload - 1) / max_payload);
  const double send_start = sg4::Engine::get_clock();
  std::int64_t left = payload;
  double sent_bytes = 0; // delivered messages only
  double tx_start = -1;  // when the radio started transmitting (a request to a failed server waits untransmitted)
  bool failed = false;
  for (std::int64_t f = 0; f < fragments && !failed; ++f) {
    const std::int64_t chunk = std::min(left, max_payload);
    left -= chunk;
    const bool last = f + 1 == fragments;
    auto req = std::make_unique<Request>(Request{d, record, last});
    const auto bytes = double(message_bytes(s, chunk));
    const sg4::CommPtr comm = c.server_box->put_async(req.get(), std::uint64_t(bytes));
    bool delivered = false;
    try {
      delivered = wait_until(comm, deadline);
      if (!delivered)
        ++rec.timeouts;
    } catch (const simgrid::NetworkFailureException&) {
      ++rec.link_failures;
    }
    if (tx_start < 0 && comm->get_start_time() >= send_start)
      tx_start = comm->get_start_time();
    if (delivered) {
      req.release(); // the server owns it
      sent_bytes += bytes;
    } else {
      failed = true;
    }
  }
  const double send_end = sg4::Engine::get_clock();
  out.send_start_s = send_start;
  out.send_end_s = send_end;
  rec.uplink_s += send_end - send_start;
  rec.bytes_up += std::int64_t(std::llround(sent_bytes));
  if (tx_start >= 0)
    radio.transmit(tx_start, send_end, 8.0 * sent_bytes);
  if (failed)
    return out;

  // Wait for the answer to this request; late answers to earlier (timed-out) requests are received and discarded.
  sg4::Mailbox* replies = c.reply_boxes[std::size_t(d)];
  const auto reply_bytes = message_bytes(s, s.reply_bytes);
  std::int64_t received = 0;
  for (;;) {
    Reply* p = nullptr;
    const sg4::CommPtr comm = replies->get_async<Reply>(&p);
    try {
      if (!wait_until(comm, deadline)) {
        ++rec.timeouts;
        break;
      }
    } catch (const simgrid::NetworkFailureException&) {
      ++rec.link_failures;
      break;
    }
    const std::unique_ptr<Reply> reply(p);
    received += reply_bytes;
    if (reply->record == record) {
      out.answered = true;
      out.prediction = reply->prediction;
      break;
    }
  }
  const double end = sg4::Engine::get_clock();
  rec.bytes_down += received;
  rec.response_wait_s += end - send_end;
  radio.receive(send_end, end, 8.0 * double(received));
  return out;
}

void device_actor(Context& c, int d, std::vector<std::size_t> mine)
{
  const Scenario& s = c.s;
  const Network& net = c.net;
  const int L = net.depth();
  const int k = s.split_after;
  RadioMeter& radio = c.radios[d];
  const std::vector<double> arrivals = arrival_times(s, d, int(mine.size()));
  sg4::Host* host = sg4::this_actor::get_host();
  double next_tx_allowed = 0; // duty-cycle limit
  double previous_finish = 0;

  for (std::size_t r = 0; r < mine.size(); ++r) {
    SampleRecord& rec = c.records[mine[r]];
    rec.arrival_s = s.arrival == Arrival::closed_loop ? (r == 0 ? 0.0 : previous_finish + s.think_time_s) : arrivals[r];
    const double idle_from = sg4::Engine::get_clock();
    if (s.device_sleep && rec.arrival_s - idle_from > s.device_sleep->after_idle_s) {
      // Idle for after_idle_s, asleep until the request arrives, then the wake-up before it can start.
      const SleepState& z = *s.device_sleep;
      sg4::this_actor::sleep_until(idle_from + z.after_idle_s);
      const double e0 = sg_host_get_consumed_energy(host);
      host->set_pstate(c.sleep_pstate);
      sg4::this_actor::sleep_until(rec.arrival_s);
      const double e1 = sg_host_get_consumed_energy(host);
      host->set_pstate(c.sleep_pstate + 1);
      sg4::this_actor::sleep_for(z.wake_s);
      const double e2 = sg_host_get_consumed_energy(host);
      host->set_pstate(s.device_pstate);
      DeviceEnergy& totals = c.energy[std::size_t(d)];
      totals.sleep_j += e1 - e0;
      totals.wake_j += e2 - e1;
      ++totals.wakeups;
      rec.wake_s = z.wake_s;
    } else if (idle_from < rec.arrival_s) {
      sg4::this_actor::sleep_until(rec.arrival_s);
    }
    rec.start_s = sg4::Engine::get_clock();

    // The head, layer by layer: simulated time advances by each executed layer's cost on this device, and each exit
    // decides on the confidence the network computed for this sample (c.inference, batched ahead).
    bool answered = false;
    int fallback_prediction = -1, fallback_layer = 0; // the deepest exit evaluated, for graceful degradation
    const double compute_start = sg4::Engine::get_clock();
    const double energy_start = sg_host_get_consumed_energy(host);
    if (k > 0)
      execute_work(c.device_invoke_work);
    for (int j = 1; j <= k && !answered; ++j) {
      execute_work(c.device_layer_work[std::size_t(j)]);
      rec.edge_macs += c.layer_macs[std::size_t(j)];
      if (const int slot = c.exit_slot[std::size_t(j)]; slot >= 0) {
        const auto e = std::size_t(net.exit_after(j));
        execute_work(c.device_exit_work[e]);
        rec.edge_macs += net.exit_cost(e).macs;
        const Confidence& conf = c.inference.exit(rec.sample, std::size_t(slot));
        fallback_prediction = conf.prediction;
        fallback_layer = j;
        if (confident_enough(s.criterion, conf, s.threshold)) {
          rec.prediction = conf.prediction;
          rec.answered_by = AnsweredBy::edge_exit;
          rec.exit_layer = j;
          answered = true;
        }
      }
    }
    rec.edge_compute_s = sg4::Engine::get_clock() - compute_start;
    rec.edge_compute_energy_j = sg_host_get_consumed_energy(host) - energy_start;
    c.energy[std::size_t(d)].compute_j += rec.edge_compute_energy_j;
    if (!answered && k == L) {
      rec.prediction = c.inference.final_output[std::size_t(rec.sample)].prediction;
      rec.answered_by = AnsweredBy::edge_final;
      rec.exit_layer = L;
      answered = true;
    }

    if (!answered) {
      // Offload the activation of layer k, retrying after failures as the policy says.
      const RadioEnergy before = radio.energy();
      for (;;) {
        ++rec.attempts;
        if (sg4::Engine::get_clock() < next_tx_allowed)
          sg4::this_actor::sleep_until(next_tx_allowed);
        const Outcome o = offload_once(c, d, mine[r], c.payload_bytes, radio);
        if (s.network.duty_cycle < 1.0)
          next_tx_allowed = o.send_end_s + (o.send_end_s - o.send_start_s) * (1.0 / s.network.duty_cycle - 1.0);
        if (o.answered) {
          rec.prediction = o.prediction;
          rec.answered_by = AnsweredBy::server;
          rec.exit_layer = L;
          rec.server_macs = net.cost(k, L).macs;
          break;
        }
        if (rec.attempts > s.offload.retries) {
          const bool degrade = s.offload.fallback == Fallback::device_exit && fallback_layer > 0;
          rec.prediction = degrade ? fallback_prediction : -1;
          rec.answered_by = degrade ? AnsweredBy::edge_fallback : AnsweredBy::failed;
          rec.exit_layer = degrade ? fallback_layer : 0;
          break;
        }
        if (s.offload.retry_backoff_s > 0)
          sg4::this_actor::sleep_for(s.offload.retry_backoff_s);
      }
      const RadioEnergy after = radio.energy();
      rec.radio_energy_j =
          (after.tx_j - before.tx_j) + (after.rx_j - before.rx_j) + (after.promotion_j - before.promotion_j);
    }
    rec.finish_s = sg4::Engine::get_clock();
    c.answered[mine[r]] = 1;
    previous_finish = rec.finish_s;
    ++c.done;
    if (c.on_sample && *c.on_sample)
      (*c.on_sample)(c.done);
  }
}

void server_worker(Context& c, int w)
{
  // A failed server loses what it holds: requests already received when it failed are dropped by the worker that
  // the restart creates (SimGrid restarts actors marked auto_restart when their host comes back).
  const double born_s = sg4::Engine::get_clock();
  if (w == 0)
    c.server_box->set_receiver(sg4::Actor::self()); // transfers start as soon as they are sent, queueing here
  for (;;) {
    Request* p = nullptr;
    const sg4::CommPtr comm = c.server_box->get_async<Request>(&p);
    try {
      comm->wait();
    } catch (const simgrid::NetworkFailureException&) {
      continue; // a transfer cut by a link outage: the device sees it too
    } catch (const simgrid::TimeoutException&) {
      continue; // the device gave up during the transfer (its request timeout)
    }
    const std::unique_ptr<Request> req(p);
    if (!req->last_fragment || comm->get_finish_time() < born_s)
      continue;
    execute_work(c.server_tail_work);
    auto* reply = new Reply{req->record, c.inference.tail_prediction[std::size_t(c.records[req->record].sample)]};
    // Detached with a clean function: SimGrid deletes a reply that is never received (a downlink outage, a device
    // that gave up, the end of the run).
    c.reply_boxes[std::size_t(req->device)]
        ->put_init(reply, std::uint64_t(message_bytes(c.s, c.s.reply_bytes)))
        ->detach([](void* payload) { delete static_cast<Reply*>(payload); });
  }
}

/// The SimGrid pstates of a host: the profile's, then (for a device that sleeps) a sleep state and a wake-up state
/// that draw a constant power and run nothing.
std::string wattage(const ComputeProfile& p, int cores, const std::optional<SleepState>& sleep)
{
  // One "Idle:Epsilon:AllCores" triple per pstate; Epsilon = Idle so that power grows linearly with busy cores.
  std::string out;
  for (const auto& ps : p.pstates) {
    const double all = ps.idle_power_w + cores * (ps.active_power_w - ps.idle_power_w);
    out += fmt::format("{}{}:{}:{}", out.empty() ? "" : ",", ps.idle_power_w, ps.idle_power_w, all);
  }
  if (sleep)
    out += fmt::format(",{0}:{0}:{0},{1}:{1}:{1}", sleep->power_w, sleep->wake_power_w);
  return out;
}

sg4::Host* make_host(sg4::NetZone* zone, const std::string& name, const ComputeProfile& p, int cores, int pstate,
                     const std::vector<Outage>& outages = {}, const std::optional<SleepState>& sleep = {})
{
  std::vector<double> speeds;
  for (const auto& ps : p.pstates)
    speeds.push_back(ps.rate_macs_per_s); // 1 simulated flop = 1 MAC
  if (sleep) // (nothing executes in these two; the first pstate's speed keeps SimGrid's speeds positive)
    speeds.insert(speeds.end(), 2, p.pstates.front().rate_macs_per_s);
  sg4::Host* h = zone->create_host(name, speeds)->set_core_count(cores);
  h->set_property("wattage_per_state", wattage(p, cores, sleep));
  h->set_property("wattage_off", "0");
  if (!outages.empty())
    h->set_state_profile(
        simgrid::kernel::profile::ProfileBuilder::from_string(name + "-state", state_profile_text(outages), -1));
  h->seal();
  h->set_pstate(pstate);
  return h;
}

} // namespace

SplitInference network_answers(const Scenario& s, const Network& net, const Dataset& data)
{
  std::vector<int> device_exits;
  for (const int j : s.device_exits)
    if (j <= s.split_after && j < net.depth())
      device_exits.push_back(j);
  Received received;
  if (s.encoding != Encoding::fp32)
    received = [&s](const Activations& a) { return encode(a, s.encoding).decoded; };
  return infer_split(net, data, s.split_after, device_exits, received);
}

SimulationResult simulate(const Scenario& s, const Network& net, const Dataset& data,
                          const std::function<void(int)>& on_sample)
{
  return simulate(s, net, data, network_answers(s, net, data), on_sample);
}

SimulationResult simulate(const Scenario& s, const Network& net, const Dataset& data, const SplitInference& inference,
                          const std::function<void(int)>& on_sample)
{
  if (inference.final_output.size() != std::size_t(data.count()))
    throw std::logic_error("simulate: the network's answers are for other samples");
  std::vector<std::string> args = {"scee", "--log=root.thresh:warning", "--cfg=network/model:" + s.network_model,
                                   std::string("--cfg=network/crosstraffic:") + (s.crosstraffic ? "1" : "0")};
  // Actor stacks: SimGrid's default 8 MiB of address space each exhausted an 8 GB limit at 1,000 devices. 512 KiB
  // holds the deepest use (Eigen's GEMM keeps blocks of up to 128 KiB on the stack); the sanitizer build keeps the
  // default, as AddressSanitizer's frames are larger.
  if (built_with_address_sanitizer)
    args.emplace_back("--cfg=contexts/factory:thread"); // ASan cannot follow SimGrid's default context switches
  else
    args.emplace_back(fmt::format("--cfg=contexts/stack-size:{}", actor_stack_kib));
  // Before SimGrid starts: one device actor per device that has samples, and the server's workers.
  check_stack_space(s, std::min<long>(s.device_count, data.count()) + s.server_workers);
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  int argc = int(argv.size());
  sg4::Engine engine(&argc, argv.data());
  sg_host_energy_plugin_init();

  // A star: each device reaches the server through its uplink (shared or its own) and hears back through its
  // downlink; the server adds no link. (A full zone's routing table is N x N: 800 MB at 10,000 devices.)
  auto* world = sg4::create_star_zone("world");
  sg4::Host* server = make_host(world, "server", s.server, s.server_workers, s.server_pstate, s.faults.server_outages);
  std::vector<sg4::Host*> devices;
  for (int d = 0; d < s.device_count; ++d)
    devices.push_back(make_host(world, fmt::format("device-{}", d), s.device, 1, s.device_pstate, {}, s.device_sleep));
  // Faults enter as SimGrid profiles: a link's state (outages) and bandwidth (factor steps), the server's state.
  using simgrid::kernel::profile::ProfileBuilder;
  auto make_link = [&](const std::string& name, double bw, const std::vector<Outage>& outages,
                       const std::vector<BandwidthStep>& steps) {
    sg4::Link* link = world->create_link(name, bw)
                          ->set_latency(s.network.latency_s)
                          ->set_sharing_policy(sg4::Link::SharingPolicy::SHARED);
    if (!outages.empty())
      link->set_state_profile(ProfileBuilder::from_string(name + "-state", state_profile_text(outages), -1));
    if (!steps.empty())
      link->set_bandwidth_profile(
          ProfileBuilder::from_string(name + "-bandwidth", bandwidth_profile_text(steps, bw), -1));
    return link->seal();
  };
  const Faults& faults = s.faults;
  auto uplink = [&](const std::string& name) {
    return make_link(name, s.network.uplink_bandwidth_bps / 8.0, faults.uplink_outages, faults.uplink_bandwidth);
  };
  auto downlink = [&](const std::string& name) {
    return make_link(name, s.network.downlink_bandwidth_bps / 8.0, faults.downlink_outages, faults.downlink_bandwidth);
  };
  sg4::Link* shared_up = nullptr;
  sg4::Link* shared_down = nullptr;
  if (s.shared_medium) {
    shared_up = uplink("uplink");
    shared_down = downlink("downlink");
  }
  for (int d = 0; d < s.device_count; ++d) {
    sg4::Link* up = shared_up ? shared_up : uplink(fmt::format("uplink-{}", d));
    sg4::Link* down = shared_down ? shared_down : downlink(fmt::format("downlink-{}", d));
    world->add_route(devices[d]->get_netpoint(), nullptr, nullptr, nullptr, {sg4::LinkInRoute(up)}, false);
    world->add_route(nullptr, devices[d]->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(down)}, false);
  }
  world->seal();

  SimulationResult result;
  result.samples.resize(std::size_t(data.count()));
  Context c{s, net, inference, result.samples};
  c.energy.assign(std::size_t(s.device_count), DeviceEnergy{});
  if (s.device_sleep)
    c.sleep_pstate = int(s.device.pstates.size());
  {
    const NetworkSpec& spec = net.spec();
    const HostCost dc = device_cost(s), sc = server_cost(s);
    c.device_layer_work.assign(std::size_t(net.depth()) + 1, 0.0);
    for (int j = 1; j <= net.depth(); ++j)
      c.device_layer_work[std::size_t(j)] = dc.range_work(spec, j - 1, j);
    for (std::size_t e = 0; e < spec.exits.size(); ++e)
      c.device_exit_work.push_back(dc.exit_work(spec, e));
    c.device_invoke_work = dc.invoke_work();
    c.server_tail_work = sc.invoke_work() + sc.range_work(spec, s.split_after, net.depth());
    c.layer_macs.assign(std::size_t(net.depth()) + 1, 0);
    c.exit_slot.assign(std::size_t(net.depth()) + 1, -1);
    for (int j = 1; j <= net.depth(); ++j)
      c.layer_macs[std::size_t(j)] = net.layer(j).cost().macs;
    for (std::size_t e = 0; e < inference.exit_layers.size(); ++e)
      c.exit_slot[std::size_t(inference.exit_layers[e])] = int(e);
    const int k = s.split_after;
    c.payload_bytes = payload_bytes(k == 0 ? spec.input.size() : net.layer(k).out_shape().size(), s.encoding);
  }
  c.answered.assign(result.samples.size(), 0);
  c.on_sample = &on_sample;
  c.radios.assign(std::size_t(s.device_count), RadioMeter(s.network.radio));
  c.server_box = sg4::Mailbox::by_name("server");
  for (int d = 0; d < s.device_count; ++d)
    c.reply_boxes.push_back(sg4::Mailbox::by_name(fmt::format("reply-{}", d)));
  if (!s.faults.server_outages.empty())
    sg4::Host::on_state_change_cb([&c, server](const sg4::Host& h) {
      if (&h == server && !h.is_on())
        c.server_box->set_receiver(nullptr); // until a restarted worker takes it again
    });

  // Samples are dealt round-robin: device d gets samples d, d + N, d + 2N, ...
  std::vector<std::vector<std::size_t>> mine(std::size_t(s.device_count));
  for (int i = 0; i < data.count(); ++i) {
    auto& rec = result.samples[std::size_t(i)];
    rec.sample = i;
    rec.device = i % s.device_count;
    rec.label = data.labels[std::size_t(i)];
    mine[std::size_t(rec.device)].push_back(std::size_t(i));
  }
  for (int w = 0; w < s.server_workers; ++w) {
    auto actor = sg4::Actor::create(fmt::format("server-worker-{}", w), server, [&c, w] { server_worker(c, w); });
    actor->daemonize(); // (before auto_restart, so that the restarted actor is a daemon too)
    actor->set_auto_restart(true);
  }
  // A device without samples (more devices than samples) gets no actor: its host idles, as the energy says.
  for (int d = 0; d < s.device_count; ++d)
    if (!mine[std::size_t(d)].empty())
      sg4::Actor::create(fmt::format("device-{}", d), devices[d],
                         [&c, d, list = mine[std::size_t(d)]] { device_actor(c, d, list); });

  engine.run();

  result.end_s = sg4::Engine::get_clock();
  // No sample disappears: the engine stops when no actor can make progress, and a sample still waiting then means
  // a deadlock (it cannot happen with valid scenarios; a run that hid one would report made-up metrics).
  const auto unanswered = std::count(c.answered.begin(), c.answered.end(), char(0));
  if (unanswered > 0)
    throw InputError(fmt::format("{}: the simulation stopped at t = {} s with {} of {} samples still unanswered (no "
                                 "actor could make progress: a SimGrid deadlock); check the workload, network and "
                                 "fault values",
                                 s.file, result.end_s, unanswered, result.samples.size()));
  for (int d = 0; d < s.device_count; ++d) {
    const double e = sg_host_get_consumed_energy(devices[d]);
    result.per_device_energy_j.push_back(e);
    result.device_energy_j += e;
    c.radios[d].finish(result.end_s);
    result.radio += c.radios[d].energy();
    result.per_device_radio_j.push_back(c.radios[d].energy().total_j());
    const DeviceEnergy& totals = c.energy[std::size_t(d)];
    result.device_compute_energy_j += totals.compute_j;
    result.device_sleep_energy_j += totals.sleep_j;
    result.device_wake_energy_j += totals.wake_j;
    result.wakeups += totals.wakeups;
  }
  result.server_energy_j = sg_host_get_consumed_energy(server);
  long correct = 0;
  for (int i = 0; i < data.count(); ++i)
    correct += inference.final_output[std::size_t(i)].prediction == data.labels[std::size_t(i)];
  result.final_output_accuracy = double(correct) / double(data.count());
  c.server_box->set_receiver(nullptr);
  return result;
}

} // namespace scee
