package dev.kiln.core.cache;

import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.Tensor;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * What makes two requests the same: model, version, and the canonical bytes of the inputs (name,
 * datatype, shape, elements; sorted by name), the requested outputs (in order) and the parameters
 * (sorted; {@code timeout} excluded, it changes when, not what). The client's {@code id} is not
 * part of it. Equality compares all of it; the hash only picks the bucket.
 */
public final class CacheKey {
  private static final String EXCLUDED_PARAMETER = "timeout";

  private final String model;
  private final long version;
  private final byte[] bytes;
  private final int hash;

  private CacheKey(String model, long version, byte[] bytes) {
    this.model = model;
    this.version = version;
    this.bytes = bytes;
    this.hash = (model.hashCode() * 31 + Long.hashCode(version)) * 31 + Arrays.hashCode(bytes);
  }

  public static CacheKey of(String model, long version, InferenceRequest request) {
    int estimate = 64;
    for (Tensor t : request.inputs().values()) {
      estimate += 64 + t.size() * 8;
    }
    var out = new TensorCodec.Out(estimate);
    out.string(model).i64(version);
    var inputs = new TreeMap<String, Tensor>(request.inputs());
    out.i32(inputs.size());
    inputs.values().forEach(out::tensor);
    out.i32(request.outputs().size());
    request.outputs().forEach(out::string);
    var params = new TreeMap<String, Object>(request.parameters());
    params.remove(EXCLUDED_PARAMETER);
    out.i32(params.size());
    for (Map.Entry<String, Object> e : params.entrySet()) {
      Object v = e.getValue();
      out.string(e.getKey());
      out.string(v == null ? "null" : v.getClass().getSimpleName() + ":" + v);
    }
    return new CacheKey(model, version, out.toByteArray());
  }

  /** A key from its parts (a value read back from L2 carries them). */
  static CacheKey of(String model, long version, byte[] bytes) {
    return new CacheKey(model, version, bytes.clone());
  }

  public String model() {
    return model;
  }

  public long version() {
    return version;
  }

  /** The full canonical bytes (model and version included). */
  byte[] bytes() {
    return bytes;
  }

  int sizeBytes() {
    return bytes.length + model.length() * 2 + 48;
  }

  /** SHA-256 of the canonical bytes, in hex: the L2 key's last part. */
  public String sha256() {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }

  boolean sameBytes(byte[] other) {
    return Arrays.equals(bytes, other);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof CacheKey k
        && hash == k.hash
        && version == k.version
        && model.equals(k.model)
        && Arrays.equals(bytes, k.bytes);
  }

  @Override
  public int hashCode() {
    return hash;
  }

  @Override
  public String toString() {
    return "CacheKey[" + model + " v" + version + ", " + bytes.length + " bytes]";
  }
}
