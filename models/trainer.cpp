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

void gather(const Dataset& data, const std::vector<int>& samples, std::size_t first, std::size_t count, Activations& x)
{
  // A transposition (dataset columns become activation columns of a row-major matrix), done in tiles of a few samples:
  // copying one column at a time writes every value to a different row, one cache line per value, and took two
  // thirds of a sparse training epoch. A tile reads `tile` columns side by side and writes `tile` contiguous floats
  // per row, while the next tile's columns (random samples of a 190 MB matrix, so from memory) are prefetched.
  constexpr std::size_t tile = 8;
  constexpr Eigen::Index floats_per_line = 16; // 64-byte cache lines
  const Eigen::Index rows = data.input_width;
  x.resize(rows, static_cast<Eigen::Index>(count));
  auto columns = [&](std::size_t j0, const float** out) {
    const std::size_t n = j0 < count ? std::min(tile, count - j0) : 0;
    for (std::size_t j = 0; j < n; ++j)
      out[j] = data.x.col(samples[first + j0 + j]).data();
    return n;
  };
  const float* column[tile];
  const float* next[tile];
  for (std::size_t j0 = 0; j0 < count; j0 += tile) {
    const std::size_t n = columns(j0, column), n_next = columns(j0 + tile, next);
    for (Eigen::Index i = 0; i < rows; ++i) {
      if (i % floats_per_line == 0)
        for (std::size_t j = 0; j < n_next; ++j)
          __builtin_prefetch(next[j] + i);
      float* out = &x(i, static_cast<Eigen::Index>(j0));
      for (std::size_t j = 0; j < n; ++j)
        out[j] = column[j][i];
    }
  }
}

Activations gather(const Dataset& data, const std::vector<int>& samples, std::size_t first, std::size_t count)
{
  Activations x;
  gather(data, samples, first, count, x);
  return x;
}

namespace {

/// Softmax cross-entropy of logits (classes x batch) against one label per column: returns the loss summed over the
/// batch and the correct count, and writes grad = weight * (softmax - onehot) / batch, the gradient of weight times
/// the batch-mean loss.
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
  for (Eigen::Index j = 0; j < batch; ++j) {
    const int label = labels[std::size_t(j)];
    Eigen::Index best = 0;
    const float top = logits.col(j).maxCoeff(&best);
    double sum = 0;
    for (Eigen::Index k = 0; k < classes; ++k)
      sum += std::exp(double(logits(k, j)) - top);
    const double log_sum = std::log(sum) + top;
    r.loss += log_sum - logits(label, j);
    r.correct += best == label;
    for (Eigen::Index k = 0; k < classes; ++k) {
      const double p = std::exp(double(logits(k, j)) - log_sum);
      grad(k, j) = float(weight * (p - (k == label ? 1.0 : 0.0)) / double(batch));
    }
  }
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
  auto add = [this](const SparseLinear& l) {
    dw.emplace_back(std::size_t(l.nnz()), 0.0f);
    db.emplace_back(std::size_t(l.out()), 0.0f);
  };
  for (int j = 1; j <= net.depth(); ++j)
    add(net.junction(j));
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    add(net.exit_head(e));
}

BatchLoss joint_loss_and_gradients(const Network& net, const Activations& x, const std::vector<std::uint8_t>& labels,
                                   double final_weight, const std::vector<double>& exit_weights, bool backbone_frozen,
                                   Gradients& grads)
{
  const int L = net.depth();
  const std::size_t exits = net.exit_count();
  const Eigen::Index batch = x.cols();
  assert(labels.size() == std::size_t(batch) && exit_weights.size() == exits);
  assert(grads.dw.size() == std::size_t(L) + exits && grads.db.size() == grads.dw.size());
  for (auto* group : {&grads.dw, &grads.db})
    for (auto& g : *group)
      std::fill(g.begin(), g.end(), 0.0f);

  // Forward: a[k] is layer k's activation (post-ReLU for hidden layers, logits for L); act(0) is x, not copied.
  std::vector<Activations> a(std::size_t(L) + 1);
  auto act = [&](int k) -> const Activations& { return k == 0 ? x : a[std::size_t(k)]; };
  for (int j = 1; j <= L; ++j) {
    net.junction(j).forward(act(j - 1), a[j]);
    if (j < L)
      a[j] = a[j].cwiseMax(0.0f);
  }
  Activations final_grad;
  const LossSum final_loss = softmax_cross_entropy(a[L], labels, final_weight, final_grad);
  double loss = final_weight * final_loss.loss;
  std::vector<Activations> exit_grad(exits);
  for (std::size_t e = 0; e < exits; ++e) {
    Activations z;
    net.exit_head(e).forward(act(net.spec().exits[e].after_layer), z);
    loss += exit_weights[e] * softmax_cross_entropy(z, labels, exit_weights[e], exit_grad[e]).loss;
  }

  // Backward. Exit heads read hidden layers only, so their gradient joins the backbone's on its way down.
  auto head_dw = [&](std::size_t e) { return grads.dw[std::size_t(L) + e].data(); };
  auto head_db = [&](std::size_t e) { return grads.db[std::size_t(L) + e].data(); };
  if (backbone_frozen) {
    for (std::size_t e = 0; e < exits; ++e)
      net.exit_head(e).backward(act(net.spec().exits[e].after_layer), exit_grad[e], nullptr, head_dw(e), head_db(e));
  } else {
    Activations grad = std::move(final_grad), grad_prev; // grad: dL/d(pre-activation) of layer j
    for (int j = L; j >= 1; --j) {
      net.junction(j).backward(act(j - 1), grad, j > 1 ? &grad_prev : nullptr, grads.dw[j - 1].data(),
                               grads.db[j - 1].data());
      if (j == 1)
        break;
      const int e = net.exit_after(j - 1);
      if (e >= 0) {
        Activations head_dx;
        net.exit_head(std::size_t(e)).backward(a[j - 1], exit_grad[e], &head_dx, head_dw(e), head_db(e));
        grad_prev += head_dx;
      }
      // ReLU: gradient flows where the activation was positive.
      grad = (a[j - 1].array() > 0.0f).select(grad_prev, 0.0f);
    }
  }
  return {loss / double(batch), final_loss.correct};
}

Accuracy evaluate(const Network& net, const Dataset& data)
{
  Accuracy acc;
  acc.exit_accuracy.assign(net.exit_count(), 0.0);
  std::vector<int> order(data.count());
  std::iota(order.begin(), order.end(), 0);
  // Chunks of a training batch's size, in buffers reused from chunk to chunk: a chunk's activations stay in cache,
  // and no chunk allocates (a 1,000-sample chunk of 800 inputs is 3.2 MB, fresh pages at every allocation). The
  // operations on each sample are those of Network::forward_range and exit_logits, whatever the chunk size.
  const std::size_t chunk = 256;
  const int L = net.depth();
  long correct = 0;
  std::vector<long> exit_correct(net.exit_count(), 0);
  auto count_correct = [&](const Activations& logits, std::size_t first, long& count) {
    for (Eigen::Index j = 0; j < logits.cols(); ++j) {
      Eigen::Index best = 0;
      logits.col(j).maxCoeff(&best);
      count += best == data.labels[order[first + std::size_t(j)]];
    }
  };
  Activations x, a, z, exit_z;
  for (std::size_t first = 0; first < order.size(); first += chunk) {
    const std::size_t n = std::min(chunk, order.size() - first);
    gather(data, order, first, n, x);
    const Activations* in = &x;
    for (int j = 1; j <= L; ++j) {
      net.junction(j).forward(*in, z);
      if (j < L)
        z = z.cwiseMax(0.0f);
      a.swap(z);
      in = &a;
      if (const int e = net.exit_after(j); e >= 0) {
        net.exit_head(std::size_t(e)).forward(a, exit_z);
        count_correct(exit_z, first, exit_correct[std::size_t(e)]);
      }
    }
    count_correct(a, first, correct);
  }
  acc.final_accuracy = double(correct) / double(data.count());
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    acc.exit_accuracy[e] = double(exit_correct[e]) / double(data.count());
  return acc;
}

std::vector<EpochRecord> train(Network& net, const TrainConfig& cfg, const Dataset& train_set, const Dataset* test_set,
                               const TrainCallbacks& callbacks)
{
  const int L = net.depth();
  if (train_set.input_width != net.spec().widths.front())
    throw InputError(fmt::format("training: dataset width {} differs from the network's input width {}",
                                 train_set.input_width, net.spec().widths.front()));
  std::vector<double> exit_weights = cfg.exit_loss_weights;
  if (exit_weights.empty())
    exit_weights.assign(net.exit_count(), 1.0);
  if (exit_weights.size() != net.exit_count())
    throw InputError(fmt::format("training: {} exit loss weights for {} exits", exit_weights.size(), net.exit_count()));
  if (cfg.freeze_backbone && net.exit_count() == 0)
    throw InputError("training: freeze_backbone needs at least one exit head to train");
  if (!cfg.freeze_backbone)
    net.initialise(cfg.seed, cfg.bias_init, cfg.he_fan_in_dense);
  else { // the backbone stays as given; only the heads start afresh
    Network fresh(net.spec());
    fresh.initialise(cfg.seed, cfg.bias_init, cfg.he_fan_in_dense);
    for (std::size_t e = 0; e < net.exit_count(); ++e) {
      std::copy_n(fresh.exit_head(e).values(), fresh.exit_head(e).nnz(), net.exit_head(e).values());
      net.exit_head(e).bias() = fresh.exit_head(e).bias();
    }
  }

  const std::size_t first_trained = cfg.freeze_backbone ? std::size_t(L) : 0; // parameter tensors Adam updates
  Gradients grads(net);
  std::vector<SparseLinear*> tensors;
  for (int j = 1; j <= L; ++j)
    tensors.push_back(&net.junction(j));
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    tensors.push_back(&net.exit_head(e));
  std::vector<Moments> mw, mb;
  for (const SparseLinear* l : tensors) {
    mw.emplace_back(std::size_t(l->nnz()));
    mb.emplace_back(std::size_t(l->out()));
  }

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
                          std::sqrt(1.0 - std::pow(cfg.beta2, double(step))) / (1.0 - std::pow(cfg.beta1, double(step)));
      for (std::size_t t = first_trained; t < tensors.size(); ++t) {
        adam_step(grads.dw[t], mw[t], tensors[t]->values(), lr_t, cfg);
        adam_step(grads.db[t], mb[t], tensors[t]->bias().data(), lr_t, cfg);
      }
      if (callbacks.on_batch)
        callbacks.on_batch({epoch, cfg.epochs, b + 1, batches, loss_sum / double(b + 1), double(correct) / double(seen),
                            elapsed()});
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
