// How long a layer takes on a compute host (an edge device or a server): the profile's cost model, or the ideal one,
// at one operating point and in one number format. SimGrid executes the resulting work amounts, so a simulated
// execution takes exactly the time computed here (docs/profiles.md, "Cost model"; docs/simulation.md).
#pragma once

#include "network.hpp"
#include "profiles.hpp"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace scee {

/// The parts of one layer's time on a host.
struct LayerTime {
  double overhead_s = 0;   ///< per-layer overhead (kernel dispatch)
  double compute_s = 0;    ///< MACs (dense counterpart's, for a sparse kernel) at the kernel's rate
  double memory_s = 0;     ///< bytes moved / memory bandwidth
  std::int64_t bytes = 0;  ///< weights, biases, indices and activations moved
  double seconds() const { return overhead_s + std::max(compute_s, memory_s); }
};

/// Which cost model a host uses: the profile's calibrated one (when it has one), or ideal.
enum class CostModelChoice { profile, ideal };
std::string to_string(CostModelChoice c);

/// Layer times on one host. Ideal (a profile without a cost model, or the "ideal" choice): a layer with MACs takes
/// MACs / rate_macs_per_s of the pstate and nothing else does; an inference costs nothing more.
class HostCost {
public:
  /// `format` must be one of the profile cost model's formats (default: its default_format); ignored when ideal.
  HostCost(const ComputeProfile& p, int pstate, CostModelChoice choice, std::optional<Encoding> format = {});

  bool ideal() const { return model_ == nullptr; }
  Encoding format() const { return kernels_ ? kernels_->format : Encoding::fp32; }
  /// The host's speed at this pstate in MAC/s: what SimGrid's host runs at (one simulated flop is one MAC).
  double speed() const { return speed_; }

  LayerTime layer(const LayerSpec& l, Shape in) const;
  /// Per-inference overhead at this pstate.
  double invoke_s() const;

  /// SimGrid work amounts (time x speed; ideal: exactly the MACs, so today's results stay bit for bit).
  double layer_work(const LayerSpec& l, Shape in) const;
  double invoke_work() const { return ideal() ? 0.0 : invoke_s() * speed_; }
  /// Main layers from+1 .. to of a valid spec, and a whole exit branch (layer work only, no invoke overhead).
  double range_work(const NetworkSpec& s, int from, int to) const;
  double exit_work(const NetworkSpec& s, std::size_t e) const;

private:
  const CostModel* model_ = nullptr;
  const FormatKernels* kernels_ = nullptr;
  double speed_ = 0;
  double scale_ = 1; ///< this pstate's rate over the first pstate's
};

} // namespace scee
