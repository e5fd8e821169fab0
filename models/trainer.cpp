#include "trainer.hpp"

#include "error.hpp"
#include "rng.hpp"

#include <algorithm>
#include <cassert>
#include <chrono>
#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <numeric>

namespace scee {

nlohmann::json to_json(const TrainConfig& c)
{
  return {{"dataset", c.dataset},
          {"epochs", c.epochs},
          {"batch_size", c.batch_size},
          {"learning_rate", c.learning_rate},
          {"beta1", c.beta1},
          {"beta2", c.beta2},
          {"epsilon", c.epsilon},
          {"decay", c.decay},
          {"bias_init", c.bias_init},
          {"he_fan_in", c.he_fan_in_dense ? "dense" : "sparse"},
          {"final_loss_weight", c.final_loss_weight},
          {"exit_loss_weights", c.exit_loss_weights},
          {"freeze_backbone", c.freeze_backbone},
          {"train_samples", c.train_samples},
          {"test_samples", c.test_samples},
          {"seed", c.seed}};
}

namespace {

/// Softmax cross-entropy of logits (classes x batch) against one label per column: returns the loss summed over the
/// batch and the correct count, and writes grad = weight * (softmax - onehot) / batch, the gradient of weight times
/// the batch-mean loss. The softmax runs over the whole batch at once in float, vectorised by Eigen (classes x batch,
/// each column contiguous); only the loss is summed in double.
struct LossSum {
  double loss = 0;
  int correct = 0;
};
LossSum softmax_cross_entropy(const Activations& logits, const std::vector<std::uint8_t>& labels, double weight,
                              Activations& grad)
{
  const Eigen::Index classes = logits.rows(), batch = logits.cols();
  grad.resize(classes, batch);
  LossSum r;
  thread_local Eigen::Array<float, 1, Eigen::Dynamic> top, sum;
  top = logits.colwise().maxCoeff().array();
  grad = (logits.array().rowwise() - top).exp().matrix();
  sum = grad.colwise().sum().array();
  grad.array().rowwise() /= sum;
  const float scale = float(weight / double(batch));
  for (Eigen::Index j = 0; j < batch; ++j) {
    const int label = labels[std::size_t(j)];
    Eigen::Index best = 0;
    logits.col(j).maxCoeff(&best);
    r.loss += double(std::log(sum(j)) + top(j) - logits(label, j));
    r.correct += best == label;
    grad(label, j) -= 1.0f;
  }
  grad *= scale;
  return r;
}

/// Adam's moments of one parameter tensor.
struct Moments {
  std::vector<float> m, v;
  explicit Moments(std::size_t n) : m(n), v(n) {}
};

void adam_step(const std::vector<float>& grad, Moments& s, float* param, double lr_t, const TrainConfig& c)
{
  const float b1 = float(c.beta1), b2 = float(c.beta2), eps = float(c.epsilon), lr = float(lr_t);
  for (std::size_t k = 0; k < grad.size(); ++k) {
    const float g = grad[k];
    s.m[k] = b1 * s.m[k] + (1 - b1) * g;
    s.v[k] = b2 * s.v[k] + (1 - b2) * g * g;
    param[k] -= lr * s.m[k] / (std::sqrt(s.v[k]) + eps);
  }
}

} // namespace

Gradients::Gradients(const Network& net)
{
  for (const Layer* l : net.all_layers()) {
    std::vector<std::vector<float>> tensors;
    for (const Parameter& p : l->parameters())
      tensors.emplace_back(std::size_t(p.size), 0.0f);
    layers.push_back(std::move(tensors));
  }
}

BatchLoss joint_loss_and_gradients(const Network& net, const Activations& x, const std::vector<std::uint8_t>& labels,
                                   double final_weight, const std::vector<double>& exit_weights, bool backbone_frozen,
                                   Gradients& grads)
{
  const int L = net.depth();
  const std::size_t exits = net.exit_count();
  const Eigen::Index batch = x.cols();
  assert(labels.size() == std::size_t(batch) && exit_weights.size() == exits);
  assert(grads.layers.size() == net.all_layers().size());
  for (auto& layer : grads.layers)
    for (auto& g : layer)
      std::fill(g.begin(), g.end(), 0.0f);

  // Forward: a[k] is main layer k's output (logits for L); act(0) is x, not copied. Exit branch e keeps its layers'
  // outputs in b[e] (b[e][i - 1] is layer i's), its input being act(after_layer). g[k] and gb[e][i] hold the loss's
  // gradient with respect to those outputs (gb[e][0]: to the branch's input). The buffers persist from batch to batch
  // with their sizes (a fresh batch of CNN activations is tens of MB, page faults for a fifth of an epoch).
  struct Workspace {
    std::vector<Activations> a, g;
    std::vector<std::vector<Activations>> b, gb;
  };
  thread_local Workspace w;
  auto& a = w.a;
  auto& g = w.g;
  a.resize(std::size_t(L) + 1);
  g.resize(std::size_t(L) + 1);
  w.b.resize(exits);
  w.gb.resize(exits);
  auto act = [&](int k) -> const Activations& { return k == 0 ? x : a[std::size_t(k)]; };
  for (int j = 1; j <= L; ++j)
    net.forward_layer(j, act(j - 1), a[std::size_t(j)]);
  const LossSum final_loss = softmax_cross_entropy(a[std::size_t(L)], labels, final_weight, g[std::size_t(L)]);
  double loss = final_weight * final_loss.loss;
  for (std::size_t e = 0; e < exits; ++e) {
    const int depth = net.exit_depth(e);
    auto& b = w.b[e];
    b.resize(std::size_t(depth));
    w.gb[e].resize(std::size_t(depth) + 1);
    for (int i = 1; i <= depth; ++i)
      net.exit_layer(e, i).forward(i == 1 ? act(net.spec().exits[e].after_layer) : b[std::size_t(i - 2)],
                                   b[std::size_t(i - 1)]);
    loss += exit_weights[e] * softmax_cross_entropy(b.back(), labels, exit_weights[e], w.gb[e].back()).loss;
  }

  // Backward through the exit branches first; what reaches a branch's input joins the main path's gradient there.
  for (std::size_t e = 0; e < exits; ++e) {
    auto& b = w.b[e];
    auto& gb = w.gb[e];
    for (int i = net.exit_depth(e); i >= 1; --i) {
      const Activations& in = i == 1 ? act(net.spec().exits[e].after_layer) : b[std::size_t(i - 2)];
      const bool want_dx = i > 1 || !backbone_frozen;
      net.exit_layer(e, i).backward(in, b[std::size_t(i - 1)], gb[std::size_t(i)],
                                    want_dx ? &gb[std::size_t(i - 1)] : nullptr,
                                    grads.layers[net.exit_layer_index(e, i)].data());
    }
  }
  if (!backbone_frozen)
    for (int j = L; j >= 1; --j) {
      net.layer(j).backward(act(j - 1), a[std::size_t(j)], g[std::size_t(j)], j > 1 ? &g[std::size_t(j - 1)] : nullptr,
                            grads.layers[std::size_t(j - 1)].data());
      if (j > 1)
        if (const int e = net.exit_after(j - 1); e >= 0)
          g[std::size_t(j - 1)] += w.gb[std::size_t(e)][0];
    }
  return {loss / double(batch), final_loss.correct};
}

std::vector<EpochRecord> train(Network& net, const TrainConfig& cfg, const Dataset& train_set, const Dataset* test_set,
                               const TrainCallbacks& callbacks)
{
  if (train_set.input_width != net.spec().input.size())
    throw InputError(fmt::format("training: dataset width {} differs from the network's input width {}",
                                 train_set.input_width, net.spec().input.size()));
  std::vector<double> exit_weights = cfg.exit_loss_weights;
  if (exit_weights.empty())
    exit_weights.assign(net.exit_count(), 1.0);
  if (exit_weights.size() != net.exit_count())
    throw InputError(fmt::format("training: {} exit loss weights for {} exits", exit_weights.size(), net.exit_count()));
  if (cfg.freeze_backbone && net.exit_count() == 0)
    throw InputError("training: freeze_backbone needs at least one exit head to train");
  // Adam updates every parameter tensor of the layers it trains: all of them, or the exit branches' only.
  const std::size_t first_trained = cfg.freeze_backbone ? std::size_t(net.depth()) : 0;
  if (!cfg.freeze_backbone)
    net.initialise(cfg.seed, cfg.bias_init, cfg.he_fan_in_dense);
  else { // the backbone stays as given; only the exit branches start afresh
    Network fresh(net.spec());
    fresh.initialise(cfg.seed, cfg.bias_init, cfg.he_fan_in_dense);
    const auto from = fresh.all_layers();
    const auto to = net.all_layers();
    for (std::size_t l = first_trained; l < to.size(); ++l) {
      const auto src = from[l]->parameters();
      const auto dst = to[l]->parameters();
      for (std::size_t t = 0; t < dst.size(); ++t)
        std::copy_n(src[t].data, dst[t].size, dst[t].data);
    }
  }

  Gradients grads(net);
  std::vector<Parameter> tensors; // trained parameter tensors, each with its gradient and moments
  std::vector<std::vector<float>*> tensor_grads;
  const auto layers = net.all_layers();
  for (std::size_t l = first_trained; l < layers.size(); ++l) {
    const auto params = layers[l]->parameters();
    for (std::size_t t = 0; t < params.size(); ++t) {
      tensors.push_back(params[t]);
      tensor_grads.push_back(&grads.layers[l][t]);
    }
  }
  std::vector<Moments> moments;
  for (const Parameter& p : tensors)
    moments.emplace_back(std::size_t(p.size));

  const int n = train_set.count();
  std::vector<int> order(n);
  std::iota(order.begin(), order.end(), 0);
  Rng rng(derive_seed(cfg.seed, 99));
  const int batches = (n + cfg.batch_size - 1) / cfg.batch_size;
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  long step = 0;
  std::vector<EpochRecord> records;

  std::vector<std::uint8_t> labels;
  Activations batch; // reused: a fresh 800 x 256 batch per step costs page faults
  for (int epoch = 1; epoch <= cfg.epochs; ++epoch) {
    const double epoch_start = elapsed();
    rng.shuffle(order.begin(), order.end());
    double loss_sum = 0;
    long correct = 0, seen = 0;
    for (int b = 0; b < batches; ++b) {
      const std::size_t first = std::size_t(b) * cfg.batch_size;
      const std::size_t count = std::min<std::size_t>(cfg.batch_size, n - first);
      labels.resize(count);
      for (std::size_t j = 0; j < count; ++j)
        labels[j] = train_set.labels[order[first + j]];
      gather(train_set, order, first, count, batch);
      const BatchLoss r =
          joint_loss_and_gradients(net, batch, labels, cfg.final_loss_weight, exit_weights, cfg.freeze_backbone, grads);
      loss_sum += r.loss;
      correct += r.correct;
      seen += long(count);

      ++step;
      const double lr_t = cfg.learning_rate / (1.0 + cfg.decay * double(step - 1)) *
                          std::sqrt(1.0 - std::pow(cfg.beta2, double(step))) /
                          (1.0 - std::pow(cfg.beta1, double(step)));
      for (std::size_t t = 0; t < tensors.size(); ++t)
        adam_step(*tensor_grads[t], moments[t], tensors[t].data, lr_t, cfg);
      if (callbacks.on_batch)
        callbacks.on_batch(
            {epoch, cfg.epochs, b + 1, batches, loss_sum / double(b + 1), double(correct) / double(seen), elapsed()});
    }
    EpochRecord rec;
    rec.epoch = epoch;
    rec.loss = loss_sum / batches;
    rec.train_accuracy = double(correct) / double(n);
    rec.test_accuracy = std::numeric_limits<double>::quiet_NaN();
    if (test_set) {
      const Accuracy acc = evaluate(net, *test_set);
      rec.test_accuracy = acc.final_accuracy;
      rec.test_exit_accuracy = acc.exit_accuracy;
    }
    rec.seconds = elapsed() - epoch_start;
    records.push_back(rec);
    if (callbacks.on_epoch)
      callbacks.on_epoch(rec);
  }
  return records;
}

} // namespace scee
