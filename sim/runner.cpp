#include "runner.hpp"

#include "dataset.hpp"
#include "error.hpp"
#include "metrics.hpp"
#include "model_cache.hpp"
#include "progress.hpp"
#include "trainer.hpp"

#include <filesystem>
#include <fmt/format.h>
#include <memory>

namespace scee {

namespace {

/// The model and the samples of a run, checked against the scenario (whose dataset it resolves).
struct RunInputs {
  ResolvedModel model;
  const Dataset* data = nullptr;
  std::string infeasible;
};

RunInputs resolve_inputs(Scenario& s, bool quiet)
{
  RunInputs in;
  in.model = obtain_model(s, quiet);
  const Network& net = in.model.model.network;
  check_against_model(s, net.spec());
  if (s.dataset.empty())
    s.dataset = in.model.model.training.dataset;
  in.data = &test_samples(s.dataset, int(net.spec().input.size()), s.samples); // loaded once per process
  if (in.data->count() < s.samples)
    throw InputError(fmt::format("{}: $.dataset.samples: {} requested but the test split has {}", s.file, s.samples,
                                 in.data->count()));
  in.infeasible = infeasibility(s, net);
  return in;
}

} // namespace

RunOutput run_scenario(Scenario s, bool quiet)
{
  const RunInputs in = resolve_inputs(s, quiet);
  const Network& net = in.model.model.network;
  const Dataset& data = *in.data;
  RunOutput out;
  out.infeasible = in.infeasible;
  if (out.infeasible.empty()) {
    std::unique_ptr<Progress> bar;
    if (!quiet)
      bar = std::make_unique<Progress>("simulate");
    const SplitInference& answers = shared_answers(in.model.path, s, net, data);
    out.result = simulate(s, net, data, answers, [&](int done) {
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
  out.model_path = in.model.path;
  out.model_header = read_model_header(in.model.path);
  out.model_header.erase("tensors");
  out.scenario = std::move(s);
  return out;
}

void prepare_run(Scenario s)
{
  try {
    const std::string path = s.model_file ? *s.model_file : cached_model_path(*s.model_spec);
    if (!std::filesystem::exists(path))
      return; // not trained: the run trains it, or says why it cannot
    const RunInputs in = resolve_inputs(s, true);
    if (in.infeasible.empty())
      shared_answers(in.model.path, s, in.model.model.network, *in.data);
  } catch (const std::exception&) {
    // the run meets the same error and reports it in its own words
  }
}

} // namespace scee
