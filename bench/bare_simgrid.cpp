// The bare SimGrid program of issue 6: the same simulated activities as a `scee run` (the same executions of the same
// MAC counts on the same hosts, the same transfers of the same byte sizes over the same links, in the same order per
// device), with no neural network and no bookkeeping. Its input is written by bench/replay_from_run.py from the run's
// per-sample trace; the program checks that every sample finishes at the simulated time scee recorded, and prints one
// JSON line with the wall and CPU time of the simulation (engine creation to the end of the run).
//
//   bare_simgrid REPLAY.json [--energy]     (--energy: load SimGrid's host energy plugin, as scee does)
#include <simgrid/plugins/energy.h>
#include <simgrid/s4u.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace sg4 = simgrid::s4u;

namespace {

struct Sample {
  int device = 0;
  double arrival_s = 0;
  std::vector<double> executions_macs;
  double promotion_s = 0;
  std::vector<double> uplink_messages_bytes; // empty: answered on the device
  double server_macs = 0;
  double expected_finish_s = 0;
  double finish_s = 0;
};

/// What travels to the server: who asked, and whether this is the request's last message.
struct Request {
  int device = 0;
  bool last = true;
  double macs = 0;
};

struct Replay {
  std::vector<Sample> samples;
  std::vector<sg4::Mailbox*> reply_boxes;
  sg4::Mailbox* server_box = nullptr;
  double reply_bytes = 0;
};

void device(Replay& r, const std::vector<std::size_t>& mine, int d)
{
  for (const std::size_t i : mine) {
    Sample& s = r.samples[i];
    if (sg4::Engine::get_clock() < s.arrival_s)
      sg4::this_actor::sleep_until(s.arrival_s);
    for (const double macs : s.executions_macs)
      sg4::this_actor::execute(macs);
    if (!s.uplink_messages_bytes.empty()) {
      if (s.promotion_s > 0)
        sg4::this_actor::sleep_for(s.promotion_s);
      for (std::size_t f = 0; f < s.uplink_messages_bytes.size(); ++f) {
        const bool last = f + 1 == s.uplink_messages_bytes.size();
        r.server_box->put(new Request{d, last, s.server_macs}, std::uint64_t(s.uplink_messages_bytes[f]));
      }
      delete r.reply_boxes[std::size_t(d)]->get<int>();
    }
    s.finish_s = sg4::Engine::get_clock();
  }
}

void server_worker(Replay& r)
{
  for (;;) {
    const std::unique_ptr<Request> req(r.server_box->get<Request>());
    if (!req->last)
      continue;
    sg4::this_actor::execute(req->macs);
    r.reply_boxes[std::size_t(req->device)]->put_init(new int(0), std::uint64_t(r.reply_bytes))->detach();
  }
}

} // namespace

int main(int argc, char** argv)
{
  if (argc < 2) {
    std::fprintf(stderr, "usage: bare_simgrid REPLAY.json [--energy]\n");
    return 2;
  }
  const bool energy = argc > 2 && std::string(argv[2]) == "--energy";
  nlohmann::json in;
  std::ifstream(argv[1]) >> in;
  Replay r;
  for (const auto& x : in["samples"])
    r.samples.push_back({x["device"].get<int>(), x["arrival_s"].get<double>(),
                         x["executions_macs"].get<std::vector<double>>(), x["promotion_s"].get<double>(),
                         x["uplink_messages_bytes"].get<std::vector<double>>(), x["server_macs"].get<double>(),
                         x["finish_s"].get<double>(), 0.0});
  r.reply_bytes = in["reply_message_bytes"].get<double>();
  const int devices = in["device_count"].get<int>(), workers = in["server_workers"].get<int>();

  const auto start = std::chrono::steady_clock::now();
  const std::clock_t cpu_start = std::clock();
  std::vector<std::string> args = {
      "bare_simgrid", "--log=root.thresh:warning", "--cfg=network/model:" + in["network_model"].get<std::string>(),
      std::string("--cfg=network/crosstraffic:") + (in["crosstraffic"].get<bool>() ? "1" : "0")};
  std::vector<char*> engine_argv;
  for (auto& a : args)
    engine_argv.push_back(a.data());
  int engine_argc = int(engine_argv.size());
  sg4::Engine engine(&engine_argc, engine_argv.data());
  if (energy)
    sg_host_energy_plugin_init();

  // The platform of sim/simulation.cpp: one full zone, a server host, one host per device, an uplink and a downlink
  // (one shared pair, or one pair per device).
  auto* world = sg4::create_full_zone("world");
  auto host = [&](const std::string& name, double speed, int cores, const std::string& wattage) {
    sg4::Host* h = world->create_host(name, speed)->set_core_count(cores);
    if (energy) {
      h->set_property("wattage_per_state", wattage);
      h->set_property("wattage_off", "0");
    }
    return h->seal();
  };
  sg4::Host* server =
      host("server", in["server_speed_macs_per_s"].get<double>(), workers, in["server_wattage"].get<std::string>());
  std::vector<sg4::Host*> hosts;
  for (int d = 0; d < devices; ++d)
    hosts.push_back(host("device-" + std::to_string(d), in["device_speed_macs_per_s"].get<double>(), 1,
                         in["device_wattage"].get<std::string>()));
  auto link = [&](const std::string& name, double bandwidth) {
    return world->create_link(name, bandwidth)
        ->set_latency(in["latency_s"].get<double>())
        ->set_sharing_policy(sg4::Link::SharingPolicy::SHARED)
        ->seal();
  };
  const double up_bw = in["uplink_bytes_per_s"].get<double>(), down_bw = in["downlink_bytes_per_s"].get<double>();
  const bool shared = in["shared_medium"].get<bool>();
  sg4::Link* shared_up = shared ? link("uplink", up_bw) : nullptr;
  sg4::Link* shared_down = shared ? link("downlink", down_bw) : nullptr;
  for (int d = 0; d < devices; ++d) {
    sg4::Link* up = shared ? shared_up : link("uplink-" + std::to_string(d), up_bw);
    sg4::Link* down = shared ? shared_down : link("downlink-" + std::to_string(d), down_bw);
    world->add_route(hosts[d]->get_netpoint(), server->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(up)}, false);
    world->add_route(server->get_netpoint(), hosts[d]->get_netpoint(), nullptr, nullptr, {sg4::LinkInRoute(down)},
                     false);
  }
  world->seal();

  r.server_box = sg4::Mailbox::by_name("server");
  for (int d = 0; d < devices; ++d)
    r.reply_boxes.push_back(sg4::Mailbox::by_name("reply-" + std::to_string(d)));
  std::vector<std::vector<std::size_t>> mine(static_cast<std::size_t>(devices));
  for (std::size_t i = 0; i < r.samples.size(); ++i)
    mine[std::size_t(r.samples[i].device)].push_back(i);
  for (int w = 0; w < workers; ++w) {
    auto actor = sg4::Actor::create("server-worker-" + std::to_string(w), server, [&r] { server_worker(r); });
    actor->daemonize();
    if (w == 0)
      r.server_box->set_receiver(actor); // as scee: transfers start when sent and queue at the server
  }
  for (int d = 0; d < devices; ++d)
    sg4::Actor::create("device-" + std::to_string(d), hosts[d], [&r, &mine, d] { device(r, mine[std::size_t(d)], d); });
  engine.run();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu_s = double(std::clock() - cpu_start) / CLOCKS_PER_SEC;

  double max_error_s = 0;
  for (const auto& s : r.samples)
    max_error_s = std::max(max_error_s, std::abs(s.finish_s - s.expected_finish_s));
  nlohmann::json out = {{"samples", r.samples.size()},
                        {"devices", devices},
                        {"energy_plugin", energy},
                        {"wall_s", wall_s},
                        {"cpu_s", cpu_s},
                        {"simulated_end_s", sg4::Engine::get_clock()},
                        {"max_finish_time_difference_s", max_error_s}};
  std::printf("%s\n", out.dump().c_str());
  r.server_box->set_receiver(nullptr);
  return max_error_s <= 1e-9 ? 0 : 1;
}
