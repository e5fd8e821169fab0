// Tests for the predefined-sparse junction: forward and backward against a dense reference with the mask applied
// (Eigen's sparse-vs-dense idiom), the cost figures in closed form, and the refusal of malformed connectivity.
#include <doctest/doctest.h>

#include "connectivity.hpp"
#include "model_test_helpers.hpp"
#include "sparse_linear.hpp"

#include <vector>

using namespace scee;
using scee::test::contains;
using scee::test::input_error;
using scee::test::random_activations;
using scee::test::randomise;

namespace {

struct Shape {
  int in, out, fo;
};
// Densities from 5% to dense, p < n and p > n, batch paths 1 and > 1.
const std::vector<Shape> shapes = {{800, 40, 2}, {40, 40, 9}, {40, 10, 10}, {12, 8, 2},  {12, 8, 6},
                                   {4, 8, 2},    {3, 7, 7},   {10, 4, 2},   {100, 10, 1}};

using Dense = Eigen::MatrixXf;

/// The three ways to run a junction: forward()/backward() (the kernel gemm_path picks), the per-edge kernel and the
/// dense product.
enum class Kernel { chosen, edges, gemm };
const std::vector<Kernel> kernels = {Kernel::chosen, Kernel::edges, Kernel::gemm};

void forward(const SparseLinear& l, Kernel k, const Activations& x, Activations& y)
{
  if (k == Kernel::chosen)
    l.forward(x, y);
  else if (k == Kernel::edges)
    l.forward_edges(x, y);
  else
    l.forward_gemm(x, y);
}

void backward(const SparseLinear& l, Kernel k, const Activations& x, const Activations& dy, Activations* dx, float* dw,
              float* db)
{
  if (k == Kernel::chosen)
    l.backward(x, dy, dx, dw, db);
  else if (k == Kernel::edges)
    l.backward_edges(x, dy, dx, dw, db);
  else
    l.backward_gemm(x, dy, dx, dw, db);
}

/// Calls f(shape, layer, x, kernel, seed) for every shape, batch size (1 and 7: below gemm_min_batch; 9: above) and
/// kernel, on fresh random weights and inputs; `seed` advances for f's own random tensors.
template <class F> void for_each_case(std::uint64_t seed, F&& f)
{
  for (const auto& s : shapes)
    for (const Eigen::Index batch : {1, 7, 9})
      for (const Kernel kernel : kernels) {
        CAPTURE(s.in);
        CAPTURE(s.out);
        CAPTURE(s.fo);
        CAPTURE(batch);
        CAPTURE(int(kernel));
        SparseLinear layer(s.in, s.out, s.fo, ++seed);
        randomise(layer, ++seed);
        const Activations x = random_activations(s.in, batch, ++seed);
        f(s, layer, x, kernel, seed);
      }
}

/// Whether a and b agree to `precision` relative to the larger norm (Eigen's isApprox, with a floor for zeros).
template <class A, class B> bool close(const A& a, const B& b, float precision = 1e-5f)
{
  const Dense da = a, db = b;
  return (da - db).norm() <= precision * std::max({da.norm(), db.norm(), 1.0f});
}

} // namespace

TEST_CASE("sparse_linear: forward equals the dense product with the mask applied")
{
  for_each_case(100, [](const auto& s, const SparseLinear& layer, const Activations& x, Kernel kernel, std::uint64_t) {
    const Eigen::Index batch = x.cols();
    Activations y = Activations::Constant(3, 2, 7.0f); // resized and overwritten
    forward(layer, kernel, x, y);
    REQUIRE(y.rows() == s.out);
    REQUIRE(y.cols() == batch);
    const Dense w = layer.to_dense();
    const Dense reference = (w * Dense(x)).colwise() + layer.bias();
    CHECK(close(y, reference));
    // The dense matrix has exactly the stored edges, fan_in per row.
    CHECK((w.array() != 0.0f).count() == layer.nnz());
    CHECK(layer.nnz() == std::int64_t(s.in) * s.fo);
  });
}

TEST_CASE("sparse_linear: a batch's columns equal single-sample forwards")
{
  SparseLinear layer(40, 40, 9, 5);
  randomise(layer, 6);
  const Activations x = random_activations(40, 7, 7);
  Activations y, y1;
  layer.forward(x, y);
  for (Eigen::Index j = 0; j < x.cols(); ++j) {
    layer.forward(x.col(j), y1);
    CHECK(close(y1, y.col(j), 1e-6f));
  }
}

TEST_CASE("sparse_linear: backward equals the dense gradients restricted to the mask")
{
  for_each_case(200,
                [](const auto& s, const SparseLinear& layer, const Activations& x, Kernel kernel, std::uint64_t seed) {
                  const Eigen::Index batch = x.cols();
                  const Activations dy = random_activations(s.out, batch, ++seed);
                  std::vector<float> dw(std::size_t(layer.nnz()), 0.0f), db(std::size_t(s.out), 0.0f);
                  Activations dx = Activations::Constant(3, 2, 7.0f); // resized and overwritten
                  backward(layer, kernel, x, dy, &dx, dw.data(), db.data());

                  const Dense dw_dense = Dense(dy) * Dense(x).transpose(); // dL/dW of the dense layer
                  Dense dw_sparse = Dense::Zero(s.out, s.in);              // ours, scattered onto the mask
                  for (int o = 0; o < s.out; ++o)
                    for (int k = 0; k < layer.fan_in(); ++k) {
                      const std::size_t at = std::size_t(o) * layer.fan_in() + k;
                      dw_sparse(o, layer.indices()[at]) = dw[at];
                    }
                  const Dense mask = (layer.to_dense().array() != 0.0f).cast<float>();
                  CHECK(close(dw_sparse, dw_dense.cwiseProduct(mask)));
                  CHECK(close(dx, layer.to_dense().transpose() * Dense(dy)));
                  const Eigen::VectorXf db_reference = Dense(dy).rowwise().sum();
                  CHECK(close(Eigen::Map<const Eigen::VectorXf>(db.data(), s.out), db_reference));

                  // Gradients accumulate; dx is overwritten.
                  backward(layer, kernel, x, dy, &dx, dw.data(), db.data());
                  CHECK(close(Eigen::Map<const Eigen::VectorXf>(db.data(), s.out), 2 * db_reference));
                  CHECK(close(dx, layer.to_dense().transpose() * Dense(dy)));
                  std::vector<float> dw_once(dw.size(), 0.0f), db_once(db.size(), 0.0f);
                  backward(layer, kernel, x, dy, nullptr, dw_once.data(), db_once.data()); // dx is optional
                  for (std::size_t k = 0; k < dw.size(); ++k)
                    REQUIRE(dw[k] == doctest::Approx(2 * dw_once[k]).epsilon(1e-5));
                });
}

TEST_CASE("sparse_linear: the dense product runs dense junctions, and dense-enough ones from a batch of 8")
{
  // 800 -> 40: fan-out 40 is dense, 15 is 37.5% (the crossover, docs/performance.md), 14 is 35%.
  const SparseLinear dense(800, 40, 40, 1), at(800, 40, 15, 1), below(800, 40, 14, 1);
  for (const Eigen::Index batch : {1, 7, 8, 256})
    CHECK(dense.gemm_path(batch));
  CHECK_FALSE(at.gemm_path(1));
  CHECK_FALSE(at.gemm_path(7));
  CHECK(at.gemm_path(8));
  CHECK(at.gemm_path(256));
  for (const Eigen::Index batch : {1, 8, 256})
    CHECK_FALSE(below.gemm_path(batch));
}

TEST_CASE("sparse_linear: cost in closed form")
{
  for (const auto& s : shapes) {
    CAPTURE(s.in);
    CAPTURE(s.out);
    CAPTURE(s.fo);
    const SparseLinear layer(s.in, s.out, s.fo, 1);
    const std::int64_t edges = std::int64_t(s.in) * s.fo;
    const bool sparse = s.fo < s.out;
    const LayerCost c = layer.cost();
    CHECK(c.weights == edges);
    CHECK(c.biases == s.out);
    CHECK(c.macs == edges);
    // fp32 weights and biases, plus a 2-byte column index per weight unless fully connected.
    CHECK(c.storage_bytes == 4 * (edges + s.out) + (sparse ? 2 * edges : 0));
    CHECK(layer.dense() == !sparse);
    CHECK(layer.index_bytes() == (sparse ? 2 : 0));
    CHECK(layer.fan_in() * s.out == edges);
  }
  // The paper's first junction: 1,600 weights, 40 biases, (1,600 + 40) * 4 + 1,600 * 2 bytes.
  CHECK(SparseLinear(800, 40, 2, 1).cost().storage_bytes == 9760);
  // Indices need 4 bytes once an input index no longer fits 16 bits.
  CHECK(SparseLinear(65536, 2, 1, 1).index_bytes() == 2);
  CHECK(SparseLinear(65538, 2, 1, 1).index_bytes() == 4);
  CHECK(SparseLinear(65538, 2, 1, 1).cost().storage_bytes == 4 * (65538 + 2) + 4 * 65538);
}

TEST_CASE("sparse_linear: explicit connectivity is checked")
{
  // 4->4 with fan-out 2: fan-in 2.
  const std::vector<std::vector<int>> good = {{0, 1}, {2, 3}, {0, 2}, {1, 3}};
  SparseLinear layer(4, 4, 2, good);
  CHECK(layer.fan_in() == 2);
  CHECK(layer.indices()[4] == 0);
  CHECK(layer.indices()[5] == 2);

  auto message = [](int in, int out, int fo, std::vector<std::vector<int>> rows) {
    return input_error([&] { SparseLinear(in, out, fo, rows); });
  };
  CHECK(message(4, 4, 2, {{0, 1}, {2, 3}, {0, 2}}) == "junction 4->4: connectivity has 3 rows");
  CHECK(message(4, 4, 2, {{0, 1}, {2, 3}, {0, 2}, {1}}) == "junction 4->4: output 3 has 1 inputs, expected fan-in 2");
  CHECK(message(4, 4, 2, {{0, 1}, {2, 3}, {0, 2}, {1, 2, 3}}) ==
        "junction 4->4: output 3 has 3 inputs, expected fan-in 2");
  CHECK(message(4, 4, 2, {{0, 1}, {2, 2}, {0, 3}, {1, 3}}) ==
        "junction 4->4: output 1 has unsorted, repeated or out-of-range input 2");
  CHECK(message(4, 4, 2, {{1, 0}, {2, 3}, {0, 2}, {1, 3}}) ==
        "junction 4->4: output 0 has unsorted, repeated or out-of-range input 0");
  CHECK(message(4, 4, 2, {{0, 1}, {2, 4}, {0, 2}, {1, 3}}) ==
        "junction 4->4: output 1 has unsorted, repeated or out-of-range input 4");
  CHECK(message(4, 4, 2, {{-1, 1}, {2, 3}, {0, 2}, {1, 3}}) ==
        "junction 4->4: output 0 has unsorted, repeated or out-of-range input -1");
  // Right fan-in everywhere, but input 0 feeds 3 outputs and input 3 only 1.
  CHECK(message(4, 4, 2, {{0, 1}, {0, 2}, {0, 3}, {1, 2}}) ==
        "junction 4->4: input 0 has 3 outputs, expected fan-out 2");
  CHECK(contains(message(6, 4, 1, {{0}, {1}, {2}, {3}}), "junction: fan-out 1 is not valid for a 6->4 junction"));
  CHECK(contains(input_error([] { SparseLinear(10, 4, 1, 1); }), "valid fan-outs: 2, 4"));
}
