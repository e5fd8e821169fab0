// Writing a file so that it appears whole or not at all, whatever happens to the process (SIGKILL, a crash, a full
// disk): the content goes to a temporary file of this process in the same folder, is flushed to the disk, and is
// renamed over the destination. Concurrent writers of the same file (two shards training the same cached model)
// each rename a complete file.
#pragma once

#include <string>

namespace scee {

/// Writes `content` to `path` atomically; creates missing parent folders. Problems (a folder that cannot be created,
/// a full disk) are InputErrors naming the path.
void write_file_atomic(const std::string& path, const std::string& content);

} // namespace scee
