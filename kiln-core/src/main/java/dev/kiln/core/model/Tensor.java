package dev.kiln.core.model;

import dev.kiln.core.error.Checks;
import java.lang.reflect.Array;
import java.util.Arrays;

/**
 * A named, typed, shaped block of elements in row-major order. {@code data} is the Java array that
 * {@link DataType#arrayType()} names; its length equals the product of {@code shape}.
 */
public record Tensor(String name, DataType datatype, long[] shape, Object data) {
  public Tensor {
    Checks.require(name != null && !name.isEmpty(), "tensor name must not be empty");
    Checks.require(datatype != null, "tensor %s: datatype is required", name);
    Checks.require(shape != null, "tensor %s: shape is required", name);
    Checks.require(
        datatype.arrayType().isInstance(data),
        "tensor %s: data must be %s for %s",
        name,
        datatype.arrayType().getSimpleName(),
        datatype);
    long count = elementCount(shape);
    Checks.require(
        count == Array.getLength(data),
        "tensor %s: shape %s holds %d elements but data has %d",
        name,
        Arrays.toString(shape),
        count,
        Array.getLength(data));
  }

  public static Tensor ofFloats(String name, long[] shape, float[] data) {
    return new Tensor(name, DataType.FP32, shape, data);
  }

  /** Number of elements a shape holds; negative dimensions are invalid here. */
  public static long elementCount(long[] shape) {
    long n = 1;
    for (long d : shape) {
      Checks.require(d >= 0, "shape %s has a negative dimension", Arrays.toString(shape));
      n = Math.multiplyExact(n, d);
    }
    return n;
  }

  public int size() {
    return Array.getLength(data);
  }

  /** The first dimension, which Kiln treats as the batch dimension. */
  public long batchSize() {
    return shape.length == 0 ? 1 : shape[0];
  }

  public float[] floats() {
    return (float[]) data;
  }

  public double[] doubles() {
    return (double[]) data;
  }

  public long[] longs() {
    return (long[]) data;
  }

  public int[] ints() {
    return (int[]) data;
  }

  public boolean[] booleans() {
    return (boolean[]) data;
  }

  public byte[][] bytes() {
    return (byte[][]) data;
  }

  /** The same elements under another name. */
  public Tensor rename(String newName) {
    return new Tensor(newName, datatype, shape, data);
  }

  @Override
  public String toString() {
    return "Tensor[" + name + " " + datatype + " " + Arrays.toString(shape) + "]";
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Tensor t
        && name.equals(t.name)
        && datatype == t.datatype
        && Arrays.equals(shape, t.shape)
        && Arrays.deepEquals(new Object[] {data}, new Object[] {t.data});
  }

  @Override
  public int hashCode() {
    return name.hashCode() * 31 + Arrays.deepHashCode(new Object[] {data});
  }
}
