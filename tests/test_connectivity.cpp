// Tests for predefined-sparse connectivity: exact fan-out and fan-in for many shapes and seeds, full connectivity,
// reproducibility, the valid fan-outs and their error messages, and the density -> fan-out rule.
#include <doctest/doctest.h>

#include "connectivity.hpp"
#include "model_test_helpers.hpp"

#include <cmath>
#include <fmt/format.h>
#include <limits>
#include <numeric>
#include <vector>

using namespace scee;
using scee::test::contains;
using scee::test::input_error;

namespace {

/// The first way `c` fails to be a (p, n, fo) pattern, or "" when every output has fi = p*fo/n sorted distinct
/// inputs in range and every input exactly fo outputs.
std::string violation(const std::vector<std::vector<int>>& c, int p, int n, int fo)
{
  if (int(c.size()) != n)
    return fmt::format("{} outputs", c.size());
  const std::size_t fi = std::size_t(p) * fo / n;
  std::vector<int> fan_out(p, 0);
  for (int o = 0; o < n; ++o) {
    if (c[o].size() != fi)
      return fmt::format("output {} has {} inputs", o, c[o].size());
    for (std::size_t k = 0; k < fi; ++k) {
      const int i = c[o][k];
      if (i < 0 || i >= p)
        return fmt::format("output {} has input {}", o, i);
      if (k > 0 && i <= c[o][k - 1])
        return fmt::format("output {}: inputs not strictly increasing at {}", o, k);
      ++fan_out[i];
    }
  }
  for (int i = 0; i < p; ++i)
    if (fan_out[i] != fo)
      return fmt::format("input {} has {} outputs", i, fan_out[i]);
  return "";
}

std::vector<int> range(int first, int last)
{
  std::vector<int> v(last - first + 1);
  std::iota(v.begin(), v.end(), first);
  return v;
}

} // namespace

TEST_CASE("connectivity: exact fan-out and fan-in for every valid fan-out of many shapes")
{
  const std::vector<std::pair<int, int>> shapes = {
      {800, 40}, {40, 40}, {784, 100}, {100, 10}, {40, 10}, {3, 7}, {4, 8}, {10, 4}, {12, 8}, {8, 12},
      {6, 4},    {1, 5},   {5, 1},     {20, 20}, {100, 100}};
  int patterns = 0;
  for (const auto& [p, n] : shapes)
    for (const int fo : valid_fan_outs(p, n))
      for (const std::uint64_t seed : {0ULL, 1ULL, 2ULL, 12345ULL, 0xFFFFFFFFFFFFFFFFULL}) {
        CAPTURE(p);
        CAPTURE(n);
        CAPTURE(fo);
        CAPTURE(seed);
        CHECK(violation(make_connectivity(p, n, fo, seed), p, n, fo) == "");
        ++patterns;
      }
  CHECK(patterns > 600);
}

TEST_CASE("connectivity: dense and nearly dense square junctions never fail")
{
  // fo = n - 1 used to deadlock the duplicate repair for some seeds (e.g. 40->40 fo 38 seed 2, 10->10 fo 9 seed 120).
  for (int n = 2; n <= 24; ++n)
    for (const int fo : {n - 1, n / 2 + 1, n})
      for (std::uint64_t seed = 0; seed < 200; ++seed) {
        CAPTURE(n);
        CAPTURE(fo);
        CAPTURE(seed);
        std::string why;
        CHECK_NOTHROW(why = violation(make_connectivity(n, n, fo, seed), n, n, fo));
        CHECK(why == "");
      }
  for (const int fo : {38, 39})
    for (std::uint64_t seed = 0; seed < 20; ++seed)
      CHECK(violation(make_connectivity(40, 40, fo, seed), 40, 40, fo) == "");
}

TEST_CASE("connectivity: fo = n is full connectivity")
{
  for (const auto& [p, n] : std::vector<std::pair<int, int>>{{800, 40}, {40, 10}, {3, 7}, {1, 1}, {7, 3}}) {
    const auto c = make_connectivity(p, n, n, 9);
    REQUIRE(int(c.size()) == n);
    for (const auto& row : c)
      CHECK(row == range(0, p - 1));
  }
}

TEST_CASE("connectivity: a seed fixes the pattern")
{
  CHECK(make_connectivity(800, 40, 2, 7) == make_connectivity(800, 40, 2, 7));
  CHECK(make_connectivity(800, 40, 2, 7) != make_connectivity(800, 40, 2, 8));
  CHECK(make_connectivity(40, 40, 9, 1) == make_connectivity(40, 40, 9, 1));
  CHECK(make_connectivity(40, 40, 9, 1) != make_connectivity(40, 40, 9, 2));
  CHECK(make_connectivity(40, 40, 31, 1) != make_connectivity(40, 40, 31, 2)); // dense: drawn as a complement
  // The stream is our own (xoshiro256** and our shuffle), so the pattern is the same on every standard library.
  const std::vector<std::vector<int>> golden = {{0, 2, 3}, {2, 4, 5}, {1, 4, 5}, {0, 1, 3}};
  CHECK(make_connectivity(6, 4, 2, 42) == golden);
}

TEST_CASE("connectivity: valid fan-outs")
{
  CHECK(valid_fan_outs(800, 40) == range(1, 40));
  CHECK(valid_fan_outs(40, 10) == range(1, 10));
  CHECK(valid_fan_outs(784, 100) == std::vector<int>{25, 50, 75, 100});
  CHECK(valid_fan_outs(3, 7) == std::vector<int>{7});
  CHECK(valid_fan_outs(10, 4) == std::vector<int>{2, 4});
  CHECK(valid_fan_outs(4, 8) == std::vector<int>{2, 4, 6, 8});
  CHECK(valid_fan_outs(12, 8) == std::vector<int>{2, 4, 6, 8});
  CHECK(valid_fan_outs(7, 3) == std::vector<int>{3});
}

TEST_CASE("connectivity: invalid fan-outs are refused with the valid ones listed")
{
  CHECK(input_error([] { make_connectivity(10, 4, 1, 1); }) ==
        "connectivity: fan-out 1 is not valid for a 10->4 junction (need 1 <= fo <= 4 and 10*fo divisible by 4); "
        "valid fan-outs: 2, 4");
  CHECK(input_error([] { check_fan_out(784, 100, 30, "junction 1"); }) ==
        "junction 1: fan-out 30 is not valid for a 784->100 junction (need 1 <= fo <= 100 and 784*fo divisible by "
        "100); valid fan-outs: 25, 50, 75, 100");
  for (const int fo : {0, -1, 5, 3, 1000}) {
    CAPTURE(fo);
    const std::string msg = input_error([fo] { make_connectivity(10, 4, fo, 1); });
    CHECK(contains(msg, fmt::format("fan-out {} is not valid for a 10->4 junction", fo)));
    CHECK(contains(msg, "valid fan-outs: 2, 4"));
  }
  CHECK(input_error([] { check_fan_out(800, 40, 2, "x"); }) == "");
  CHECK(input_error([] { check_fan_out(800, 40, 41, "x"); }) != "");
}

TEST_CASE("connectivity: density -> nearest valid fan-out, ties to the denser")
{
  // The paper's densities.
  CHECK(fan_out_for_density(800, 40, 0.05) == 2);
  CHECK(fan_out_for_density(40, 40, 0.225) == 9);
  CHECK(fan_out_for_density(40, 10, 1.0) == 10);
  // Nearest among {25, 50, 75, 100} for 784->100.
  CHECK(fan_out_for_density(784, 100, 0.3) == 25);
  CHECK(fan_out_for_density(784, 100, 0.37) == 25);
  CHECK(fan_out_for_density(784, 100, 0.38) == 50);
  CHECK(fan_out_for_density(784, 100, 1e-9) == 25);
  CHECK(fan_out_for_density(784, 100, 0.9) == 100);
  // Exact ties (0.375 is halfway between 0.25 and 0.5; 0.0625 between 2/40 and 3/40 up to rounding).
  CHECK(fan_out_for_density(784, 100, 0.375) == 50);
  CHECK(fan_out_for_density(800, 40, 0.0625) == 3);
  CHECK(fan_out_for_density(800, 40, 0.0624) == 2);
  CHECK(fan_out_for_density(10, 4, 0.75) == 4);
  CHECK(fan_out_for_density(10, 4, 0.1) == 2);
  CHECK(fan_out_for_density(3, 7, 0.01) == 7);
}

TEST_CASE("connectivity: densities out of range are refused")
{
  CHECK(input_error([] { fan_out_for_density(800, 40, 0.0); }) ==
        "density 0 of a 800->40 junction is not in (0, 1]");
  for (const double d : {-0.5, 1.0000001, 2.0, std::numeric_limits<double>::quiet_NaN(),
                         std::numeric_limits<double>::infinity()}) {
    CAPTURE(d);
    CHECK(contains(input_error([d] { fan_out_for_density(800, 40, d); }), "is not in (0, 1]"));
  }
}
