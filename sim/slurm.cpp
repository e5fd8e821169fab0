#include "slurm.hpp"

#include "error.hpp"
#include "output.hpp"
#include "sweep_runner.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace fs = std::filesystem;

namespace scee {

namespace {

long env_integer(const Environment& env, const std::string& name)
{
  const auto text = env(name);
  if (!text)
    throw InputError(fmt::format("--shard auto: {} is not set", name));
  long value = 0;
  const auto [end, error] = std::from_chars(text->data(), text->data() + text->size(), value);
  if (error != std::errc() || end != text->data() + text->size())
    throw InputError(fmt::format("--shard auto: {}=\"{}\" is not an integer", name, *text));
  return value;
}

/// Text that goes unquoted into #SBATCH lines, Slurm's file name patterns and shell commands: plain characters only.
std::string plain(const std::string& text, const std::string& what)
{
  for (const char c : text)
    if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("/._+,=@:-", c))
      throw InputError(fmt::format("{} \"{}\": use letters, digits and / . _ + , = @ : - only (it goes unquoted "
                                   "into #SBATCH lines and shell commands)",
                                   what, text));
  return text;
}

std::string plain_path(const std::string& path, const std::string& what)
{
  std::string p = fs::absolute(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/')
    p.pop_back();
  return plain(p, what);
}

/// Replaces every @KEY@ of a script template.
std::string fill(std::string text, const std::vector<std::pair<std::string, std::string>>& values)
{
  for (const auto& [key, value] : values)
    for (auto at = text.find(key); at != std::string::npos; at = text.find(key, at + value.size()))
      text.replace(at, key.size(), value);
  return text;
}

std::string sbatch_header(const SlurmSetup& s, const std::string& job, int cpus, const std::string& log)
{
  std::string h = fmt::format("#!/bin/bash\n#SBATCH --job-name={}\n#SBATCH --cpus-per-task={}\n", job, cpus);
  h += fmt::format("#SBATCH --output={0}.out\n#SBATCH --error={0}.err\n", log);
  if (!s.partition.empty())
    h += fmt::format("#SBATCH --partition={}\n", s.partition);
  if (!s.time.empty())
    h += fmt::format("#SBATCH --time={}\n", s.time);
  for (const auto& line : s.extra)
    h += (line.starts_with("#SBATCH") ? line : "#SBATCH " + line) + "\n";
  return h;
}

/// The sweep file as the jobs read it: the same document, with its name made explicit (it defaults to the file's
/// stem, and DIR/scenario.json has another) and a relative model file made absolute; otherwise byte for byte.
void copy_sweep_file(const Sweep& sweep, const std::string& to)
{
  std::ifstream in(sweep.file, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::ordered_json::parse(text.str()); // load_sweep has read it already
  bool changed = false;
  if (!doc.contains("name")) {
    nlohmann::ordered_json named = {{"name", sweep.name}};
    named.update(doc);
    doc = std::move(named);
    changed = true;
  }
  if (doc.contains("model") && doc["model"].is_object() && doc["model"].contains("file") &&
      doc["model"]["file"].is_string()) {
    const fs::path file = doc["model"]["file"].get<std::string>();
    if (file.is_relative()) {
      doc["model"]["file"] = fs::absolute(fs::path(sweep.file).parent_path() / file).lexically_normal().string();
      changed = true;
    }
  }
  write_file_atomic(to, changed ? doc.dump(2) + "\n" : text.str());
}

const char* train_script = R"sh(
# Trains (or finds cached) the models of every point once, before the array runs.
@EXPORTS@
exec @SCEE@ sweep @DIR@/scenario.json --train-only --jobs "${SLURM_CPUS_PER_TASK:-@CPUS@}" --quiet
)sh";

const char* array_script = R"sh(
# Task k of a whole array (@N@ tasks as a range: the 0-@LAST@ above, or 1-@N@, or with a step) runs shard k of @N@;
# a partial array names shards by task id: `sbatch --array=3,5 @DIR@/array.sbatch` reruns shards 3 and 5.
# Each shard resumes what an earlier attempt finished; its errors go to @DIR@/logs/array-<task id>.err.
@EXPORTS@
exec @SCEE@ sweep @DIR@/scenario.json --shard auto/@N@ --out '@DIR@/shards/{shard}' --resume \
  --jobs "${SLURM_CPUS_PER_TASK:-@CPUS@}" --quiet
)sh";

const char* merge_script = R"sh(
# Runs once every array task has ended (successfully or not): merges the shards, or names what is missing.
@EXPORTS@
shopt -s nullglob
shards=(@DIR@/shards/*/)
if ((${#shards[@]})) && @SCEE@ merge "${shards[@]%/}" --out @DIR@/merged; then
  exit 0
fi
missing=
for i in $(seq 0 @LAST@); do
  [ -f @DIR@/shards/$i/results.csv ] || missing+=${missing:+,}$i
done
if [ -n "$missing" ]; then
  echo "scee: the sweep is incomplete: shards $missing (of @N@) did not finish; see why in" >&2
  echo "  @DIR@/logs/array-<task>.err and @DIR@/logs/train.err. Fix the cause, then resubmit only those" >&2
  echo "  array tasks (a partial array names shards by task id) and merge again:" >&2
  echo "  array=\$(sbatch --parsable --array=$missing @DIR@/array.sbatch) && sbatch --dependency=afterany:\${array%%;*} @DIR@/merge.sbatch" >&2
  echo "  or resubmit everything (finished points are kept): bash @DIR@/submit.sh" >&2
fi
exit 1
)sh";

const char* submit_script = R"sh(#!/bin/bash
# Submits sweep "@NAME@" (@POINTS@ points): the training job; the array of @N@ shards once training succeeded; the
# merge once every array task has ended (it then merges, or names the missing points and what to resubmit).
set -euo pipefail
train=$(sbatch --parsable @DIR@/train.sbatch)
train=${train%%;*}
array=$(sbatch --parsable --dependency=afterok:$train --kill-on-invalid-dep=yes @DIR@/array.sbatch)
array=${array%%;*}
merge=$(sbatch --parsable --dependency=afterany:$array @DIR@/merge.sbatch)
merge=${merge%%;*}
echo "submitted: training $train, array $array (@N@ tasks), merge $merge"
echo "watch:     squeue -j $train,$array,$merge     (logs in @DIR@/logs)"
echo "result:    @DIR@/merged/results.csv"
)sh";

} // namespace

Environment process_environment()
{
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    return value && *value ? std::optional<std::string>(value) : std::nullopt;
  };
}

int slurm_array_shard(const SlurmArrayTask& t, int shards)
{
  if (t.count > shards)
    throw InputError(fmt::format("a job array of {} tasks for {} shards: submit at most one task per shard", t.count,
                                 shards));
  if (t.count < shards) { // a partial array (resubmitted tasks) names shards by task id
    if (t.id < 0 || t.id >= shards)
      throw InputError(fmt::format("array task {}: an array of fewer tasks ({}) than shards ({}), such as "
                                   "resubmitted tasks, names shards by task id, 0 to {}",
                                   t.id, t.count, shards, shards - 1));
    return int(t.id);
  }
  const bool range = t.step >= 1 && t.max == t.min + (t.count - 1) * t.step && t.id >= t.min && t.id <= t.max &&
                     (t.id - t.min) % t.step == 0;
  if (!range)
    throw InputError(fmt::format("array task {}: an array of as many tasks as shards ({}) must be a range, such as "
                                 "0-{} or 1-{} or with a step; got tasks {} to {} with step {}",
                                 t.id, shards, shards - 1, shards, t.min, t.max, t.step));
  return int((t.id - t.min) / t.step);
}

ShardChoice parse_shard_option(const std::string& text, const Environment& env)
{
  if (text != "auto" && !text.starts_with("auto/")) {
    const auto [index, count] = parse_shard(text);
    return {index, count, ""};
  }
  int count = 0;
  if (text != "auto") {
    const std::string n = text.substr(5);
    const auto [end, error] = std::from_chars(n.data(), n.data() + n.size(), count);
    if (error != std::errc() || end != n.data() + n.size() || count < 1)
      throw InputError(fmt::format("--shard: \"{}\": give auto/N with N >= 1 shards, or auto", text));
  }
  if (env("SLURM_ARRAY_TASK_ID")) {
    SlurmArrayTask t;
    t.id = env_integer(env, "SLURM_ARRAY_TASK_ID");
    t.min = env_integer(env, "SLURM_ARRAY_TASK_MIN");
    t.max = env_integer(env, "SLURM_ARRAY_TASK_MAX");
    t.step = env_integer(env, "SLURM_ARRAY_TASK_STEP");
    t.count = env_integer(env, "SLURM_ARRAY_TASK_COUNT");
    const int shards = count ? count : int(t.count);
    return {slurm_array_shard(t, shards), shards,
            fmt::format("SLURM_ARRAY_TASK_ID={} (array {}-{}:{} of {} task{})", t.id, t.min, t.max, t.step,
                        t.count, t.count == 1 ? "" : "s")};
  }
  for (const auto& [rank_name, size_name] : {std::pair{"OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"},
                                             std::pair{"PMI_RANK", "PMI_SIZE"}}) {
    if (!env(rank_name))
      continue;
    const long rank = env_integer(env, rank_name), size = env_integer(env, size_name);
    if (count && size != count)
      throw InputError(fmt::format("--shard {}: the launcher started {} processes ({}={}); start {}, or give auto",
                                   text, size, size_name, size, count));
    if (size < 1 || rank < 0 || rank >= size)
      throw InputError(fmt::format("--shard auto: {}={} is not in 0..{} ({}={})", rank_name, rank, size - 1,
                                   size_name, size));
    return {int(rank), int(size), fmt::format("{}={} of {}", rank_name, rank, size)};
  }
  throw InputError("--shard auto: none of SLURM_ARRAY_TASK_ID, OMPI_COMM_WORLD_RANK, PMI_RANK is set; run it as a "
                   "task of a Slurm job array or under mpirun, or give the shard as i/N");
}

void write_slurm_setup(const Sweep& sweep, const SlurmSetup& s, const std::string& scee, const Environment& env)
{
  const std::string dir = plain_path(s.dir, "--slurm");
  const int points = int(sweep.point_count());
  const int shards = s.shards ? s.shards : std::min(points, 16);
  if (shards < 1 || shards > points)
    throw InputError(fmt::format("--shards {}: give 1 to {} (the sweep has {} points)", shards, points, points));
  if (s.cpus_per_task < 1)
    throw InputError("--cpus-per-task: give 1 or more");
  if (!s.partition.empty())
    plain(s.partition, "--partition");
  if (!s.time.empty())
    plain(s.time, "--time");
  for (const auto& line : s.extra)
    if (line.find_first_of("\r\n") != std::string::npos || line.empty())
      throw InputError(fmt::format("--sbatch-extra \"{}\": give one non-empty line", line));
  if (fs::exists(dir) && !(fs::is_directory(dir) && fs::is_empty(dir)))
    throw InputError(fmt::format("--slurm {}: exists and is not an empty directory; choose a new one", dir));

  // Every job sees the same models and data: the cache inside DIR unless the user has one, and their other settings.
  std::string exports = fmt::format(
      "export SCEE_CACHE_DIR={}",
      env("SCEE_CACHE_DIR") ? plain_path(*env("SCEE_CACHE_DIR"), "SCEE_CACHE_DIR") : dir + "/cache");
  for (const char* name : {"SCEE_DATA_DIR", "SCEE_FASHION_MNIST_DIR", "SCEE_PROFILE_DIR"})
    if (const auto value = env(name))
      exports += fmt::format("\nexport {}={}", name, plain_path(*value, name));

  std::string job = "scee-";
  for (const char c : sweep.name)
    job += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' ? c : '_';
  const std::vector<std::pair<std::string, std::string>> values = {
      {"@EXPORTS@", exports},
      {"@SCEE@", plain_path(scee, "the scee binary")},
      {"@DIR@", dir},
      {"@N@", std::to_string(shards)},
      {"@LAST@", std::to_string(shards - 1)},
      {"@CPUS@", std::to_string(s.cpus_per_task)},
      {"@POINTS@", std::to_string(points)},
      {"@NAME@", sweep.name},
  };

  fs::create_directories(dir + "/logs");
  fs::create_directories(dir + "/shards");
  copy_sweep_file(sweep, dir + "/scenario.json");
  (void)load_sweep(dir + "/scenario.json"); // the jobs will read it: it must load from there
  write_file_atomic(dir + "/train.sbatch",
                    sbatch_header(s, job + "-train", s.cpus_per_task, dir + "/logs/train") + fill(train_script, values));
  write_file_atomic(dir + "/array.sbatch", sbatch_header(s, job, s.cpus_per_task, dir + "/logs/array-%a") +
                                               fmt::format("#SBATCH --array=0-{}\n", shards - 1) +
                                               fill(array_script, values));
  write_file_atomic(dir + "/merge.sbatch",
                    sbatch_header(s, job + "-merge", 1, dir + "/logs/merge") + fill(merge_script, values));
  write_file_atomic(dir + "/submit.sh", fill(submit_script, values));
  for (const char* script : {"train.sbatch", "array.sbatch", "merge.sbatch", "submit.sh"})
    fs::permissions(dir + "/" + script, fs::perms::owner_exec | fs::perms::group_exec | fs::perms::others_exec,
                    fs::perm_options::add);

  fmt::print("{}: {} points in {} shards; Slurm jobs written to {}/\n", sweep.name, points, shards, dir);
  fmt::print("  submit:  bash {}/submit.sh   (trains the models, runs the array of {} tasks, merges)\n", dir, shards);
  fmt::print("  result:  {}/merged/results.csv\n", dir);
}

} // namespace scee
