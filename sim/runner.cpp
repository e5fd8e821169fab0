#include "runner.hpp"

#include "dataset.hpp"
#include "error.hpp"
#include "metrics.hpp"
#include "model_cache.hpp"
#include "progress.hpp"
#include "trainer.hpp"

#include <fmt/format.h>
#include <memory>

namespace scee {

RunOutput run_scenario(Scenario s, bool quiet)
{
  const ResolvedModel m = obtain_model(s, quiet);
  const Network& net = m.model.network;
  check_against_model(s, net.spec());
  if (s.dataset.empty())
    s.dataset = m.model.training.dataset;
  const Dataset& data = test_samples(s.dataset, int(net.spec().input.size()), s.samples); // loaded once per process
  if (data.count() < s.samples)
    throw InputError(fmt::format("{}: $.dataset.samples: {} requested but the test split has {}", s.file, s.samples,
                                 data.count()));
  RunOutput out;
  out.infeasible = infeasibility(s, net);
  if (out.infeasible.empty()) {
    std::unique_ptr<Progress> bar;
    if (!quiet)
      bar = std::make_unique<Progress>("simulate");
    out.result = simulate(s, net, data, [&](int done) {
      if (bar)
        bar->update(double(done) / data.count(), fmt::format("{}/{} samples", done, data.count()));
    });
    if (bar)
      bar->finish(fmt::format("{} samples, {:.3f} s simulated", data.count(), out.result.end_s));
  } else {
    // Nothing runs on a device the head does not fit; the network's own accuracy is still a fact.
    out.result.final_output_accuracy = evaluate(net, data).final_accuracy;
  }
  out.summary = summarize(s, net, out.result);
  out.model_path = m.path;
  out.model_header = read_model_header(m.path);
  out.model_header.erase("tensors");
  out.scenario = std::move(s);
  return out;
}

} // namespace scee
