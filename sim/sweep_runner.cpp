#include "sweep_runner.hpp"

#include "error.hpp"
#include "metrics.hpp"
#include "model_cache.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "runner.hpp"
#include "scenario.hpp"
#include "strict_json.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace scee {

namespace {

std::atomic<bool> interrupted{false};
extern "C" void on_sigint(int) { interrupted = true; }

std::string point_file(const std::string& dir, int index) { return fmt::format("{}/points/{}.json", dir, index); }

nlohmann::ordered_json read_ordered(const std::string& path)
{
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  try {
    return nlohmann::ordered_json::parse(s.str());
  } catch (const nlohmann::json::exception&) {
    throw InputError(fmt::format("{}: not a valid point record (delete it and resume to recompute the point)", path));
  }
}

nlohmann::ordered_json point_record(const SweepPoint& p, const std::string& status, const std::string& error,
                                    bool retry = false)
{
  nlohmann::ordered_json r;
  r["point"] = p.index;
  r["status"] = status;
  r["error"] = error;
  if (retry)
    r["retry"] = true; // the machine failed, not the point: --resume runs it again
  r["axes"] = p.axis_values;
  return r;
}

/// The record of point `index` in `dir`, checked to be that point's (a record under another point's name is
/// refused: results.csv would silently hold the wrong row).
nlohmann::ordered_json read_point(const std::string& dir, int index)
{
  const std::string path = point_file(dir, index);
  nlohmann::ordered_json r = read_ordered(path);
  if (!r.is_object() || !r.contains("point") || !r["point"].is_number_integer() || r["point"].get<int>() != index)
    throw InputError(fmt::format("{}: holds the record of point {}, not of point {} (delete it and resume to "
                                 "recompute the point)",
                                 path, r.is_object() && r.contains("point") ? r["point"].dump() : "?", index));
  return r;
}

/// Whether point `index` still has to run: no record, or a record of a failure to retry (a signal, a full disk).
bool needs_run(const std::string& dir, int index)
{
  if (!fs::exists(point_file(dir, index)))
    return true;
  return read_point(dir, index).value("retry", false);
}

/// Removes the temporaries (`*.tmp.<pid>`) that processes killed while writing left in the sweep's folders.
void remove_temporaries(const std::string& dir)
{
  for (const std::string sub : {"", "/points", "/traces"}) {
    std::error_code ec;
    if (!fs::is_directory(dir + sub, ec))
      continue;
    for (const auto& entry : fs::directory_iterator(dir + sub, ec))
      if (entry.path().filename().string().find(".tmp.") != std::string::npos && entry.is_regular_file())
        fs::remove(entry.path(), ec);
  }
}

/// In a child process: runs one point and writes its record (ok, infeasible or failed). Never returns.
[[noreturn]] void run_point_child(const Sweep& sweep, const SweepPoint& p, const std::string& dir, bool traces)
{
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  int code = 0;
  try {
    nlohmann::ordered_json record;
    try {
      const RunOutput run = run_scenario(scenario_from_json(p.scenario, sweep.file), true);
      record = point_record(p, run.infeasible.empty() ? "ok" : "infeasible", run.infeasible);
      if (run.infeasible.empty())
        record["answers_shared"] = run.answers_shared;
      record["summary"] = run.summary;
      record["scenario"] = to_json(run.scenario);
      if (traces) {
        std::string t = "latency_s,answered_by\n";
        for (const auto& x : run.result.samples)
          t += fmt::format("{},{}\n", x.latency_s(), to_string(x.answered_by));
        write_file_atomic(fmt::format("{}/traces/{}.csv", dir, p.index), t);
      }
    } catch (const EnvironmentError& e) {
      record = point_record(p, "failed", e.what(), true);
    } catch (const std::bad_alloc&) {
      record = point_record(p, "failed", "out of memory", true);
    } catch (const std::exception& e) {
      record = point_record(p, "failed", e.what()); // the point's own error: the same again on every run
    }
    write_file_atomic(point_file(dir, p.index), record.dump(1) + "\n");
  } catch (...) {
    code = 3;
  }
  std::fflush(nullptr);
  _exit(code);
}

/// In a child process: trains and caches one model. Never returns.
[[noreturn]] void train_model_child(const Scenario& s)
{
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  int code = 0;
  try {
    obtain_model(s, true);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scee: training failed: %s\n", e.what());
    code = 1;
  }
  std::fflush(nullptr);
  _exit(code);
}

/// Runs `tasks` (each a function run in a forked child) `jobs` at a time: prepare(task) runs in this process just
/// before the task's child is forked, launch(task) in the child; calls done(task, status) as each ends. Stops
/// launching when interrupted, and waits for the running ones.
template <class Prepare, class Launch, class Done>
void run_pool(std::size_t tasks, int jobs, Prepare prepare, Launch launch, Done done)
{
  std::map<pid_t, std::size_t> running;
  std::size_t next = 0;
  while ((next < tasks && !interrupted) || !running.empty()) {
    while (next < tasks && !interrupted && int(running.size()) < jobs) {
      prepare(next);
      if (interrupted)
        break;
      std::fflush(nullptr);
      const pid_t pid = fork();
      if (pid < 0)
        throw std::runtime_error(fmt::format("fork failed: {}", std::strerror(errno)));
      if (pid == 0)
        launch(next); // never returns
      running[pid] = next++;
    }
    int status = 0;
    const pid_t pid = waitpid(-1, &status, 0);
    if (pid < 0) {
      if (errno == EINTR)
        continue;
      throw std::runtime_error(fmt::format("waitpid failed: {}", std::strerror(errno)));
    }
    const auto it = running.find(pid);
    if (it == running.end())
      continue;
    const std::size_t task = it->second;
    running.erase(it);
    done(task, status);
  }
}

std::string describe_status(int status)
{
  if (WIFSIGNALED(status))
    return fmt::format("the point's process was killed by signal {} ({})", WTERMSIG(status),
                       strsignal(WTERMSIG(status)));
  return fmt::format("the point's process exited with status {} without a result", WEXITSTATUS(status));
}

nlohmann::json sweep_header(const Sweep& sweep, const SweepOptions& o)
{
  return {{"fingerprint", sweep.fingerprint()},
          {"points", sweep.point_count()},
          {"shard", fmt::format("{}/{}", o.shard_index, o.shard_count)},
          {"sweep", sweep.to_json()}};
}

void write_results(const std::string& dir, const std::vector<nlohmann::ordered_json>& records,
                   const std::vector<std::string>& axes, nlohmann::json manifest)
{
  write_file_atomic(dir + "/results.csv", results_csv(records, axes));
  write_file_atomic(dir + "/manifest.json", manifest.dump(2) + "\n");
}

/// Trains the models, `jobs` at a time, each in its own process; returns how many failed.
int train_models(const std::vector<const Scenario*>& to_train, int jobs, bool quiet)
{
  if (to_train.empty())
    return 0;
  Progress bar("train", stderr, 10.0);
  int done = 0, failed = 0;
  run_pool(
      to_train.size(), jobs, [](std::size_t) {}, [&](std::size_t t) { train_model_child(*to_train[t]); },
      [&](std::size_t, int status) {
        ++done;
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        if (!quiet)
          bar.update(double(done) / double(to_train.size()),
                     fmt::format("{}/{} models, {} failed", done, to_train.size(), failed));
      });
  if (!quiet)
    bar.finish(fmt::format("{} models trained, {} failed", done - failed, failed));
  return failed;
}

std::vector<std::string> axis_names(const Sweep& sweep)
{
  std::vector<std::string> names;
  for (const auto& a : sweep.axes)
    for (const auto& n : a.names)
      names.push_back(n);
  return names;
}

} // namespace

std::pair<int, int> parse_shard(const std::string& text)
{
  int i = -1, n = -1;
  char slash = 0;
  std::istringstream in(text);
  if (!(in >> i >> slash >> n) || slash != '/' || !in.eof() || n < 1 || i < 0 || i >= n)
    throw InputError(fmt::format("--shard: \"{}\" is not of the form i/N with 0 <= i < N (e.g. 0/4), auto or auto/N",
                                 text));
  return {i, n};
}

std::vector<bool> pareto_front(const std::vector<nlohmann::ordered_json>& records)
{
  struct Row {
    std::string group;
    double acc, p95, energy;
    bool ok;
  };
  std::vector<Row> rows;
  for (const auto& r : records) {
    Row row{"", 0, 0, 0, r.value("status", "") == "ok" && r.contains("summary")};
    if (row.ok) {
      const auto& s = r["summary"];
      row.group = s.value("device", "") + "\x1f" + s.value("network", "");
      row.acc = s.value("accuracy", 0.0);
      row.p95 = s.value("latency_p95_s", 0.0);
      row.energy = s.value("edge_energy_per_inference_j", 0.0);
    }
    rows.push_back(row);
  }
  std::vector<bool> front(rows.size(), false);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (!rows[i].ok)
      continue;
    bool dominated = false;
    for (std::size_t j = 0; j < rows.size() && !dominated; ++j) {
      if (j == i || !rows[j].ok || rows[j].group != rows[i].group)
        continue;
      const auto &a = rows[j], &b = rows[i];
      const bool no_worse = a.acc >= b.acc && a.p95 <= b.p95 && a.energy <= b.energy;
      const bool better = a.acc > b.acc || a.p95 < b.p95 || a.energy < b.energy;
      dominated = no_worse && better;
    }
    front[i] = !dominated;
  }
  return front;
}

std::string results_csv(const std::vector<nlohmann::ordered_json>& records, const std::vector<std::string>& axes)
{
  std::vector<std::string> metric_keys;
  std::set<std::string> known;
  for (const auto& r : records)
    if (r.contains("summary"))
      for (const auto& [key, value] : r["summary"].items())
        if (known.insert(key).second)
          metric_keys.push_back(key);
  std::vector<std::string> head = {"point", "status", "error"};
  for (const auto& a : axes)
    head.push_back("axis_" + a);
  head.insert(head.end(), metric_keys.begin(), metric_keys.end());
  head.push_back("pareto");
  std::string out = fmt::format("{}\n", fmt::join(head, ","));
  const auto front = pareto_front(records);
  for (std::size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    std::vector<std::string> row = {csv_cell(r["point"]), csv_cell(r["status"]), csv_cell(r["error"])};
    for (const auto& a : axes)
      row.push_back(r["axes"].contains(a) ? axis_cell(nlohmann::json::parse(r["axes"][a].dump())) : "");
    for (const auto& k : metric_keys)
      row.push_back(r.contains("summary") && r["summary"].contains(k) ? csv_cell(r["summary"][k]) : "");
    row.push_back(front[i] ? "1" : "0");
    out += fmt::format("{}\n", fmt::join(row, ","));
  }
  return out;
}

int run_sweep(const Sweep& sweep, const SweepOptions& o, const std::string& command_line)
{
  const auto wall_start = std::chrono::steady_clock::now();
  // Points are built when they are needed, one at a time: a sweep of 1,000,000 points never holds them all.
  const std::size_t count = sweep.point_count();
  std::vector<int> mine; // this shard's point indices
  for (std::size_t i = std::size_t(o.shard_index); i < count; i += std::size_t(o.shard_count))
    mine.push_back(int(i));

  // The models the points need, and the inputs to preload: only the axes that change a model or its test samples
  // decide them, so one valid point per combination of those axes' steps stands for all the others (the first of
  // the combination's points that validates; the others' own errors are recorded when they run).
  const std::vector<std::string> input_axes = {"fan_outs", "densities", "dataset", "samples"};
  std::vector<Scenario> representatives;
  std::map<std::string, const Scenario*> models; // cache path or file -> a scenario naming it
  {
    std::vector<std::size_t> wanted = sweep.combinations(input_axes);
    std::vector<bool> found(wanted.size(), false);
    std::size_t remaining = wanted.size();
    for (std::size_t other = 0; remaining > 0 && other < 1000; ++other) {
      const auto candidates = sweep.combinations(input_axes, other);
      if (candidates.empty())
        break;
      for (std::size_t c = 0; c < candidates.size(); ++c) {
        if (found[c])
          continue;
        try {
          representatives.push_back(scenario_from_json(sweep.point(candidates[c]).scenario, sweep.file));
          found[c] = true;
          --remaining;
        } catch (const InputError&) {
          // this combination's next point may be valid
        }
      }
    }
  }
  for (const Scenario& s : representatives) {
    models.emplace(model_path(s), &s);
  }
  std::vector<const Scenario*> to_train;
  for (const auto& [path, s] : models)
    if (s->model_spec && !fs::exists(path))
      to_train.push_back(s);

  if (o.dry_run) {
    fmt::print("{}: {} points ({} in shard {}/{}), {} models ({} to train)\n", sweep.name, count, mine.size(),
               o.shard_index, o.shard_count, models.size(), to_train.size());
    std::string lines;
    for (const int i : mine) {
      lines += fmt::format("  point {:>5}  {}\n", i, sweep.axis_values(std::size_t(i)).dump());
      if (lines.size() > (1 << 20)) {
        std::fputs(lines.c_str(), stdout);
        lines.clear();
      }
    }
    std::fputs(lines.c_str(), stdout);
    for (const auto& [path, s] : models)
      fmt::print("  model {} {}\n", path, fs::exists(path) ? "(cached)" : "(to train)");
    return 0;
  }
  if (o.train_only) {
    const int failed = train_models(to_train, o.jobs, o.quiet);
    fmt::print("{}: {} models, {} trained now, {} failed (cache {}/models)\n", sweep.name, models.size(),
               to_train.size() - std::size_t(failed), failed, cache_dir());
    return failed ? 1 : 0;
  }

  // The output directory: new, or the same sweep when resuming.
  const std::string header_path = o.out_dir + "/sweep.json";
  const nlohmann::json header = sweep_header(sweep, o);
  if (fs::exists(header_path)) {
    if (!o.resume)
      throw InputError(fmt::format("{}: already holds a sweep; add --resume to continue it, or choose another --out",
                                   o.out_dir));
    const auto old = read_json_file(header_path);
    if (old.value("fingerprint", "") != header["fingerprint"] || old.value("shard", "") != header["shard"])
      throw InputError(fmt::format("{}: holds a different sweep (or shard) than {}; choose another --out", o.out_dir,
                                   sweep.file));
  } else if (fs::exists(o.out_dir) && !fs::is_empty(o.out_dir)) {
    throw InputError(fmt::format("{}: exists and is not a sweep's output directory; choose another --out", o.out_dir));
  }
  fs::create_directories(o.out_dir + "/points");
  // One sweep at a time in a folder: a second run (say two --resume at once) would race for the same points.
  const std::string lock_path = o.out_dir + "/.lock";
  const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd < 0)
    throw InputError(fmt::format("{}: cannot open the sweep's lock file ({})", lock_path, std::strerror(errno)));
  if (::flock(lock_fd, LOCK_EX | LOCK_NB) != 0)
    throw InputError(fmt::format("{}: another scee sweep is running in this folder; wait for it to end (or stop it) "
                                 "before resuming",
                                 o.out_dir));
  remove_temporaries(o.out_dir);
  write_file_atomic(header_path, header.dump(2) + "\n");

  std::signal(SIGINT, on_sigint);
  std::signal(SIGTERM, on_sigint); // Slurm's time limit and scancel: keep what finished, say what did not
  const bool traces = o.traces || sweep.traces;

  // Train the missing models first, each once, in parallel.
  train_models(to_train, o.jobs, o.quiet);

  // Then the points that have no record yet.
  std::vector<int> todo;
  for (const int i : mine)
    if (needs_run(o.out_dir, i))
      todo.push_back(i);
  // Every point would read and check the same model and test files: read them once here, and the points' processes,
  // forked from this one, inherit them.
  std::vector<const Scenario*> preload;
  for (const Scenario& s : representatives)
    preload.push_back(&s);
  preload_inputs(preload);

  int done = int(mine.size() - todo.size()), failed = 0;
  Progress bar("sweep", stderr, 10.0);
  // The points that share a model, samples, split, device exits and encoding share one execution of their network:
  // once one of them has run without error, this process computes those answers and keeps them (prepare_answers),
  // and the points it forks after that inherit them. The first ones compute their own, in parallel; a pass that
  // fails or crashes stays in its point's process. Each key's answers are computed here at most once: once dropped
  // (kept_answers_bytes), the later points compute their own again, in parallel. (A point refused for a reason
  // outside the key computes nothing here, and the next point of the key tries again.)
  std::set<AnswersKey> proven, prepared;
  std::map<std::size_t, AnswersKey> running_keys;
  run_pool(
      todo.size(), o.jobs,
      [&](std::size_t t) {
        try {
          const Scenario s = scenario_from_json(sweep.point(std::size_t(todo[t])).scenario, sweep.file);
          if (const auto key = loaded_answers_key(s)) {
            if (proven.count(*key) && !prepared.count(*key) && prepare_answers(s))
              prepared.insert(*key);
            running_keys.emplace(t, *key);
          }
        } catch (const std::exception&) {
          // an invalid point: its own process records the error
        }
      },
      [&](std::size_t t) { run_point_child(sweep, sweep.point(std::size_t(todo[t])), o.out_dir, traces); },
      [&](std::size_t t, int status) {
        const int index = todo[t];
        const std::string path = point_file(o.out_dir, index);
        // A process that ended without writing its record (a signal, a crash, a full disk) did not fail by the
        // point's own fault: record it, to be retried on --resume. A retry record left from before is replaced.
        if (!fs::exists(path) || (status != 0 && read_point(o.out_dir, index).value("retry", false))) {
          if (interrupted)
            return; // not finished: a resumed sweep runs it again
          SweepPoint p;
          p.index = index;
          p.axis_values = sweep.axis_values(std::size_t(index));
          write_file_atomic(path, point_record(p, "failed", describe_status(status), true).dump(1) + "\n");
        }
        ++done;
        const std::string point_status = read_point(o.out_dir, index).value("status", "");
        failed += point_status == "failed";
        if (const auto it = running_keys.find(t); it != running_keys.end()) {
          if (point_status == "ok")
            proven.insert(it->second);
          running_keys.erase(it);
        }
        if (!o.quiet)
          bar.update(double(done) / double(mine.size()),
                     fmt::format("{}/{} points, {} failed", done, mine.size(), failed));
      });
  std::signal(SIGINT, SIG_DFL);
  std::signal(SIGTERM, SIG_DFL);
  if (interrupted) {
    fmt::print(stderr, "\ninterrupted: {} of {} points finished and kept in {}; continue with --resume\n", done,
               mine.size(), o.out_dir);
    return 130;
  }

  std::vector<nlohmann::ordered_json> records;
  int failures = 0, retries = 0, shared = 0;
  std::vector<std::string> first_errors;
  for (const int i : mine) {
    records.push_back(read_point(o.out_dir, i));
    shared += records.back().value("answers_shared", false);
    if (records.back().value("status", "") == "failed") {
      ++failures;
      retries += records.back().value("retry", false);
      if (first_errors.size() < 3)
        first_errors.push_back(fmt::format("point {}: {}", i, records.back().value("error", "")));
    }
  }
  if (!o.quiet)
    bar.finish(fmt::format("{} points, {} failed", mine.size(), failures));
  nlohmann::json manifest = manifest_base(command_line);
  manifest["sweep_file"] = sweep.file;
  manifest["fingerprint"] = header["fingerprint"];
  manifest["shard"] = header["shard"];
  manifest["points"] = mine.size();
  manifest["failed_points"] = failures;
  manifest["points_sharing_answers"] = shared;
  manifest["jobs"] = o.jobs;
  manifest["sweep"] = sweep.to_json();
  manifest["wall_time_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  write_results(o.out_dir, records, axis_names(sweep), manifest);
  fmt::print("{}: {} points ({} failed) -> {}/results.csv\n", sweep.name, mine.size(), failures, o.out_dir);
  if (failures == 0)
    return 0;
  // A sweep with failed points is not a success: say how many, why (the first few), and what to do.
  fmt::print(stderr, "scee: {} of {} points failed; {}", failures, mine.size(),
             retries > 0 ? fmt::format("{} by a signal or the machine (a full disk, no memory): run the same command "
                                       "with --resume to retry them; ",
                                       retries)
                         : std::string());
  fmt::print(stderr, "{} by their own error (the error column of results.csv): {}\n", failures - retries,
             first_errors.empty() ? "-" : fmt::format("{}", fmt::join(first_errors, "; ")));
  return 1;
}

std::vector<int> unfinished_points(const Sweep& sweep, const SweepOptions& o)
{
  std::vector<int> out;
  for (int i = o.shard_index; i < int(sweep.point_count()); i += o.shard_count)
    if (needs_run(o.out_dir, i))
      out.push_back(i);
  return out;
}

void merge_sweeps(const std::vector<std::string>& shard_dirs, const std::string& out_dir,
                  const std::string& command_line)
{
  if (shard_dirs.empty())
    throw InputError("merge: give the output directories of the shards");
  nlohmann::json first;
  std::map<int, nlohmann::ordered_json> records;
  for (const auto& dir : shard_dirs) {
    const std::string header_path = dir + "/sweep.json";
    if (!fs::exists(header_path))
      throw InputError(fmt::format("{}: not a sweep output directory (no sweep.json)", dir));
    const auto header = read_json_file(header_path);
    if (first.is_null())
      first = header;
    else if (header.value("fingerprint", "") != first.value("fingerprint", ""))
      throw InputError(fmt::format("{}: comes from a different sweep than {}", dir, shard_dirs.front()));
    if (fs::exists(dir + "/points"))
      for (const auto& entry : fs::directory_iterator(dir + "/points"))
        if (entry.path().extension() == ".json") {
          int index = -1;
          try {
            index = std::stoi(entry.path().stem().string());
          } catch (const std::exception&) {
            throw InputError(fmt::format("{}: not a point record's name (<index>.json)", entry.path().string()));
          }
          records[index] = read_point(dir, index);
        }
  }
  const int total = first.value("points", 0);
  std::vector<int> missing;
  for (int i = 0; i < total; ++i)
    if (!records.count(i))
      missing.push_back(i);
  if (!missing.empty()) {
    std::vector<int> some(missing.begin(), missing.begin() + std::min<std::size_t>(missing.size(), 20));
    const int shards = parse_shard(first.value("shard", "0/1")).second;
    std::set<int> unfinished; // the shards (of the first directory's sharding) that hold the missing points
    for (const int p : missing)
      unfinished.insert(p % shards);
    throw InputError(fmt::format("merge: {} of {} points have no result (points {}{}); rerun shard{} {} (of {}) "
                                 "with --resume",
                                 missing.size(), total, fmt::join(some, ", "), missing.size() > 20 ? ", ..." : "",
                                 unfinished.size() > 1 ? "s" : "", fmt::join(unfinished, ", "), shards));
  }
  std::vector<nlohmann::ordered_json> ordered;
  int failures = 0, shared = 0;
  for (auto& [i, r] : records) {
    failures += r.value("status", "") == "failed";
    shared += r.value("answers_shared", false);
    ordered.push_back(std::move(r));
  }
  std::vector<std::string> axes;
  for (const auto& a : first["sweep"]["axes"])
    for (const auto& n : a["names"])
      axes.push_back(n.get<std::string>());
  nlohmann::json manifest = manifest_base(command_line);
  manifest["fingerprint"] = first["fingerprint"];
  manifest["merged_from"] = shard_dirs;
  manifest["points"] = total;
  manifest["failed_points"] = failures;
  manifest["points_sharing_answers"] = shared;
  manifest["sweep"] = first["sweep"];
  fs::create_directories(out_dir);
  write_results(out_dir, ordered, axes, manifest);
  fmt::print("merged {} points ({} failed) from {} directories -> {}/results.csv\n", total, failures,
             shard_dirs.size(), out_dir);
}

} // namespace scee
