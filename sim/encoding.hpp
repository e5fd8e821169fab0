// Encoding of the activation a device transmits: fp32, fp16 (IEEE half, round to nearest even) or int8
// (symmetric per-tensor scale). The receiver computes on the decoded values, so precision loss is real.
#pragma once

#include "scenario.hpp"
#include "sparse_linear.hpp"

#include <cstdint>

namespace scee {

struct EncodedActivation {
  Activations decoded;         ///< what the receiver gets back after decoding
  std::int64_t payload_bytes;  ///< encoded size without the message header
};

/// Payload bytes of `values` activations: values * bytes per value, plus a 4-byte fp32 scale for int8.
std::int64_t payload_bytes(std::int64_t values, Encoding e);

EncodedActivation encode(const Activations& a, Encoding e);

} // namespace scee
