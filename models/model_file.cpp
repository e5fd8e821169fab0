#include "model_file.hpp"

#include "atomic_file.hpp"
#include "error.hpp"
#include "input_file.hpp"
#include "model_spec.hpp"
#include "sha256.hpp"
#include "strict_json.hpp"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace scee {

static_assert(std::endian::native == std::endian::little, "model files are little-endian; add byte swapping");

namespace {

template <class T> void put(std::string& out, const T& v)
{
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}

struct Tensor {
  std::string name, dtype;
  std::vector<std::int64_t> shape;
  const void* data;
  std::size_t bytes;
};

/// Tensor name prefix of main layer j and of exit e's layer i: "layer3", "exit0.layer2" (format 2); format 1 (MLPs
/// only) named them "junction3" and "exit0".
std::string layer_prefix(std::uint32_t version, int j)
{
  return version == 1 ? fmt::format("junction{}", j) : fmt::format("layer{}", j);
}
std::string exit_prefix(std::uint32_t version, std::size_t e, int i)
{
  return version == 1 ? fmt::format("exit{}", e) : fmt::format("exit{}.layer{}", e, i);
}

void add_layer(std::vector<Tensor>& t, const std::string& name, const Layer& l)
{
  const auto params = l.parameters();
  if (params.empty())
    return;
  const std::int64_t out = l.spec().out, fi = l.fan_in();
  t.push_back({name + ".indices", "int32", {out, fi}, l.connectivity(), std::size_t(out * fi) * 4});
  for (const Parameter& p : params)
    t.push_back({name + "." + p.name, "float32", p.shape, p.data, std::size_t(p.size) * 4});
}

std::vector<Tensor> tensors_of(const Network& net)
{
  std::vector<Tensor> t;
  for (int j = 1; j <= net.depth(); ++j)
    add_layer(t, layer_prefix(model_format_version, j), net.layer(j));
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    for (int i = 1; i <= net.exit_depth(e); ++i)
      add_layer(t, exit_prefix(model_format_version, e, i), net.exit_layer(e, i));
  return t;
}

std::string read_all(const std::string& path)
{
  std::optional<std::string> bytes =
      read_input_file(path, max_model_file_bytes, "a model file; give a file written by `scee train`");
  if (!bytes)
    throw InputError(fmt::format("{}: cannot open the model file ({}); train one with `scee train`", path,
                                 std::strerror(errno)));
  return std::move(*bytes);
}

/// Checks magic, version, sizes and checksum; returns the header and the payload's offset.
struct Container {
  nlohmann::json header;
  std::size_t payload = 0;
  std::uint32_t version = 0;
};
Container check_container(const std::string& path, const std::string& bytes)
{
  const std::size_t fixed = 8 + 4 + 8;
  if (bytes.size() < fixed + 32)
    throw InputError(fmt::format("{}: truncated: {} bytes is too short for a scee model file", path, bytes.size()));
  if (std::memcmp(bytes.data(), model_magic, 8) != 0)
    throw InputError(fmt::format("{}: not a scee model file (bad magic; expected \"SCEEMODL\")", path));
  std::uint32_t version = 0;
  std::uint64_t header_bytes = 0;
  std::memcpy(&version, bytes.data() + 8, 4);
  std::memcpy(&header_bytes, bytes.data() + 12, 8);
  if (version < 1 || version > model_format_version)
    throw InputError(fmt::format("{}: model format version {} is not supported (this scee reads versions 1 to {})",
                                 path, version, model_format_version));
  if (header_bytes > bytes.size() - fixed - 32)
    throw InputError(fmt::format("{}: truncated: the header claims {} bytes but the file has {}", path, header_bytes,
                                 bytes.size()));
  const std::size_t body = bytes.size() - 32;
  const std::string digest = sha256_hex(bytes.data(), body);
  std::array<std::uint8_t, 32> stored{};
  std::memcpy(stored.data(), bytes.data() + body, 32);
  if (to_hex(stored) != digest)
    throw InputError(fmt::format("{}: checksum mismatch (file truncated or corrupted): stored sha256 {}, computed {}",
                                 path, to_hex(stored), digest));
  nlohmann::json header;
  try {
    check_json_nesting(bytes.substr(fixed, header_bytes), path + ": the header");
    header = nlohmann::json::parse(bytes.substr(fixed, header_bytes));
  } catch (const nlohmann::json::exception& e) {
    throw InputError(fmt::format("{}: the header is not valid JSON", path));
  }
  return {header, fixed + header_bytes, version};
}

} // namespace

void save_model(const std::string& path, const ModelFile& model)
{
  const auto tensors = tensors_of(model.network);
  nlohmann::json table = nlohmann::json::array();
  std::size_t offset = 0;
  for (const auto& t : tensors) {
    table.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"offset", offset}, {"bytes", t.bytes}});
    offset += t.bytes;
  }
  nlohmann::json header = {{"format", "scee-model"},
                           {"format_version", model_format_version},
                           {"network", to_json(model.network.spec())},
                           {"training", to_json(model.training)},
                           {"results", model.results},
                           {"tensors", table}};
  // Refuse to write a file that load_model would refuse (e.g. a seed beyond the 2^53 that JSON readers keep exact).
  network_spec_from_json(header["network"], path, "$.network");
  train_config_from_json(header["training"], path, "$.training");
  const std::string text = header.dump();
  std::string out(model_magic, 8);
  put(out, model_format_version);
  put(out, std::uint64_t(text.size()));
  out += text;
  for (const auto& t : tensors)
    out.append(static_cast<const char*>(t.data), t.bytes);
  Sha256 h;
  h.update(out.data(), out.size());
  const auto digest = h.finish();
  out.append(reinterpret_cast<const char*>(digest.data()), digest.size());

  write_file_atomic(path, out);
}

nlohmann::json read_model_header(const std::string& path) { return check_container(path, read_all(path)).header; }

ModelFile load_model(const std::string& path) { return model_from_bytes(read_all(path), path); }

ModelFile model_from_bytes(const std::string& bytes, const std::string& path)
{
  const auto checked = check_container(path, bytes);
  const nlohmann::json& header = checked.header;
  const std::size_t payload = checked.payload;
  try {
    if (header.value("format", "") != "scee-model")
      throw InputError(fmt::format("{}: header format is not \"scee-model\"", path));
    if (!header.is_object())
      throw InputError(fmt::format("{}: the header is incomplete or of the wrong type (not a JSON object)", path));
    for (const auto& [key, value] : header.items())
      if (key != "format" && key != "format_version" && key != "network" && key != "training" && key != "results" &&
          key != "tensors")
        throw InputError(fmt::format("{}: $.{}: unknown header key; valid keys: format, format_version, network, "
                                     "training, results, tensors",
                                     path, key));
    if (header.contains("format_version") && header["format_version"] != checked.version)
      throw InputError(fmt::format("{}: $.format_version: {} differs from the file's version {}", path,
                                   brief(header["format_version"]), checked.version));
    ModelFile m;
    const NetworkSpec spec = network_spec_from_json(header.at("network"), path, "$.network");
    m.training = train_config_from_json(header.at("training"), path, "$.training");
    m.results = header.value("results", nlohmann::json::object());
    std::map<std::string, nlohmann::json> table;
    for (const auto& t : header.at("tensors")) {
      const std::string name = t.at("name").get<std::string>();
      if (!table.emplace(name, t).second)
        throw InputError(fmt::format("{}: tensor {} is listed twice", path, name));
      for (const auto& [key, value] : t.items())
        if (key != "name" && key != "dtype" && key != "shape" && key != "offset" && key != "bytes")
          throw InputError(fmt::format("{}: tensor {}: unknown key \"{}\"; valid keys: name, dtype, shape, offset, "
                                       "bytes",
                                       path, name, key));
    }
    const std::size_t payload_bytes = bytes.size() - 32 - payload;
    std::vector<std::pair<std::size_t, std::size_t>> used; // [offset, end) of every tensor read
    std::set<std::string> read_names;
    // A tensor of `shape` (its element count) and dtype: its entry must say exactly that, and lie in the payload.
    auto fetch = [&](const std::string& name, const std::vector<std::int64_t>& shape, const char* dtype) -> const char* {
      std::int64_t count = 1;
      for (auto d : shape)
        count *= d;
      auto it = table.find(name);
      if (it == table.end())
        throw InputError(fmt::format("{}: tensor {} is missing", path, name));
      if (it->second.at("dtype") != dtype || it->second.at("shape") != nlohmann::json(shape))
        throw InputError(fmt::format("{}: tensor {} is {} {}, expected {} {}", path, name,
                                     brief(it->second.at("dtype")), brief(it->second.at("shape")), dtype,
                                     nlohmann::json(shape).dump()));
      // Numbers must be non-negative integers: get<size_t> on a float beyond size_t (1e300) is an undefined
      // conversion, and a negative or fractional one would wrap or truncate. (Other types throw json's type_error.)
      const auto& off_json = it->second.at("offset");
      const auto& n_json = it->second.at("bytes");
      if ((off_json.is_number() && !off_json.is_number_unsigned()) ||
          (n_json.is_number() && !n_json.is_number_unsigned()))
        throw InputError(fmt::format("{}: tensor {}: \"offset\" and \"bytes\" must be non-negative integers, got {} "
                                     "and {}",
                                     path, name, brief(off_json), brief(n_json)));
      const auto off = off_json.get<std::size_t>();
      const auto n = n_json.get<std::size_t>();
      if (n != std::size_t(count) * 4 || off > payload_bytes || n > payload_bytes - off) // no off + n: it can wrap
        throw InputError(fmt::format("{}: tensor {} has {} bytes at offset {}, expected {} within {} payload bytes",
                                     path, name, n, off, count * 4, payload_bytes));
      used.emplace_back(off, off + n);
      read_names.insert(name);
      return bytes.data() + payload + off;
    };
    if (checked.version == 1 && !spec.mlp_shape())
      throw InputError(fmt::format("{}: a format 1 model file holds an MLP only", path));
    // A layer with parameters: its connectivity (validated by the layer) first, then weights and bias.
    auto layer = [&](const std::string& name, const LayerSpec& ls, Shape in) {
      if (!ls.has_parameters())
        return make_layer(ls, in, 0);
      const int out = ls.out, fi = fan_in(ls, in);
      const char* idx = fetch(name + ".indices", {out, fi}, "int32");
      std::vector<std::vector<int>> inputs(std::size_t(out), std::vector<int>(std::size_t(fi), 0));
      for (int o = 0; o < out; ++o)
        std::memcpy(inputs[std::size_t(o)].data(), idx + std::size_t(o) * fi * 4, std::size_t(fi) * 4);
      auto l = make_layer(ls, in, 0, &inputs);
      for (const Parameter& p : l->parameters()) {
        std::memcpy(p.data, fetch(name + "." + p.name, p.shape, "float32"), std::size_t(p.size) * 4);
        for (std::int64_t k = 0; k < p.size; ++k)
          if (!std::isfinite(p.data[k]))
            throw InputError(fmt::format("{}: tensor {}.{} holds a non-finite value ({}) at element {}", path, name,
                                         p.name, p.data[k], k));
      }
      return l;
    };
    LayerStack layers;
    for (int j = 1; j <= spec.depth(); ++j)
      layers.push_back(layer(layer_prefix(checked.version, j), spec.layers[std::size_t(j - 1)], spec.shape(j - 1)));
    std::vector<LayerStack> exits;
    for (std::size_t e = 0; e < spec.exits.size(); ++e) {
      LayerStack branch;
      for (int i = 1; i <= int(spec.exits[e].layers.size()); ++i)
        branch.push_back(layer(exit_prefix(checked.version, e, i), spec.exits[e].layers[std::size_t(i - 1)],
                               spec.exit_shape(e, i - 1)));
      exits.push_back(std::move(branch));
    }
    // The tensors read are every tensor listed, disjoint, and cover the payload exactly.
    for (const auto& entry : table)
      if (!read_names.count(entry.first))
        throw InputError(fmt::format("{}: tensor {} belongs to no layer of the network", path, entry.first));
    std::sort(used.begin(), used.end());
    std::size_t covered = 0;
    for (const auto& [off, end] : used) {
      if (off != covered)
        throw InputError(fmt::format("{}: the tensors {} at byte {} of the payload (they must be disjoint and "
                                     "contiguous)",
                                     path, off < covered ? "overlap" : "leave a gap", std::min(off, covered)));
      covered = end;
    }
    if (covered != payload_bytes)
      throw InputError(fmt::format("{}: {} payload bytes after the last tensor", path, payload_bytes - covered));
    m.network = Network(spec, std::move(layers), std::move(exits));
    return m;
  } catch (const InputError& e) {
    const std::string what = e.what();
    if (what.rfind(path, 0) == 0)
      throw;
    throw InputError(fmt::format("{}: {}", path, what));
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    if (const auto cut = what.find("] "); cut != std::string::npos)
      what = what.substr(cut + 2); // drop nlohmann's "[json.exception.out_of_range.403] " prefix
    throw InputError(fmt::format("{}: the header is incomplete or of the wrong type ({})", path, what));
  }
}

} // namespace scee
