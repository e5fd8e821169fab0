// The `scee profiles` subcommand: lists the built-in device, server and network profiles (validated), as a table
// or as JSON.
#pragma once

#include "model_commands.hpp"

#include <CLI/CLI.hpp>

namespace scee {

/// Adds `profiles [--kind device|server|network] [--json]` to the app.
void add_profiles_command(CLI::App& app, Action& action);

} // namespace scee
