package dev.kiln.bench;

import java.util.SplittableRandom;

/**
 * Intended send times of an open-loop run, as offsets from its start.
 *
 * <p>Arrivals are generated in "operational time" u, where they come at rate 1: u = 1, 2, 3, ...
 * for constant spacing, or a sum of Exp(1) gaps for Poisson. The expected number of arrivals by
 * real time t is N(t) = ∫ r(s) ds with r rising linearly from 0 to R over the ramp, then R: N(t) =
 * R t² / (2 ramp) for t < ramp, and R ramp / 2 + R (t - ramp) after. Each arrival's real time is
 * N⁻¹(u), so a ramp bends the same sequence rather than needing a second generator.
 */
final class Schedule {
  enum Arrival {
    CONSTANT,
    POISSON
  }

  private final double rate;
  private final double rampSeconds;
  private final Arrival arrival;
  private final SplittableRandom random;
  private double u;
  private boolean first = true;

  Schedule(double ratePerSecond, double rampSeconds, Arrival arrival, long seed) {
    if (!(ratePerSecond > 0)) {
      throw new IllegalArgumentException("rate must be > 0, was " + ratePerSecond);
    }
    this.rate = ratePerSecond;
    this.rampSeconds = Math.max(0, rampSeconds);
    this.arrival = arrival;
    this.random = new SplittableRandom(seed);
  }

  /** The next arrival's offset from the start of the run, in nanoseconds. */
  long nextNanos() {
    if (arrival == Arrival.POISSON) {
      u += -Math.log(1 - random.nextDouble());
    } else if (first) {
      first = false; // the first constant arrival is at t = 0 without a ramp
      u = rampSeconds > 0 ? 0.5 : 0;
    } else {
      u += 1;
    }
    return Math.round(invert(u) * 1e9);
  }

  /** N⁻¹(u) in seconds. */
  double invert(double arrivals) {
    double rampArrivals = rate * rampSeconds / 2;
    if (arrivals < rampArrivals) {
      return Math.sqrt(2 * arrivals * rampSeconds / rate);
    }
    return rampSeconds + (arrivals - rampArrivals) / rate;
  }
}
