#include "radio.hpp"

#include <algorithm>

namespace scee {

RadioEnergy& RadioEnergy::operator+=(const RadioEnergy& o)
{
  tx_j += o.tx_j;
  rx_j += o.rx_j;
  promotion_j += o.promotion_j;
  tail_j += o.tail_j;
  idle_j += o.idle_j;
  return *this;
}

double RadioMeter::promotion_needed(double now) const
{
  if (m_.promotion_s <= 0)
    return 0;
  const bool in_tail = used_ && now <= last_end_ + m_.tail_s;
  return in_tail ? 0 : m_.promotion_s;
}

void RadioMeter::advance_to(double t)
{
  const double gap = std::max(0.0, t - last_end_);
  const double tail = used_ ? std::min(gap, m_.tail_s) : 0.0;
  e_.tail_j += tail * m_.tail_power_w;
  e_.idle_j += (gap - tail) * m_.idle_power_w;
  last_end_ = std::max(last_end_, t);
}

void RadioMeter::promotion(double start, double end)
{
  advance_to(start);
  e_.promotion_j += (end - start) * m_.promotion_power_w;
  last_end_ = end;
  used_ = true;
}

void RadioMeter::transmit(double start, double end, double bits)
{
  advance_to(start);
  e_.tx_j += (end - start) * m_.tx_power_w + bits * m_.tx_power_w_per_bps;
  last_end_ = end;
  used_ = true;
}

void RadioMeter::receive(double start, double end, double bits)
{
  advance_to(start);
  e_.rx_j += (end - start) * m_.rx_power_w + bits * m_.rx_power_w_per_bps;
  last_end_ = end;
  used_ = true;
}

void RadioMeter::finish(double end)
{
  if (used_) {
    e_.tail_j += m_.tail_s * m_.tail_power_w; // the last tail is committed, even past the end of the run
    const double idle_from = last_end_ + m_.tail_s;
    e_.idle_j += std::max(0.0, end - idle_from) * m_.idle_power_w;
  } else {
    e_.idle_j += std::max(0.0, end - last_end_) * m_.idle_power_w;
  }
  last_end_ = std::max(last_end_, end);
}

} // namespace scee
