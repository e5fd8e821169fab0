#include "encoding.hpp"

#include <Eigen/Core>
#include <algorithm>
#include <cmath>

namespace scee {

std::int64_t payload_bytes(std::int64_t values, Encoding e)
{
  return values * value_bytes(e) + (e == Encoding::int8 ? 4 : 0);
}

EncodedActivation encode(const Activations& a, Encoding e)
{
  EncodedActivation out{a, payload_bytes(a.size(), e)};
  switch (e) {
  case Encoding::fp32:
    break;
  case Encoding::fp16:
    out.decoded = a.unaryExpr([](float v) { return static_cast<float>(Eigen::half(v)); });
    break;
  case Encoding::int8: {
    const float max_abs = a.cwiseAbs().maxCoeff();
    const float scale = max_abs > 0 ? max_abs / 127.0f : 1.0f;
    out.decoded = a.unaryExpr([scale](float v) {
      const float q = std::clamp(std::nearbyint(v / scale), -127.0f, 127.0f);
      return q * scale;
    });
    break;
  }
  }
  return out;
}

} // namespace scee
