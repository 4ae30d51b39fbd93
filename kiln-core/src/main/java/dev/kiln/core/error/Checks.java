package dev.kiln.core.error;

import java.util.Locale;

/** Precondition helpers for records that validate themselves. */
public final class Checks {
  private Checks() {}

  /** Throws {@link IllegalArgumentException} (a config or programming error) when false. */
  public static void require(boolean condition, String format, Object... args) {
    if (!condition) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, format, args));
    }
  }

  /** Throws an {@link ErrorKind#INVALID_INPUT} {@link KilnException} when false. */
  public static void requireInput(boolean condition, String format, Object... args) {
    if (!condition) {
      throw KilnException.invalid(format, args);
    }
  }
}
