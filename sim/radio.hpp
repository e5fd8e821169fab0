// Energy of a device's radio, driven by the real start and end times of its transfers in the simulation:
// transmit, receive (including waiting for the answer), LTE-style promotion and tail, and idle. SimGrid 3.32 has
// no radio state machine, so this is our own accounting (ENGINEERING.md).
#pragma once

#include "profiles.hpp"

namespace scee {

struct RadioEnergy {
  double tx_j = 0, rx_j = 0, promotion_j = 0, tail_j = 0, idle_j = 0;
  double total_j() const { return tx_j + rx_j + promotion_j + tail_j + idle_j; }
  RadioEnergy& operator+=(const RadioEnergy& o);
};

/// Radio states over time: idle -> (promotion) -> active (tx/rx) -> tail -> idle. Calls come in time order.
class RadioMeter {
public:
  explicit RadioMeter(const RadioModel& model) : m_(model) {}

  /// Seconds of promotion needed before transmitting at `now`: promotion_s when the radio is idle (never used, or
  /// its tail has expired), else 0.
  double promotion_needed(double now) const;
  void promotion(double start, double end);
  /// Transmitting `bits` during [start, end]: P = tx_power_w + tx_power_w_per_bps * bits / (end - start).
  void transmit(double start, double end, double bits);
  /// Receiving (listening for and then receiving `bits`) during [start, end].
  void receive(double start, double end, double bits);
  /// Closes the books at the end of the simulation: the last tail is paid in full, idle until `end`.
  void finish(double end);

  const RadioEnergy& energy() const { return e_; }

private:
  void advance_to(double t); ///< books tail and idle from the last activity to t
  RadioModel m_;
  RadioEnergy e_;
  double last_end_ = 0;   ///< end of the last activity (or 0)
  bool used_ = false;     ///< any activity yet
};

} // namespace scee
