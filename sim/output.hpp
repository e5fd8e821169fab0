// Writing results: files appear whole or not at all (temporary file, then rename), and every output carries a
// manifest of what produced it.
#pragma once

#include "atomic_file.hpp" // write_file_atomic: every output file is written with it

#include <nlohmann/json.hpp>
#include <string>

namespace scee {

/// scee version, git revision of the source tree (with "-dirty" when it has uncommitted changes, "unknown" without
/// git), SimGrid version, command line.
nlohmann::json manifest_base(const std::string& command_line);

/// One CSV cell: strings quoted when needed, numbers in their shortest exact form, booleans as 1/0, null empty.
std::string csv_cell(const nlohmann::ordered_json& v);

/// The git revision of the source tree scee was built from.
std::string git_revision();

} // namespace scee
