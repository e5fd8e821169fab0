// The exception type for bad user input (missing or corrupt files, bad specs, ...). The CLI prints its message as
// one line on stderr and exits with status 2.
#pragma once

#include <stdexcept>

namespace scee {

/// Thrown for every bad input; what() is one line naming the input, what is wrong and how to fix it.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A failure of the machine rather than of the input (a full disk, an I/O error, no memory): the same work may
/// succeed when retried, so a sweep retries a point that failed so on --resume.
struct EnvironmentError : InputError {
  using InputError::InputError;
};

/// Whether errno value `err` describes the machine (ENOSPC, EDQUOT, EIO, ENOMEM, EMFILE, ENFILE) rather than the
/// input.
bool environmental_errno(int err);

}  // namespace scee
