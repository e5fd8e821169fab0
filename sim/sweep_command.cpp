#include "sweep_command.hpp"

#include "error.hpp"
#include "sweep.hpp"
#include "sweep_runner.hpp"

#include <fmt/format.h>
#include <memory>
#include <thread>

namespace scee {

namespace {

struct SweepCli {
  std::string file, out, shard;
  int jobs = 0;
  bool resume = false, dry_run = false, quiet = false, traces = false;
};

int run(const SweepCli& c, const std::string& command_line)
{
  const Sweep sweep = load_sweep(c.file);
  SweepOptions o;
  o.out_dir = c.out.empty() ? fmt::format("results/{}", sweep.name) : c.out;
  o.jobs = c.jobs > 0 ? c.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  o.resume = c.resume;
  o.dry_run = c.dry_run;
  o.quiet = c.quiet;
  o.traces = c.traces;
  if (!c.shard.empty())
    std::tie(o.shard_index, o.shard_count) = parse_shard(c.shard);
  return run_sweep(sweep, o, command_line);
}

} // namespace

void add_sweep_command(CLI::App& app, Action& action, const std::string& command_line)
{
  auto c = std::make_shared<SweepCli>();
  auto* s = app.add_subcommand("sweep", "Run a parameter sweep (the scenario's \"sweep\" section): each point is its "
                                        "own simulation in its own process; writes results.csv (one row per point, "
                                        "Pareto flags), manifest.json and points/ (see docs/sweeps.md)");
  s->add_option("scenario", c->file, "scenario JSON file with a \"sweep\" section")->required();
  s->add_option("--out", c->out, "output directory (default: results/<sweep name>)");
  s->add_option("--jobs,-j", c->jobs, "points run at once (default: the number of cores)")->check(CLI::PositiveNumber);
  s->add_flag("--resume", c->resume, "continue a sweep in --out, skipping finished points");
  s->add_option("--shard", c->shard, "run only shard i of N (points with index % N == i), e.g. 0/4; combine the "
                                     "shards' directories with `scee merge`");
  s->add_flag("--dry-run", c->dry_run, "list the points and the models to train, run nothing");
  s->add_flag("--traces", c->traces, "keep each point's per-sample latencies in traces/<point>.csv");
  s->add_flag("--quiet", c->quiet, "no progress bar");
  s->callback([c, &action, command_line] { action = [c, command_line] { return run(*c, command_line); }; });
}

void add_merge_command(CLI::App& app, Action& action, const std::string& command_line)
{
  auto dirs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  auto* m = app.add_subcommand("merge", "Combine the output directories of the shards of one sweep into the "
                                        "results.csv a single run would give");
  m->add_option("shards", *dirs, "output directories of the shards")->required();
  m->add_option("--out", *out, "directory for the merged results.csv and manifest.json")->required();
  m->callback([dirs, out, &action, command_line] {
    action = [dirs, out, command_line] {
      merge_sweeps(*dirs, *out, command_line);
      return 0;
    };
  });
}

} // namespace scee
