#include "plot_command.hpp"

#include "error.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <memory>
#include <string>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace scee {

namespace {

struct PlotOptions {
  std::string results, out, accuracy_target, traces, formats;
};

/// The interpreter: $SCEE_PYTHON when set and not empty, else Debian's system Python, which has the
/// python3-matplotlib and python3-pandas packages (a python3 earlier on PATH may not).
std::string python_interpreter()
{
  const char* env = std::getenv("SCEE_PYTHON");
  return env && *env ? env : "/usr/bin/python3";
}

/// Runs argv[0] with argv (no shell) and waits for it; returns its exit status.
int run_process(std::vector<std::string> argv)
{
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::fflush(nullptr); // nothing buffered is written twice by the child
  const pid_t pid = fork();
  if (pid < 0)
    throw std::runtime_error(fmt::format("fork: {}", std::strerror(errno)));
  if (pid == 0) {
    execv(args[0], args.data());
    fmt::print(stderr, "scee: error: {}: cannot run it ({})\n", argv[0], std::strerror(errno));
    std::fflush(stderr);
    _exit(2);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR)
      throw std::runtime_error(fmt::format("waitpid: {}", std::strerror(errno)));
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  fmt::print(stderr, "scee: error: {} was killed by signal {}\n", argv[1], WIFSIGNALED(status) ? WTERMSIG(status) : 0);
  return 3;
}

int run_plot(const PlotOptions& o)
{
  const std::string python = python_interpreter();
  const std::string script = SCEE_SOURCE_DIR "/analysis/plot.py";
  if (access(python.c_str(), X_OK) != 0)
    throw InputError(fmt::format("{}: no Python interpreter there ({}); install it with `apt-get install "
                                 "python3-matplotlib python3-pandas` or set SCEE_PYTHON to one that has them",
                                 python, std::strerror(errno)));
  if (access(script.c_str(), R_OK) != 0)
    throw InputError(fmt::format("{}: the plotting script is missing ({}); scee plot runs it from the source tree "
                                 "scee was built from",
                                 script, std::strerror(errno)));
  std::vector<std::string> argv{python, script, o.results, "--out", o.out};
  if (!o.accuracy_target.empty())
    argv.insert(argv.end(), {"--accuracy-target", o.accuracy_target});
  if (!o.traces.empty())
    argv.insert(argv.end(), {"--traces", o.traces});
  if (!o.formats.empty())
    argv.insert(argv.end(), {"--formats", o.formats});
  return run_process(std::move(argv));
}

} // namespace

void add_plot_command(CLI::App& app, Action& action)
{
  auto o = std::make_shared<PlotOptions>();
  auto* c = app.add_subcommand("plot", "Draw the figures of a `scee sweep` results CSV (accuracy vs energy, latency "
                                       "vs threshold, storage and MACs vs density, best energy and latency per "
                                       "device and network, latency CDFs) as PNG and SVG, with analysis/plot.py and "
                                       "the system Python ($SCEE_PYTHON, default /usr/bin/python3)");
  c->add_option("results", o->results, "results CSV written by `scee sweep`")->required();
  c->add_option("--out", o->out, "directory for the figures (created if needed)")->required();
  c->add_option("--accuracy-target", o->accuracy_target,
                "minimum accuracy for the heatmaps, a fraction such as 0.93 (default: the best accuracy in the CSV "
                "minus 0.5 points)")
      ->check(CLI::Number);
  c->add_option("--traces", o->traces,
                "directory of per-point latency traces <point>.csv (default: traces/ beside "
                "the CSV, if any)");
  c->add_option("--formats", o->formats, "comma-separated figure formats among png, svg, pdf (default png,svg)");
  c->callback([o, &action] { action = [o] { return run_plot(*o); }; });
}

} // namespace scee
