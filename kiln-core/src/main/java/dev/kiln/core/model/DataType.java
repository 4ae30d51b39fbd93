package dev.kiln.core.model;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;

/**
 * Tensor element types, named as in the KServe v2 protocol. Each maps to one Java array type, which
 * is how {@link Tensor} holds its elements: BOOL {@code boolean[]}, INT32 {@code int[]}, INT64
 * {@code long[]}, FP32 {@code float[]}, FP64 {@code double[]}, BYTES {@code byte[][]}.
 */
public enum DataType {
  BOOL(1, boolean[].class),
  INT32(4, int[].class),
  INT64(8, long[].class),
  FP32(4, float[].class),
  FP64(8, double[].class),
  /** Variable-length byte strings (text is UTF-8). Size is -1: it has no fixed width. */
  BYTES(-1, byte[][].class);

  private final int sizeBytes;
  private final Class<?> arrayType;

  DataType(int sizeBytes, Class<?> arrayType) {
    this.sizeBytes = sizeBytes;
    this.arrayType = arrayType;
  }

  /** Bytes per element in the binary tensor format, or -1 for BYTES. */
  public int sizeBytes() {
    return sizeBytes;
  }

  public Class<?> arrayType() {
    return arrayType;
  }

  /**
   * Parses a v2 datatype name. Names Kiln does not support yet are UNSUPPORTED, unknown INVALID.
   */
  public static DataType parse(String name, String field) {
    if (name == null) {
      throw KilnException.invalid("%s: datatype is required", field);
    }
    return switch (name) {
      case "BOOL" -> BOOL;
      case "INT32" -> INT32;
      case "INT64" -> INT64;
      case "FP32" -> FP32;
      case "FP64" -> FP64;
      case "BYTES" -> BYTES;
      case "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "FP16", "BF16" ->
          throw KilnException.of(
              ErrorKind.UNSUPPORTED, "%s: datatype %s is not supported yet", field, name);
      default -> throw KilnException.invalid("%s: unknown datatype '%s'", field, name);
    };
  }

  /** Allocates an array for {@code n} elements. */
  public Object allocate(int n) {
    return switch (this) {
      case BOOL -> new boolean[n];
      case INT32 -> new int[n];
      case INT64 -> new long[n];
      case FP32 -> new float[n];
      case FP64 -> new double[n];
      case BYTES -> new byte[n][];
    };
  }
}
