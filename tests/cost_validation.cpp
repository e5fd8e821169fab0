// The calibrated cost models against published latencies (docs/profiles.md, "Validation"): the MLPerf Tiny networks
// and ResNet-50 as layer tables, costed on the built-in profiles with the same HostCost the simulation executes
// (tests/test_simulation.cpp checks that a simulated sample takes exactly that time). Prints the validation table
// as Markdown; exits 1 when a calibration row (a measurement a profile's numbers were fitted to) is off by more than
// 1%, i.e. when a profile was edited without re-calibrating it. Held-out rows are reported, not enforced.
//
//   build/tests/cost_validation            # the table in docs/profiles.md
#include "cost_model.hpp"
#include "profiles.hpp"

#include <cmath>
#include <cstdio>
#include <fmt/format.h>
#include <string>
#include <vector>

using namespace scee;

namespace {

/// One layer of a benchmark network: a layer scee can cost, on its input shape.
struct Entry {
  LayerSpec spec;
  Shape in;
};

struct Table {
  std::vector<Entry> layers;
  Shape now;
  void conv(int out, int kernel, int stride, int padding)
  {
    LayerSpec l;
    l.kind = LayerKind::conv, l.out = out, l.kernel = kernel, l.stride = stride, l.padding = padding;
    l.fan_out = out, l.relu = true;
    layers.push_back({l, now});
    now = output_shape(l, now);
  }
  /// A depthwise 3x3 convolution, costed as a dense convolution of one input channel per output (the same MACs,
  /// weights and outputs; the input read is counted once per channel instead of once per element).
  void depthwise(int stride)
  {
    LayerSpec l;
    l.kind = LayerKind::conv, l.out = now.c, l.kernel = 3, l.stride = stride, l.padding = 1, l.fan_out = now.c;
    const Shape in{1, now.h, now.w};
    layers.push_back({l, in});
    now = Shape{now.c, output_shape(l, in).h, output_shape(l, in).w};
  }
  /// A shortcut convolution from `from` (ResNet's 1x1 projection), which does not change `now`.
  void shortcut(Shape from, int out, int stride)
  {
    LayerSpec l;
    l.kind = LayerKind::conv, l.out = out, l.kernel = 1, l.stride = stride, l.fan_out = out;
    layers.push_back({l, from});
  }
  /// The residual addition: one elementwise operation per element (costed like a ReLU layer).
  void add()
  {
    LayerSpec l;
    l.kind = LayerKind::relu;
    layers.push_back({l, now});
  }
  void pool(int kernel)
  {
    LayerSpec l;
    l.kind = LayerKind::avg_pool, l.kernel = kernel, l.stride = kernel;
    layers.push_back({l, now});
    now = Shape{now.c, 1, 1}; // global pooling (the flatten after it is a view)
  }
  void fc(int out, bool relu = true)
  {
    LayerSpec l;
    l.kind = LayerKind::fc, l.out = out, l.fan_out = out, l.relu = relu;
    layers.push_back({l, now});
    now = Shape{out, 1, 1};
  }
  std::int64_t macs() const
  {
    std::int64_t m = 0;
    for (const auto& e : layers)
      m += layer_cost(e.spec, e.in).macs;
    return m;
  }
};

/// MLPerf Tiny IC: ResNet-8 on 32x32x3 (mlcommons/tiny, benchmark/training/image_classification/keras_model.py).
Table resnet8()
{
  Table t;
  t.now = {3, 32, 32};
  t.conv(16, 3, 1, 1);
  t.conv(16, 3, 1, 1), t.conv(16, 3, 1, 1), t.add();
  for (int c : {32, 64}) {
    const Shape from = t.now;
    t.conv(c, 3, 2, 1), t.conv(c, 3, 1, 1), t.shortcut(from, c, 2), t.add();
  }
  t.pool(8);
  t.fc(10, false);
  return t;
}

/// MLPerf Tiny KWS: DS-CNN on 49x10 MFCC. The first convolution (10x4 kernel, stride 2, 64 filters, output 25x5) is
/// costed as its im2col form: a 1x1 convolution of 40 input channels on the 25x5 output grid (same MACs, weights
/// and outputs).
Table ds_cnn()
{
  Table t;
  t.now = {40, 25, 5};
  t.conv(64, 1, 1, 0);
  for (int i = 0; i < 4; ++i)
    t.depthwise(1), t.conv(64, 1, 1, 0);
  t.pool(5); // global average over 25x5, costed as 5x5 windows (which read every element once)
  t.fc(12, false);
  return t;
}

/// MobileNetV1 with width 0.25 on 96x96 (MLPerf Tiny VWW with 3 channels, TFLM person_detection with 1).
Table mobilenet_v1_025(int channels, int classes)
{
  Table t;
  t.now = {channels, 96, 96};
  t.conv(8, 3, 2, 1);
  const std::vector<std::pair<int, int>> blocks = {{16, 1}, {32, 2}, {32, 1}, {64, 2}, {64, 1}, {128, 2}, {128, 1},
                                                   {128, 1}, {128, 1}, {128, 1}, {128, 1}, {256, 2}, {256, 1}};
  for (const auto& [c, stride] : blocks)
    t.depthwise(stride), t.conv(c, 1, 1, 0);
  t.pool(3);
  t.fc(classes, false);
  return t;
}

/// MLPerf Tiny AD: the fully connected autoencoder 640-128-128-128-128-8-128-128-128-128-640.
Table autoencoder()
{
  Table t;
  t.now = {640, 1, 1};
  for (int w : {128, 128, 128, 128, 8, 128, 128, 128, 128})
    t.fc(w);
  t.fc(640, false);
  return t;
}

/// ResNet-50 v1.5 on 224x224 (stride on the 3x3 convolution of each bottleneck).
Table resnet50()
{
  Table t;
  t.now = {3, 224, 224};
  t.conv(64, 7, 2, 3);
  LayerSpec mp;
  mp.kind = LayerKind::max_pool, mp.kernel = 3, mp.stride = 2; // (padding 1 in the original: 112 -> 56)
  t.layers.push_back({mp, t.now});
  t.now = {64, 56, 56};
  const std::vector<std::pair<int, int>> stages = {{64, 3}, {128, 4}, {256, 6}, {512, 3}};
  for (std::size_t s = 0; s < stages.size(); ++s) {
    const auto [width, blocks] = stages[s];
    for (int b = 0; b < blocks; ++b) {
      const Shape from = t.now;
      const int stride = b == 0 && s > 0 ? 2 : 1;
      t.conv(width, 1, 1, 0), t.conv(width, 3, stride, 1), t.conv(width * 4, 1, 1, 0);
      if (b == 0)
        t.shortcut(from, width * 4, stride);
      t.add();
    }
  }
  t.pool(7);
  t.fc(1000, false);
  return t;
}

struct Row {
  std::string device, format, network, source;
  double measured_s = 0; ///< 0: no measurement on this hardware
  bool calibration = false;
  const Table* table = nullptr;
};

double simulated_s(const ComputeProfile& p, Encoding format, const Table& t)
{
  const HostCost h(p, 0, CostModelChoice::profile, format);
  double s = h.invoke_s();
  for (const auto& e : t.layers)
    s += h.layer(e.spec, e.in).seconds();
  return s;
}

ComputeProfile builtin(const std::string& name)
{
  const std::string file = builtin_profile_file("device", name);
  return compute_profile_from_json(builtin_profile_json("device", name, file, "$"), "device", file, "$");
}

} // namespace

int main()
{
  const Table ic = resnet8(), kws = ds_cnn(), vww = mobilenet_v1_025(3, 2), pd = mobilenet_v1_025(1, 2),
              ad = autoencoder(), r50 = resnet50();
  const std::string tiny = "MLPerf Tiny v1.2, STMicroelectronics NUCLEO_H7A3ZI_Q X-CUBE-AI";
  const std::string bosch = "MLPerf Tiny v1.2, bosch NUCLEO_H7A3ZI_float";
  const std::vector<Row> rows = {
      {"stm32h7a3", "int8", "IC ResNet-8", tiny + ": 24.483 inf/s", 1 / 24.483, true, &ic},
      {"stm32h7a3", "int8", "AD autoencoder", tiny + ": 816.004 inf/s", 1 / 816.004, true, &ad},
      {"stm32h7a3", "int8", "KWS DS-CNN", tiny + ": 88.356 inf/s", 1 / 88.356, false, &kws},
      {"stm32h7a3", "int8", "VWW MobileNetV1-0.25", tiny + ": 42.009 inf/s", 1 / 42.009, false, &vww},
      {"stm32h7a3", "fp32", "IC ResNet-8", bosch + ": 8.050 inf/s", 1 / 8.050, true, &ic},
      {"stm32h7a3", "fp32", "AD autoencoder", bosch + ": 191.208 inf/s", 1 / 191.208, true, &ad},
      {"stm32h7a3", "fp32", "VWW MobileNetV1-0.25", bosch + ": 12.282 inf/s", 1 / 12.282, false, &vww},
      {"stm32h7", "int8", "IC ResNet-8", "none (H7A3 figures scaled by 480/280 MHz)", 0, false, &ic},
      {"stm32h7", "int8", "AD autoencoder", "none", 0, false, &ad},
      {"nrf52840", "int8", "IC ResNet-8", "none (nRF5340 microTVM 3.163 inf/s at 128 MHz, per cycle)", 0, false, &ic},
      {"nrf52840", "int8", "AD autoencoder", "none (nRF5340 159.579 inf/s at 128 MHz, per cycle)", 0, false, &ad},
      {"esp32", "int8", "TFLM person detection", "esp-tflite-micro README: 380 ms with ESP-NN", 0.380, true, &pd},
      {"esp32", "int8", "AD autoencoder", "none", 0, false, &ad},
      {"esp32s3", "int8", "TFLM person detection", "esp-tflite-micro README: 54 ms with ESP-NN", 0.054, true, &pd},
      {"rpi4", "int8", "ResNet-50 v1.5", "MLPerf Inference v1.0 Krai TFLite: 592.6 ms", 0.5926, true, &r50},
      {"rpi4", "int8", "AD autoencoder", "none", 0, false, &ad},
  };
  fmt::print("| device | format | network | MACs | simulated | published | error | kind | published source |\n");
  fmt::print("|---|---|---|---|---|---|---|---|---|\n");
  int stale = 0;
  for (const Row& r : rows) {
    const ComputeProfile p = builtin(r.device);
    if (!p.cost_model) {
      fmt::print(stderr, "cost_validation: device profile {} has no cost model\n", r.device);
      return 1;
    }
    const Encoding f = parse_encoding(r.format);
    const double sim = simulated_s(p, f, *r.table);
    std::string error = "-", kind = "extrapolation";
    if (r.measured_s > 0) {
      const double e = sim / r.measured_s - 1;
      error = fmt::format("{:+.1f}%", 100 * e);
      kind = r.calibration ? "calibration" : "held out";
      if (r.calibration && std::abs(e) > 0.01) {
        fmt::print(stderr, "cost_validation: {} {} {}: simulated {:.6g} s, calibrated to {:.6g} s ({})\n", r.device,
                   r.format, r.network, sim, r.measured_s, error);
        ++stale;
      }
    }
    fmt::print("| `{}` | {} | {} | {} | {:.4g} ms | {} | {} | {} | {} |\n", r.device, r.format, r.network,
               r.table->macs(), 1e3 * sim, r.measured_s > 0 ? fmt::format("{:.4g} ms", 1e3 * r.measured_s) : "-",
               error, kind, r.source);
  }
  return stale ? 1 : 0;
}
