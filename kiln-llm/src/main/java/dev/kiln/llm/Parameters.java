package dev.kiln.llm;

import dev.kiln.core.error.KilnException;
import java.util.Map;

/** Reads request parameters, which arrive as JSON numbers or strings, with named errors. */
final class Parameters {
  private Parameters() {}

  static long integer(Map<String, Object> p, String key, long fallback, long min, long max) {
    Object v = p.get(key);
    if (v == null) {
      return fallback;
    }
    long n;
    try {
      n =
          switch (v) {
            case Integer i -> i;
            case Long l -> l;
            case Number num when num.doubleValue() == Math.rint(num.doubleValue()) ->
                num.longValue();
            case String s -> Long.parseLong(s.strip());
            default -> throw new NumberFormatException();
          };
    } catch (NumberFormatException e) {
      throw KilnException.invalid("parameters.%s: '%s' is not an integer", key, v);
    }
    if (n < min || n > max) {
      throw KilnException.invalid("parameters.%s: %d is outside [%d, %d]", key, n, min, max);
    }
    return n;
  }

  static double number(Map<String, Object> p, String key, double fallback) {
    Object v = p.get(key);
    if (v == null) {
      return fallback;
    }
    try {
      return switch (v) {
        case Number num -> num.doubleValue();
        case String s -> Double.parseDouble(s.strip());
        default -> throw new NumberFormatException();
      };
    } catch (NumberFormatException e) {
      throw KilnException.invalid("parameters.%s: '%s' is not a number", key, v);
    }
  }
}
