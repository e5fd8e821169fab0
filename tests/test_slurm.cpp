// Sweeps on clusters: a Slurm array task's shard (whole arrays with any start and step, partial arrays naming
// shards), --shard auto from Slurm / Open MPI / PMI environments, and the files `scee sweep --slurm DIR` writes.
#include "error.hpp"
#include "slurm.hpp"
#include "sweep.hpp"

#include <doctest/doctest.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unistd.h>

using namespace scee;
namespace fs = std::filesystem;

namespace {

/// The shards that the tasks first, first+step, ... of an array of `count` tasks run, for `shards` shards.
std::vector<int> array_shards(long first, long step, long count, int shards)
{
  std::vector<int> out;
  for (long k = 0; k < count; ++k)
    out.push_back(slurm_array_shard({first + k * step, first, first + (count - 1) * step, step, count}, shards));
  return out;
}

Environment env_of(std::map<std::string, std::string> vars)
{
  return [vars](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
}

/// The environment of task `id` of a Slurm array given as first-last:step.
std::map<std::string, std::string> slurm_task(long id, long first, long last, long step)
{
  return {{"SLURM_ARRAY_TASK_ID", std::to_string(id)},
          {"SLURM_ARRAY_TASK_MIN", std::to_string(first)},
          {"SLURM_ARRAY_TASK_MAX", std::to_string(last)},
          {"SLURM_ARRAY_TASK_STEP", std::to_string(step)},
          {"SLURM_ARRAY_TASK_COUNT", std::to_string((last - first) / step + 1)}};
}

std::string error_of(const std::string& shard, const std::map<std::string, std::string>& vars)
{
  try {
    parse_shard_option(shard, env_of(vars));
  } catch (const InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string read(const fs::path& path)
{
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

} // namespace

TEST_CASE("slurm: a whole array runs shard k in its k-th task, whatever its start and step")
{
  const std::vector<int> all = {0, 1, 2, 3, 4, 5, 6, 7};
  CHECK(array_shards(0, 1, 8, 8) == all); // --array=0-7
  CHECK(array_shards(1, 1, 8, 8) == all); // --array=1-8
  CHECK(array_shards(0, 2, 8, 8) == all); // --array=0-14:2
  CHECK(array_shards(5, 3, 8, 8) == all); // --array=5-26:3
  CHECK(array_shards(0, 1, 1, 1) == std::vector<int>{0});
}

TEST_CASE("slurm: a partial array (resubmitted tasks) names shards by task id")
{
  // --array=3,5 for 8 shards: Slurm reports min 3, max 5, step 1, count 2.
  CHECK(slurm_array_shard({3, 3, 5, 1, 2}, 8) == 3);
  CHECK(slurm_array_shard({5, 3, 5, 1, 2}, 8) == 5);
  CHECK(slurm_array_shard({7, 7, 7, 1, 1}, 8) == 7); // --array=7
  CHECK(slurm_array_shard({0, 0, 0, 1, 1}, 8) == 0);
  // Task 8 names no shard of 8 (resubmitting shard 7 of an array that started at 1 is --array=7).
  CHECK_THROWS_WITH_AS(slurm_array_shard({8, 8, 8, 1, 1}, 8), doctest::Contains("names shards by task id, 0 to 7"),
                       InputError);
  CHECK_THROWS_AS(slurm_array_shard({-1, -1, -1, 1, 1}, 8), InputError);
}

TEST_CASE("slurm: arrays that do not map onto the shards are refused")
{
  // More tasks than shards.
  CHECK_THROWS_WITH_AS(slurm_array_shard({0, 0, 8, 1, 9}, 8), doctest::Contains("at most one task per shard"),
                       InputError);
  // --array=2,5,9 for 3 shards: as many tasks as shards but not a range (Slurm says step 1).
  CHECK_THROWS_WITH_AS(slurm_array_shard({5, 2, 9, 1, 3}, 3), doctest::Contains("must be a range"), InputError);
  // A task id off the range's step.
  CHECK_THROWS_AS(slurm_array_shard({3, 0, 6, 2, 4}, 4), InputError);
}

TEST_CASE("slurm: --shard i/N and auto from Slurm, Open MPI and PMI environments")
{
  auto shard = [](const std::string& text, const std::map<std::string, std::string>& vars) {
    const ShardChoice c = parse_shard_option(text, env_of(vars));
    return std::pair{c.index, c.count};
  };
  // An explicit i/N ignores the environment.
  CHECK(shard("2/5", slurm_task(0, 0, 3, 1)) == std::pair{2, 5});
  CHECK(parse_shard_option("2/5", env_of({})).source.empty());
  // Slurm: without N, the array's task count is the shard count.
  CHECK(shard("auto", slurm_task(3, 0, 7, 1)) == std::pair{3, 8});
  CHECK(shard("auto", slurm_task(4, 1, 8, 1)) == std::pair{3, 8});
  CHECK(shard("auto", slurm_task(6, 0, 14, 2)) == std::pair{3, 8});
  CHECK(shard("auto/8", slurm_task(8, 1, 8, 1)) == std::pair{7, 8});
  CHECK(shard("auto/8", slurm_task(5, 5, 5, 1)) == std::pair{5, 8}); // the resubmission of shard 5
  CHECK(parse_shard_option("auto", env_of(slurm_task(3, 0, 7, 1))).source ==
        "SLURM_ARRAY_TASK_ID=3 (array 0-7:1 of 8 tasks)");
  // Open MPI and PMI (MPICH, Intel MPI): rank of size.
  CHECK(shard("auto", {{"OMPI_COMM_WORLD_RANK", "2"}, {"OMPI_COMM_WORLD_SIZE", "4"}}) == std::pair{2, 4});
  CHECK(shard("auto/4", {{"PMI_RANK", "3"}, {"PMI_SIZE", "4"}}) == std::pair{3, 4});
  // A Slurm array comes first, then Open MPI, then PMI.
  auto both = slurm_task(1, 0, 3, 1);
  both["OMPI_COMM_WORLD_RANK"] = "5";
  both["OMPI_COMM_WORLD_SIZE"] = "6";
  CHECK(shard("auto", both) == std::pair{1, 4});
  CHECK(shard("auto", {{"OMPI_COMM_WORLD_RANK", "1"}, {"OMPI_COMM_WORLD_SIZE", "2"}, {"PMI_RANK", "0"},
                       {"PMI_SIZE", "3"}}) == std::pair{1, 2});
}

TEST_CASE("slurm: --shard auto errors")
{
  CHECK(error_of("auto", {}).find("none of SLURM_ARRAY_TASK_ID, OMPI_COMM_WORLD_RANK, PMI_RANK is set") !=
        std::string::npos);
  CHECK(error_of("auto/4", {{"PMI_RANK", "1"}, {"PMI_SIZE", "8"}}).find("started 8 processes (PMI_SIZE=8)") !=
        std::string::npos);
  CHECK(error_of("auto", {{"PMI_RANK", "x"}, {"PMI_SIZE", "8"}}).find("PMI_RANK=\"x\" is not an integer") !=
        std::string::npos);
  CHECK(error_of("auto", {{"OMPI_COMM_WORLD_RANK", "1"}}).find("OMPI_COMM_WORLD_SIZE is not set") !=
        std::string::npos);
  CHECK(error_of("auto", {{"PMI_RANK", "4"}, {"PMI_SIZE", "4"}}).find("is not in 0..3") != std::string::npos);
  CHECK(error_of("auto/8", slurm_task(9, 0, 9, 1)).find("at most one task per shard") != std::string::npos);
  for (const char* bad : {"auto/0", "auto/x", "auto/", "autox", "3/3"})
    CHECK_THROWS_AS(parse_shard_option(bad, env_of({})), InputError);
}

TEST_CASE("slurm: the batch set-up written by --slurm")
{
  const fs::path dir = fs::temp_directory_path() / ("scee_test_slurm_" + std::to_string(getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir / "sweeps");
  // No "name" (it would become the copy's stem) and a model file relative to the sweep file.
  std::ofstream(dir / "sweeps/grid.json") << R"({
    "model": {"file": "../models/m.scee"},
    "split": {"after_layer": 1, "exits": [1]},
    "devices": {"profile": "esp32"}, "network": {"profile": "ble5"}, "server": {"profile": "x86_core"},
    "sweep": {"axes": [{"name": "threshold", "values": [0.5, 0.6, 0.7, 0.8, 0.9]}]}
  })";
  const Sweep sweep = load_sweep((dir / "sweeps/grid.json").string());
  const auto env = env_of({{"SCEE_DATA_DIR", "/data/scee"}});
  SlurmSetup s;
  s.dir = (dir / "jobs").string();
  s.partition = "short";
  s.time = "01:00:00";
  s.cpus_per_task = 4;
  s.extra = {"--account=proj", "#SBATCH --qos=low"};
  write_slurm_setup(sweep, s, "/opt/scee/bin/scee", env);

  const auto copy = nlohmann::json::parse(read(dir / "jobs/scenario.json"));
  CHECK(copy["name"] == "grid");
  CHECK(copy["model"]["file"] == (dir / "models/m.scee").string());
  CHECK(load_sweep((dir / "jobs/scenario.json").string()).point_count() == 5);
  const std::string array = read(dir / "jobs/array.sbatch");
  const std::string jobs = (dir / "jobs").string();
  CHECK(array.find("#SBATCH --array=0-4\n") != std::string::npos); // default: min(points, 16) shards
  CHECK(array.find("#SBATCH --partition=short\n#SBATCH --time=01:00:00\n#SBATCH --account=proj\n"
                   "#SBATCH --qos=low\n") != std::string::npos);
  CHECK(array.find("#SBATCH --cpus-per-task=4\n") != std::string::npos);
  CHECK(array.find("#SBATCH --error=" + jobs + "/logs/array-%a.err\n") != std::string::npos);
  CHECK(array.find("export SCEE_CACHE_DIR=" + jobs + "/cache\nexport SCEE_DATA_DIR=/data/scee\n") !=
        std::string::npos);
  CHECK(array.find("exec /opt/scee/bin/scee sweep " + jobs + "/scenario.json --shard auto/5 --out '" + jobs +
                   "/shards/{shard}' --resume") != std::string::npos);
  CHECK(read(dir / "jobs/train.sbatch").find("scenario.json --train-only --jobs \"${SLURM_CPUS_PER_TASK:-4}\"") !=
        std::string::npos);
  CHECK(read(dir / "jobs/merge.sbatch").find("merge \"${shards[@]%/}\" --out " + jobs + "/merged") !=
        std::string::npos);
  const std::string submit = read(dir / "jobs/submit.sh");
  CHECK(submit.find("--dependency=afterok:$train --kill-on-invalid-dep=yes " + jobs + "/array.sbatch") !=
        std::string::npos);
  CHECK(submit.find("--dependency=afterany:$array " + jobs + "/merge.sbatch") != std::string::npos);
  CHECK(fs::is_directory(dir / "jobs/logs"));

  // A used directory, more shards than points, a path the scripts cannot carry unquoted.
  CHECK_THROWS_WITH_AS(write_slurm_setup(sweep, s, "/opt/scee/bin/scee", env), doctest::Contains("not an empty"),
                       InputError);
  s.dir = (dir / "jobs2").string();
  s.shards = 6;
  CHECK_THROWS_WITH_AS(write_slurm_setup(sweep, s, "/opt/scee/bin/scee", env),
                       doctest::Contains("--shards 6: give 1 to 5"), InputError);
  s.shards = 2;
  s.dir = (dir / "my jobs").string();
  CHECK_THROWS_WITH_AS(write_slurm_setup(sweep, s, "/opt/scee/bin/scee", env), doctest::Contains("unquoted"),
                       InputError);
  s.dir = (dir / "jobs3").string();
  s.extra = {"--a\n--b"};
  CHECK_THROWS_AS(write_slurm_setup(sweep, s, "/opt/scee/bin/scee", env), InputError);
  fs::remove_all(dir);
}
