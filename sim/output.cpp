#include "output.hpp"

#include <array>
#include <cstdio>
#include <fmt/format.h>
#include <simgrid/config.h>
#include <simgrid/version.h>

namespace scee {

std::string csv_cell(const nlohmann::ordered_json& v)
{
  if (v.is_null())
    return "";
  if (v.is_string()) {
    const auto t = v.get<std::string>();
    if (t.find_first_of(",\"\n\r") == std::string::npos)
      return t;
    std::string q = "\"";
    for (char ch : t)
      q += ch == '"' ? std::string("\"\"") : std::string(1, ch == '\n' || ch == '\r' ? ' ' : ch);
    return q + "\"";
  }
  if (v.is_number_float())
    return fmt::format("{}", v.get<double>());
  if (v.is_boolean())
    return v.get<bool>() ? "1" : "0";
  return v.dump();
}

static std::string run_command(const std::string& cmd)
{
  std::string out;
  if (std::FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 256> buf{};
    while (std::fgets(buf.data(), int(buf.size()), p))
      out += buf.data();
    if (pclose(p) != 0)
      return "";
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' '))
    out.pop_back();
  return out;
}

std::string git_revision()
{
  static const std::string rev = [] {
    const std::string dir = SCEE_SOURCE_DIR;
    std::string r = run_command(fmt::format("git -C '{}' rev-parse HEAD 2>/dev/null", dir));
    if (r.empty())
      return std::string("unknown");
    if (!run_command(fmt::format("git -C '{}' status --porcelain --untracked-files=no 2>/dev/null", dir)).empty())
      r += "-dirty";
    return r;
  }();
  return rev;
}

nlohmann::json manifest_base(const std::string& command_line)
{
  return {{"scee_version", SCEE_VERSION},
          {"git_revision", git_revision()},
          {"simgrid_version", fmt::format("{}.{}.{}", SIMGRID_VERSION_MAJOR, SIMGRID_VERSION_MINOR,
                                          SIMGRID_VERSION_PATCH)},
          {"build_arch", SCEE_BUILD_ARCH}, // -march level of this build (CMake's SCEE_ARCH)
          {"command", command_line}};
}

} // namespace scee
