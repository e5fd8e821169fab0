// scee: the command-line entry point. Parses the subcommand and runs it; every InputError and every argument error
// becomes one line on stderr and exit status 2.
#include "atomic_file.hpp"
#include "error.hpp"
#include "model_commands.hpp"
#include "plot_command.hpp"
#include "profiles_command.hpp"
#include "run_command.hpp"
#include "sweep_command.hpp"

#include <CLI/CLI.hpp>
#include <cstdlib>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <new>
#include <regex>

namespace {

/// The names of the subcommands, in the order they were added.
std::vector<std::string> command_names(CLI::App& app)
{
  std::vector<std::string> names;
  for (const auto* c : app.get_subcommands({}))
    names.push_back(c->get_name());
  return names;
}

/// An option's value type ("INT", "FLOAT", "[INT]", ...), without the validators' descriptions CLI11 appends.
std::string type_of(const CLI::Option& opt)
{
  const std::string t = opt.get_type_name();
  return t.substr(0, t.find(':'));
}

/// A CLI11 message made short and precise: numeric ranges as intervals (CLI11 prints PositiveNumber as "0.000000 to
/// 179769...": `must be > 0`), conversions naming the expected type, newlines folded.
std::string tidy(std::string what, CLI::App* command)
{
  for (auto& ch : what)
    if (ch == '\n' || ch == '\r')
      ch = ' ';
  std::smatch m;
  if (std::regex_match(what, m, std::regex(R"((\S+): Value (.*) not in range (\S+) to (\S+))"))) {
    const double lo = std::strtod(m[3].str().c_str(), nullptr), hi = std::strtod(m[4].str().c_str(), nullptr);
    CLI::Option* opt = command ? command->get_option_no_throw(m[1].str()) : nullptr;
    bool positive = false; // CLI::PositiveNumber's lower bound (the smallest double) prints as 0.000000
    for (int i = 0; opt && !positive; ++i)
      try {
        positive = opt->get_validator(i)->get_description() == "POSITIVE";
      } catch (const CLI::OptionNotFound&) {
        break;
      }
    const std::string valid = hi >= 1e300 ? (positive ? std::string("> 0") : fmt::format(">= {}", lo))
                                          : fmt::format("in [{}, {}]", lo, hi);
    const bool integer = opt && type_of(*opt) == "INT";
    return fmt::format("{}: must be {} {}, got {}", m[1].str(), integer ? "an integer" : "a number", valid, m[2].str());
  }
  if (std::regex_match(what, m, std::regex(R"(Could not convert: (\S+) = (.*))"))) {
    const CLI::Option* opt = command ? command->get_option_no_throw(m[1].str()) : nullptr;
    const std::string type = opt ? type_of(*opt) : std::string();
    return fmt::format("{}: \"{}\" is not a valid {}", m[1].str(), m[2].str(), type.empty() ? "value" : type);
  }
  if (std::regex_match(what, m, std::regex(R"(The following arguments? (was|were) not expected: (.*))")))
    return fmt::format("{}: unexpected argument (not an option of this command)", m[2].str());
  return what;
}

} // namespace

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
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // One line, naming the argument, and where the valid ones are listed.
    const auto names = command_names(app);
    CLI::App* command = nullptr;
    for (int i = 1; i < argc && !command; ++i)
      if (std::find(names.begin(), names.end(), argv[i]) != names.end())
        command = app.get_subcommand(argv[i]);
    if (argc < 2)
      fmt::print(stderr, "scee: error: a command is required, one of {}; see scee --help\n", fmt::join(names, ", "));
    else if (!command && argv[1][0] != '-')
      fmt::print(stderr, "scee: error: unknown command \"{}\"; valid: {}; see scee --help\n", argv[1],
                 fmt::join(names, ", "));
    else if (!command && dynamic_cast<const CLI::RequiredError*>(&e))
      fmt::print(stderr, "scee: error: {}: not an option of scee itself; a command is required first, one of {}; see "
                         "scee --help\n",
                 argv[1], fmt::join(names, ", "));
    else if (!command)
      fmt::print(stderr, "scee: error: {}; see scee --help\n", tidy(e.what(), nullptr));
    else
      fmt::print(stderr, "scee: error: {}; see scee {} --help\n", tidy(e.what(), command), command->get_name());
    return 2;
  }
  try {
    // No argument may carry a control character: a newline or a NUL in a path or a name would cut or split the
    // one-line messages that quote it (and names that become folders).
    for (const CLI::App* command : app.get_subcommands())
      for (const CLI::Option* opt : command->get_options())
        for (const std::string& value : opt->results())
          scee::check_path_text(value, opt->get_name().empty() ? "an argument" : opt->get_name());
    return action ? action() : 0;
  } catch (const scee::InputError& e) {
    fmt::print(stderr, "scee: error: {}\n", e.what());
    return 2;
  } catch (const std::filesystem::filesystem_error& e) { // e.g. an --out folder that cannot be made
    fmt::print(stderr, "scee: error: {}\n", e.what());
    return 2;
  } catch (const std::bad_alloc&) {
    fmt::print(stderr, "scee: error: out of memory: the model or the data are too large for this machine (reduce "
                       "the widths, the batch size or the samples)\n");
    return 2;
  } catch (const std::exception& e) {
    fmt::print(stderr, "scee: internal error: {}\n", e.what());
    return 3;
  }
}
