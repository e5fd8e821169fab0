// Parameter sweeps declared in a scenario's "sweep" section: axes (or groups of axes varied together) whose
// cartesian product gives the points, each a complete scenario. Execution is in sweep_runner.hpp.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace scee {

/// One entry of sweep.axes: a single axis, or several axes varied together (one tuple of values per step).
struct SweepAxis {
  std::vector<std::string> names;               ///< axis names (see sweep_axis_names())
  std::vector<std::vector<nlohmann::json>> steps; ///< per step, one value per name
};

struct SweepPoint {
  int index = 0;
  nlohmann::ordered_json axis_values; ///< name -> value, in axis order
  nlohmann::json scenario;            ///< the complete scenario document of this point
};

struct Sweep {
  std::string file;
  std::string name;
  nlohmann::json base; ///< the scenario without its "sweep" section
  std::vector<SweepAxis> axes;
  bool traces = false; ///< keep each point's per-sample latencies

  std::size_t point_count() const;
  /// Point i (0 <= i < point_count()), built on demand: a sweep never holds all its points (up to 1,000,000).
  SweepPoint point(std::size_t i) const;
  /// The axis values of point i (name -> value, in axis order), without building its scenario.
  nlohmann::ordered_json axis_values(std::size_t i) const;
  /// Points that differ only in the axes naming any of `names`: one per combination of those axes' steps, the other
  /// axes at step `other` (a mixed-radix number over the other axes, 0 = their first steps). E.g. one point per
  /// model of the sweep ({"fan_outs", "densities", "dataset"}). Empty when `other` is past the other axes' range.
  std::vector<std::size_t> combinations(const std::vector<std::string>& names, std::size_t other = 0) const;
  /// Every point, in index order (the first axis varies slowest); for small sweeps (tests).
  std::vector<SweepPoint> points() const;
  /// A stable fingerprint of the sweep definition (base scenario and axes): shards and resumed runs must match it.
  std::string fingerprint() const;
  nlohmann::json to_json() const;
};

/// The axis names a sweep may vary, each with the scenario key it sets.
const std::vector<std::pair<std::string, std::string>>& sweep_axis_names();

/// Reads a scenario file with a "sweep" section. Errors name the file and JSON path.
Sweep load_sweep(const std::string& file);

/// A compact text form of an axis value for CSV cells: arrays joined by '-', strings as they are.
std::string axis_cell(const nlohmann::json& value);

} // namespace scee
