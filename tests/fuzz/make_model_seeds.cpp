// Writes the small model files of the model-file harness's seed corpus (tests/fuzz/corpus/fuzz_model_file/):
// networks of a few neurons, so that the files are a few hundred bytes and libFuzzer's mutations reach every part.
// `scee train` cannot make them (it needs a 784-pixel input). Usage: make_model_seeds DIR
#include "model_file.hpp"

#include <cstdio>
#include <string>

int main(int argc, char** argv)
{
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  struct Seed {
    const char* name;
    scee::NetworkSpec spec;
  };
  const Seed seeds[] = {
      {"one_junction", {{4, 2}, {1}, {}, 1}},
      {"two_junctions", {{6, 4, 2}, {2, 2}, {}, 2}},
      {"exit_dense", {{8, 4, 4, 2}, {1, 2, 2}, {{1, 2}}, 3}},
      {"exit_sparse", {{8, 6, 4, 3}, {3, 2, 3}, {{1, 1}, {2, 3}}, 4}},
  };
  for (const auto& s : seeds) {
    scee::ModelFile m;
    m.network = scee::Network(s.spec);
    m.network.initialise(s.spec.seed, 0.1, true);
    m.training.epochs = 1;
    m.training.train_samples = 10;
    m.training.test_samples = 10;
    m.results = {{"test_accuracy", 0.5}, {"exit_test_accuracy", nlohmann::json::array()}};
    scee::save_model(dir + "/" + s.name + ".scee", m);
  }
  return 0;
}
