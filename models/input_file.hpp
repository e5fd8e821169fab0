// Reading a file a user names (a scenario, a spec, a model, a trace): whole, only if it is a regular file, and only up
// to a size that such a file can have, so that a FIFO cannot hang a run and /dev/zero cannot fill the memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace scee {

/// The most bytes of a JSON file (scenario, sweep, spec, profile) and of a fault trace: 16 MiB.
inline constexpr std::uint64_t max_text_file_bytes = std::uint64_t(16) << 20;
/// The most bytes of a model file: 2 GiB (2^26 weights with their indices take under 600 MB).
inline constexpr std::uint64_t max_model_file_bytes = std::uint64_t(2) << 30;

/// The file's bytes, or nullopt (errno set) when it cannot be opened. Throws InputError "<path>: ..." naming `what`
/// (e.g. "a scenario (JSON file)") for a directory, a FIFO, device or socket, or a file over max_bytes.
std::optional<std::string> read_input_file(const std::string& path, std::uint64_t max_bytes, const std::string& what);

} // namespace scee
