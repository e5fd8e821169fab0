#include "progress.hpp"

#include <cmath>
#include <fmt/format.h>
#include <unistd.h>

namespace scee {

Progress::Progress(std::string label, std::FILE* out, double interval_s)
    : label_(std::move(label)), out_(out), tty_(isatty(fileno(out)) != 0), interval_s_(interval_s)
{
}

double Progress::elapsed() const
{
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

std::string Progress::format_duration(double s)
{
  if (!std::isfinite(s) || s < 0)
    return "?";
  const long t = std::lround(s);
  if (t >= 3600)
    return fmt::format("{}h{:02}m", t / 3600, (t % 3600) / 60);
  if (t >= 60)
    return fmt::format("{}m{:02}s", t / 60, t % 60);
  return fmt::format("{}s", t);
}

void Progress::update(double fraction, const std::string& detail)
{
  const double now = elapsed();
  const double min_gap = tty_ ? 0.1 : interval_s_;
  if (now - last_print_ < min_gap)
    return;
  last_print_ = now;
  // The time left is extrapolated only after 2% of the work and 2 s: the first items carry the start-up costs (at 0.2%
  // a sweep once predicted 7m26s and took 2m29s), so an early estimate is shown as "?".
  const double left = fraction >= 0.02 && now >= 2.0 ? now * (1 - fraction) / fraction : NAN;
  if (tty_) {
    const int width = 24, filled = int(std::lround(fraction * width));
    fmt::print(out_, "\r{} [{}{}] {:5.1f}% {} | {} left   ", label_, std::string(filled, '#'),
               std::string(width - filled, '.'), 100 * fraction, detail, format_duration(left));
  } else {
    fmt::print(out_, "{}: {:5.1f}% {} | {} elapsed, {} left\n", label_, 100 * fraction, detail,
               format_duration(now), format_duration(left));
  }
  std::fflush(out_);
}

void Progress::finish(const std::string& detail)
{
  if (tty_)
    fmt::print(out_, "\r{} [{}] 100.0% {} | {}{}\n", label_, std::string(24, '#'), detail, format_duration(elapsed()),
               std::string(10, ' '));
  else
    fmt::print(out_, "{}: done, {} in {}\n", label_, detail, format_duration(elapsed()));
  std::fflush(out_);
}

} // namespace scee
