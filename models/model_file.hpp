// Trained-model files (.scee): a versioned binary container holding the network's whole specification, its
// training settings and results (a JSON header), every layer's connectivity, weights and biases, and a SHA-256
// of everything before it. The format is documented in docs/model-format.md.
#pragma once

#include "network.hpp"
#include "trainer.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace scee {

inline constexpr char model_magic[8] = {'S', 'C', 'E', 'E', 'M', 'O', 'D', 'L'};
/// The version written; versions 1 (MLPs, tensors named junctionJ and exitE) and 2 (any layers) are read.
inline constexpr std::uint32_t model_format_version = 2;

struct ModelFile {
  Network network;
  TrainConfig training;
  nlohmann::json results; ///< what training measured (final and exit test accuracy, epochs), free-form
};

/// Writes atomically (a temporary file renamed into place).
void save_model(const std::string& path, const ModelFile& model);
/// Reads and checks a model file; every problem is an InputError naming the file and what is wrong.
ModelFile load_model(const std::string& path);
/// The same from the file's bytes already in memory (`name` is used in messages); load_model reads the file and
/// calls this.
ModelFile model_from_bytes(const std::string& bytes, const std::string& name);

/// The JSON header of a model file (after checking its integrity), without building the network.
nlohmann::json read_model_header(const std::string& path);

} // namespace scee
