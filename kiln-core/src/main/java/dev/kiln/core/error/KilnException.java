package dev.kiln.core.error;

import java.util.Locale;

/** The one unchecked exception Kiln's core throws. Its message is safe to show to a client. */
public final class KilnException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final ErrorKind kind;

  public KilnException(ErrorKind kind, String message) {
    super(message);
    this.kind = kind;
  }

  public KilnException(ErrorKind kind, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
  }

  public ErrorKind kind() {
    return kind;
  }

  public static KilnException invalid(String format, Object... args) {
    return new KilnException(ErrorKind.INVALID_INPUT, String.format(Locale.ROOT, format, args));
  }

  public static KilnException of(ErrorKind kind, String format, Object... args) {
    return new KilnException(kind, String.format(Locale.ROOT, format, args));
  }
}
