#include "simulation.hpp"

#include "encoding.hpp"
#include "error.hpp"
#include "rng.hpp"
#include "trainer.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <memory>
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

namespace sg4 = simgrid::s4u;

namespace scee {

std::string to_string(AnsweredBy a)
{
  switch (a) {
  case AnsweredBy::edge_exit: return "edge_exit";
  case AnsweredBy::edge_final: return "edge_final";
  case AnsweredBy::server: return "server";
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

/// An offloaded activation on its way to the server (owned by the receiver once delivered).
struct Request {
  int device = 0;
  std::size_t record = 0;   ///< index into the records
  Activations activation;   ///< decoded, as the server sees it
  bool last_fragment = true;
};

/// The answer sent back to a device.
struct Reply {
  int prediction = 0;
};

struct Context {
  const Scenario& s;
  const Network& net;
  const Dataset& data;
  std::vector<SampleRecord>& records;
  std::vector<RadioMeter> radios;
  std::vector<double> busy_s; ///< per device compute time
  sg4::Mailbox* server_box = nullptr;
  int done = 0;
  const std::function<void(int)>* on_sample = nullptr;
};

std::int64_t message_bytes(const Scenario& s, std::int64_t payload) { return payload + s.header_bytes; }

void device_actor(Context& c, int d, std::vector<std::size_t> mine)
{
  const Scenario& s = c.s;
  const Network& net = c.net;
  const int L = net.depth();
  const int k = s.split_after;
  sg4::Mailbox* replies = sg4::Mailbox::by_name(fmt::format("reply-{}", d));
  RadioMeter& radio = c.radios[d];
  const std::vector<double> arrivals = arrival_times(s, d, int(mine.size()));
  const double active_w = s.device.pstates[s.device_pstate].active_power_w;
  double next_tx_allowed = 0; // duty-cycle limit
  double previous_finish = 0;

  for (std::size_t r = 0; r < mine.size(); ++r) {
    SampleRecord& rec = c.records[mine[r]];
    rec.arrival_s = s.arrival == Arrival::closed_loop ? (r == 0 ? 0.0 : previous_finish + s.think_time_s) : arrivals[r];
    if (sg4::Engine::get_clock() < rec.arrival_s)
      sg4::this_actor::sleep_until(rec.arrival_s);
    rec.start_s = sg4::Engine::get_clock();

    // The head, layer by layer, for real; simulated time advances by exactly the executed MACs.
    Activations a = c.data.x.col(rec.sample);
    bool answered = false;
    const double compute_start = sg4::Engine::get_clock();
    for (int j = 1; j <= k && !answered; ++j) {
      const auto macs = net.junction(j).cost().macs;
      sg4::this_actor::execute(double(macs));
      rec.edge_macs += macs;
      a = net.forward_range(j - 1, j, a);
      if (j < L && std::find(s.device_exits.begin(), s.device_exits.end(), j) != s.device_exits.end()) {
        const auto e = std::size_t(net.exit_after(j));
        const auto exit_macs = net.exit_head(e).cost().macs;
        sg4::this_actor::execute(double(exit_macs));
        rec.edge_macs += exit_macs;
        const Activations z = net.exit_logits(e, a);
        const Confidence conf = confidence(z.data(), net.classes());
        if (confident_enough(s.criterion, conf, s.threshold)) {
          rec.prediction = conf.prediction;
          rec.answered_by = AnsweredBy::edge_exit;
          rec.exit_layer = j;
          answered = true;
        }
      }
    }
    rec.edge_compute_s = sg4::Engine::get_clock() - compute_start;
    rec.edge_compute_energy_j = rec.edge_compute_s * active_w;
    c.busy_s[d] += rec.edge_compute_s;
    if (!answered && k == L) {
      rec.prediction = confidence(a.data(), net.classes()).prediction;
      rec.answered_by = AnsweredBy::edge_final;
      rec.exit_layer = L;
      answered = true;
    }

    if (!answered) {
      // Offload the real activation of layer k.
      const RadioEnergy before = radio.energy();
      if (sg4::Engine::get_clock() < next_tx_allowed)
        sg4::this_actor::sleep_until(next_tx_allowed);
      if (const double p = radio.promotion_needed(sg4::Engine::get_clock()); p > 0) {
        const double t0 = sg4::Engine::get_clock();
        sg4::this_actor::sleep_for(p);
        radio.promotion(t0, sg4::Engine::get_clock());
        rec.promotion_s = p;
      }
      const EncodedActivation enc = encode(a, s.encoding);
      const std::int64_t max_payload = s.network.max_payload_bytes > 0 ? s.network.max_payload_bytes : enc.payload_bytes;
      const std::int64_t fragments = std::max<std::int64_t>(1, (enc.payload_bytes + max_payload - 1) / max_payload);
      const double send_start = sg4::Engine::get_clock();
      std::int64_t left = enc.payload_bytes;
      for (std::int64_t f = 0; f < fragments; ++f) {
        const std::int64_t chunk = std::min(left, max_payload);
        left -= chunk;
        auto* req = new Request{d, mine[r], f + 1 == fragments ? enc.decoded : Activations(), f + 1 == fragments};
        const std::int64_t bytes = message_bytes(s, chunk);
        rec.bytes_up += bytes;
        c.server_box->put(req, std::uint64_t(bytes));
      }
      const double send_end = sg4::Engine::get_clock();
      rec.uplink_s = send_end - send_start;
      radio.transmit(send_start, send_end, 8.0 * double(rec.bytes_up));
      if (s.network.duty_cycle < 1.0)
        next_tx_allowed = send_end + (send_end - send_start) * (1.0 / s.network.duty_cycle - 1.0);
      const std::unique_ptr<Reply> reply(replies->get<Reply>());
      const double reply_end = sg4::Engine::get_clock();
      rec.bytes_down = message_bytes(s, s.reply_bytes);
      radio.receive(send_end, reply_end, 8.0 * double(rec.bytes_down));
      rec.response_wait_s = reply_end - send_end;
      rec.prediction = reply->prediction;
      rec.answered_by = AnsweredBy::server;
      rec.exit_layer = L;
      rec.server_macs = net.cost(k, L).macs;
      const RadioEnergy after = radio.energy();
      rec.radio_energy_j = (after.tx_j - before.tx_j) + (after.rx_j - before.rx_j) +
                           (after.promotion_j - before.promotion_j);
    }
    rec.finish_s = sg4::Engine::get_clock();
    previous_finish = rec.finish_s;
    ++c.done;
    if (c.on_sample && *c.on_sample)
      (*c.on_sample)(c.done);
  }
}

void server_worker(Context& c)
{
  const int L = c.net.depth();
  const int k = c.s.split_after;
  const double macs = double(c.net.cost(k, L).macs);
  for (;;) {
    std::unique_ptr<Request> req(c.server_box->get<Request>());
    if (!req->last_fragment)
      continue;
    sg4::this_actor::execute(macs);
    const Activations logits = c.net.forward_range(k, L, req->activation);
    auto* reply = new Reply{confidence(logits.data(), c.net.classes()).prediction};
    sg4::Mailbox::by_name(fmt::format("reply-{}", req->device))
        ->put_init(reply, std::uint64_t(message_bytes(c.s, c.s.reply_bytes)))
        ->detach();
  }
}

std::string wattage(const ComputeProfile& p, int cores)
{
  // One "Idle:Epsilon:AllCores" triple per pstate; Epsilon = Idle so that power grows linearly with busy cores.
  std::string out;
  for (const auto& ps : p.pstates) {
    const double all = ps.idle_power_w + cores * (ps.active_power_w - ps.idle_power_w);
    out += fmt::format("{}{}:{}:{}", out.empty() ? "" : ",", ps.idle_power_w, ps.idle_power_w, all);
  }
  return out;
}

sg4::Host* make_host(sg4::NetZone* zone, const std::string& name, const ComputeProfile& p, int cores, int pstate)
{
  std::vector<double> speeds;
  for (const auto& ps : p.pstates)
    speeds.push_back(ps.rate_macs_per_s); // 1 simulated flop = 1 MAC
  sg4::Host* h = zone->create_host(name, speeds)->set_core_count(cores);
  h->set_property("wattage_per_state", wattage(p, cores));
  h->set_property("wattage_off", "0");
  h->seal();
  h->set_pstate(pstate);
  return h;
}

} // namespace

SimulationResult simulate(const Scenario& s, const Network& net, const Dataset& data,
                          const std::function<void(int)>& on_sample)
{
  std::vector<std::string> args = {"scee", "--log=root.thresh:warning",
                                   "--cfg=network/model:" + s.network_model,
                                   std::string("--cfg=network/crosstraffic:") + (s.crosstraffic ? "1" : "0")};
  if (built_with_address_sanitizer)
    args.emplace_back("--cfg=contexts/factory:thread"); // ASan cannot follow SimGrid's default context switches
  std::vector<char*> argv;
  for (auto& a : args)
    argv.push_back(a.data());
  int argc = int(argv.size());
  sg4::Engine engine(&argc, argv.data());
  sg_host_energy_plugin_init();

  auto* world = sg4::create_full_zone("world");
  sg4::Host* server = make_host(world, "server", s.server, s.server_workers, s.server_pstate);
  std::vector<sg4::Host*> devices;
  for (int d = 0; d < s.device_count; ++d)
    devices.push_back(make_host(world, fmt::format("device-{}", d), s.device, 1, s.device_pstate));
  auto make_link = [&](const std::string& name, double bw) {
    return world->create_link(name, bw)
        ->set_latency(s.network.latency_s)
        ->set_sharing_policy(sg4::Link::SharingPolicy::SHARED)
        ->seal();
  };
  sg4::Link* shared_up = nullptr;
  sg4::Link* shared_down = nullptr;
  if (s.shared_medium) {
    shared_up = make_link("uplink", s.network.uplink_bandwidth_bps / 8.0);
    shared_down = make_link("downlink", s.network.downlink_bandwidth_bps / 8.0);
  }
  for (int d = 0; d < s.device_count; ++d) {
    sg4::Link* up = shared_up ? shared_up : make_link(fmt::format("uplink-{}", d), s.network.uplink_bandwidth_bps / 8.0);
    sg4::Link* down =
        shared_down ? shared_down : make_link(fmt::format("downlink-{}", d), s.network.downlink_bandwidth_bps / 8.0);
    world->add_route(devices[d]->get_netpoint(), server->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(up)},
                     false);
    world->add_route(server->get_netpoint(), devices[d]->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(down)},
                     false);
  }
  world->seal();

  SimulationResult result;
  result.samples.resize(std::size_t(data.count()));
  Context c{s, net, data, result.samples, {}, std::vector<double>(std::size_t(s.device_count), 0.0), nullptr, 0,
            &on_sample};
  c.radios.assign(std::size_t(s.device_count), RadioMeter(s.network.radio));
  c.server_box = sg4::Mailbox::by_name("server");

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
    auto actor = sg4::Actor::create(fmt::format("server-worker-{}", w), server, [&c] { server_worker(c); });
    actor->daemonize();
    if (w == 0)
      c.server_box->set_receiver(actor); // transfers start as soon as they are sent, queueing at the server
  }
  for (int d = 0; d < s.device_count; ++d)
    sg4::Actor::create(fmt::format("device-{}", d), devices[d],
                       [&c, d, list = mine[std::size_t(d)]] { device_actor(c, d, list); });

  engine.run();

  result.end_s = sg4::Engine::get_clock();
  for (int d = 0; d < s.device_count; ++d) {
    const double e = sg_host_get_consumed_energy(devices[d]);
    result.per_device_energy_j.push_back(e);
    result.device_energy_j += e;
    c.radios[d].finish(result.end_s);
    result.radio += c.radios[d].energy();
    result.device_compute_energy_j += c.busy_s[d] * s.device.pstates[s.device_pstate].active_power_w;
  }
  result.server_energy_j = sg_host_get_consumed_energy(server);
  result.final_output_accuracy = evaluate(net, data).final_accuracy;
  c.server_box->set_receiver(nullptr);
  return result;
}

} // namespace scee
