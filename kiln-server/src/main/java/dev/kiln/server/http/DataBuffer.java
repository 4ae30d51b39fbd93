package dev.kiln.server.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * The elements of a JSON {@code data} array, flattened, kept without boxing until the datatype is
 * known (a request may send {@code data} before {@code datatype}). Integers keep all 64 bits.
 */
final class DataBuffer {
  private double[] numbers = new double[64];
  private long[] integers;
  private byte[][] strings;
  private boolean[] bools;
  private int size;
  private Kind kind = Kind.EMPTY;

  private enum Kind {
    EMPTY,
    NUMBER,
    STRING,
    BOOL
  }

  int size() {
    return size;
  }

  /** Reads a value (array of any depth, or a single scalar) at the parser's current token. */
  static DataBuffer read(JsonParser p, String field) throws IOException {
    DataBuffer buf = new DataBuffer();
    if (p.currentToken() == JsonToken.START_ARRAY) {
      buf.readArray(p, field, 0);
    } else {
      buf.add(p, field);
    }
    return buf;
  }

  private void readArray(JsonParser p, String field, int depth) throws IOException {
    JsonToken t;
    while ((t = p.nextToken()) != JsonToken.END_ARRAY) {
      if (t == JsonToken.START_ARRAY) {
        readArray(p, field, depth + 1);
      } else {
        add(p, field);
      }
    }
  }

  private void add(JsonParser p, String field) throws IOException {
    JsonToken t = p.currentToken();
    Kind k =
        switch (t) {
          // null is how JSON encoders (pandas, json.dumps with NaN scrubbed) write a missing
          // value: it reads as NaN, which models that do not allow NaN reject by name.
          case VALUE_NUMBER_INT, VALUE_NUMBER_FLOAT, VALUE_NULL -> Kind.NUMBER;
          case VALUE_STRING -> Kind.STRING;
          case VALUE_TRUE, VALUE_FALSE -> Kind.BOOL;
          default ->
              throw KilnException.invalid(
                  "%s.data[%d]: expected a number, string or boolean, got %s", field, size, t);
        };
    if (kind == Kind.EMPTY) {
      kind = k;
    } else if (kind != k) {
      throw KilnException.invalid(
          "%s.data[%d]: mixes %s with %s elements",
          field, size, k.name().toLowerCase(), kind.name().toLowerCase());
    }
    switch (k) {
      case NUMBER -> {
        if (size == numbers.length) {
          numbers = Arrays.copyOf(numbers, size * 2);
          if (integers != null) {
            integers = Arrays.copyOf(integers, size * 2);
          }
        }
        if (t == JsonToken.VALUE_NULL) {
          integers = null;
          numbers[size] = Double.NaN;
        } else if (t == JsonToken.VALUE_NUMBER_INT) {
          if (integers == null && size == 0) {
            integers = new long[numbers.length];
          }
          long v = p.getValueAsLong();
          if (integers != null) {
            integers[size] = v;
          }
          numbers[size] =
              p.getNumberType() == JsonParser.NumberType.BIG_INTEGER ? p.getDoubleValue() : v;
        } else {
          integers = null;
          numbers[size] = p.getDoubleValue();
        }
      }
      case STRING -> {
        if (strings == null) {
          strings = new byte[64][];
        } else if (size == strings.length) {
          strings = Arrays.copyOf(strings, size * 2);
        }
        strings[size] = p.getText().getBytes(StandardCharsets.UTF_8);
      }
      case BOOL -> {
        if (bools == null) {
          bools = new boolean[64];
        } else if (size == bools.length) {
          bools = Arrays.copyOf(bools, size * 2);
        }
        bools[size] = t == JsonToken.VALUE_TRUE;
      }
      default -> throw new IllegalStateException();
    }
    size++;
  }

  /** Converts to the array type of {@code type}, naming the field and index on a mismatch. */
  Object toArray(DataType type, String field) {
    if (size == 0) {
      return type.allocate(0);
    }
    return switch (type) {
      case FP32 -> {
        requireKind(Kind.NUMBER, type, field);
        float[] a = new float[size];
        for (int i = 0; i < size; i++) {
          a[i] = (float) numbers[i];
        }
        yield a;
      }
      case FP64 -> {
        requireKind(Kind.NUMBER, type, field);
        yield Arrays.copyOf(numbers, size);
      }
      case INT64 -> {
        requireIntegers(type, field);
        yield Arrays.copyOf(integers, size);
      }
      case INT32 -> {
        requireIntegers(type, field);
        int[] a = new int[size];
        for (int i = 0; i < size; i++) {
          long v = integers[i];
          if (v < Integer.MIN_VALUE || v > Integer.MAX_VALUE) {
            throw KilnException.invalid("%s.data[%d]: %d does not fit INT32", field, i, v);
          }
          a[i] = (int) v;
        }
        yield a;
      }
      case BOOL -> {
        if (kind == Kind.NUMBER && integers != null) {
          boolean[] a = new boolean[size];
          for (int i = 0; i < size; i++) {
            a[i] = integers[i] != 0;
          }
          yield a;
        }
        requireKind(Kind.BOOL, type, field);
        yield Arrays.copyOf(bools, size);
      }
      case BYTES -> {
        requireKind(Kind.STRING, type, field);
        yield Arrays.copyOf(strings, size);
      }
    };
  }

  private void requireKind(Kind want, DataType type, String field) {
    if (kind != want) {
      throw KilnException.invalid(
          "%s.data: datatype %s needs %s elements, got %s",
          field, type, want.name().toLowerCase(), kind.name().toLowerCase());
    }
  }

  private void requireIntegers(DataType type, String field) {
    requireKind(Kind.NUMBER, type, field);
    if (integers == null) {
      throw KilnException.invalid("%s.data: datatype %s needs integers, got decimals", field, type);
    }
  }
}
