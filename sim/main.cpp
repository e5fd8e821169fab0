// scee: the command-line entry point. Parses the subcommand and runs it; every InputError becomes one line on
// stderr and exit status 2.
#include "error.hpp"
#include "model_commands.hpp"
#include "plot_command.hpp"
#include "profiles_command.hpp"
#include "run_command.hpp"
#include "sweep_command.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

int main(int argc, char** argv)
{
  std::string command_line;
  for (int i = 0; i < argc; ++i)
    command_line += (i ? " " : "") + std::string(argv[i]);

  CLI::App app{"scee: a discrete-event simulator of split computing and early exits with predefined-sparse neural "
               "networks (SimGrid 3.32)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", SCEE_VERSION);
  scee::Action action;
  scee::add_run_command(app, action, command_line);
  scee::add_sweep_command(app, action, command_line);
  scee::add_merge_command(app, action, command_line);
  scee::add_train_command(app, action, command_line);
  scee::add_eval_command(app, action, command_line);
  scee::add_profiles_command(app, action);
  scee::add_plot_command(app, action);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    return action ? action() : 0;
  } catch (const scee::InputError& e) {
    fmt::print(stderr, "scee: error: {}\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "scee: internal error: {}\n", e.what());
    return 3;
  }
}
