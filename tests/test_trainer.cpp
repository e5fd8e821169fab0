// Tests for training: the joint loss's analytic gradients against central finite differences (backbone and exit
// heads, weights and biases), the sparsity mask surviving training, determinism, freezing the backbone, and short
// real runs on MNIST.
#include <doctest/doctest.h>

#include "dataset.hpp"
#include "model_test_helpers.hpp"
#include "trainer.hpp"

#include <cmath>
#include <fmt/format.h>
#include <numeric>

using namespace scee;
using scee::test::contains;
using scee::test::identical;
using scee::test::input_error;
using scee::test::random_activations;
using scee::test::small_spec;

namespace {

using Dense = Eigen::MatrixXf;

const std::vector<double> exit_weights = {0.5, 0.25};
constexpr double final_weight = 0.8;

/// Every trainable tensor of a network in Gradients' order: junctions 1..L, then exit heads.
std::vector<SparseLinear*> tensors(Network& net)
{
  std::vector<SparseLinear*> t;
  for (int j = 1; j <= net.depth(); ++j)
    t.push_back(&net.junction(j));
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    t.push_back(&scee::test::exit_head(net, e));
  return t;
}

/// The hidden layers' pre-activations of a batch, all concatenated.
std::vector<float> hidden_pre_activations(const Network& net, const Activations& x)
{
  std::vector<float> out;
  Activations a = x, z;
  for (int j = 1; j < net.depth(); ++j) {
    net.junction(j).forward(a, z);
    out.insert(out.end(), z.data(), z.data() + z.size());
    a = z.cwiseMax(0.0f);
  }
  return out;
}

std::vector<std::uint8_t> random_labels(std::size_t count, int classes, std::uint64_t seed)
{
  Rng rng(seed);
  std::vector<std::uint8_t> labels(count);
  for (auto& l : labels)
    l = std::uint8_t(rng.below(std::uint64_t(classes)));
  return labels;
}

/// A learnable synthetic dataset for the small network: 12 inputs in [0, 1), the label the argmax of a fixed
/// random linear map.
Dataset synthetic(int count, std::uint64_t seed)
{
  Dataset d;
  d.name = "synthetic";
  d.image_pixels = d.input_width = 12;
  d.classes = 4;
  d.x = Dense(random_activations(12, count, seed, 0.0, 1.0));
  const Eigen::MatrixXf map = Dense(random_activations(4, 12, seed + 1));
  const Eigen::MatrixXf scores = map * d.x;
  for (int j = 0; j < count; ++j) {
    Eigen::Index best = 0;
    scores.col(j).maxCoeff(&best);
    d.labels.push_back(std::uint8_t(best));
  }
  return d;
}

TrainConfig small_config()
{
  TrainConfig c;
  c.dataset = "synthetic";
  c.epochs = 4;
  c.batch_size = 32;
  c.learning_rate = 1e-2;
  c.exit_loss_weights = exit_weights;
  c.seed = 7;
  return c;
}

bool same_backbone(const Network& a, const Network& b)
{
  for (int j = 1; j <= a.depth(); ++j)
    if (!identical(a.junction(j), b.junction(j)))
      return false;
  return true;
}

} // namespace

TEST_CASE("trainer: analytic gradients equal central finite differences")
{
  // A seed whose hidden pre-activations all keep clear of ReLU's kink, so that a finite difference never straddles
  // it (checked again for every perturbation below).
  constexpr float eps = 1e-3f;
  constexpr float clearance = 0.02f;
  const Eigen::Index batch = 5;
  Network net(small_spec());
  Activations x;
  std::uint64_t seed = 0;
  for (std::uint64_t s = 1; s <= 1000 && seed == 0; ++s) {
    net.initialise(s, 0.1, false);
    x = random_activations(12, batch, s + 5000);
    const auto pre = hidden_pre_activations(net, x);
    if (std::all_of(pre.begin(), pre.end(), [](float z) { return std::abs(z) > clearance; }))
      seed = s;
  }
  REQUIRE(seed != 0);
  const auto labels = random_labels(std::size_t(batch), 4, seed);
  const auto kinks = hidden_pre_activations(net, x);
  auto relu_pattern = [&] {
    std::vector<bool> on;
    for (float z : hidden_pre_activations(net, x))
      on.push_back(z > 0);
    return on;
  };
  const auto base_pattern = relu_pattern();
  auto loss = [&] {
    Gradients unused(net);
    return joint_loss_and_gradients(net, x, labels, final_weight, exit_weights, false, unused).loss;
  };

  Gradients analytic(net);
  const BatchLoss at = joint_loss_and_gradients(net, x, labels, final_weight, exit_weights, false, analytic);
  CHECK(at.loss == loss());
  CHECK(at.correct >= 0);
  CHECK(at.correct <= batch);

  auto t = tensors(net);
  int checked = 0, active = 0;
  double worst = 0;
  for (std::size_t k = 0; k < t.size(); ++k) {
    for (const bool bias : {false, true}) {
      float* param = bias ? t[k]->bias().data() : t[k]->values();
      const std::vector<float>& g = analytic.layers[k][bias ? 1 : 0];
      const std::size_t count = bias ? std::size_t(t[k]->out()) : std::size_t(t[k]->nnz());
      REQUIRE(g.size() == count);
      double diff2 = 0, norm2 = 0;
      for (std::size_t i = 0; i < count; ++i) {
        const float saved = param[i];
        param[i] = saved + eps;
        const float up = param[i];
        const double loss_up = loss();
        REQUIRE(relu_pattern() == base_pattern);
        param[i] = saved - eps;
        const float down = param[i];
        const double loss_down = loss();
        REQUIRE(relu_pattern() == base_pattern);
        param[i] = saved;
        const double numeric = (loss_up - loss_down) / (double(up) - double(down));
        const double a = g[i];
        CAPTURE(k);
        CAPTURE(bias);
        CAPTURE(i);
        CAPTURE(a);
        CAPTURE(numeric);
        // Relative 1e-2, with an absolute floor at the float round-off of a difference quotient (~1e-7 / 2e-3).
        CHECK(std::abs(a - numeric) <= 1e-2 * std::max(std::abs(a), std::abs(numeric)) + 2e-4);
        diff2 += (a - numeric) * (a - numeric);
        norm2 += a * a;
        worst = std::max(worst, std::abs(a - numeric));
        ++checked;
        active += std::abs(a) > 1e-3;
      }
      CAPTURE(k);
      CAPTURE(bias);
      CHECK(std::sqrt(diff2) <= 1e-2 * std::sqrt(norm2) + 1e-4);
    }
  }
  MESSAGE(fmt::format("gradient check: seed {}, {} parameters, {} with |gradient| > 1e-3, worst |error| {:.2e}, "
                      "smallest |pre-activation| {:.3f}",
                      seed, checked, active, worst,
                      std::abs(*std::min_element(kinks.begin(), kinks.end(),
                                                 [](float a, float b) { return std::abs(a) < std::abs(b); }))));
  CHECK(checked == 24 + 8 + 24 + 6 + 24 + 4 + 16 + 4 + 24 + 4);
  CHECK(active > checked / 2); // the check is not passing on zeros
}

TEST_CASE("trainer: joint loss at zero weights and the frozen-backbone gradients")
{
  Network net(small_spec());
  for (auto* l : tensors(net)) { // all weights and biases zero: every softmax uniform
    std::fill_n(l->values(), l->nnz(), 0.0f);
    l->bias().setZero();
  }
  const Activations x = random_activations(12, 6, 1);
  const auto labels = random_labels(6, 4, 2);
  Gradients g(net);
  const BatchLoss r = joint_loss_and_gradients(net, x, labels, final_weight, exit_weights, false, g);
  // The batch mean of each cross-entropy, weighted: ln 4 * (0.8 + 0.5 + 0.25).
  CHECK(r.loss == doctest::Approx(std::log(4.0) * (final_weight + 0.5 + 0.25)).epsilon(1e-6));
  CHECK(r.correct == std::count(labels.begin(), labels.end(), 0)); // argmax ties go to class 0
  // d/db of the final layer: weight * mean over the batch of (1/4 - onehot).
  for (int c = 0; c < 4; ++c) {
    const double share = double(std::count(labels.begin(), labels.end(), c)) / 6.0;
    CHECK(g.layers[2][1][std::size_t(c)] == doctest::Approx(final_weight * (0.25 - share)).epsilon(1e-6));
    CHECK(g.layers[3][1][std::size_t(c)] == doctest::Approx(0.5 * (0.25 - share)).epsilon(1e-6));
  }

  // Freezing the backbone: the heads' gradients are unchanged, the junctions' are zero.
  net.initialise(3, 0.1, true);
  Gradients full(net), frozen(net);
  const BatchLoss a = joint_loss_and_gradients(net, x, labels, final_weight, exit_weights, false, full);
  frozen.layers[0][0].assign(frozen.layers[0][0].size(), 1.0f); // stale values must be overwritten
  const BatchLoss b = joint_loss_and_gradients(net, x, labels, final_weight, exit_weights, true, frozen);
  CHECK(a.loss == b.loss);
  CHECK(a.correct == b.correct);
  for (std::size_t k = 0; k < 3; ++k) {
    CHECK(std::all_of(frozen.layers[k][0].begin(), frozen.layers[k][0].end(), [](float v) { return v == 0.0f; }));
    CHECK(std::all_of(frozen.layers[k][1].begin(), frozen.layers[k][1].end(), [](float v) { return v == 0.0f; }));
  }
  for (std::size_t k = 3; k < 5; ++k) {
    CHECK(frozen.layers[k][0] == full.layers[k][0]);
    CHECK(frozen.layers[k][1] == full.layers[k][1]);
  }
}

TEST_CASE("trainer: the sparsity mask holds through training")
{
  const Dataset data = synthetic(300, 11);
  Network net(small_spec());
  std::vector<std::vector<int>> indices_before;
  std::vector<Eigen::ArrayXXf> mask;
  for (auto* l : tensors(net)) {
    indices_before.emplace_back(l->indices(), l->indices() + l->nnz());
    Eigen::ArrayXXf m = Eigen::ArrayXXf::Zero(l->out(), l->in());
    for (int o = 0; o < l->out(); ++o)
      for (int k = 0; k < l->fan_in(); ++k)
        m(o, l->indices()[o * l->fan_in() + k]) = 1.0f;
    mask.push_back(m);
  }
  const auto records = train(net, small_config(), data, nullptr);
  REQUIRE(records.size() == 4);
  const auto after = tensors(net);
  for (std::size_t k = 0; k < after.size(); ++k) {
    CAPTURE(k);
    CHECK(after[k]->nnz() == std::int64_t(indices_before[k].size()));
    CHECK(std::vector<int>(after[k]->indices(), after[k]->indices() + after[k]->nnz()) == indices_before[k]);
    // Every trained weight is on the mask, and every mask position holds a (non-zero) trained weight.
    CHECK(((after[k]->to_dense().array() != 0.0f).cast<float>() == mask[k]).all());
  }
  // The loss is the per-sample joint loss (about ln 4 * 1.55 at the start), and it falls.
  CHECK(records.front().loss < std::log(4.0) * (1.0 + 0.5 + 0.25) * 1.5);
  CHECK(records.back().loss < records.front().loss);
  CHECK(std::isnan(records.front().test_accuracy));
}

TEST_CASE("trainer: training is deterministic for a seed")
{
  const Dataset data = synthetic(200, 12);
  Network a(small_spec()), b(small_spec()), c(small_spec());
  TrainConfig cfg = small_config();
  const auto ra = train(a, cfg, data, &data);
  const auto rb = train(b, cfg, data, &data);
  for (std::size_t k = 0; k < 5; ++k)
    CHECK(identical(*tensors(a)[k], *tensors(b)[k]));
  for (std::size_t e = 0; e < ra.size(); ++e) {
    CHECK(ra[e].loss == rb[e].loss);
    CHECK(ra[e].train_accuracy == rb[e].train_accuracy);
    CHECK(ra[e].test_accuracy == rb[e].test_accuracy);
    CHECK(ra[e].test_exit_accuracy == rb[e].test_exit_accuracy);
  }
  cfg.seed = 8;
  train(c, cfg, data, nullptr);
  CHECK_FALSE(identical(a.junction(1), c.junction(1)));
}

TEST_CASE("trainer: freeze_backbone trains the heads only")
{
  const Dataset data = synthetic(200, 13);
  Network net(small_spec());
  TrainConfig cfg = small_config();
  train(net, cfg, data, nullptr);
  const Network before = net;
  cfg.freeze_backbone = true;
  cfg.seed = 9;
  const auto records = train(net, cfg, data, &data);
  CHECK(same_backbone(net, before));
  for (std::size_t e = 0; e < net.exit_count(); ++e) {
    CAPTURE(e);
    CHECK_FALSE(identical(scee::test::exit_head(net, e), scee::test::exit_head(before, e)));
    // The heads were trained, not merely re-initialised.
    Network fresh(net.spec());
    fresh.initialise(cfg.seed, cfg.bias_init, cfg.he_fan_in_dense);
    CHECK_FALSE(identical(scee::test::exit_head(net, e), scee::test::exit_head(fresh, e)));
  }
  CHECK(records.back().test_exit_accuracy.size() == 2);

  Network no_exits(NetworkSpec::mlp({12, 8, 4}, {2, 4}, {}, 1));
  TrainConfig no_exit_cfg = cfg;
  no_exit_cfg.exit_loss_weights.clear();
  CHECK(input_error([&] { train(no_exits, no_exit_cfg, data, nullptr); }) ==
        "training: freeze_backbone needs at least one exit head to train");
}

TEST_CASE("trainer: bad inputs and evaluation")
{
  const Dataset data = synthetic(50, 14);
  Network net(small_spec());
  TrainConfig cfg = small_config();
  cfg.exit_loss_weights = {1.0};
  CHECK(input_error([&] { train(net, cfg, data, nullptr); }) == "training: 1 exit loss weights for 2 exits");
  Network wide(NetworkSpec::mlp({16, 8, 4}, {2, 4}, {}, 1));
  CHECK(input_error([&] { train(wide, small_config(), data, nullptr); }) ==
        "training: dataset width 12 differs from the network's input width 16");

  // evaluate() scores the final output and every exit on every sample.
  net.initialise(2, 0.1, false);
  const Accuracy acc = evaluate(net, data);
  std::vector<int> all(std::size_t(data.count()));
  std::iota(all.begin(), all.end(), 0);
  const Activations x = gather(data, all, 0, all.size());
  CHECK(x == data.x);
  auto accuracy = [&](const Activations& logits) {
    int correct = 0;
    for (Eigen::Index j = 0; j < logits.cols(); ++j) {
      Eigen::Index best = 0;
      logits.col(j).maxCoeff(&best);
      correct += best == data.labels[std::size_t(j)];
    }
    return double(correct) / double(logits.cols());
  };
  CHECK(acc.final_accuracy == accuracy(net.forward_range(0, 3, x)));
  CHECK(acc.exit_accuracy[0] == accuracy(net.exit_logits(0, net.forward_range(0, 1, x))));
  CHECK(acc.exit_accuracy[1] == accuracy(net.exit_logits(1, net.forward_range(0, 2, x))));
  const std::vector<int> picked = {4, 2, 9};
  const Activations some = gather(data, picked, 1, 2);
  CHECK(some.cols() == 2);
  CHECK(some.col(0) == data.x.col(2));
  CHECK(some.col(1) == data.x.col(9));
}

TEST_CASE("trainer: gather copies any run of samples exactly, into a reused buffer; evaluate spans chunks")
{
  // 600 samples: gather's tiles (8 samples) and evaluate's chunks (256 samples) both end part-way.
  const Dataset data = synthetic(600, 21);
  std::vector<int> order(std::size_t(data.count()));
  std::iota(order.begin(), order.end(), 0);
  Rng(22).shuffle(order.begin(), order.end());
  Activations buffer;
  for (const std::size_t count : {1, 7, 8, 9, 17, 256, 300}) {
    CAPTURE(count);
    const std::size_t first = 600 - count - 3;
    gather(data, order, first, count, buffer);
    REQUIRE(buffer.rows() == data.input_width);
    REQUIRE(buffer.cols() == Eigen::Index(count));
    for (std::size_t j = 0; j < count; ++j)
      CHECK(buffer.col(Eigen::Index(j)) == data.x.col(order[first + j]));
    CHECK(gather(data, order, first, count) == buffer);
  }

  Network net(small_spec());
  net.initialise(3, 0.1, false);
  std::vector<int> all(order.size());
  std::iota(all.begin(), all.end(), 0);
  const Activations x = gather(data, all, 0, all.size());
  auto accuracy = [&](const Activations& logits) {
    int correct = 0;
    for (Eigen::Index j = 0; j < logits.cols(); ++j) {
      Eigen::Index best = 0;
      logits.col(j).maxCoeff(&best);
      correct += best == data.labels[std::size_t(j)];
    }
    return double(correct) / double(logits.cols());
  };
  const Accuracy acc = evaluate(net, data);
  CHECK(acc.final_accuracy == accuracy(net.forward_range(0, 3, x)));
  CHECK(acc.exit_accuracy[0] == accuracy(net.exit_logits(0, net.forward_range(0, 1, x))));
  CHECK(acc.exit_accuracy[1] == accuracy(net.exit_logits(1, net.forward_range(0, 2, x))));
}

TEST_CASE("trainer: a short MNIST run with the paper's network learns")
{
  // 6,000 training and 1,000 test samples, 3 epochs (72 Adam steps), [800, 40, 40, 10] with fan-outs [2, 9, 10] and
  // a dense exit after hidden layer 1. With the paper's recipe the 5%-dense first junction (He-normal scaled by the
  // dense fan-in of 800) learns slowly at first: this run reaches 55.7% (exit 59.8%), 83% after 20 epochs. The
  // bounds sit well below that and far above chance (10%); the next test checks the recipe against Keras.
  const Dataset train_set = load_dataset("mnist", Split::train, 800, 6000);
  const Dataset test_set = load_dataset("mnist", Split::test, 800, 1000);
  Network net(NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}}, 1));
  TrainConfig cfg;
  cfg.epochs = 3;
  const auto records = train(net, cfg, train_set, &test_set);
  REQUIRE(records.size() == 3);
  MESSAGE(fmt::format("MNIST 6000/1000, 3 epochs: test accuracy {:.3f} (exit {:.3f}), loss {:.3f} -> {:.3f}",
                      records.back().test_accuracy, records.back().test_exit_accuracy[0], records.front().loss,
                      records.back().loss));
  CHECK(records.back().test_accuracy > 0.40);
  CHECK(records.back().test_exit_accuracy[0] > 0.45);
  CHECK(records.back().test_accuracy > records.front().test_accuracy);
  CHECK(records.back().loss < records.front().loss);
}

TEST_CASE("trainer: Dey's network matches Keras's first epoch")
{
  // Dey's [800, 100, 10] with fan-outs [50, 10], trained by Keras 2.2.4 with this recipe on 60,000 MNIST samples,
  // stored an epoch-1 training accuracy of 85.6% (reference/paper.md, section 2.1). Seeds 1-3 give 84.9-85.6% here.
  const Dataset train_set = load_dataset("mnist", Split::train, 800);
  Network net(NetworkSpec::mlp({800, 100, 10}, {50, 10}, {}, 1));
  TrainConfig cfg;
  cfg.epochs = 1;
  const auto records = train(net, cfg, train_set, nullptr);
  MESSAGE(fmt::format("Dey [800,100,10] fo [50,10], epoch 1: train accuracy {:.4f} (Keras 0.856), loss {:.3f}",
                      records[0].train_accuracy, records[0].loss));
  CHECK(records[0].train_accuracy > 0.83);
  CHECK(records[0].train_accuracy < 0.88);
}
