#include "scenario.hpp"

#include "dataset.hpp"
#include "error.hpp"
#include "faults.hpp"
#include "strict_json.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <limits>

namespace scee {

std::string to_string(Arrival a)
{
  switch (a) {
  case Arrival::periodic:
    return "periodic";
  case Arrival::poisson:
    return "poisson";
  case Arrival::closed_loop:
    return "closed_loop";
  }
  return "?";
}

namespace {

namespace fs = std::filesystem;

constexpr double inf = std::numeric_limits<double>::infinity();
constexpr std::int64_t max_layer = 1 << 20; // same bound as the model spec's widths

// ---- Profiles: a built-in name or an inline object, with an optional merge-patch override ----

// Profiles are validated under a placeholder file and path, so that each error can then be attributed to where the
// offending value was written: the override in the scenario, an inline profile, or a built-in profile's file.
const std::string placeholder_file = "\x1f";
const std::string placeholder_path = "\x1e";

struct Segment {
  std::string key; ///< empty for an array index
  std::size_t index = 0;
};

/// ".radio.tx_power_w", ".pstates[0].rate_macs_per_s" -> segments (keys containing '.' or '[' are not split
/// correctly, which at worst attributes an error to the profile rather than the override).
std::vector<Segment> split_path(const std::string& path)
{
  std::vector<Segment> out;
  std::size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '.') {
      const std::size_t end = path.find_first_of(".[", i + 1);
      out.push_back({path.substr(i + 1, end == std::string::npos ? std::string::npos : end - i - 1), 0});
      i = end == std::string::npos ? path.size() : end;
    } else if (path[i] == '[') {
      const std::size_t end = path.find(']', i);
      if (end == std::string::npos)
        break;
      out.push_back({"", std::size_t(std::strtoull(path.c_str() + i + 1, nullptr, 10))});
      i = end + 1;
    } else {
      break;
    }
  }
  return out;
}

/// Whether the value at `path` of the merged profile came from the patch: a merge patch replaces every non-object
/// value (arrays included) and deletes keys given as null.
bool from_patch(const nlohmann::json& patch, const std::vector<Segment>& path)
{
  const nlohmann::json* node = &patch;
  for (const auto& seg : path) {
    if (!node->is_object())
      return true;
    if (seg.key.empty() || !node->contains(seg.key))
      return false;
    node = &(*node)[seg.key];
  }
  return !path.empty();
}

/// Where a profile came from, for messages.
struct ProfileOrigin {
  std::string file, path;    ///< the profile object: the scenario's inline object or a built-in's file
  std::string scenario_file; ///< for the override
  std::string override_path; ///< empty without an override
  const nlohmann::json* patch = nullptr;
};

[[noreturn]] void attribute(const InputError& e, const ProfileOrigin& o)
{
  const std::string msg = e.what();
  const std::string prefix = placeholder_file + ": " + placeholder_path;
  if (msg.rfind(prefix, 0) != 0)
    throw e;
  const std::string rest = msg.substr(prefix.size());
  const std::size_t colon = rest.find(": ");
  const std::string rel = rest.substr(0, colon);
  const std::string what = colon == std::string::npos ? std::string() : rest.substr(colon + 2);
  auto segments = split_path(rel);
  // A missing key may have been deleted by the override (merge patch null).
  const std::string missing = "missing required key \"";
  if (what.rfind(missing, 0) == 0)
    segments.push_back({what.substr(missing.size(), what.size() - missing.size() - 1), 0});
  if (o.patch != nullptr && from_patch(*o.patch, segments))
    throw InputError(fmt::format("{}: {}{}: {}", o.scenario_file, o.override_path, rel, what));
  throw InputError(fmt::format("{}: {}{}: {}", o.file, o.path, rel, what));
}

/// Reads "profile" (and "override") of a devices/network/server section and validates the merged profile.
template <class Profile, class Parse> Profile resolve_profile(Fields& section, const std::string& kind, Parse parse)
{
  const auto& v = section.raw("profile");
  nlohmann::json merged;
  ProfileOrigin origin;
  origin.scenario_file = section.file();
  if (v.is_string()) {
    const std::string name = v.get<std::string>();
    merged = builtin_profile_json(kind, name, section.file(), section.path_of("profile"));
    origin.file = builtin_profile_file(kind, name);
    origin.path = std::string(1, '$'); // (not = "$": GCC 12 gives a false -Wrestrict warning)
  } else if (v.is_object()) {
    merged = v;
    origin.file = section.file();
    origin.path = section.path_of("profile");
  } else {
    section.fail("profile", fmt::format("must be the name of a built-in {} profile (one of {}) or a whole profile "
                                        "object, got {}",
                                        kind, fmt::join(builtin_profile_names(kind), ", "), brief(v)));
  }
  if (section.has("override")) {
    const auto& patch = section.raw("override");
    if (!patch.is_object())
      section.fail("override", fmt::format("must be a JSON object (a partial {} profile merged over the profile; "
                                           "null deletes a key), got {}",
                                           kind, brief(patch)));
    merged.merge_patch(patch);
    origin.patch = &patch;
    origin.override_path = section.path_of("override");
  }
  try {
    return parse(merged, placeholder_file, placeholder_path);
  } catch (const InputError& e) {
    attribute(e, origin);
  }
}

ComputeProfile read_compute(Fields& section, const std::string& kind)
{
  return resolve_profile<ComputeProfile>(
      section, kind, [&](const nlohmann::json& j, const std::string& file, const std::string& path) {
        return compute_profile_from_json(j, kind, file, path);
      });
}

NetworkProfile read_network(Fields& section)
{
  return resolve_profile<NetworkProfile>(section, "network", network_profile_from_json);
}

/// "pstate": an index into the profile's pstates.
int read_pstate(Fields& section, const ComputeProfile& p)
{
  if (!section.has("pstate"))
    return 0;
  const auto n = std::int64_t(p.pstates.size());
  const auto i = section.integer("pstate", 0, max_layer);
  if (i >= n)
    section.fail("pstate", fmt::format("must be an integer in [0, {}] (profile \"{}\" has {} pstate{}), got {}", n - 1,
                                       p.name, n, n == 1 ? "" : "s", i));
  return int(i);
}

/// "cost_model" ("profile" or "ideal") and "number_format" of a device or server section.
void read_cost_choice(Fields& section, const ComputeProfile& p, CostModelChoice& choice,
                      std::optional<Encoding>& format)
{
  choice = section.text("cost_model", {"profile", "ideal"}, "profile") == "ideal" ? CostModelChoice::ideal
                                                                                   : CostModelChoice::profile;
  const bool calibrated = choice == CostModelChoice::profile && p.cost_model;
  if (calibrated)
    format = p.cost_model->default_format;
  if (!section.has("number_format"))
    return;
  if (!calibrated)
    section.fail("number_format",
                 choice == CostModelChoice::ideal
                     ? std::string("applies to a profile's cost model, and \"cost_model\" is \"ideal\"; remove one")
                     : fmt::format("applies to a profile's cost model, and profile \"{}\" has none (its layers take "
                                   "MACs / rate_macs_per_s); remove it or give the profile a \"cost_model\"",
                                   p.name));
  std::vector<std::string> valid;
  for (const auto& k : p.cost_model->formats)
    valid.push_back(to_string(k.format));
  format = parse_encoding(section.text("number_format", valid));
}

/// "sleep": a sleep state of the device profile, or "none"; default: the profile's first, if any.
std::optional<SleepState> read_sleep(Fields& d, const ComputeProfile& p)
{
  std::vector<std::string> valid{"none"};
  for (const auto& z : p.sleep_states)
    valid.push_back(z.name);
  const std::string name = d.text("sleep", valid, p.sleep_states.empty() ? "none" : p.sleep_states.front().name);
  if (name == "none")
    return std::nullopt;
  return *p.find_sleep(name);
}

Battery read_battery(Fields& d)
{
  Fields b = d.object("battery");
  b.only({"capacity_mah", "voltage_v", "capacity_wh", "initial_charge", "cutoff_charge"});
  Battery x;
  const bool mah = b.has("capacity_mah"), wh = b.has("capacity_wh");
  if (mah == wh)
    Fields::fail_at(b.file(), b.path(),
                    fmt::format("give exactly one of \"capacity_mah\" (with \"voltage_v\") or \"capacity_wh\", got {}",
                                mah ? "both" : "neither"));
  if (mah) {
    x.capacity_mah = b.number("capacity_mah", 1e-3, 1e9);
    x.voltage_v = b.number("voltage_v", 0.1, 1000);
  } else {
    if (b.has("voltage_v"))
      b.fail("voltage_v", "goes with \"capacity_mah\"; \"capacity_wh\" already includes the voltage");
    x.capacity_wh = b.number("capacity_wh", 1e-6, 1e9);
  }
  x.initial_charge = b.number("initial_charge", 0, 1, 1.0);
  if (x.initial_charge <= 0)
    b.fail("initial_charge", fmt::format("must be a fraction in (0, 1] (1 = full), got {}", x.initial_charge));
  x.cutoff_charge = b.number("cutoff_charge", 0, 1, 0.0);
  if (x.cutoff_charge >= x.initial_charge)
    b.fail("cutoff_charge", fmt::format("must be below initial_charge ({}): a fraction in [0, {}), got {}",
                                        x.initial_charge, x.initial_charge, x.cutoff_charge));
  return x;
}

// ---- The sections of a scenario ----

void read_model(Fields& f, Scenario& s)
{
  Fields m = f.object("model");
  m.only({"file", "spec"});
  const bool by_file = m.has("file"), by_spec = m.has("spec");
  if (by_file == by_spec)
    Fields::fail_at(m.file(), m.path(),
                    fmt::format("give exactly one of \"file\" (a trained model file, relative to the scenario's "
                                "folder) or \"spec\" (a model spec: layers and input, or widths and fan_outs or "
                                "densities; exits, seed, training), got {}",
                                by_file ? "both" : "neither"));
  if (by_file) {
    fs::path p(m.text("file"));
    if (p.is_relative())
      p = fs::path(s.file).parent_path() / p;
    s.model_file = fs::absolute(p).lexically_normal().string();
  } else {
    s.model_spec = model_spec_from_json(m.raw("spec"), m.file(), m.path_of("spec"));
    const Shape in = s.model_spec->network.input;
    check_input_shape(in.c, in.h, in.w,
                      fmt::format("{}: {}.{}", m.file(), m.path_of("spec"), in.flat() ? "widths[0]" : "input"));
  }
}

void read_dataset(Fields& f, Scenario& s)
{
  if (!f.has("dataset"))
    return;
  Fields d = f.object("dataset");
  d.only({"name", "samples"});
  if (d.has("name")) {
    const auto& v = d.raw("name");
    const auto& names = dataset_names();
    if (!v.is_string() ||
        (!v.get<std::string>().empty() && std::find(names.begin(), names.end(), v.get<std::string>()) == names.end()))
      d.fail("name", fmt::format("must be one of \"{}\" or \"\" (the model's dataset), got {}",
                                 fmt::join(names, "\", \""), brief(v)));
    s.dataset = v.get<std::string>();
  }
  s.samples = int(d.integer("samples", 1, 10000, s.samples));
}

void read_split(Fields& f, Scenario& s)
{
  Fields sp = f.object("split");
  sp.only({"after_layer", "exits", "criterion", "threshold"});
  s.split_after = int(sp.integer("after_layer", 0, max_layer));
  if (sp.has("exits")) {
    const auto exits = sp.integers("exits", 1, max_layer, false);
    for (std::size_t i = 0; i < exits.size(); ++i) {
      const std::string at = fmt::format("{}[{}]", sp.path_of("exits"), i);
      if (std::find(exits.begin(), exits.begin() + std::ptrdiff_t(i), exits[i]) != exits.begin() + std::ptrdiff_t(i))
        Fields::fail_at(sp.file(), at, fmt::format("layer {} is listed twice; give each exit layer once", exits[i]));
      if (exits[i] > s.split_after)
        Fields::fail_at(sp.file(), at,
                        fmt::format("must be <= split.after_layer ({}): the device can only evaluate the exits of "
                                    "layers it computes, got {}",
                                    s.split_after, exits[i]));
      s.device_exits.push_back(int(exits[i]));
    }
  }
  s.criterion = parse_criterion(sp.text("criterion", {"max_softmax", "entropy", "margin"}, "max_softmax"));
  s.threshold = sp.number("threshold", 0, inf, s.threshold);
  if (s.criterion != Criterion::entropy && s.threshold > 1)
    sp.fail("threshold",
            fmt::format("for criterion \"{}\" must be a number in [0, 1] (a probability{}), got {}",
                        to_string(s.criterion), s.criterion == Criterion::margin ? " difference" : "", s.threshold));
}

void read_encoding(Fields& f, Scenario& s)
{
  if (!f.has("encoding"))
    return;
  Fields e = f.object("encoding");
  e.only({"format", "header_bytes", "reply_bytes"});
  const std::string format = e.text("format", {"fp32", "fp16", "int8"}, "fp32");
  s.encoding = parse_encoding(format);
  s.header_bytes = int(e.integer("header_bytes", 0, 65535, s.header_bytes));
  s.reply_bytes = int(e.integer("reply_bytes", 1, 65535, s.reply_bytes));
}

void read_platform(Fields& f, Scenario& s)
{
  {
    Fields d = f.object("devices");
    d.only({"profile", "override", "count", "pstate", "cost_model", "number_format", "sleep", "battery"});
    s.device = read_compute(d, "device");
    s.device_count = int(d.integer("count", 1, 100000, s.device_count));
    s.device_pstate = read_pstate(d, s.device);
    read_cost_choice(d, s.device, s.device_cost_model, s.device_format);
    s.device_sleep = read_sleep(d, s.device);
    if (d.has("battery"))
      s.battery = read_battery(d);
  }
  {
    Fields n = f.object("network");
    n.only({"profile", "override", "shared_medium"});
    s.network = read_network(n);
    s.shared_medium = n.flag("shared_medium", s.shared_medium);
  }
  {
    Fields v = f.object("server");
    v.only({"profile", "override", "workers", "pstate", "cost_model", "number_format"});
    s.server = read_compute(v, "server");
    s.server_workers = int(v.integer("workers", 1, 1024, s.server_workers));
    s.server_pstate = read_pstate(v, s.server);
    read_cost_choice(v, s.server, s.server_cost_model, s.server_format);
  }
}

void read_workload(Fields& f, Scenario& s)
{
  if (!f.has("workload"))
    return;
  Fields w = f.object("workload");
  w.only({"arrival", "period_s", "rate_per_s", "think_time_s"});
  const std::string arrival = w.text("arrival", {"periodic", "poisson", "closed_loop"});
  const std::vector<std::pair<std::string, std::string>> param{
      {"periodic", "period_s"}, {"poisson", "rate_per_s"}, {"closed_loop", "think_time_s"}};
  std::string own;
  for (const auto& [kind, key] : param)
    if (kind == arrival)
      own = key;
  for (const auto& [kind, key] : param)
    if (kind != arrival && w.has(key))
      w.fail(key, fmt::format("belongs to arrival \"{}\", not \"{}\"; arrival \"{}\" takes \"{}\"", kind, arrival,
                              arrival, own));
  if (arrival == "periodic") {
    s.arrival = Arrival::periodic;
    s.period_s = w.physical("period_s", true, 1e-6, 1e6, "s");
  } else if (arrival == "poisson") {
    s.arrival = Arrival::poisson;
    s.rate_per_s = w.physical("rate_per_s", true, 1e-6, 1e6, "requests/s");
  } else {
    s.arrival = Arrival::closed_loop;
    s.think_time_s = w.physical("think_time_s", false, 0, 1e6, "s", 0.0);
  }
}

void read_simgrid(Fields& f, Scenario& s)
{
  if (!f.has("simgrid"))
    return;
  Fields g = f.object("simgrid");
  g.only({"network_model", "crosstraffic"});
  s.network_model = g.text("network_model", {"CM02", "LV08"}, s.network_model);
  s.crosstraffic = g.flag("crosstraffic", s.crosstraffic);
}

} // namespace

Scenario scenario_from_json(const nlohmann::json& j, const std::string& file)
{
  if (j.is_object() && j.contains("sweep"))
    Fields::fail_at(file, "$.sweep", "this scenario is a sweep: run it with `scee sweep` (or remove \"sweep\")");
  Fields f(j, file, "$");
  f.only({"name", "seed", "model", "dataset", "split", "encoding", "devices", "network", "server", "workload",
          "faults", "offload", "simgrid"});
  Scenario s;
  s.file = file;
  s.name = f.has("name") ? f.text("name") : name_from_file(file);
  if (const std::string why = folder_name_problem(s.name, max_name_length); !why.empty())
    f.fail("name", why);
  s.seed = std::uint64_t(f.integer("seed", 0, std::int64_t(1) << 53, std::int64_t(s.seed)));
  read_model(f, s);
  read_dataset(f, s);
  read_split(f, s);
  read_encoding(f, s);
  read_platform(f, s);
  read_workload(f, s);
  s.faults = read_faults(f);
  s.offload = read_offload(f);
  read_simgrid(f, s);
  check_faults(s);
  return s;
}

Scenario load_scenario(const std::string& file)
{
  return scenario_from_json(read_json_file(file), file);
}

/// A character a scenario name (an output folder's name) may hold.
static bool name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-'; }

std::string folder_name_problem(const std::string& name, std::size_t max_length)
{
  // The name is the output folder's (results/<name>) and the prefix of a sweep's point names: nothing that could
  // leave the folder, hide it, split a message or exceed a file name.
  if (name.empty() || name.size() > max_length)
    return fmt::format("must have 1 to {} characters, got {}", max_length, name.size());
  if (name[0] == '.' || name[0] == '-')
    return "must not start with '.' or '-' (it names the output folder results/<name>)";
  for (const char c : name)
    if (!name_char(c))
      return "may hold only letters, digits, '.', '_' and '-' (it names the output folder results/<name>)";
  return "";
}

std::string name_from_file(const std::string& file)
{
  std::string name = fs::path(file).stem().string();
  for (char& c : name)
    if (!name_char(c))
      c = '_';
  while (!name.empty() && (name[0] == '.' || name[0] == '-'))
    name.erase(0, 1);
  if (name.size() > max_sweep_name_length)
    name.resize(max_sweep_name_length);
  return name.empty() ? "scenario" : name;
}

void check_against_model(const Scenario& s, const NetworkSpec& model)
{
  const int depth = model.depth();
  check_input_shape(model.input.c, model.input.h, model.input.w, fmt::format("{}: $.model", s.file));
  if (s.split_after > depth)
    Fields::fail_at(s.file, "$.split.after_layer",
                    fmt::format("must be in 0..{} for this model ({} layers; 0 = full offload, {} = edge only), got {}",
                                depth, depth, depth, s.split_after));
  std::vector<int> heads;
  for (const auto& e : model.exits)
    heads.push_back(e.after_layer);
  std::sort(heads.begin(), heads.end());
  const std::string has_heads = heads.empty() ? std::string("the model has no exit heads")
                                              : fmt::format("the model has exit heads after layer{} {}",
                                                            heads.size() == 1 ? "" : "s", fmt::join(heads, ", "));
  for (std::size_t i = 0; i < s.device_exits.size(); ++i) {
    const int layer = s.device_exits[i];
    const std::string at = fmt::format("$.split.exits[{}]", i);
    if (std::find(heads.begin(), heads.end(), layer) == heads.end())
      Fields::fail_at(s.file, at, fmt::format("no exit head after layer {}; {}", layer, has_heads));
    if (layer > s.split_after)
      Fields::fail_at(s.file, at, fmt::format("must be <= split.after_layer ({}), got {}", s.split_after, layer));
  }
  if (s.criterion == Criterion::entropy) {
    const double max_entropy = std::log(double(model.classes()));
    if (!(s.threshold <= max_entropy))
      Fields::fail_at(s.file, "$.split.threshold",
                      fmt::format("for criterion \"entropy\" must be in [0, ln({}) = {:.6g}] (the entropy of {} "
                                  "classes, in nats), got {}",
                                  model.classes(), max_entropy, model.classes(), s.threshold));
  }
}

HostCost device_cost(const Scenario& s)
{
  return HostCost(s.device, s.device_pstate, s.device_cost_model, s.device_format);
}

HostCost server_cost(const Scenario& s)
{
  return HostCost(s.server, s.server_pstate, s.server_cost_model, s.server_format);
}

static nlohmann::json host_json(nlohmann::json j, CostModelChoice choice, const std::optional<Encoding>& format)
{
  j["cost_model"] = to_string(choice);
  if (format)
    j["number_format"] = to_string(*format);
  return j;
}

static nlohmann::json device_json(const Scenario& s)
{
  nlohmann::json j =
      host_json({{"profile", to_json(s.device)}, {"count", s.device_count}, {"pstate", s.device_pstate}},
                s.device_cost_model, s.device_format);
  j["sleep"] = s.device_sleep ? s.device_sleep->name : "none";
  if (s.battery) {
    const Battery& b = *s.battery;
    nlohmann::json bj = b.capacity_wh > 0 ? nlohmann::json{{"capacity_wh", b.capacity_wh}}
                                          : nlohmann::json{{"capacity_mah", b.capacity_mah}, {"voltage_v", b.voltage_v}};
    bj["initial_charge"] = b.initial_charge;
    bj["cutoff_charge"] = b.cutoff_charge;
    j["battery"] = bj;
  }
  return j;
}

nlohmann::json to_json(const Scenario& s)
{
  nlohmann::json model;
  if (s.model_file)
    model["file"] = fs::absolute(*s.model_file).lexically_normal().string();
  if (s.model_spec) {
    nlohmann::json spec = to_json(s.model_spec->network);
    spec["training"] = to_json(s.model_spec->training);
    model["spec"] = spec;
  }
  nlohmann::json workload{{"arrival", to_string(s.arrival)}};
  switch (s.arrival) {
  case Arrival::periodic:
    workload["period_s"] = s.period_s;
    break;
  case Arrival::poisson:
    workload["rate_per_s"] = s.rate_per_s;
    break;
  case Arrival::closed_loop:
    workload["think_time_s"] = s.think_time_s;
    break;
  }
  nlohmann::json j = {{"name", s.name},
          {"seed", s.seed},
          {"model", model},
          {"dataset", {{"name", s.dataset}, {"samples", s.samples}}},
          {"split",
           {{"after_layer", s.split_after},
            {"exits", s.device_exits},
            {"criterion", to_string(s.criterion)},
            {"threshold", s.threshold}}},
          {"encoding",
           {{"format", to_string(s.encoding)}, {"header_bytes", s.header_bytes}, {"reply_bytes", s.reply_bytes}}},
          {"devices",
           device_json(s)},
          {"network", {{"profile", to_json(s.network)}, {"shared_medium", s.shared_medium}}},
          {"server",
           host_json({{"profile", to_json(s.server)}, {"workers", s.server_workers}, {"pstate", s.server_pstate}},
                     s.server_cost_model, s.server_format)},
          {"workload", workload},
          {"offload", to_json(s.offload)},
          {"simgrid", {{"network_model", s.network_model}, {"crosstraffic", s.crosstraffic}}}};
  if (s.faults.any())
    j["faults"] = to_json(s.faults);
  return j;
}

} // namespace scee
