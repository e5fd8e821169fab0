// Writing a file so that it appears whole or not at all, whatever happens to the process (SIGKILL, a crash, a full
// disk): the content goes to a temporary file of this process in the same folder, is flushed to the disk, and is
// renamed over the destination. Concurrent writers of the same file (two shards training the same cached model)
// each rename a complete file.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace scee {

/// Writes `content` to `path` atomically; creates missing parent folders. Problems (a folder that cannot be created,
/// a full disk) are InputErrors naming the path.
void write_file_atomic(const std::string& path, const std::string& content);

/// Refuses (InputError) an empty path or one with a control character (a newline or a NUL would split or cut the one-line messages
/// and listings that name it); `what` says which argument it is ("--out").
void check_path_text(const std::string& path, const std::string& what);

/// Checks, before any work, that a file can be written at `path` (its folder can be made and written to, and the
/// path is not a folder); InputError naming `what` otherwise.
void check_writable_file(const std::string& path, const std::string& what);

/// `path` in its lexically normal form without a trailing separator ("out/x/.." -> "out", "x/" -> "x", "" -> "."),
/// so that checks and writes see the same folder.
std::string normal_path(const std::string& path);

/// Checks, before any work, that `dir` can receive a run's `files`: a new folder, or an existing one that holds
/// nothing but (earlier versions of) those files, which the run replaces. Anything else in it is refused, so that a
/// run never deletes what it did not write (`--out .`, `--out results/..`).
void check_output_folder(const std::string& dir, const std::vector<std::string>& files, const std::string& what);

/// Writes the files of a run so that they appear together or not at all: into a temporary sibling folder, then
/// renamed into place (an existing folder of an earlier run is replaced). Checks as check_output_folder does.
void write_folder_atomic(const std::string& dir, const std::vector<std::pair<std::string, std::string>>& files,
                         const std::string& what);

} // namespace scee
