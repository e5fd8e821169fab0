// libFuzzer harness for the model-file reader (model_from_bytes, what load_model runs on a file's bytes). The
// trailing SHA-256 is recomputed over the mutated bytes before reading, otherwise nearly every mutation would stop
// at the checksum; the checksum check itself is covered by the unit tests. The expected outcomes are a model or an
// InputError; anything else (another exception, a crash, a sanitizer report) is a bug. A model that loads must also
// run: one forward pass of a zero input through every junction and exit head.
#include "error.hpp"
#include "model_file.hpp"
#include "sha256.hpp"

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  std::string bytes(reinterpret_cast<const char*>(data), size);
  constexpr std::size_t digest_bytes = 32, fixed_bytes = 8 + 4 + 8; // magic, version, header length
  if (bytes.size() >= fixed_bytes + digest_bytes) {
    const std::size_t body = bytes.size() - digest_bytes;
    scee::Sha256 h;
    h.update(bytes.data(), body);
    const auto digest = h.finish();
    std::memcpy(bytes.data() + body, digest.data(), digest_bytes);
  }
  scee::ModelFile model;
  try {
    model = scee::model_from_bytes(bytes, "fuzz.scee");
  } catch (const scee::InputError&) {
    return 0;
  }
  // Outside any try: an exception here is a bug, and libFuzzer reports it as a crash.
  const scee::Network& net = model.network;
  // What an accepted file must be (docs/model-format.md, Checks on load): finite parameters, connectivity in range.
  for (const scee::Layer* l : net.all_layers()) {
    for (const scee::Parameter& p : l->parameters())
      for (std::int64_t k = 0; k < p.size; ++k)
        if (!std::isfinite(p.data[k]))
          std::abort();
    for (std::int64_t k = 0; l->connectivity() && k < std::int64_t(l->spec().out) * l->fan_in(); ++k)
      if (l->connectivity()[k] < 0 || l->connectivity()[k] >= l->in_shape().c)
        std::abort();
  }
  scee::Activations a = scee::Activations::Zero(int(net.spec().input.size()), 1);
  for (int layer = 1; layer <= net.depth(); ++layer) {
    a = net.forward_range(layer - 1, layer, a);
    if (const int e = net.exit_after(layer); e >= 0)
      (void)net.exit_logits(std::size_t(e), a);
  }
  (void)net.cost(0, net.depth());
  return 0;
}
