// The model-side subcommands of the CLI: `scee train` and `scee eval`.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>

namespace scee {

/// What a parsed subcommand will do; returns the exit status.
using Action = std::function<int()>;

/// Adds `train` to the app; when it is parsed, `action` is set to run it.
void add_train_command(CLI::App& app, Action& action, const std::string& command_line);
/// Adds `eval` to the app.
void add_eval_command(CLI::App& app, Action& action, const std::string& command_line);

} // namespace scee
