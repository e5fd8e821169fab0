// Tests for networks with exits: forward ranges compose (the split-computing contract), the forward pass matches a
// dense reference (ReLU on hidden layers only), exit heads, softmax confidence and the exit criteria, costs,
// initialisation and the validation of network specs.
#include <doctest/doctest.h>

#include "model_test_helpers.hpp"
#include "network.hpp"

#include <cmath>
#include <stdexcept>

using namespace scee;
using scee::test::contains;
using scee::test::input_error;
using scee::test::random_activations;
using scee::test::randomise;
using scee::test::small_spec;

namespace {

using Dense = Eigen::MatrixXf;

/// The small network with random weights and biases of both signs, so that ReLU cuts some hidden units.
Network random_network(std::uint64_t seed)
{
  Network net(small_spec());
  for (int j = 1; j <= net.depth(); ++j)
    randomise(net.junction(j), seed + std::uint64_t(j));
  for (std::size_t e = 0; e < net.exit_count(); ++e)
    randomise(scee::test::exit_head(net, e), seed + 100 + e);
  return net;
}

/// Junctions from+1..to on dense matrices: ReLU after every junction but the last of the network.
Dense reference_forward(const Network& net, int from, int to, Dense a)
{
  for (int j = from + 1; j <= to; ++j) {
    a = (net.junction(j).to_dense() * a).colwise() + net.junction(j).bias();
    if (j < net.depth())
      a = a.cwiseMax(0.0f);
  }
  return a;
}

bool close(const Dense& a, const Dense& b) { return (a - b).norm() <= 1e-5f * std::max({a.norm(), b.norm(), 1.0f}); }

} // namespace

TEST_CASE("network: forward_range(0, L) equals forward_range(0, k) then (k, L) for every k")
{
  const Network net = random_network(11);
  const int L = net.depth();
  for (const Eigen::Index batch : {1, 5}) {
    CAPTURE(batch);
    const Activations x = random_activations(12, batch, 12);
    const Activations whole = net.forward_range(0, L, x);
    REQUIRE(whole.rows() == 4);
    REQUIRE(whole.cols() == batch);
    for (int k = 0; k <= L; ++k) {
      CAPTURE(k);
      const Activations head = net.forward_range(0, k, x);
      CHECK(head.rows() == net.spec().shape(k).size());
      CHECK(net.forward_range(k, L, head) == whole); // bit-identical: the same operations in the same order
      for (int m = k; m <= L; ++m) // and any three-way split
        CHECK(net.forward_range(m, L, net.forward_range(k, m, head)) == whole);
    }
    CHECK(net.forward_range(2, 2, x.topRows(6)) == x.topRows(6));
  }
  CHECK_THROWS_AS(net.forward_range(0, L + 1, random_activations(12, 1, 1)), std::out_of_range);
  CHECK_THROWS_AS(net.forward_range(2, 1, random_activations(8, 1, 1)), std::out_of_range);
  CHECK_THROWS_AS(net.forward_range(-1, 1, random_activations(12, 1, 1)), std::out_of_range);
}

TEST_CASE("network: forward matches a dense reference, with ReLU on hidden layers only")
{
  const Network net = random_network(21);
  const Activations x = random_activations(12, 9, 22);
  const Dense reference = reference_forward(net, 0, 3, Dense(x));
  CHECK(close(Dense(net.forward_range(0, 3, x)), reference));
  // The test has teeth: some hidden units are cut to exactly 0 and some logits are negative.
  const Activations h1 = net.forward_range(0, 1, x), h2 = net.forward_range(0, 2, x);
  CHECK(h1.minCoeff() == 0.0f);
  CHECK(h2.minCoeff() == 0.0f);
  CHECK(h1.maxCoeff() > 0.0f);
  CHECK(net.forward_range(0, 3, x).minCoeff() < 0.0f);
  // A pre-activation without ReLU differs from the hidden activation wherever it is negative.
  Activations pre1;
  net.junction(1).forward(x, pre1);
  CHECK(pre1.minCoeff() < 0.0f);
  CHECK(h1 == pre1.cwiseMax(0.0f));
}

TEST_CASE("network: exit heads read their hidden layer")
{
  const Network net = random_network(31);
  CHECK(net.exit_after(1) == 0);
  CHECK(net.exit_after(2) == 1);
  CHECK(net.exit_after(3) == -1);
  CHECK(net.exit_after(0) == -1);
  CHECK(scee::test::exit_head(net, 0).fan_out() == 2);
  CHECK(scee::test::exit_head(net, 0).dense() == false);
  CHECK(scee::test::exit_head(net, 1).dense() == true);
  const Activations x = random_activations(12, 6, 32);
  for (std::size_t e = 0; e < net.exit_count(); ++e) {
    const int layer = net.spec().exits[e].after_layer;
    const Activations hidden = net.forward_range(0, layer, x);
    const Activations z = net.exit_logits(e, hidden);
    CHECK(z.rows() == 4);
    CHECK(z.cols() == 6);
    const Dense reference = (scee::test::exit_head(net, e).to_dense() * Dense(hidden)).colwise() + scee::test::exit_head(net, e).bias();
    CHECK(close(Dense(z), reference));
    CHECK(z.minCoeff() < 0.0f); // no ReLU on exit logits either
  }
  CHECK_THROWS_AS(net.exit_logits(2, random_activations(8, 1, 1)), std::out_of_range);
}

TEST_CASE("network: softmax confidence on hand-computed logits")
{
  // Uniform logits: p = 1/C, entropy ln(C), margin 0, prediction the lowest index.
  for (const int classes : {2, 4, 10}) {
    CAPTURE(classes);
    const std::vector<float> uniform(std::size_t(classes), 3.5f);
    const Confidence c = confidence(uniform.data(), classes);
    CHECK(c.prediction == 0);
    CHECK(c.max_prob == doctest::Approx(1.0 / classes).epsilon(1e-6));
    CHECK(c.entropy == doctest::Approx(std::log(double(classes))).epsilon(1e-6));
    CHECK(c.margin == doctest::Approx(0.0).epsilon(1e-6));
  }
  // exp(logits) proportional to 1, 2, 4: p = 1/7, 2/7, 4/7.
  const float logits[] = {0.0f, float(std::log(2.0)), float(std::log(4.0))};
  const Confidence c = confidence(logits, 3);
  const double p[] = {1.0 / 7, 2.0 / 7, 4.0 / 7};
  CHECK(c.prediction == 2);
  CHECK(c.max_prob == doctest::Approx(4.0 / 7).epsilon(1e-6));
  CHECK(c.margin == doctest::Approx(2.0 / 7).epsilon(1e-6));
  CHECK(c.entropy == doctest::Approx(-(p[0] * std::log(p[0]) + p[1] * std::log(p[1]) + p[2] * std::log(p[2])))
                         .epsilon(1e-6));
  // Shifting logits changes nothing; large logits do not overflow.
  const float shifted[] = {1000.0f, 1000.0f + float(std::log(2.0)), 1000.0f + float(std::log(4.0))};
  CHECK(confidence(shifted, 3).max_prob == doctest::Approx(4.0 / 7).epsilon(1e-4));
  // A tie for the top: the lower index wins and the margin is 0.
  const float tie[] = {1.0f, 3.0f, 3.0f, -2.0f};
  const Confidence t = confidence(tie, 4);
  CHECK(t.prediction == 1);
  CHECK(t.margin == doctest::Approx(0.0));
  // One dominant class: certainty.
  const float sure[] = {-100.0f, 100.0f};
  const Confidence s = confidence(sure, 2);
  CHECK(s.prediction == 1);
  CHECK(s.max_prob == doctest::Approx(1.0));
  CHECK(s.entropy == doctest::Approx(0.0).epsilon(1e-6));
  CHECK(s.margin == doctest::Approx(1.0));
}

TEST_CASE("network: exit criteria")
{
  Confidence c;
  c.max_prob = 0.75;
  c.entropy = 0.5;
  c.margin = 0.25;
  CHECK(confident_enough(Criterion::max_softmax, c, 0.7));
  CHECK(confident_enough(Criterion::max_softmax, c, 0.75)); // >= threshold
  CHECK_FALSE(confident_enough(Criterion::max_softmax, c, 0.8));
  CHECK(confident_enough(Criterion::entropy, c, 0.6));
  CHECK(confident_enough(Criterion::entropy, c, 0.5)); // <= threshold
  CHECK_FALSE(confident_enough(Criterion::entropy, c, 0.4));
  CHECK(confident_enough(Criterion::margin, c, 0.2));
  CHECK(confident_enough(Criterion::margin, c, 0.25)); // >= threshold
  CHECK_FALSE(confident_enough(Criterion::margin, c, 0.3));

  for (const Criterion k : {Criterion::max_softmax, Criterion::entropy, Criterion::margin})
    CHECK(parse_criterion(to_string(k)) == k);
  CHECK(input_error([] { parse_criterion("softmax"); }) ==
        "unknown exit criterion \"softmax\"; valid: max_softmax, entropy, margin");
}

TEST_CASE("network: costs add up")
{
  const Network net(NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}}, 1));
  const NetworkCost all = net.cost(0, 3);
  CHECK(all.weights == 1600 + 360 + 400);
  CHECK(all.biases == 90);
  CHECK(all.macs == 2360);
  CHECK(all.storage_bytes == 9760 + 2320 + 1640);
  for (int k = 0; k <= 3; ++k) {
    const NetworkCost head = net.cost(0, k), tail = net.cost(k, 3);
    CHECK(head.weights + tail.weights == all.weights);
    CHECK(head.biases + tail.biases == all.biases);
    CHECK(head.macs + tail.macs == all.macs);
    CHECK(head.storage_bytes + tail.storage_bytes == all.storage_bytes);
  }
  CHECK(net.cost(0, 1).storage_bytes == net.junction(1).cost().storage_bytes);
  CHECK(net.cost(1, 1).weights == 0);
  CHECK(net.exit_cost(0).weights == 400);
  CHECK(net.exit_cost(0).storage_bytes == 1640);
  CHECK(net.exit_cost(0).macs == scee::test::exit_head(net, 0).cost().macs);
}

TEST_CASE("network: He-normal initialisation")
{
  Network net(NetworkSpec::mlp({800, 40, 40, 10}, {2, 9, 10}, {{1, 10}}, 1));
  for (const bool dense_fan_in : {true, false}) {
    CAPTURE(dense_fan_in);
    net.initialise(4, 0.1, dense_fan_in);
    const SparseLinear& l = net.junction(1);
    const double fan_in = dense_fan_in ? 800 : 40, target = std::sqrt(2.0 / fan_in);
    double sum2 = 0, largest = 0;
    for (std::int64_t k = 0; k < l.nnz(); ++k) {
      sum2 += double(l.values()[k]) * l.values()[k];
      largest = std::max(largest, std::abs(double(l.values()[k])));
    }
    // Truncated at 2 sigma of the untruncated normal, scaled so that the truncated std is sqrt(2 / fan_in).
    CHECK(std::sqrt(sum2 / double(l.nnz())) == doctest::Approx(target).epsilon(0.1));
    CHECK(largest <= 2.0 * target / 0.87962566103423978 + 1e-6);
    CHECK(l.bias() == Eigen::VectorXf::Constant(40, 0.1f));
  }
  Network again(net.spec());
  again.initialise(4, 0.1, false);
  CHECK(scee::test::identical(again.junction(2), net.junction(2)));
  again.initialise(5, 0.1, false);
  CHECK_FALSE(scee::test::identical(again.junction(2), net.junction(2)));
  CHECK(derive_seed(1, 1) != derive_seed(1, 2));
  CHECK(derive_seed(1, 1) != derive_seed(2, 1));
  CHECK(derive_seed(1, 1) == derive_seed(1, 1));
}

TEST_CASE("network: spec validation")
{
  auto message = [](NetworkSpec s) { return input_error([&] { s.validate("net"); }); };
  const NetworkSpec good = small_spec();
  CHECK(message(good) == "");
  auto exits = [&](std::vector<std::pair<int, int>> e) { return NetworkSpec::mlp({12, 8, 6, 4}, {2, 3, 4}, e, 3); };

  CHECK(message(exits({{0, 4}})) == "net: exit 0 after layer 0: must be after a hidden layer, 1..2");
  CHECK(message(exits({{3, 4}})) == "net: exit 0 after layer 3: must be after a hidden layer, 1..2");
  CHECK(message(exits({{1, 4}, {2, 4}, {1, 2}})) == "net: two exits after layer 1");
  const NetworkSpec s = exits({{2, 1}});
  CHECK(contains(message(s), "net: exit after layer 2 (6->4): fan-out 1 is not valid for a 6->4 junction"));
  CHECK(contains(message(s), "valid fan-outs: 2, 4"));

  CHECK(contains(message(NetworkSpec::mlp({12, 8, 6, 4}, {3, 3, 4})),
                 "net: junction 1 (12->8): fan-out 3 is not valid for a 12->8 junction"));
  CHECK(message(NetworkSpec::mlp({12}, {})) == "net: the network needs at least one layer");
  CHECK(message(NetworkSpec::mlp({12, 8, 6, 1}, {2, 3, 1})) == "net: the output layer needs at least 2 classes");
  NetworkSpec no_input = good;
  no_input.input = {0, 1, 1};
  CHECK(message(no_input) == "net: the input shape 0x1x1 needs every side >= 1");

  // The constructors validate too.
  CHECK(contains(input_error([&] { Network n(NetworkSpec::mlp({12, 8, 6, 4}, {3, 3, 4})); }),
                 "network: junction 1 (12->8): fan-out 3 is not valid"));
}

TEST_CASE("network: explicit layers must match the spec")
{
  const Network net(small_spec());
  auto layers = [&] {
    LayerStack l;
    for (int j = 1; j <= net.depth(); ++j)
      l.push_back(net.layer(j).clone());
    return l;
  };
  auto exits = [&] {
    std::vector<LayerStack> x;
    for (std::size_t e = 0; e < net.exit_count(); ++e) {
      x.emplace_back();
      x.back().push_back(net.exit_layer(e, 1).clone());
    }
    return x;
  };
  CHECK(input_error([&] { Network n(net.spec(), layers(), exits()); }) == "");
  CHECK(input_error([&] {
          auto one = exits();
          one.pop_back();
          Network n(net.spec(), layers(), std::move(one));
        }) == "network: layer or exit count differs from the spec");
  CHECK(input_error([&] {
          auto wrong = layers();
          LayerSpec dense = net.layer(2).spec();
          dense.fan_out = 6; // dense where the spec says fan-out 3
          wrong[1] = make_layer(dense, net.layer(2).in_shape(), 1);
          Network n(net.spec(), std::move(wrong), exits());
        }) == "layer 2 is {\"fan_out\":6,\"out_features\":6,\"relu\":true,\"type\":\"fc\"} on 8, the spec says "
              "{\"fan_out\":3,\"out_features\":6,\"relu\":true,\"type\":\"fc\"} on 8");
  CHECK(contains(input_error([&] {
                   auto wrong = exits();
                   LayerSpec dense = net.exit_layer(0, 1).spec();
                   dense.fan_out = 4;
                   wrong[0][0] = make_layer(dense, net.exit_layer(0, 1).in_shape(), 1);
                   Network n(net.spec(), layers(), std::move(wrong));
                 }),
                 "exit 0 layer 1 is {\"fan_out\":4,"));
}
