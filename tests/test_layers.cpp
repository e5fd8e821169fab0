// Tests for the layer kinds of models/layer.hpp against independent references: a channel-sparse convolution equals
// a dense direct convolution with the channel mask applied, pooling equals a direct loop, shapes and costs of
// BranchyNet's B-LeNet equal hand counts, the joint loss's gradients through convolutions, pooling and an exit branch
// equal finite differences, training never creates a missing channel pair, and CNN model files round-trip.
#include <doctest/doctest.h>

#include "model_file.hpp"
#include "model_spec.hpp"
#include "model_test_helpers.hpp"
#include "trainer.hpp"

#include <cmath>
#include <fmt/format.h>

using namespace scee;
using scee::test::contains;
using scee::test::input_error;
using scee::test::random_activations;
using json = nlohmann::json;

namespace {

LayerSpec conv(int out, int kernel, int stride, int padding, int fan_out, bool relu = false)
{
  LayerSpec l;
  l.kind = LayerKind::conv;
  l.out = out;
  l.kernel = kernel;
  l.stride = stride;
  l.padding = padding;
  l.fan_out = fan_out;
  l.relu = relu;
  return l;
}
LayerSpec pool(LayerKind kind, int kernel, int stride, bool ceil_mode)
{
  LayerSpec l;
  l.kind = kind;
  l.kernel = kernel;
  l.stride = stride;
  l.ceil_mode = ceil_mode;
  return l;
}
LayerSpec simple(LayerKind kind)
{
  LayerSpec l;
  l.kind = kind;
  return l;
}
LayerSpec fc(int out, int fan_out, bool relu = false)
{
  LayerSpec l;
  l.out = out;
  l.fan_out = fan_out;
  l.relu = relu;
  return l;
}

void randomise(Layer& l, std::uint64_t seed)
{
  Rng rng(seed);
  for (const Parameter& p : l.parameters())
    for (std::int64_t k = 0; k < p.size; ++k)
      p.data[k] = float(2.0 * rng.uniform() - 1.0);
}

/// Element (c, y, x) of sample n of a C x H x W tensor in scee's layout.
float at(const Activations& a, Shape s, int c, int y, int x, Eigen::Index n)
{
  return a((Eigen::Index(c) * s.h + y) * s.w + x, n);
}

} // namespace

TEST_CASE("layers: a channel-sparse convolution equals a dense direct convolution with the channel mask applied")
{
  const Shape in{6, 7, 5};
  for (const auto& [fo, stride, pad] : {std::tuple{2, 1, 1}, std::tuple{4, 2, 2}, std::tuple{2, 3, 0},
                                        std::tuple{4, 1, 0}}) {
    CAPTURE(fo);
    CAPTURE(stride);
    const LayerSpec spec = conv(4, 3, stride, pad, fo);
    auto layer = make_layer(spec, in, 11);
    randomise(*layer, 5);
    const auto& c = dynamic_cast<const Conv2d&>(*layer);
    const Activations x = random_activations(in.size(), 3, 9);
    Activations y;
    layer->forward(x, y);
    const Shape out = layer->out_shape();
    CHECK(out == Shape{4, (7 + 2 * pad - 3) / stride + 1, (5 + 2 * pad - 3) / stride + 1});
    REQUIRE(y.rows() == out.size());
    // The channel mask: exactly fan_in inputs per output, fan_out outputs per input.
    const int fi = 6 * fo / 4;
    std::vector<int> feeds(6, 0);
    double worst = 0;
    for (int o = 0; o < 4; ++o) {
      int reads = 0;
      for (int i = 0; i < 6; ++i) {
        bool any = false;
        for (int kh = 0; kh < 3; ++kh)
          for (int kw = 0; kw < 3; ++kw)
            any |= c.weight(o, i, kh, kw) != 0.0f;
        reads += any;
        feeds[std::size_t(i)] += any;
      }
      CHECK(reads == fi);
      for (int oy = 0; oy < out.h; ++oy)
        for (int ox = 0; ox < out.w; ++ox)
          for (Eigen::Index n = 0; n < 3; ++n) {
            double ref = layer->parameters()[1].data[o];
            for (int i = 0; i < 6; ++i)
              for (int kh = 0; kh < 3; ++kh)
                for (int kw = 0; kw < 3; ++kw) {
                  const int iy = oy * stride + kh - pad, ix = ox * stride + kw - pad;
                  if (iy >= 0 && iy < in.h && ix >= 0 && ix < in.w)
                    ref += double(c.weight(o, i, kh, kw)) * at(x, in, i, iy, ix, n);
                }
            worst = std::max(worst, std::abs(ref - at(y, out, o, oy, ox, n)));
          }
    }
    CHECK(feeds == std::vector<int>(6, fo));
    CHECK(worst < 1e-5);
    // Cost: only existing pairs are counted.
    const LayerCost cost = layer->cost();
    CHECK(cost.weights == 4 * fi * 9);
    CHECK(cost.macs == 4 * fi * 9 * out.h * out.w);
    CHECK(cost.storage_bytes == 4 * (4 * fi * 9 + 4) + (fo == 4 ? 0 : 2 * 4 * fi));
    CHECK(cost.output_elements == out.size());
    // Batch 1 gives each sample's batch result.
    Activations one;
    layer->forward(x.col(1), one);
    CHECK((one - y.col(1)).cwiseAbs().maxCoeff() < 1e-5f);
  }
}

TEST_CASE("layers: pooling equals a direct loop (floor and ceil rounding)")
{
  const Shape in{2, 7, 6};
  const Activations x = random_activations(in.size(), 2, 4);
  for (const LayerKind kind : {LayerKind::max_pool, LayerKind::avg_pool})
    for (const bool ceil_mode : {false, true})
      for (const auto& [k, s] : {std::pair{2, 2}, std::pair{3, 2}, std::pair{3, 1}}) {
        CAPTURE(int(kind));
        CAPTURE(ceil_mode);
        CAPTURE(k);
        auto layer = make_layer(pool(kind, k, s, ceil_mode), in, 1);
        const Shape out = layer->out_shape();
        auto side = [&](int n) {
          int o = ceil_mode ? (n - k + s - 1) / s + 1 : (n - k) / s + 1;
          if (ceil_mode && (o - 1) * s >= n)
            --o;
          return o;
        };
        CHECK(out == Shape{2, side(7), side(6)});
        Activations y;
        layer->forward(x, y);
        for (int c = 0; c < 2; ++c)
          for (int oy = 0; oy < out.h; ++oy)
            for (int ox = 0; ox < out.w; ++ox)
              for (Eigen::Index n = 0; n < 2; ++n) {
                double best = -1e30, sum = 0;
                int count = 0;
                for (int iy = oy * s; iy < std::min(oy * s + k, in.h); ++iy)
                  for (int ix = ox * s; ix < std::min(ox * s + k, in.w); ++ix) {
                    best = std::max(best, double(at(x, in, c, iy, ix, n)));
                    sum += at(x, in, c, iy, ix, n);
                    ++count;
                  }
                const double want = kind == LayerKind::max_pool ? best : sum / count;
                CHECK(at(y, out, c, oy, ox, n) == doctest::Approx(want).epsilon(1e-6));
              }
        CHECK(layer->cost().macs == 0);
        CHECK(layer->cost().weights == 0);
      }
  // 17 -> 9 with ceil rounding (B-LeNet's second pooling), 8 with floor.
  CHECK(output_shape(pool(LayerKind::max_pool, 2, 2, true), {10, 17, 17}) == Shape{10, 9, 9});
  CHECK(output_shape(pool(LayerKind::max_pool, 2, 2, false), {10, 17, 17}) == Shape{10, 8, 8});
}

TEST_CASE("layers: invalid layers are refused with what would be valid")
{
  CHECK(input_error([] { check_layer(fc(10, 10), {5, 6, 6}, "x"); }) ==
        "x: fc needs a flat input but gets 5x6x6; put a {\"type\": \"flatten\"} layer before it");
  CHECK(input_error([] { check_layer(conv(10, 7, 1, 0, 10), {5, 6, 6}, "x"); }) ==
        "x: a 7x7 kernel is larger than the 5x6x6 input; the kernel may be at most 6");
  CHECK(input_error([] { check_layer(conv(10, 5, 1, 5, 10), {5, 6, 6}, "x"); }) ==
        "x: padding 5 must be smaller than the kernel (5)");
  CHECK(input_error([] { check_layer(conv(10, 3, 1, 1, 3), {5, 6, 6}, "x"); }) ==
        "x: fan-out 3 is not valid for a 5->10 convolution's channels (need 1 <= fo <= 10 and 5*fo divisible by 10); "
        "valid fan-outs: 2, 4, 6, 8, 10");
  CHECK(input_error([] { check_layer(pool(LayerKind::max_pool, 8, 2, false), {5, 6, 6}, "x"); }) ==
        "x: a 8x8 kernel is larger than the 5x6x6 input; the kernel may be at most 6");
}

namespace {

/// BranchyNet's B-LeNet (kunglab/branchynet, networks/lenet_mnist.py) with channel fan-outs for conv 2 and 3.
json b_lenet(int conv2_fan_out = 10, int conv3_fan_out = 20)
{
  auto c = [](int out, int k, int pad, int fo) {
    return json{{"type", "conv"}, {"out_channels", out}, {"kernel", k}, {"padding", pad}, {"fan_out", fo}};
  };
  const json pool = {{"type", "max_pool"}, {"kernel", 2}, {"stride", 2}, {"rounding", "ceil"}};
  const json relu = {{"type", "relu"}};
  const json flat = {{"type", "flatten"}};
  return {{"input", {1, 28, 28}},
          {"layers",
           {c(5, 5, 3, 5), pool, relu, c(10, 5, 3, conv2_fan_out), pool, relu, c(20, 5, 3, conv3_fan_out), pool, relu,
            flat, {{"type", "fc"}, {"out_features", 84}}, {{"type", "fc"}, {"out_features", 10}}}},
          {"exits",
           {{{"after_layer", 1},
             {"layers", {pool, relu, c(10, 3, 1, 10), pool, relu, flat, {{"type", "fc"}, {"out_features", 10}}}}}}}};
}

} // namespace

TEST_CASE("layers: B-LeNet's shapes and costs equal hand counts")
{
  const NetworkSpec s = model_spec_from_json(b_lenet(), "b-lenet.json", "$").network;
  REQUIRE(s.depth() == 12);
  const std::vector<Shape> want = {{1, 28, 28}, {5, 30, 30}, {5, 15, 15}, {5, 15, 15}, {10, 17, 17},
                                   {10, 9, 9},  {10, 9, 9},  {20, 11, 11}, {20, 6, 6}, {20, 6, 6},
                                   {720, 1, 1}, {84, 1, 1},  {10, 1, 1}};
  for (int k = 0; k <= 12; ++k) {
    CAPTURE(k);
    CHECK(s.shape(k) == want[std::size_t(k)]);
  }
  CHECK(s.exit_shape(0, 5) == Shape{10, 8, 8}); // 640 inputs of the branch's fc
  // MACs per sample: kernel taps x existing channel pairs x output positions, fc in x out.
  CHECK(s.cost(0, 1).macs == 25 * 5 * 30 * 30);
  CHECK(s.cost(3, 4).macs == 25 * 5 * 10 * 17 * 17);
  CHECK(s.cost(6, 7).macs == 25 * 10 * 20 * 11 * 11);
  CHECK(s.cost(10, 12).macs == 720 * 84 + 84 * 10);
  CHECK(s.cost(0, 12).weights == 125 + 1250 + 5000 + 60480 + 840);
  CHECK(s.cost(0, 12).biases == 5 + 10 + 20 + 84 + 10);
  CHECK(s.exit_cost(0).macs == 9 * 5 * 10 * 15 * 15 + 640 * 10);
  CHECK(s.exit_cost(0).weights == 450 + 6400);
  CHECK(s.cost(0, 12).storage_bytes == 4 * (125 + 1250 + 5000 + 60480 + 840 + 5 + 10 + 20 + 84 + 10));

  // Channel sparsity: fan-out 5 is invalid for conv 2 (5*5 is not divisible by 10); fan-out 4 gives each of its
  // outputs 2 of the 5 inputs, and conv 3 at fan-out 10 each output 5 of 10. MACs follow the pairs; indices appear.
  const std::string bad = input_error([] { model_spec_from_json(b_lenet(5), "b.json", "$"); });
  CHECK(contains(bad, "b.json: $.layers[3].fan_out: conv 5->10 channels: fan-out 5 is not valid for a 5->10 "
                      "convolution's channels"));
  CHECK(contains(bad, "valid fan-outs: 2, 4, 6, 8, 10"));
  const NetworkSpec sparse = model_spec_from_json(b_lenet(4, 10), "b.json", "$").network;
  CHECK(sparse.cost(3, 4).macs == 25 * 2 * 10 * 17 * 17);
  CHECK(sparse.cost(6, 7).macs == 25 * 5 * 20 * 11 * 11);
  CHECK(sparse.cost(3, 4).storage_bytes == 4 * (25 * 2 * 10 + 10) + 2 * 2 * 10);
  CHECK(sparse.dense().cost(0, 12).macs == s.cost(0, 12).macs);
  CHECK(to_json(s).at("layers").size() == 12);
  CHECK(model_spec_from_json(to_json(s), "again.json", "$").network == s); // the JSON form round-trips
}

TEST_CASE("layers: JSON layer specs are read strictly")
{
  auto error = [](json j) { return input_error([&] { model_spec_from_json(j, "s.json", "$"); }); };
  json j = b_lenet();
  j["layers"][10]["type"] = "fc";
  j["layers"].erase(9); // no flatten before the fc
  CHECK(error(j) == "s.json: $.layers[9].type: fc needs a flat input but gets 20x6x6; put a {\"type\": \"flatten\"} "
                    "layer before it");
  j = b_lenet();
  j["layers"][6]["kernel"] = 13;
  j["layers"][6]["padding"] = 0;
  CHECK(error(j) == "s.json: $.layers[6]: conv: a 13x13 kernel is larger than the 10x9x9 input; the kernel may be at "
                    "most 9 (input 10x9x9)");
  j = b_lenet();
  j["layers"][0]["kernels"] = 5;
  CHECK(contains(error(j), "s.json: $.layers[0].kernels: unknown key"));
  j = b_lenet();
  j["input"] = {1, 32, 32};
  CHECK(error(j) == ""); // the shape itself is valid; scenarios and training check it against the dataset
  j = b_lenet();
  j["widths"] = {784, 10};
  CHECK(contains(error(j), "s.json: $.layers: give exactly one of \"layers\" (with \"input\") or the MLP shorthand"));
  j = b_lenet();
  j["fan_outs"] = {1};
  CHECK(contains(error(j), "s.json: $.fan_outs: belongs to the \"widths\" shorthand"));
  j = b_lenet();
  j["exits"][0]["layers"].erase(6);
  CHECK(error(j) == "s.json: $.exits[0].layers: must end in the 10 class scores, got 640");
  j = b_lenet();
  j["exits"][0] = {{"after_layer", 1}, {"fan_out", 10}};
  CHECK(contains(error(j), "s.json: $.exits[0].after_layer: layer 1 gives 5x30x30: an exit here needs \"layers\""));
  j = b_lenet();
  j["layers"][11]["out_features"] = 1;
  CHECK(contains(error(j), "s.json: $.layers: the last layer must give a flat tensor of at least 2 class scores"));
}

namespace {

/// A small CNN with every layer kind, a sparse convolution and an exit branch with a sparse convolution.
NetworkSpec small_cnn()
{
  NetworkSpec s;
  s.input = {1, 6, 6};
  s.layers = {conv(4, 3, 1, 1, 4, true),
              pool(LayerKind::max_pool, 2, 2, false),
              conv(4, 3, 1, 1, 2, true),
              pool(LayerKind::avg_pool, 2, 2, true),
              simple(LayerKind::flatten),
              fc(3, 3)};
  s.exits = {{2, {simple(LayerKind::relu), conv(2, 2, 1, 0, 1), simple(LayerKind::flatten), fc(3, 3)}}};
  s.seed = 4;
  return s;
}

} // namespace

TEST_CASE("layers: the joint loss's gradients through convolutions, pooling and an exit branch equal finite differences")
{
  Network net(small_cnn());
  net.initialise(3, 0.05, false);
  const Activations x = random_activations(36, 4, 21, 0.0, 1.0);
  const std::vector<std::uint8_t> labels = {0, 2, 1, 2};
  const std::vector<double> exit_weights = {0.7};
  auto loss = [&] {
    Gradients unused(net);
    return joint_loss_and_gradients(net, x, labels, 1.0, exit_weights, false, unused).loss;
  };
  Gradients analytic(net);
  joint_loss_and_gradients(net, x, labels, 1.0, exit_weights, false, analytic);
  // Max pooling and ReLU have kinks: a perturbation that crosses one changes the function's branch, so a few
  // parameters may disagree; the check asks that nearly all agree tightly and the whole gradient to 1%.
  const float eps = 1e-3f;
  int checked = 0, agree = 0, active = 0;
  double diff2 = 0, norm2 = 0;
  const auto layers = net.all_layers();
  for (std::size_t l = 0; l < layers.size(); ++l) {
    const auto params = layers[l]->parameters();
    for (std::size_t t = 0; t < params.size(); ++t)
      for (std::int64_t i = 0; i < params[t].size; ++i) {
        float& p = params[t].data[i];
        const float saved = p;
        p = saved + eps;
        const float up = p;
        const double loss_up = loss();
        p = saved - eps;
        const float down = p;
        const double loss_down = loss();
        p = saved;
        const double numeric = (loss_up - loss_down) / (double(up) - double(down));
        const double a = analytic.layers[l][t][std::size_t(i)];
        ++checked;
        agree += std::abs(a - numeric) <= 1e-2 * std::max(std::abs(a), std::abs(numeric)) + 2e-4;
        active += std::abs(a) > 1e-3;
        diff2 += (a - numeric) * (a - numeric);
        norm2 += a * a;
      }
  }
  MESSAGE(fmt::format("CNN gradient check: {} parameters, {} agree, {} with |gradient| > 1e-3", checked, agree,
                      active));
  // conv 1: 4x1x9 + 4; conv 2: 4x2x9 + 4; fc 16->3: 48 + 3; exit conv 2x2x4 + 2; exit fc 8->3: 24 + 3.
  CHECK(checked == 40 + 76 + 51 + 18 + 27);
  CHECK(agree >= checked * 98 / 100);
  CHECK(active > checked / 2);
  CHECK(std::sqrt(diff2) <= 1e-2 * std::sqrt(norm2));
}

TEST_CASE("layers: training a CNN keeps its channel mask, and CNN model files round-trip")
{
  Dataset d;
  d.name = "synthetic";
  d.image_pixels = d.input_width = 36;
  d.classes = 3;
  d.x = Eigen::MatrixXf(random_activations(36, 60, 2, 0.0, 1.0));
  for (int j = 0; j < 60; ++j)
    d.labels.push_back(std::uint8_t(d.x.col(j).head(12).sum() > d.x.col(j).tail(12).sum() ? 1 : j % 2 ? 0 : 2));
  Network net(small_cnn());
  const auto before = std::vector<int>(net.layer(3).connectivity(), net.layer(3).connectivity() + 4 * 2);
  TrainConfig c;
  c.epochs = 3;
  c.batch_size = 16;
  c.learning_rate = 1e-2;
  const auto records = train(net, c, d, &d);
  REQUIRE(records.size() == 3);
  CHECK(std::isfinite(records.back().loss));
  CHECK(records.back().loss < records.front().loss);
  // The connectivity is what it was, and missing pairs have no weight at all (dense view: exactly zero).
  CHECK(std::vector<int>(net.layer(3).connectivity(), net.layer(3).connectivity() + 8) == before);
  const auto& sparse = dynamic_cast<const Conv2d&>(net.layer(3));
  int zero_pairs = 0, live_pairs = 0;
  for (int o = 0; o < 4; ++o)
    for (int i = 0; i < 4; ++i) {
      bool any = false;
      for (int kh = 0; kh < 3; ++kh)
        for (int kw = 0; kw < 3; ++kw)
          any |= sparse.weight(o, i, kh, kw) != 0.0f;
      (any ? live_pairs : zero_pairs) += 1;
    }
  CHECK(live_pairs == 8);
  CHECK(zero_pairs == 8);

  scee::test::TempDir dir("layers");
  const std::string path = dir.file("cnn.scee");
  save_model(path, {net, c, json::object()});
  const ModelFile back = load_model(path);
  CHECK(back.network.spec() == net.spec());
  CHECK(read_model_header(path).at("format_version") == 2);
  const Activations x = random_activations(36, 5, 8, 0.0, 1.0);
  CHECK(back.network.forward_range(0, 6, x) == net.forward_range(0, 6, x));
  const Activations h = net.forward_range(0, 2, x);
  CHECK(back.network.exit_logits(0, h) == net.exit_logits(0, h));
  CHECK(evaluate(back.network, d).exit_accuracy == evaluate(net, d).exit_accuracy);
}
