#include "sweep_command.hpp"

#include "atomic_file.hpp"

#include "error.hpp"
#include "slurm.hpp"
#include "sweep.hpp"
#include "sweep_runner.hpp"

#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <memory>
#include <thread>

namespace scee {

namespace {

struct SweepCli {
  std::string file, out, shard;
  int jobs = 0;
  bool resume = false, dry_run = false, quiet = false, traces = false, train_only = false;
  SlurmSetup slurm;
};

/// After a shard stopped early: which of its points have no result, and how to finish them.
void report_unfinished(const Sweep& sweep, const SweepOptions& o)
{
  const auto missing = unfinished_points(sweep, o);
  if (missing.empty() || o.shard_count == 1)
    return;
  std::vector<int> some(missing.begin(), missing.begin() + std::min<std::size_t>(missing.size(), 20));
  fmt::print(stderr, "scee: shard {}/{} did not finish: {} of its points have no result in {} (points {}{}); rerun "
                     "the shard with --resume{}\n",
             o.shard_index, o.shard_count, missing.size(), o.out_dir, fmt::join(some, ", "),
             missing.size() > 20 ? ", ..." : "",
             std::getenv("SLURM_ARRAY_TASK_ID")
                 ? fmt::format(" (Slurm: resubmit it alone with sbatch --array={} and the same array script)",
                               o.shard_index)
                 : "");
}

int run(const SweepCli& c, const std::string& command_line)
{
  const Sweep sweep = load_sweep(c.file);
  if (!c.slurm.dir.empty()) {
    write_slurm_setup(sweep, c.slurm, std::filesystem::read_symlink("/proc/self/exe").string(),
                      process_environment());
    return 0;
  }
  SweepOptions o;
  o.jobs = c.jobs > 0 ? c.jobs : int(std::max(1u, std::thread::hardware_concurrency()));
  o.resume = c.resume;
  o.dry_run = c.dry_run;
  o.train_only = c.train_only;
  o.quiet = c.quiet;
  o.traces = c.traces;
  if (!c.shard.empty()) {
    const ShardChoice shard = parse_shard_option(c.shard, process_environment());
    o.shard_index = shard.index;
    o.shard_count = shard.count;
    if (!shard.source.empty() && !o.dry_run)
      fmt::print("shard {}/{} from {}\n", shard.index, shard.count, shard.source);
  }
  o.out_dir = normal_path(c.out.empty() ? fmt::format("results/{}", sweep.name) : c.out);
  for (auto at = o.out_dir.find("{shard}"); at != std::string::npos; at = o.out_dir.find("{shard}"))
    o.out_dir.replace(at, 7, std::to_string(o.shard_index));
  if (o.dry_run || o.train_only)
    return run_sweep(sweep, o, command_line);
  int status = 0;
  try {
    status = run_sweep(sweep, o, command_line);
  } catch (...) { // the error itself is printed by main

    report_unfinished(sweep, o);
    throw;
  }
  if (status != 0)
    report_unfinished(sweep, o);
  return status;
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
                                     "shards' directories with `scee merge`. \"auto\" or \"auto/N\": i (and N) "
                                     "from a Slurm job array, mpirun (OMPI_COMM_WORLD_RANK) or PMI_RANK; {shard} in "
                                     "--out becomes i (see docs/cluster.md)");
  s->add_flag("--dry-run", c->dry_run, "list the points and the models to train, run nothing");
  s->add_flag("--traces", c->traces, "keep each point's per-sample latencies in traces/<point>.csv");
  s->add_flag("--quiet", c->quiet, "no progress bar");
  s->add_flag("--train-only", c->train_only, "train (or find cached) the models the points need, run nothing else "
                                             "(the training job of --slurm)");
  auto* slurm = s->add_option("--slurm", c->slurm.dir, "write a Slurm batch set-up into this new directory instead of "
                                                       "running: training once, a job array of shards, a merge, and "
                                                       "submit.sh (see docs/cluster.md)");
  s->add_option("--shards", c->slurm.shards, "with --slurm: the number of shards, one array task each (default: "
                                             "the points, at most 16)")
      ->check(CLI::PositiveNumber)
      ->needs(slurm);
  s->add_option("--partition", c->slurm.partition, "with --slurm: the partition of every job")->needs(slurm);
  s->add_option("--time", c->slurm.time, "with --slurm: the time limit of every job (each array task), e.g. "
                                         "02:00:00")
      ->needs(slurm);
  s->add_option("--cpus-per-task", c->slurm.cpus_per_task, "with --slurm: CPUs of every job; each array task runs "
                                                           "that many points at once (default 1)")
      ->check(CLI::PositiveNumber)
      ->needs(slurm);
  s->add_option("--sbatch-extra", c->slurm.extra, "with --slurm: one more #SBATCH line for every job, e.g. "
                                                  "--sbatch-extra=--account=proj (repeatable)")
      ->expected(1)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll)
      ->needs(slurm);
  for (const char* name : {"--out", "--jobs", "--resume", "--shard", "--dry-run", "--traces", "--train-only"})
    slurm->excludes(s->get_option(name));
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
      merge_sweeps(*dirs, normal_path(*out), command_line);
      return 0;
    };
  });
}

} // namespace scee
