package dev.kiln.core.time;

/** A source of monotonic nanoseconds. Inject it; tests use a fake that they advance by hand. */
@FunctionalInterface
public interface Ticker {
  long nanos();

  static Ticker system() {
    return System::nanoTime;
  }
}
