// Sweeps on a cluster: which shard a process runs, taken from its launcher's environment (a Slurm job array,
// Open MPI or any PMI launcher, so no MPI library is linked), and the batch set-up `scee sweep --slurm DIR` writes:
// the models trained once, a job array of shards, a merge. See docs/cluster.md.
#pragma once

#include "sweep.hpp"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace scee {

/// The value of an environment variable, or nullopt when unset: the process's in scee, a map in tests.
using Environment = std::function<std::optional<std::string>(const std::string&)>;
Environment process_environment();

/// What Slurm tells each task of a job array (SLURM_ARRAY_TASK_ID, _MIN, _MAX, _STEP, _COUNT).
struct SlurmArrayTask {
  long id = 0, min = 0, max = 0, step = 1, count = 0;
};

/// The shard (0..shards-1) that a task of a job array runs.
/// - A whole array, as many tasks as shards given as a range with any start and step (0-7, 1-8, 0-14:2), runs
///   shard k in its k-th task: (id - min) / step.
/// - A partial array, fewer tasks than shards (resubmitted tasks, e.g. --array=3,5), names shards by task id.
/// Anything else (more tasks than shards, a whole array that is not a range) is an InputError.
int slurm_array_shard(const SlurmArrayTask& task, int shards);

struct ShardChoice {
  int index = 0, count = 1;
  std::string source; ///< where it came from, for the log ("SLURM_ARRAY_TASK_ID=3 ..."); empty when given as i/N
};

/// `--shard`: "i/N", or "auto" / "auto/N" to take the index (and, without N, the count) from the first of: a Slurm
/// job array (SLURM_ARRAY_TASK_*; the count is SLURM_ARRAY_TASK_COUNT), Open MPI (OMPI_COMM_WORLD_RANK/_SIZE),
/// PMI (PMI_RANK/PMI_SIZE: MPICH, Intel MPI, srun --mpi=pmi2). InputError when none is set or they disagree with N.
ShardChoice parse_shard_option(const std::string& text, const Environment& env);

/// `scee sweep FILE --slurm DIR`: options of the batch set-up.
struct SlurmSetup {
  std::string dir;
  int shards = 0;                 ///< 0: min(points, 16)
  std::string partition, time;    ///< empty: the cluster's defaults
  int cpus_per_task = 1;          ///< per job; also the points each array task runs at once
  std::vector<std::string> extra; ///< more #SBATCH lines for every job: "--account=x" or "#SBATCH --account=x"
};

/// Writes into setup.dir (new or empty): scenario.json (the sweep file; relative model paths made absolute),
/// train.sbatch, array.sbatch, merge.sbatch, submit.sh, and empty logs/ and shards/. `scee` is the absolute path of
/// the scee binary the jobs run; env supplies SCEE_CACHE_DIR and the other SCEE_*_DIR settings baked into the
/// scripts. Prints what to type next.
void write_slurm_setup(const Sweep& sweep, const SlurmSetup& setup, const std::string& scee, const Environment& env);

} // namespace scee
