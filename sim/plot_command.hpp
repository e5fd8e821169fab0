// The `scee plot` subcommand: draws the figures of a `scee sweep` results CSV by running analysis/plot.py with the
// system Python (matplotlib and pandas), passing the arguments through.
#pragma once

#include "model_commands.hpp"

#include <CLI/CLI.hpp>

namespace scee {

/// Adds `plot RESULTS.csv --out DIR [--accuracy-target X] [--traces DIR] [--formats LIST]` to the app. The action
/// runs $SCEE_PYTHON (default /usr/bin/python3) on SCEE_SOURCE_DIR/analysis/plot.py and returns its exit status.
void add_plot_command(CLI::App& app, Action& action);

} // namespace scee
