// Predefined-sparse junction vs Eigen's dense product of the same shape (800 -> 40), forward and backward, at
// densities from 1% to 100% and batch 1 and 256; and B-LeNet's third convolution (5x5, 10 -> 20 channels on 10x9x9,
// padding 3) forward + backward at channel fan-outs 2 to 20 of 20. Reported as ratios in docs/performance.md.
#include "layer.hpp"
#include "sparse_linear.hpp"

#include <Eigen/Dense>
#include <benchmark/benchmark.h>

using namespace scee;

namespace {

constexpr int in = 800, out = 40;

Activations input(int batch)
{
  Activations x = Activations::Random(in, batch);
  return x;
}

// fan-out fo of an 800->40 junction gives density fo/40: 1 -> 2.5%, 2 -> 5%, 4 -> 10%, 10 -> 25%, 20 -> 50%, 40 ->
// 100%. Kernel 0 is the one forward() picks (gemm_path), 1 the per-edge kernel, 2 the dense product: the crossover
// between 1 and 2 sets SparseLinear::gemm_min_density and gemm_min_batch.
SparseLinear junction(int fo)
{
  SparseLinear layer(in, out, fo, 1);
  layer.weights().coeffs().setRandom();
  return layer;
}

void sparse_forward(benchmark::State& state)
{
  const int fo = int(state.range(0)), batch = int(state.range(1)), kernel = int(state.range(2));
  const SparseLinear layer = junction(fo);
  const Activations x = input(batch);
  Activations y;
  for (auto _ : state) {
    if (kernel == 0)
      layer.forward(x, y);
    else if (kernel == 1)
      layer.forward_edges(x, y);
    else
      layer.forward_gemm(x, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["density_pct"] = 100.0 * fo / out;
  state.counters["gemm"] = kernel == 2 || (kernel == 0 && layer.gemm_path(batch));
  state.counters["macs"] =
      benchmark::Counter(double(layer.nnz()) * batch, benchmark::Counter::kIsIterationInvariantRate);
}

void sparse_backward(benchmark::State& state)
{
  const int fo = int(state.range(0)), batch = int(state.range(1)), kernel = int(state.range(2));
  const SparseLinear layer = junction(fo);
  const Activations x = input(batch);
  const Activations dy = Activations::Random(out, batch);
  Activations dx;
  std::vector<float> dw(std::size_t(layer.nnz())), db(out);
  for (auto _ : state) {
    if (kernel == 0)
      layer.backward(x, dy, &dx, dw.data(), db.data());
    else if (kernel == 1)
      layer.backward_edges(x, dy, &dx, dw.data(), db.data());
    else
      layer.backward_gemm(x, dy, &dx, dw.data(), db.data());
    benchmark::DoNotOptimize(dx.data());
  }
  state.counters["density_pct"] = 100.0 * fo / out;
  state.counters["gemm"] = kernel == 2 || (kernel == 0 && layer.gemm_path(batch));
}

void dense_forward(benchmark::State& state)
{
  const int batch = int(state.range(0));
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(out, in);
  const Eigen::VectorXf b = Eigen::VectorXf::Random(out);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(in, batch);
  Eigen::MatrixXf y(out, batch);
  for (auto _ : state) {
    y.noalias() = w * x;
    y.colwise() += b;
    benchmark::DoNotOptimize(y.data());
  }
}

void dense_backward(benchmark::State& state)
{
  const int batch = int(state.range(0));
  const Eigen::MatrixXf w = Eigen::MatrixXf::Random(out, in);
  const Eigen::MatrixXf x = Eigen::MatrixXf::Random(in, batch);
  const Eigen::MatrixXf dy = Eigen::MatrixXf::Random(out, batch);
  Eigen::MatrixXf dw(out, in), dx(in, batch);
  for (auto _ : state) {
    dw.noalias() = dy * x.transpose();
    dx.noalias() = w.transpose() * dy;
    benchmark::DoNotOptimize(dw.data());
    benchmark::DoNotOptimize(dx.data());
  }
}

// B-LeNet's conv 3 at fan-out fo (channel density fo/20), one training step's forward and backward.
void conv_step(benchmark::State& state)
{
  const int fo = int(state.range(0)), batch = int(state.range(1));
  LayerSpec spec;
  spec.kind = LayerKind::conv;
  spec.out = 20;
  spec.kernel = 5;
  spec.padding = 3;
  spec.fan_out = fo;
  spec.relu = true;
  auto layer = make_layer(spec, {10, 9, 9}, 1);
  for (const Parameter& p : layer->parameters())
    Eigen::Map<Eigen::VectorXf>(p.data, p.size).setRandom();
  const Activations x = Activations::Random(10 * 9 * 9, batch);
  Activations y, dy, dx;
  std::vector<float> grads[2] = {std::vector<float>(std::size_t(layer->parameters()[0].size)), std::vector<float>(20)};
  for (auto _ : state) {
    layer->forward(x, y);
    dy = y;
    layer->backward(x, y, dy, &dx, grads);
    benchmark::DoNotOptimize(dx.data());
  }
  state.counters["channel_density_pct"] = 100.0 * fo / 20;
  state.counters["macs"] = double(layer->cost().macs);
}

} // namespace

BENCHMARK(conv_step)->ArgsProduct({{2, 4, 10, 20}, {1, 256}});
BENCHMARK(sparse_forward)->ArgsProduct({{1, 2, 4, 10, 20, 40}, {1, 256}, {0}});
BENCHMARK(sparse_forward)
    ->Name("crossover_forward")
    ->ArgsProduct({{2, 4, 6, 8, 10, 12, 14, 16, 20, 30}, {1, 8, 32, 256}, {1, 2}});
BENCHMARK(sparse_backward)
    ->Name("crossover_backward")
    ->ArgsProduct({{2, 4, 6, 8, 10, 12, 14, 16, 20, 30}, {1, 8, 32, 256}, {1, 2}});
BENCHMARK(dense_forward)->Arg(1)->Arg(256);
BENCHMARK(sparse_backward)->ArgsProduct({{1, 2, 4, 10, 20, 40}, {1, 256}, {0}});
BENCHMARK(dense_backward)->Arg(1)->Arg(256);
BENCHMARK_MAIN();
