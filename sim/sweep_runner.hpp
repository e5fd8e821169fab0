// Running a sweep: every point in its own process (one SimGrid engine per process), --jobs at a time, models
// trained once beforehand, each finished point written atomically to points/<index>.json so that a killed sweep
// loses nothing finished and --resume continues it; shards for clusters and merging of their outputs.
#pragma once

#include "sweep.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scee {

struct SweepOptions {
  std::string out_dir;
  int jobs = 1;
  bool resume = false;
  bool dry_run = false;
  bool train_only = false; ///< train (or find cached) the models of this shard's points, run nothing else
  bool quiet = false;
  bool traces = false;    ///< keep per-sample latencies (also on when the sweep says so)
  int shard_index = 0;    ///< this process runs the points with index % shard_count == shard_index
  int shard_count = 1;
};

/// Runs (or, with dry_run, lists) a sweep. Returns the exit status: 0, or 130 when interrupted by SIGINT.
int run_sweep(const Sweep& sweep, const SweepOptions& options, const std::string& command_line);

/// The points of this shard that have no record in options.out_dir yet.
std::vector<int> unfinished_points(const Sweep& sweep, const SweepOptions& options);

/// Combines the outputs of shard runs of one sweep into `out_dir`: the same results.csv a single run gives.
void merge_sweeps(const std::vector<std::string>& shard_dirs, const std::string& out_dir,
                  const std::string& command_line);

/// The results table from point records in index order: point, status, error, axis_<name> columns, the summary
/// columns (union, in order of first appearance), pareto.
std::string results_csv(const std::vector<nlohmann::ordered_json>& records, const std::vector<std::string>& axes);

/// Pareto flags (accuracy up, p95 latency down, edge energy per inference down) within each (device, network)
/// pair; rows that are not "ok" are never on the front.
std::vector<bool> pareto_front(const std::vector<nlohmann::ordered_json>& records);

/// Parses "i/N" (0 <= i < N) for --shard (slurm.hpp adds "auto").
std::pair<int, int> parse_shard(const std::string& text);

} // namespace scee
