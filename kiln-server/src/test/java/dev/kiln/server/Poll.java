package dev.kiln.server;

import java.time.Duration;
import java.util.function.BooleanSupplier;

/** Waits for a condition in small steps, up to a bound; the bound is a hang guard, not a check. */
final class Poll {
  private static final Duration BOUND = Duration.ofSeconds(30);

  private Poll() {}

  static void until(String what, BooleanSupplier condition) {
    long deadline = System.nanoTime() + BOUND.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("still not true after " + BOUND + ": " + what);
      }
      try {
        Thread.sleep(20);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted while waiting for: " + what, e);
      }
    }
  }
}
