package dev.kiln.core.registry;

import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import java.lang.System.Logger.Level;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * One version in the registry, reference-counted so that a retired version finishes the requests it
 * holds before it closes. The registry holds one reference of its own until it retires the slot.
 */
final class Slot {
  private static final System.Logger LOG = System.getLogger(Slot.class.getName());

  final String model;
  final long version;

  /** The model's config.yaml as it was when this version loaded. */
  volatile ModelConfig config = ModelConfig.empty();

  /** The version directory's fingerprint when the load was attempted. */
  volatile long fingerprint;

  private volatile ModelState state = ModelState.LOADING;
  private volatile String reason = "loading";
  private volatile long loadMillis;
  private volatile LoadedModel loaded;
  private volatile ModelSignature signature;
  private volatile dev.kiln.core.batch.DynamicBatcher batcher;
  private final AtomicInteger refs = new AtomicInteger(1);

  Slot(String model, long version) {
    this.model = model;
    this.version = version;
  }

  void ready(
      LoadedModel model,
      ModelSignature merged,
      dev.kiln.core.batch.DynamicBatcher batcher,
      long millis) {
    this.loaded = model;
    this.batcher = batcher;
    this.signature = merged;
    this.loadMillis = millis;
    this.reason = "";
    this.state = ModelState.READY;
  }

  void failed(String why, long millis) {
    this.reason = why;
    this.loadMillis = millis;
    this.state = ModelState.UNAVAILABLE;
  }

  ModelState state() {
    return state;
  }

  String reason() {
    return reason;
  }

  /** Takes a reference if the slot is ready and not yet closed. */
  boolean tryAcquire() {
    if (state != ModelState.READY) {
      return false;
    }
    for (; ; ) {
      int n = refs.get();
      if (n <= 0) {
        return false;
      }
      if (refs.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  void release() {
    if (refs.decrementAndGet() == 0) {
      LoadedModel m = loaded;
      loaded = null;
      var b = batcher;
      if (b != null) {
        b.close(); // nothing is queued: every queued request holds a reference
      }
      if (m != null) {
        try {
          m.close();
          LOG.log(Level.INFO, "closed {0} version {1}", model, version);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "closing " + model + " version " + version + " failed", e);
        }
      }
    }
  }

  /** Drops the registry's own reference: the slot closes once in-flight requests release it. */
  void retire(String why) {
    this.reason = why;
    this.state = ModelState.UNAVAILABLE;
    release();
  }

  LoadedModel loaded() {
    return loaded;
  }

  dev.kiln.core.batch.DynamicBatcher batcher() {
    return batcher;
  }

  ModelSignature signature() {
    return signature;
  }

  int inFlight() {
    return Math.max(0, refs.get() - (state == ModelState.READY ? 1 : 0));
  }

  VersionStatus status() {
    return new VersionStatus(
        model, version, state, reason, loadMillis, Optional.ofNullable(signature));
  }
}
