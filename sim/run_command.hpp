// `scee run scenario.json`: one simulation, with a summary (JSON and CSV), a per-sample trace and a manifest.
#pragma once

#include "model_commands.hpp"

namespace scee {

void add_run_command(CLI::App& app, Action& action, const std::string& command_line);

} // namespace scee
