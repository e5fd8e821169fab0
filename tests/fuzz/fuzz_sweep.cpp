// libFuzzer harness for sweep expansion: bytes -> a per-process temporary file -> load_sweep (read_json_file,
// the axes, the expansion into points and the validation of each point), then the fingerprint and the CSV cells of
// every axis value. load_sweep reads a path, so the bytes go through a file (a few microseconds). The expected
// outcomes are a Sweep or an InputError (read_json_file turns JSON syntax errors into InputErrors); anything else
// (another exception, a crash, a sanitizer report) is a bug.
//
// Sweeps of more than 1,000 points are skipped: when every point is invalid, load_sweep validates every one of them
// (by design, so that a sweep fails at once only when no point can run), some 70 us per point in a Release build and
// up to 1 ms under the sanitizers on a busy machine, so a 4 KB input could take minutes. docs/reliability.md gives the
// numbers.
#include "error.hpp"
#include "sweep.hpp"

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

/// The product of the lengths of sweep.axes[*].values, or 0 when the document is not shaped like a sweep.
double points_in(const std::uint8_t* data, std::size_t size)
{
  const auto doc = nlohmann::json::parse(data, data + size, nullptr, false);
  if (!doc.is_object() || !doc.contains("sweep") || !doc["sweep"].is_object() || !doc["sweep"].contains("axes") ||
      !doc["sweep"]["axes"].is_array())
    return 0;
  double n = 1;
  for (const auto& axis : doc["sweep"]["axes"])
    if (axis.is_object() && axis.contains("values") && axis["values"].is_array())
      n *= double(axis["values"].size());
  return n;
}

const std::string& temp_file()
{
  static const std::string path = [] {
    const auto p = std::filesystem::temp_directory_path() / ("scee-fuzz-sweep-" + std::to_string(getpid()) + ".json");
    std::atexit([] { std::remove(temp_file().c_str()); });
    return p.string();
  }();
  return path;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (points_in(data, size) > 1000)
    return 0;
  const std::string& path = temp_file();
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
  }
  scee::Sweep sweep;
  try {
    sweep = scee::load_sweep(path);
  } catch (const scee::InputError&) {
    return 0;
  }
  // Outside any try: an exception here is a bug, and libFuzzer reports it as a crash.
  (void)sweep.fingerprint();
  for (const auto& axis : sweep.axes)
    for (const auto& step : axis.steps)
      for (const auto& value : step)
        (void)scee::axis_cell(value);
  return 0;
}
