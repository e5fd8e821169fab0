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

namespace {

/// The test samples a run of `s` with `model` simulates, after the run's checks against the model (the dataset, when
/// `s` names none, resolved in `s` to the model's): loaded once per process, or with `load` false only those this
/// process has already loaded (else null, and nothing is read).
const Dataset* run_samples(Scenario& s, const ModelFile& model, bool load)
{
  check_against_model(s, model.network.spec());
  if (s.dataset.empty())
    s.dataset = model.training.dataset;
  const int width = int(model.network.spec().input.size());
  const Dataset* data =
      load ? &test_samples(s.dataset, width, s.samples) : loaded_test_samples(s.dataset, width, s.samples);
  if (data && data->count() < s.samples)
    throw InputError(fmt::format("{}: $.dataset.samples: {} requested but the test split has {}", s.file, s.samples,
                                 data->count()));
  return data;
}

} // namespace

RunOutput run_scenario(Scenario s, bool quiet)
{
  const ResolvedModel m = obtain_model(s, quiet);
  const Network& net = m.model.network;
  const Dataset& data = *run_samples(s, m.model, true);
  RunOutput out;
  out.infeasible = infeasibility(s, net);
  if (out.infeasible.empty()) {
    std::unique_ptr<Progress> bar;
    if (!quiet)
      bar = std::make_unique<Progress>("simulate");
    // The network's answers: those this process keeps for the same key (a sweep's, for the points it forks), else
    // computed here.
    const SplitInference* kept = kept_answers(answers_key(m.path, m.model, s));
    const SplitInference own = kept ? SplitInference{} : network_answers(s, net, data);
    out.result = simulate(s, net, data, kept ? *kept : own, [&](int done) {
      if (bar)
        bar->update(double(done) / data.count(), fmt::format("{}/{} samples", done, data.count()));
    });
    out.answers_shared = kept != nullptr;
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

std::optional<AnswersKey> loaded_answers_key(const Scenario& s)
{
  const std::string path = model_path(s);
  if (const ModelFile* m = loaded_model(path))
    return answers_key(path, *m, s);
  return std::nullopt;
}

bool prepare_answers(Scenario s)
{
  try {
    const std::string path = model_path(s);
    const ModelFile* m = loaded_model(path);
    if (!m)
      return false;
    const AnswersKey key = answers_key(path, *m, s);
    if (kept_answers(key))
      return true;
    const Dataset* data = run_samples(s, *m, false);
    if (!data)
      return false;
    keep_answers(key, network_answers(s, m->network, *data));
    return true;
  } catch (const std::exception&) {
    return false; // the run meets the same error and reports it in its own words
  }
}

} // namespace scee
