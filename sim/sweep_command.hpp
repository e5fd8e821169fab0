// `scee sweep` (run, resume, shard or list a parameter sweep) and `scee merge` (combine shard outputs).
#pragma once

#include "model_commands.hpp"

namespace scee {

void add_sweep_command(CLI::App& app, Action& action, const std::string& command_line);
void add_merge_command(CLI::App& app, Action& action, const std::string& command_line);

} // namespace scee
