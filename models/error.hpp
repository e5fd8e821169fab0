// The exception type for bad user input (missing or corrupt files, bad specs, ...). The CLI prints its message as
// one line on stderr and exits with status 2.
#pragma once

#include <stdexcept>

namespace scee {

/// Thrown for every bad input; what() is one line naming the input, what is wrong and how to fix it.
struct InputError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace scee
