package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class ScheduleTest {
  private static int countBefore(Schedule s, double seconds) {
    int n = 0;
    while (s.nextNanos() < seconds * 1e9) {
      n++;
    }
    return n;
  }

  @Test
  void constant_evenSpacing_exactCount() {
    Schedule s = new Schedule(500, 0, Schedule.Arrival.CONSTANT, 1);
    assertThat(s.nextNanos()).isZero();
    assertThat(s.nextNanos()).isEqualTo(2_000_000);
    assertThat(countBefore(new Schedule(500, 0, Schedule.Arrival.CONSTANT, 1), 4)).isEqualTo(2000);
  }

  @Test
  void poisson_meanRateMatches() {
    int n = countBefore(new Schedule(1000, 0, Schedule.Arrival.POISSON, 7), 100);
    // 100,000 expected; the standard deviation is ~316.
    assertThat(n).isBetween(98_500, 101_500);
  }

  @Test
  void ramp_halfTheArrivalsDuringTheRamp() {
    // Linear ramp to 1000/s over 10 s: 5,000 arrivals during the ramp, then 1,000/s.
    assertThat(countBefore(new Schedule(1000, 10, Schedule.Arrival.CONSTANT, 1), 10))
        .isBetween(4999, 5001);
    assertThat(countBefore(new Schedule(1000, 10, Schedule.Arrival.CONSTANT, 1), 12))
        .isBetween(6999, 7001);
  }

  @Test
  void invert_isTheInverseOfTheArrivalCount() {
    Schedule s = new Schedule(200, 4, Schedule.Arrival.CONSTANT, 1);
    // N(2 s) = R t^2 / (2 ramp) = 200 * 4 / 8 = 100
    assertThat(s.invert(100)).isCloseTo(2, within(1e-9));
    // after the ramp: N(5 s) = 400 + 200 = 600
    assertThat(s.invert(600)).isCloseTo(5, within(1e-9));
  }
}
