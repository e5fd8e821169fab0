// Tests for model files and model specs: a bit-identical save/load round trip, a clear one-line InputError for every
// kind of bad file (missing, empty, bad magic, version, truncation, corruption, and re-signed files whose header or
// tensors are wrong), and the strict reading of JSON model specs.
#include <doctest/doctest.h>

#include "model_file.hpp"
#include "model_spec.hpp"
#include "model_test_helpers.hpp"
#include "sha256.hpp"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <sstream>

using namespace scee;
using scee::test::contains;
using scee::test::identical;
using scee::test::input_error;
using scee::test::random_activations;
using scee::test::randomise;
using scee::test::small_spec;
using scee::test::TempDir;
using json = nlohmann::json;

namespace {

std::string read_bytes(const std::string& path)
{
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_bytes(const std::string& path, const std::string& bytes)
{
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

/// A model file taken apart: magic (8 bytes), version (u32), header size (u64), header JSON, tensor payload, SHA-256
/// of everything before it (32 bytes).
struct Parts {
  std::uint32_t version = 0;
  std::string header, payload;

  explicit Parts(const std::string& bytes)
  {
    std::uint64_t header_bytes = 0;
    std::memcpy(&version, bytes.data() + 8, 4);
    std::memcpy(&header_bytes, bytes.data() + 12, 8);
    header = bytes.substr(20, header_bytes);
    payload = bytes.substr(20 + header_bytes, bytes.size() - 32 - 20 - header_bytes);
  }
  json header_json() const { return json::parse(header); }
  void set_header(const json& j) { header = j.dump(); }

  /// The file's bytes, signed with a fresh SHA-256 so that only the deliberate damage remains.
  std::string signed_bytes() const
  {
    std::string out(model_magic, 8);
    const std::uint64_t header_bytes = header.size();
    out.append(reinterpret_cast<const char*>(&version), 4);
    out.append(reinterpret_cast<const char*>(&header_bytes), 8);
    out += header;
    out += payload;
    Sha256 h;
    h.update(out.data(), out.size());
    const auto digest = h.finish();
    out.append(reinterpret_cast<const char*>(digest.data()), digest.size());
    return out;
  }
};

/// A saved sample model taken apart, and the message of loading a re-signed variant of it (bad.scee).
struct Resigned {
  TempDir dir{"model_file"};
  std::string good = dir.file("good.scee"), path = dir.file("bad.scee");
  Parts parts;
  Resigned();
  std::string error(const Parts& p) const
  {
    write_bytes(path, p.signed_bytes());
    return input_error([&] { load_model(path); });
  }
};

/// A small model with random weights and non-default settings and results.
ModelFile sample_model()
{
  ModelFile m;
  m.network = Network(small_spec(5));
  for (int j = 1; j <= m.network.depth(); ++j)
    randomise(m.network.junction(j), 10 + std::uint64_t(j));
  for (std::size_t e = 0; e < m.network.exit_count(); ++e)
    randomise(scee::test::exit_head(m.network, e), 20 + e);
  TrainConfig& t = m.training;
  t.dataset = "fashion-mnist";
  t.epochs = 7;
  t.batch_size = 64;
  t.learning_rate = 3e-4;
  t.beta2 = 0.998;
  t.epsilon = 1e-8;
  t.decay = 0;
  t.bias_init = -0.25;
  t.he_fan_in_dense = false;
  t.final_loss_weight = 0.9;
  t.exit_loss_weights = {0.5, 0.1 + 0.2}; // 0.30000000000000004 must survive exactly
  t.freeze_backbone = true;
  t.train_samples = 6000;
  t.test_samples = 1000;
  t.seed = (std::uint64_t(1) << 53) - 1;
  m.results = {{"test_accuracy", 0.9731}, {"test_exit_accuracy", {0.9, 1.0 / 3}}, {"epochs_trained", 7}};
  return m;
}

Resigned::Resigned() : parts((save_model(good, sample_model()), read_bytes(good))) {}

/// An InputError message that names the file, is one line and contains `what`.
void check_error(const std::string& message, const std::string& path, const std::string& what)
{
  CAPTURE(message);
  CHECK(message.rfind(path + ": ", 0) == 0);
  CHECK(contains(message, what));
  CHECK(message.find('\n') == std::string::npos);
}

} // namespace

TEST_CASE("model_file: save and load round trip")
{
  TempDir dir("model_file");
  const std::string path = dir.file("m.scee");
  const ModelFile saved = sample_model();
  save_model(path, saved);
  for (const auto& entry : std::filesystem::directory_iterator(dir.path)) // no temporary file left behind
    CHECK(entry.path().filename().string().find(".tmp") == std::string::npos);
  const ModelFile loaded = load_model(path);

  CHECK(loaded.network.spec() == saved.network.spec());
  CHECK(loaded.training == saved.training);
  CHECK(loaded.results == saved.results);
  for (int j = 1; j <= saved.network.depth(); ++j)
    CHECK(identical(loaded.network.junction(j), saved.network.junction(j)));
  for (std::size_t e = 0; e < saved.network.exit_count(); ++e)
    CHECK(identical(scee::test::exit_head(loaded.network, e), scee::test::exit_head(saved.network, e)));
  const Activations x = random_activations(12, 9, 3);
  CHECK(loaded.network.forward_range(0, 3, x) == saved.network.forward_range(0, 3, x));
  const Activations h = saved.network.forward_range(0, 1, x);
  CHECK(loaded.network.exit_logits(0, h) == saved.network.exit_logits(0, h));

  const json header = read_model_header(path);
  CHECK(header.at("format") == "scee-model");
  CHECK(header.at("format_version") == model_format_version);
  CHECK(header.at("network") == to_json(saved.network.spec()));
  CHECK(header.at("results") == saved.results);

  // Saving again replaces the file; the paper's network round-trips too.
  ModelFile paper;
  paper.network = Network(NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}}, 1));
  paper.network.initialise(1, 0.1, true);
  save_model(path, paper);
  const ModelFile back = load_model(path);
  CHECK(back.network.spec() == paper.network.spec());
  CHECK(back.training == TrainConfig{});
  CHECK(identical(back.network.junction(1), paper.network.junction(1)));
  CHECK(identical(back.network.junction(2), paper.network.junction(2)));

  // What load_model would refuse is not written: seeds are read back only up to 2^53.
  ModelFile unreadable = sample_model();
  unreadable.training.seed = std::uint64_t(1) << 60;
  const std::string refused = dir.file("refused.scee");
  check_error(input_error([&] { save_model(refused, unreadable); }), refused,
              "$.training.seed: must be an integer in [0, 9007199254740992], got 1152921504606846976");
  CHECK_FALSE(std::filesystem::exists(refused));

  const std::string nowhere = path + "/m.scee"; // under a file: no folder can be made there
  check_error(input_error([&] { save_model(nowhere, saved); }), nowhere, "cannot create the folder");
}

TEST_CASE("model_file: damaged files are refused with a clear message")
{
  TempDir dir("model_file");
  const std::string good = dir.file("good.scee"), path = dir.file("bad.scee");
  save_model(good, sample_model());
  const std::string bytes = read_bytes(good);
  auto load_error = [&](const std::string& content) {
    write_bytes(path, content);
    return input_error([&] { load_model(path); });
  };

  const std::string missing = dir.file("missing.scee");
  CHECK(input_error([&] { load_model(missing); }) ==
        missing + ": cannot open the model file (No such file or directory); train one with `scee train`");
  check_error(load_error(""), path, "truncated: 0 bytes is too short for a scee model file");

  std::string damaged = bytes;
  damaged[0] = 'X';
  CHECK(load_error(damaged) == path + ": not a scee model file (bad magic; expected \"SCEEMODL\")");
  damaged = bytes;
  damaged[8] = 3; // version 3, little-endian
  CHECK(load_error(damaged) == path + ": model format version 3 is not supported (this scee reads versions 1 to 2)");
  damaged[8] = 0;
  CHECK(load_error(damaged) == path + ": model format version 0 is not supported (this scee reads versions 1 to 2)");

  const Parts parts(bytes);
  const std::size_t header_end = 20 + parts.header.size();
  for (const std::size_t cut : {std::size_t(1), std::size_t(8), std::size_t(19), std::size_t(20), std::size_t(51),
                                std::size_t(52), std::size_t(100), header_end, header_end + 10, bytes.size() - 33,
                                bytes.size() - 1}) {
    CAPTURE(cut);
    check_error(load_error(bytes.substr(0, cut)), path, "truncated");
  }
  damaged = bytes + "extra";
  check_error(load_error(damaged), path, "checksum mismatch (file truncated or corrupted)");

  damaged = bytes;
  damaged[header_end + 5] ^= 0x01; // one bit of a weight
  check_error(load_error(damaged), path, "checksum mismatch (file truncated or corrupted): stored sha256 ");
  damaged = bytes;
  damaged[bytes.size() - 1] ^= 0x80; // the checksum itself
  check_error(load_error(damaged), path, "checksum mismatch");
  damaged = bytes;
  damaged[30] ^= 0x20; // a header byte
  check_error(load_error(damaged), path, "checksum mismatch");
}

TEST_CASE("model_file: format 1 files (MLPs, tensors junctionJ and exitE) are still read")
{
  // A format 1 file is a format 2 file of an MLP with the tensors named as format 1 named them.
  TempDir dir("model_file");
  const std::string v2 = dir.file("v2.scee"), v1 = dir.file("v1.scee");
  const ModelFile saved = sample_model();
  save_model(v2, saved);
  Parts parts(read_bytes(v2));
  json h = parts.header_json();
  h["format_version"] = 1;
  for (auto& t : h.at("tensors")) {
    std::string name = t.at("name");
    if (name.rfind("layer", 0) == 0)
      name = "junction" + name.substr(5);
    else if (const auto dot = name.find(".layer1."); dot != std::string::npos)
      name = name.substr(0, dot) + name.substr(dot + 7);
    t["name"] = name;
  }
  parts.set_header(h);
  parts.version = 1;
  write_bytes(v1, parts.signed_bytes());
  const ModelFile loaded = load_model(v1);
  CHECK(loaded.network.spec() == saved.network.spec());
  const Activations x = random_activations(12, 4, 9);
  CHECK(loaded.network.forward_range(0, 3, x) == saved.network.forward_range(0, 3, x));
  CHECK(loaded.network.exit_logits(1, saved.network.forward_range(0, 2, x)) ==
        saved.network.exit_logits(1, saved.network.forward_range(0, 2, x)));
  // Format 1 names do not load as format 2; nor does a header that claims another version than the file's.
  parts.version = 2;
  write_bytes(v1, parts.signed_bytes());
  check_error(input_error([&] { load_model(v1); }), v1, "$.format_version: 1 differs from the file's version 2");
  h["format_version"] = 2;
  parts.set_header(h);
  write_bytes(v1, parts.signed_bytes());
  check_error(input_error([&] { load_model(v1); }), v1, "tensor layer1.indices is missing");
}

TEST_CASE("model_file: re-signed files with a bad header or tensors are refused")
{
  const Resigned r;
  const std::string& path = r.path;
  const Parts& parts = r.parts;
  auto load_error = [&](const Parts& p) { return r.error(p); };
  CHECK(load_error(parts) == ""); // the re-signing helper itself is faithful

  Parts p = parts;
  p.header = parts.header.substr(0, parts.header.size() - 1); // drop the closing brace
  CHECK(load_error(p) == path + ": the header is not valid JSON");
  p.header = "[1, 2, 3]";
  check_error(load_error(p), path, "the header is incomplete or of the wrong type");

  json h = parts.header_json();
  h.erase("network");
  p = parts;
  p.set_header(h);
  check_error(load_error(p), path, "the header is incomplete or of the wrong type");

  h = parts.header_json();
  h["format"] = "other";
  p.set_header(h);
  CHECK(load_error(p) == path + ": header format is not \"scee-model\"");

  // Tensors missing or of the wrong size or place.
  auto with_tensor = [&](const std::string& name, const std::function<void(json&)>& edit) {
    json j = parts.header_json();
    auto& table = j.at("tensors");
    for (std::size_t i = 0; i < table.size(); ++i)
      if (table[i].at("name") == name) {
        edit(table[i]);
        if (table[i].is_null())
          table.erase(i);
        break;
      }
    Parts q = parts;
    q.set_header(j);
    return load_error(q);
  };
  CHECK(with_tensor("layer2.weights", [](json& t) { t = nullptr; }) ==
        path + ": tensor layer2.weights is missing");
  CHECK(with_tensor("exit1.layer1.bias", [](json& t) { t = nullptr; }) == path + ": tensor exit1.layer1.bias is missing");
  check_error(with_tensor("layer1.bias", [](json& t) { t["bytes"] = 28; }), path,
              "tensor layer1.bias has 28 bytes at offset");
  check_error(with_tensor("layer1.bias", [](json& t) { t["bytes"] = 28; }), path, "expected 32 within");
  check_error(with_tensor("layer3.weights", [&](json& t) { t["offset"] = parts.payload.size(); }), path,
              "tensor layer3.weights has 96 bytes at offset");
  // An offset so large that offset + bytes wraps around must not read outside the file.
  check_error(with_tensor("layer3.weights", [](json& t) { t["offset"] = std::uint64_t(0) - 8; }), path,
              "tensor layer3.weights has 96 bytes at offset");
  check_error(with_tensor("layer3.weights", [](json& t) { t["offset"] = -8; }), path,
              "tensor layer3.weights");
  check_error(with_tensor("layer3.weights", [](json& t) { t["offset"] = "zero"; }), path,
              "the header is incomplete or of the wrong type");
  // Regression (found while writing tests/fuzz/fuzz_model_file): a float offset or size beyond size_t was converted
  // with undefined behaviour (UBSan: "1e+300 is outside the range of representable values"); fractions truncated.
  check_error(with_tensor("layer3.weights", [](json& t) { t["offset"] = 1e300; }), path,
              "tensor layer3.weights: \"offset\" and \"bytes\" must be non-negative integers, got 1e+300 and 96");
  check_error(with_tensor("layer3.weights", [](json& t) { t["bytes"] = -1e300; }), path,
              "must be non-negative integers, got");
  check_error(with_tensor("layer1.bias", [](json& t) { t["offset"] = 0.5; }), path,
              "tensor layer1.bias: \"offset\" and \"bytes\" must be non-negative integers, got 0.5 and");

  // A spec that is no longer valid: 12*3 is not divisible by 8.
  h = parts.header_json();
  h["network"]["fan_outs"][0] = 3;
  p.set_header(h);
  const std::string msg = load_error(p);
  check_error(msg, path, "$.network.fan_outs[0]: junction 1: fan-out 3 is not valid for a 12->8 junction");
  CHECK(contains(msg, "valid fan-outs: 2, 4, 6, 8"));
  h = parts.header_json();
  h["network"]["exits"][0]["after_layer"] = 3;
  p.set_header(h);
  check_error(load_error(p), path, "$.network.exits[0].after_layer: must be an integer in [1, 2], got 3");
  h = parts.header_json();
  h["training"]["momentum"] = 0.9;
  p.set_header(h);
  check_error(load_error(p), path, "$.training.momentum: unknown key");

  // Connectivity that breaks the fixed fan-in pattern (input index 12 of a 12-input junction).
  p = parts;
  const auto offset = parts.header_json().at("tensors")[0].at("offset").get<std::size_t>();
  const std::int32_t bad_index = 12;
  std::memcpy(p.payload.data() + offset, &bad_index, 4);
  check_error(load_error(p), path, "junction 12->8: output 0 has unsorted, repeated or out-of-range input");
}

TEST_CASE("model_spec: JSON specs are read strictly")
{
  const std::string f = "spec.json";
  auto spec = [&](const json& j) { return model_spec_from_json(j, f, "$"); };
  auto error = [&](const json& j) { return input_error([&] { spec(j); }); };

  // Densities resolve to the nearest valid fan-outs: the paper's 5%, 22.5% and 100%.
  const ModelSpec paper = spec({{"widths", {800, 40, 40, 10}},
                                {"densities", {0.05, 0.225, 1.0}},
                                {"exits", {{{"after_layer", 1}, {"density", 1.0}}}}});
  CHECK(paper.network.mlp_shape()->fan_outs == std::vector<int>{2, 9, 10});
  CHECK(paper.network.mlp_shape()->exits == std::vector<std::pair<int, int>>{{1, 10}});
  CHECK(paper.network == default_model_spec().network);
  CHECK(paper.training == TrainConfig{});
  CHECK(spec({{"widths", {784, 100, 10}}, {"densities", {0.3, 0.5}}}).network.mlp_shape()->fan_outs == std::vector<int>{25, 5});
  const ModelSpec dense_exit =
      spec({{"widths", {12, 8, 6, 4}}, {"fan_outs", {2, 3, 4}}, {"exits", {{{"after_layer", 2}}}}});
  CHECK(dense_exit.network.mlp_shape()->exits == std::vector<std::pair<int, int>>{{2, 4}}); // dense by default
  CHECK(dense_exit.network.seed == 1);

  const json good = {{"widths", {12, 8, 6, 4}},
                     {"fan_outs", {2, 3, 4}},
                     {"exits", {{{"after_layer", 1}, {"fan_out", 2}}}},
                     {"seed", 5},
                     {"training", {{"epochs", 3}, {"exit_loss_weights", {0.5}}, {"he_fan_in", "sparse"}}}};
  const ModelSpec s = spec(good);
  CHECK(s.network == NetworkSpec::mlp({12, 8, 6, 4}, {2, 3, 4}, {{1, 2}}, 5));
  CHECK(s.training.epochs == 3);
  CHECK(s.training.exit_loss_weights == std::vector<double>{0.5});
  CHECK_FALSE(s.training.he_fan_in_dense);

  // Unknown keys are refused at their JSON path, naming the valid ones.
  json bad = good;
  bad["fanouts"] = {2, 3, 4};
  std::string msg = error(bad);
  CHECK(msg.rfind("spec.json: $.fanouts: unknown key; valid keys here: ", 0) == 0);
  CHECK(contains(msg, "fan_outs"));
  bad = good;
  bad["training"]["epoch"] = 3;
  CHECK(error(bad).rfind("spec.json: $.training.epoch: unknown key; valid keys here: ", 0) == 0);
  bad = good;
  bad["exits"][0]["after"] = 1;
  CHECK(error(bad).rfind("spec.json: $.exits[0].after: unknown key; valid keys here: ", 0) == 0);

  // Exactly one of fan_outs and densities.
  bad = good;
  bad["densities"] = {0.25, 0.5, 1.0};
  CHECK(contains(error(bad), "spec.json: $.fan_outs: give exactly one of \"fan_outs\""));
  bad = good;
  bad.erase("fan_outs");
  CHECK(contains(error(bad), "spec.json: $.fan_outs: give exactly one of \"fan_outs\""));
  bad = good;
  bad["fan_outs"] = {2, 3};
  CHECK(error(bad) == "spec.json: $.fan_outs: needs 3 values (one per junction), got 2");
  bad = good;
  bad["fan_outs"] = {2, 5, 4};
  CHECK(contains(error(bad), "spec.json: $.fan_outs[1]: junction 2: fan-out 5 is not valid for a 8->6 junction"));
  bad = good;
  bad.erase("fan_outs");
  bad["densities"] = {0.25, 0.0, 1.0};
  CHECK(contains(error(bad), "spec.json: $.densities[1]: must be a number in"));

  // One exit loss weight per exit.
  bad = good;
  bad["training"]["exit_loss_weights"] = {0.5, 0.5};
  CHECK(error(bad) == "spec.json: $.training.exit_loss_weights: needs one weight per exit (1), got 2");
  bad = good;
  bad.erase("exits");
  CHECK(error(bad) == "spec.json: $.training.exit_loss_weights: needs one weight per exit (0), got 1");

  // Exits: a hidden layer, once, with a valid fan-out.
  bad = good;
  bad["exits"] = {{{"after_layer", 1}}, {{"after_layer", 1}}};
  bad["training"].erase("exit_loss_weights");
  CHECK(error(bad) == "spec.json: $.exits[1].after_layer: another exit is already after layer 1");
  bad["exits"] = {{{"after_layer", 2}, {"fan_out", 1}}};
  CHECK(contains(error(bad), "spec.json: $.exits[0].fan_out: exit after layer 2: fan-out 1 is not valid"));
  bad["exits"] = {{{"after_layer", 2}, {"fan_out", 2}, {"density", 0.5}}};
  CHECK(contains(error(bad), "$.exits[0].fan_out: give at most one of \"fan_out\" and \"density\""));

  // Model hashes follow the spec.
  CHECK(model_hash(s) == model_hash(spec(good)));
  ModelSpec other = s;
  other.training.epochs = 4;
  CHECK(model_hash(other) != model_hash(s));
  CHECK(model_hash(s).size() == 16);
}

TEST_CASE("model_spec: spec files")
{
  TempDir dir("model_spec");
  const std::string path = dir.file("spec.json");
  write_bytes(path, R"({"widths": [12, 8, 4], "densities": [0.25, 1.0], "training": {"epochs": 2}})");
  const ModelSpec s = load_model_spec(path);
  CHECK(s.network.mlp_shape()->fan_outs == std::vector<int>{2, 4});
  CHECK(s.training.epochs == 2);
  write_bytes(path, R"({"widths": [12, 8, 4], )");
  CHECK(contains(input_error([&] { load_model_spec(path); }), path + ": not valid JSON: "));
  CHECK(input_error([&] { load_model_spec(dir.file("none.json")); }) ==
        dir.file("none.json") + ": cannot open the file");
}

TEST_CASE("model_spec: a network too large for any fan-out is refused before its fan-outs are worked out")
{
  // Regression (found while writing tests/fuzz/fuzz_scenario; a fuzz_scenario timeout): 380 layers of width 2^20 with
  // densities, 3,959 bytes of scenario, took over 10 s to refuse under the sanitizers, since the weight limit was
  // checked only after the O(width) search for each junction's fan-out.
  json widths = json::array(), densities = json::array();
  for (int i = 0; i < 380; ++i)
    widths.push_back(1 << 20);
  for (int i = 0; i < 379; ++i)
    densities.push_back(1);
  const auto start = std::chrono::steady_clock::now();
  const std::string msg =
      input_error([&] { model_spec_from_json({{"widths", widths}, {"densities", densities}}, "spec.json", "$"); });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  check_error(msg, "spec.json",
              "$.widths: the network would have at least 397410304 weights (one per input of each junction); at most "
              "67108864 (2^26) are supported");
  CHECK(seconds < 2.0); // microseconds now
}

TEST_CASE("sha256 of no bytes at a null pointer")
{
  // Regression (found by .ci/sanitize, cli_bad_inputs case mnist_empty): hashing an empty file passed its buffer's
  // null data() to memcpy with size 0, undefined behaviour that UBSan reports ("null pointer passed as argument 2").
  CHECK(sha256_hex(nullptr, 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("model_file: a re-signed file is also checked for what its checksum cannot vouch for")
{
  // Each damage comes with a fresh SHA-256, so only the semantic checks can catch it.
  const Resigned r;
  const std::string& path = r.path;
  const Parts& parts = r.parts;
  auto load_error = [&](const Parts& p) { return r.error(p); };
  auto edited = [&](const std::function<void(json&)>& edit) {
    Parts p = parts;
    json h = p.header_json();
    edit(h);
    p.set_header(h);
    return p;
  };
  auto entry = [](json& h, const std::string& name) -> json& {
    for (auto& t : h.at("tensors"))
      if (t.at("name") == name)
        return t;
    throw std::logic_error(name);
  };
  REQUIRE(load_error(parts) == "");
  check_error(load_error(edited([&](json& h) { entry(h, "layer1.weights")["dtype"] = "float64"; })), path,
              "tensor layer1.weights is \"float64\" [8,3], expected float32 [8,3]");
  check_error(load_error(edited([&](json& h) { entry(h, "layer1.weights")["shape"] = {4, 2}; })), path,
              "tensor layer1.weights is \"float32\" [4,2], expected float32 [8,3]");
  check_error(load_error(edited([&](json& h) { h["tensors"].push_back(h["tensors"][0]); })), path,
              "tensor layer1.indices is listed twice");
  check_error(load_error(edited([&](json& h) {
                auto t = h["tensors"][0];
                t["name"] = "layer9.weights";
                h["tensors"].push_back(t);
              })),
              path, "tensor layer9.weights belongs to no layer of the network");
  check_error(load_error(edited([&](json& h) { entry(h, "layer1.bias")["offset"] = 0; })), path,
              "the tensors overlap at byte 0 of the payload");
  check_error(load_error(edited([&](json& h) { h["comment"] = "x"; })), path,
              "$.comment: unknown header key; valid keys: format, format_version, network, training, results, "
              "tensors");
  check_error(load_error(edited([&](json& h) { h["format_version"] = 1; })), path,
              "$.format_version: 1 differs from the file's version 2");
  check_error(load_error(edited([&](json& h) { entry(h, "layer1.bias")["note"] = 1; })), path,
              "tensor layer1.bias: unknown key \"note\"");
  Parts trailing = parts;
  trailing.payload += std::string(8, '\0');
  check_error(load_error(trailing), path, "8 payload bytes after the last tensor");
  // A NaN weight, in place.
  Parts nan = parts;
  json header = parts.header_json();
  const json& w = entry(header, "layer2.weights");
  const float not_a_number = std::numeric_limits<float>::quiet_NaN();
  std::memcpy(nan.payload.data() + w.at("offset").get<std::size_t>() + 4, &not_a_number, 4);
  check_error(load_error(nan), path, "tensor layer2.weights holds a non-finite value (nan) at element 1");
}
