#include "sweep.hpp"

#include "error.hpp"
#include "scenario.hpp"
#include "sha256.hpp"
#include "strict_json.hpp"

#include <algorithm>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

namespace scee {

const std::vector<std::pair<std::string, std::string>>& sweep_axis_names()
{
  static const std::vector<std::pair<std::string, std::string>> names = {
      {"fan_outs", "/model/spec/fan_outs"},
      {"densities", "/model/spec/densities"},
      {"dataset", "/dataset/name"},
      {"samples", "/dataset/samples"},
      {"split_after", "/split/after_layer"},
      {"exits", "/split/exits"},
      {"criterion", "/split/criterion"},
      {"threshold", "/split/threshold"},
      {"encoding", "/encoding/format"},
      {"device", "/devices/profile"},
      {"device_count", "/devices/count"},
      {"device_pstate", "/devices/pstate"},
      {"device_cost_model", "/devices/cost_model"},
      {"device_number_format", "/devices/number_format"},
      {"device_sleep", "/devices/sleep"},
      {"device_override", "/devices/override"},
      {"network", "/network/profile"},
      {"server", "/server/profile"},
      {"server_workers", "/server/workers"},
      {"server_pstate", "/server/pstate"},
      {"period_s", "/workload/period_s"},
      {"rate_per_s", "/workload/rate_per_s"},
      {"request_timeout_s", "/offload/request_timeout_s"},
      {"retries", "/offload/retries"},
      {"fallback", "/offload/fallback"},
      {"uplink_outages", "/faults/uplink_outages"},
      {"downlink_outages", "/faults/downlink_outages"},
      {"server_outages", "/faults/server_outages"},
      {"uplink_bandwidth", "/faults/uplink_bandwidth"},
      {"network_model", "/simgrid/network_model"},
      {"seed", "/seed"},
  };
  return names;
}

static const std::string* pointer_of(const std::string& name)
{
  for (const auto& [n, p] : sweep_axis_names())
    if (n == name)
      return &p;
  return nullptr;
}

/// Whether a scenario's model is a spec in the "layers" form.
static bool layered_spec(const nlohmann::json& scenario)
{
  const auto model = scenario.find("model");
  if (model == scenario.end() || !model->is_object() || !model->contains("spec") || !(*model)["spec"].is_object())
    return false;
  const auto& spec = (*model)["spec"];
  return spec.contains("layers") && spec["layers"].is_array();
}

/// The fc and conv entries of a "layers" list, in order: what a fan_outs or densities axis sets, one value each.
static std::vector<nlohmann::json*> connected_layers(nlohmann::json& layers)
{
  std::vector<nlohmann::json*> out;
  for (auto& l : layers)
    if (l.is_object() && l.contains("type") && (l["type"] == "fc" || l["type"] == "conv"))
      out.push_back(&l);
  return out;
}

/// A fan_outs or densities axis on a "layers" spec sets "fan_out" or "density" of each fc and conv layer of the main
/// path (exit branches keep theirs).
static void set_layer_connectivity(nlohmann::json& layers, const std::string& axis, const nlohmann::json& values)
{
  const std::string key = axis == "fan_outs" ? "fan_out" : "density";
  const auto targets = connected_layers(layers);
  for (std::size_t i = 0; i < targets.size() && values.is_array() && i < values.size(); ++i) {
    (*targets[i]).erase(axis == "fan_outs" ? "density" : "fan_out");
    (*targets[i])[key] = values[i];
  }
}

/// Point i of the n points of a sweep (see Sweep::points()).
static SweepPoint make_point(const Sweep& sweep, std::size_t i, std::size_t n)
{
  SweepPoint p;
  p.index = int(i);
  p.scenario = sweep.base;
  std::size_t rest = i, stride = n;
  for (const auto& a : sweep.axes) {
    stride /= a.steps.size();
    const auto& step = a.steps[rest / stride];
    rest %= stride;
    for (std::size_t k = 0; k < a.names.size(); ++k) {
      const std::string& axis = a.names[k];
      p.axis_values[axis] = step[k];
      if ((axis == "fan_outs" || axis == "densities") && layered_spec(p.scenario)) {
        set_layer_connectivity(p.scenario["model"]["spec"]["layers"], axis, step[k]);
        continue;
      }
      p.scenario[nlohmann::json::json_pointer(*pointer_of(axis))] = step[k];
      if (axis == "fan_outs")
        p.scenario["model"]["spec"].erase("densities");
      if (axis == "densities")
        p.scenario["model"]["spec"].erase("fan_outs");
      if (axis == "dataset" && p.scenario["model"].contains("spec"))
        p.scenario["model"]["spec"]["training"]["dataset"] = step[k];
    }
  }
  // Exits the device cannot reach at this split are dropped (a split sweep keeps the exits that apply).
  // (find, not operator[]: that added "split": null to a base without one, and the error then named a null.)
  const auto it = p.scenario.find("split");
  if (it != p.scenario.end() && it->is_object() && it->contains("exits") && (*it)["exits"].is_array() &&
      it->contains("after_layer") && (*it)["after_layer"].is_number_integer()) {
    auto& split = *it;
    nlohmann::json kept = nlohmann::json::array();
    for (const auto& e : split["exits"])
      if (!e.is_number_integer() || e.get<long>() <= split["after_layer"].get<long>())
        kept.push_back(e);
    split["exits"] = kept;
  }
  p.scenario["name"] = fmt::format("{}-{}", sweep.name, i);
  return p;
}

std::string axis_cell(const nlohmann::json& value)
{
  if (value.is_string())
    return value.get<std::string>();
  if (value.is_array()) {
    std::vector<std::string> parts;
    for (const auto& v : value)
      parts.push_back(axis_cell(v));
    return fmt::format("{}", fmt::join(parts, "-"));
  }
  if (value.is_object()) { // e.g. an outage: "duration_s=2 start_s=1"
    std::vector<std::string> parts;
    for (const auto& [k, v] : value.items())
      parts.push_back(k + "=" + axis_cell(v));
    return fmt::format("{}", fmt::join(parts, " "));
  }
  if (value.is_number_float())
    return fmt::format("{}", value.get<double>());
  return value.dump();
}

Sweep load_sweep(const std::string& file)
{
  const nlohmann::json doc = read_json_file(file);
  if (!doc.is_object() || !doc.contains("sweep"))
    Fields::fail_at(file, "$", "a sweep needs a \"sweep\" section (see docs/sweeps.md)");
  Sweep sw;
  sw.file = file;
  sw.base = doc;
  sw.base.erase("sweep");
  if (doc.contains("name") && (!doc["name"].is_string() || doc["name"].get<std::string>().empty()))
    Fields::fail_at(file, "$.name", fmt::format("must be a non-empty string, got {}", brief(doc["name"])));
  sw.name = name_from_file(file);
  if (doc.contains("name")) {
    if (!doc["name"].is_string())
      Fields::fail_at(file, "$.name", fmt::format("must be a string, got {}", brief(doc["name"])));
    sw.name = doc["name"].get<std::string>();
    if (const std::string why = folder_name_problem(sw.name, max_sweep_name_length); !why.empty())
      Fields::fail_at(file, "$.name", why);
  }
  Fields f(doc.at("sweep"), file, "$.sweep");
  sw.traces = f.flag("traces", false);
  std::vector<std::string> seen;
  for (auto& entry : f.objects("axes", true)) {
    SweepAxis axis;
    const bool single = entry.has("name"), group = entry.has("names");
    if (single == group)
      entry.fail("name", "give \"name\" (one axis) or \"names\" (axes varied together)");
    std::vector<std::string> valid;
    for (const auto& [n, p] : sweep_axis_names())
      valid.push_back(n);
    if (single)
      axis.names.push_back(entry.text("name", valid));
    else {
      const auto& names = entry.raw("names");
      if (!names.is_array() || names.size() < 2)
        entry.fail("names", "must be an array of at least two axis names");
      for (std::size_t i = 0; i < names.size(); ++i) {
        if (!names[i].is_string() || !pointer_of(names[i].get<std::string>()))
          Fields::fail_at(file, fmt::format("{}[{}]", entry.path_of("names"), i),
                          fmt::format("must be one of {}, got {}", fmt::join(valid, ", "), brief(names[i])));
        axis.names.push_back(names[i].get<std::string>());
      }
    }
    for (const auto& n : axis.names) {
      if (std::find(seen.begin(), seen.end(), n) != seen.end())
        entry.fail(single ? "name" : "names", fmt::format("axis \"{}\" is swept twice", n));
      seen.push_back(n);
    }
    const auto& values = entry.raw("values");
    if (!values.is_array() || values.empty())
      entry.fail("values", "must be a non-empty array");
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (single) {
        axis.steps.push_back({values[i]});
        continue;
      }
      if (!values[i].is_array() || values[i].size() != axis.names.size())
        Fields::fail_at(file, fmt::format("{}[{}]", entry.path_of("values"), i),
                        fmt::format("must be an array of {} values, one per name", axis.names.size()));
      axis.steps.push_back(std::vector<nlohmann::json>(values[i].begin(), values[i].end()));
    }
    entry.done();
    sw.axes.push_back(std::move(axis));
  }
  f.done();
  const bool has_spec = sw.base.contains("model") && sw.base["model"].is_object() && sw.base["model"].contains("spec");
  for (const auto& n : seen)
    if ((n == "fan_outs" || n == "densities") && !has_spec)
      Fields::fail_at(file, "$.sweep.axes", fmt::format("axis \"{}\" needs a model given as \"spec\"", n));
  // An axis writes into the base scenario at its JSON pointer (the dataset axis also into the spec's training): what
  // lies on the way must be an object or absent (a "split": 5 under a split_after axis made the expansion throw
  // nlohmann's out_of_range instead of an InputError).
  for (const auto& n : seen) {
    std::vector<std::string> pointers{*pointer_of(n)};
    if (n == "dataset" && has_spec)
      pointers.push_back("/model/spec/training/dataset");
    for (const auto& pointer : pointers) {
      std::string target = "$" + pointer;
      std::replace(target.begin(), target.end(), '/', '.');
      const nlohmann::json* node = &sw.base;
      std::string path = "$";
      for (std::size_t at = 1, next; (next = pointer.find('/', at)) != std::string::npos; at = next + 1) {
        const std::string key = pointer.substr(at, next - at);
        if (!node->contains(key))
          break;
        node = &node->at(key);
        path += "." + key;
        if (!node->is_object())
          Fields::fail_at(
              file, path,
              fmt::format("must be a JSON object (sweep axis \"{}\" sets {}), got {}", n, target, brief(*node)));
      }
    }
  }
  if (layered_spec(sw.base)) { // one value per fc and conv layer of the main path
    nlohmann::json layers = sw.base["model"]["spec"]["layers"];
    const std::size_t want = connected_layers(layers).size();
    for (std::size_t a = 0; a < sw.axes.size(); ++a)
      for (std::size_t k = 0; k < sw.axes[a].names.size(); ++k) {
        const std::string& n = sw.axes[a].names[k];
        if (n != "fan_outs" && n != "densities")
          continue;
        for (std::size_t i = 0; i < sw.axes[a].steps.size(); ++i) {
          const auto& v = sw.axes[a].steps[i][k];
          if (!v.is_array() || v.size() != want)
            Fields::fail_at(file, fmt::format("$.sweep.axes[{}].values[{}]", a, i),
                            fmt::format("axis \"{}\" on a \"layers\" spec needs one value per fc and conv layer of "
                                        "the main path ({}), got {}",
                                        n, want, brief(v)));
        }
      }
  }
  if (std::count(seen.begin(), seen.end(), "fan_outs") && std::count(seen.begin(), seen.end(), "densities"))
    Fields::fail_at(file, "$.sweep.axes", "sweep \"fan_outs\" or \"densities\", not both");
  const std::size_t count = sw.point_count();
  if (count > 1000000)
    Fields::fail_at(file, "$.sweep.axes",
                    fmt::format("{} points is more than the 1,000,000 a sweep may have (split it into several sweeps)",
                                count == std::numeric_limits<std::size_t>::max() ? std::string("more than 2^64")
                                                                                 : std::to_string(count)));
  // Validate every point now: a mistake that spoils every point (a typo in the base) fails before any work starts;
  // a combination that is invalid for some points only is recorded as a failed point when the sweep runs.
  // Points are built one at a time: building all of them first cost O(points) memory (2.1 GB for 836,482 points)
  // where the first valid one is enough.
  std::string first_error;
  bool any_valid = false;
  for (std::size_t i = 0; i < count; ++i) {
    try {
      (void)scenario_from_json(make_point(sw, i, count).scenario, file);
      any_valid = true;
      break;
    } catch (const InputError& e) {
      if (first_error.empty())
        first_error = e.what();
    }
  }
  if (!any_valid)
    throw InputError(first_error + " (in every point of the sweep)");
  return sw;
}

std::size_t Sweep::point_count() const
{
  // Saturates rather than wraps: a product beyond size_t stays above any limit.
  std::size_t n = 1;
  for (const auto& a : axes)
    n = a.steps.size() != 0 && n > std::numeric_limits<std::size_t>::max() / a.steps.size()
            ? std::numeric_limits<std::size_t>::max()
            : n * a.steps.size();
  return n;
}

SweepPoint Sweep::point(std::size_t i) const { return make_point(*this, i, point_count()); }

nlohmann::ordered_json Sweep::axis_values(std::size_t i) const
{
  nlohmann::ordered_json values;
  std::size_t rest = i, stride = point_count();
  for (const auto& a : axes) {
    stride /= a.steps.size();
    const auto& step = a.steps[rest / stride];
    rest %= stride;
    for (std::size_t k = 0; k < a.names.size(); ++k)
      values[a.names[k]] = step[k];
  }
  return values;
}

std::vector<std::size_t> Sweep::combinations(const std::vector<std::string>& names, std::size_t other) const
{
  // Each axis's stride (the first axis varies slowest), and whether it names one of `names`.
  std::vector<std::size_t> stride(axes.size());
  std::vector<bool> chosen(axes.size());
  std::size_t s = 1;
  for (std::size_t a = axes.size(); a-- > 0;) {
    stride[a] = s;
    s *= axes[a].steps.size();
    for (const auto& n : axes[a].names)
      chosen[a] = chosen[a] || std::find(names.begin(), names.end(), n) != names.end();
  }
  // The other axes' steps from `other` (mixed radix, last axis fastest).
  std::size_t origin = 0;
  for (std::size_t a = axes.size(); a-- > 0;)
    if (!chosen[a]) {
      origin += (other % axes[a].steps.size()) * stride[a];
      other /= axes[a].steps.size();
    }
  if (other != 0)
    return {};
  std::vector<std::size_t> out{origin};
  for (std::size_t a = 0; a < axes.size(); ++a) {
    if (!chosen[a])
      continue;
    std::vector<std::size_t> next;
    for (std::size_t i : out)
      for (std::size_t k = 0; k < axes[a].steps.size(); ++k)
        next.push_back(i + k * stride[a]);
    out.swap(next);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<SweepPoint> Sweep::points() const
{
  std::vector<SweepPoint> out;
  const std::size_t n = point_count();
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back(make_point(*this, i, n));
  return out;
}

nlohmann::json Sweep::to_json() const
{
  nlohmann::json axes_json = nlohmann::json::array();
  for (const auto& a : axes) {
    nlohmann::json steps = nlohmann::json::array();
    for (const auto& s : a.steps)
      steps.push_back(s);
    axes_json.push_back({{"names", a.names}, {"values", steps}});
  }
  return {{"name", name}, {"base", base}, {"axes", axes_json}, {"traces", traces}};
}

std::string Sweep::fingerprint() const
{
  const std::string text = to_json().dump();
  return sha256_hex(text.data(), text.size()).substr(0, 16);
}

} // namespace scee
