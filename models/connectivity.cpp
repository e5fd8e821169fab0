#include "connectivity.hpp"

#include "error.hpp"
#include "rng.hpp"

#include <algorithm>
#include <cmath>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <numeric>

namespace scee {

std::vector<int> valid_fan_outs(int p, int n)
{
  std::vector<int> out;
  for (int fo = 1; fo <= n; ++fo)
    if ((static_cast<long long>(p) * fo) % n == 0)
      out.push_back(fo);
  return out;
}

int fan_out_for_density(int p, int n, double density)
{
  if (!(density > 0.0 && density <= 1.0))
    throw InputError(fmt::format("density {} of a {}->{} junction is not in (0, 1]", density, p, n));
  int best = n;
  double best_gap = 2.0;
  for (int fo : valid_fan_outs(p, n)) {
    const double gap = std::abs(static_cast<double>(fo) / n - density);
    if (gap <= best_gap + 1e-12) { // later (denser) candidates win ties
      best = fo;
      best_gap = std::min(gap, best_gap);
    }
  }
  return best;
}

void check_fan_out(int p, int n, int fo, const std::string& what, const std::string& noun)
{
  if (fo >= 1 && fo <= n && (static_cast<long long>(p) * fo) % n == 0)
    return;
  throw InputError(fmt::format("{}: fan-out {} is not valid for a {}->{} {} (need 1 <= fo <= {} and {}*fo "
                               "divisible by {}); valid fan-outs: {}",
                               what, fo, p, n, noun, n, p, n, fmt::join(valid_fan_outs(p, n), ", ")));
}

namespace {

/// Configuration model: every input contributes fo stubs; a random permutation deals fi stubs to each output. A stub
/// that repeats an input already in its output is then swapped with a random stub of another output such that
/// neither output ends up with a repeat. A swap keeps every fan-out and fan-in exact, creates no repeat and removes
/// at least one, so one pass over the stubs leaves none. A swap partner always exists when 2 * fo <= n + 2: if every
/// output lacking the repeated input v drew all its stubs from the at most fi - 1 inputs of v's output, those inputs
/// would hold at least (n - fo + 2) * fi > (fi - 1) * fo stubs. Denser junctions can deadlock, so
/// make_connectivity draws their complement instead.
std::vector<std::vector<int>> random_pattern(int p, int n, int fo, std::uint64_t seed)
{
  const int fi = static_cast<int>(static_cast<long long>(p) * fo / n);
  Rng rng(seed);
  std::vector<int> stubs(static_cast<std::size_t>(p) * fo);
  for (std::size_t s = 0; s < stubs.size(); ++s)
    stubs[s] = static_cast<int>(s % p);
  rng.shuffle(stubs.begin(), stubs.end());

  std::vector<int> copies(static_cast<std::size_t>(n) * p, 0); // copies of input i among output o's stubs
  auto count = [&](std::size_t o, int i) -> int& { return copies[o * p + i]; };
  for (std::size_t pos = 0; pos < stubs.size(); ++pos)
    ++count(pos / fi, stubs[pos]);
  const std::size_t max_tries = 1000 * stubs.size() + 1000;
  std::size_t tries = 0;
  for (std::size_t pos = 0; pos < stubs.size(); ++pos) {
    const std::size_t o = pos / fi;
    while (count(o, stubs[pos]) > 1) {
      if (++tries > max_tries)
        throw InputError(fmt::format("connectivity: could not build a {}->{} junction with fan-out {}", p, n, fo));
      const std::size_t other = rng.below(stubs.size());
      const std::size_t o2 = other / fi;
      const int v = stubs[pos], w = stubs[other];
      if (o2 == o || count(o, w) > 0 || count(o2, v) > 0)
        continue;
      --count(o, v);
      ++count(o, w);
      --count(o2, w);
      ++count(o2, v);
      std::swap(stubs[pos], stubs[other]);
    }
  }
  std::vector<std::vector<int>> inputs(n);
  for (int o = 0; o < n; ++o) {
    auto first = stubs.begin() + static_cast<std::ptrdiff_t>(o) * fi;
    inputs[o].assign(first, first + fi);
    std::sort(inputs[o].begin(), inputs[o].end());
  }
  return inputs;
}

} // namespace

void check_connectivity(int p, int n, int fo, const std::vector<std::vector<int>>& inputs, const std::string& what)
{
  const int fi = static_cast<int>(static_cast<long long>(p) * fo / n);
  if (static_cast<int>(inputs.size()) != n)
    throw InputError(fmt::format("{} {}->{}: connectivity has {} rows", what, p, n, inputs.size()));
  std::vector<int> column_count(p, 0);
  for (int o = 0; o < n; ++o) {
    if (static_cast<int>(inputs[o].size()) != fi)
      throw InputError(fmt::format("{} {}->{}: output {} has {} inputs, expected fan-in {}", what, p, n, o,
                                   inputs[o].size(), fi));
    int previous = -1;
    for (int i : inputs[o]) {
      if (i <= previous || i >= p)
        throw InputError(fmt::format("{} {}->{}: output {} has unsorted, repeated or out-of-range input {}", what, p,
                                     n, o, i));
      previous = i;
      ++column_count[i];
    }
  }
  for (int i = 0; i < p; ++i)
    if (column_count[i] != fo)
      throw InputError(fmt::format("{} {}->{}: input {} has {} outputs, expected fan-out {}", what, p, n, i,
                                   column_count[i], fo));
}

std::vector<std::vector<int>> make_connectivity(int p, int n, int fo, std::uint64_t seed)
{
  check_fan_out(p, n, fo, "connectivity");
  std::vector<std::vector<int>> inputs(n);
  if (fo == n) { // fully connected: the only pattern
    for (auto& row : inputs) {
      row.resize(p);
      std::iota(row.begin(), row.end(), 0);
    }
    return inputs;
  }
  if (2 * fo <= n)
    return random_pattern(p, n, fo, seed);
  // Dense: every output connects to the inputs its row of the sparser complement (fan-out n - fo) lacks.
  const auto missing = random_pattern(p, n, n - fo, seed);
  for (int o = 0; o < n; ++o) {
    std::size_t k = 0;
    for (int i = 0; i < p; ++i) {
      if (k < missing[o].size() && missing[o][k] == i)
        ++k;
      else
        inputs[o].push_back(i);
    }
  }
  return inputs;
}

} // namespace scee
