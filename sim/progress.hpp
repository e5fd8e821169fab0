// Progress reporting for long work: a redrawn bar on a terminal, plain periodic lines otherwise (logs, CI).
#pragma once

#include <chrono>
#include <cstdio>
#include <string>

namespace scee {

class Progress {
public:
  /// Reports to `out` (stderr by default); `interval_s` is the period of plain lines when not on a terminal.
  explicit Progress(std::string label, std::FILE* out = stderr, double interval_s = 10.0);
  /// fraction in [0, 1]; detail is shown after the bar; the time left is extrapolated from the elapsed time once 2% of
  /// the work and 2 s have passed ("?" before).
  void update(double fraction, const std::string& detail);
  /// Prints the final state and a newline.
  void finish(const std::string& detail);

  static std::string format_duration(double seconds);

private:
  double elapsed() const;
  std::string label_;
  std::FILE* out_;
  bool tty_;
  double interval_s_;
  double last_print_ = -1e9;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

} // namespace scee
