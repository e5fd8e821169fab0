// Model specifications as users write them (JSON): widths, fan-outs or densities, exit heads, seed, and training
// settings. Strictly validated; densities are resolved to the nearest valid fan-outs here, once.
#pragma once

#include "network.hpp"
#include "trainer.hpp"

#include <nlohmann/json.hpp>
#include <string>

namespace scee {

struct ModelSpec {
  NetworkSpec network;
  TrainConfig training;
};

/// The network part of a spec object at `path` in `file` (keys widths, fan_outs | densities, exits, seed).
NetworkSpec network_spec_from_json(const nlohmann::json& j, const std::string& file, const std::string& path);
/// A training object (every key optional; defaults are the paper's recipe).
TrainConfig train_config_from_json(const nlohmann::json& j, const std::string& file, const std::string& path);
/// A whole model spec: the network keys plus an optional "training" object.
ModelSpec model_spec_from_json(const nlohmann::json& j, const std::string& file, const std::string& path);
ModelSpec load_model_spec(const std::string& file);

/// The paper's network: [800, 40, 40, 10], fan-outs [2, 9, 10], one dense exit after hidden layer 1.
ModelSpec default_model_spec();

/// A stable hash (hex) of spec and training settings: the name of a cached trained model.
std::string model_hash(const ModelSpec& spec);

} // namespace scee
