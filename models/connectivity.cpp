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

void check_fan_out(int p, int n, int fo, const std::string& what)
{
  if (fo >= 1 && fo <= n && (static_cast<long long>(p) * fo) % n == 0)
    return;
  throw InputError(fmt::format("{}: fan-out {} is not valid for a {}->{} junction (need 1 <= fo <= {} and {}*fo "
                               "divisible by {}); valid fan-outs: {}",
                               what, fo, p, n, n, p, n, fmt::join(valid_fan_outs(p, n), ", ")));
}

std::vector<std::vector<int>> make_connectivity(int p, int n, int fo, std::uint64_t seed)
{
  check_fan_out(p, n, fo, "connectivity");
  const int fi = static_cast<int>(static_cast<long long>(p) * fo / n);
  std::vector<std::vector<int>> inputs(n);
  if (fo == n) { // fully connected: the only pattern
    for (auto& row : inputs) {
      row.resize(p);
      std::iota(row.begin(), row.end(), 0);
    }
    return inputs;
  }
  // Configuration model: every input contributes fo stubs; a random permutation deals fi stubs to each output.
  // A duplicate edge inside one output is then repaired by swapping it with a stub of another output, which keeps
  // every input's fan-out and every output's fan-in exact.
  Rng rng(seed);
  std::vector<int> stubs(static_cast<std::size_t>(p) * fo);
  for (std::size_t s = 0; s < stubs.size(); ++s)
    stubs[s] = static_cast<int>(s % p);
  rng.shuffle(stubs.begin(), stubs.end());

  std::vector<std::vector<char>> has(n, std::vector<char>(p, 0));
  std::vector<std::size_t> dup; // stub positions whose input already appears earlier in the same output
  for (int o = 0; o < n; ++o)
    for (int k = 0; k < fi; ++k) {
      const std::size_t pos = static_cast<std::size_t>(o) * fi + k;
      if (has[o][stubs[pos]])
        dup.push_back(pos);
      else
        has[o][stubs[pos]] = 1;
    }
  const std::size_t max_tries = 1000 * stubs.size() + 1000;
  std::size_t tries = 0;
  for (std::size_t pos : dup) {
    const int o = static_cast<int>(pos / fi);
    const int v = stubs[pos];
    for (;;) {
      if (++tries > max_tries)
        throw InputError(fmt::format("connectivity: could not build a {}->{} junction with fan-out {}", p, n, fo));
      const std::size_t other = rng.below(stubs.size());
      const int o2 = static_cast<int>(other / fi);
      const int w = stubs[other];
      if (o2 == o || has[o][w] || has[o2][v])
        continue;
      // `other` holds a counted (non-duplicate) stub of o2 unless it is itself a pending duplicate; only swap
      // with counted stubs so the membership table stays exact.
      if (!has[o2][w] || std::find(dup.begin(), dup.end(), other) != dup.end())
        continue;
      has[o2][w] = 0;
      has[o2][v] = 1;
      has[o][w] = 1;
      std::swap(stubs[pos], stubs[other]);
      break;
    }
  }
  for (int o = 0; o < n; ++o) {
    auto first = stubs.begin() + static_cast<std::ptrdiff_t>(o) * fi;
    inputs[o].assign(first, first + fi);
    std::sort(inputs[o].begin(), inputs[o].end());
  }
  return inputs;
}

} // namespace scee
