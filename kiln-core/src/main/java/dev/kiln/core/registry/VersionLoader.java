package dev.kiln.core.registry;

import dev.kiln.core.batch.BatchingConfig;
import dev.kiln.core.batch.DynamicBatcher;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.metrics.Metrics;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.time.Ticker;
import java.lang.System.Logger.Level;
import java.nio.file.Path;

/**
 * Loads one version into its slot: picks the runtime, loads the files, overlays the config on the
 * signature, and starts a dynamic batcher when batching is on for it. A failure leaves the slot
 * UNAVAILABLE with the reason; it never throws.
 */
final class VersionLoader {
  private static final System.Logger LOG = System.getLogger(ModelRegistry.class.getName());

  private final KilnConfig config;
  private final Runtimes runtimes;
  private final BatchingConfig batching;
  private final Ticker ticker;
  private final Metrics metrics;
  private final RegistryResolver resolver;

  VersionLoader(
      KilnConfig config,
      Runtimes runtimes,
      BatchingConfig batching,
      Ticker ticker,
      Metrics metrics,
      RegistryResolver resolver) {
    this.config = config;
    this.runtimes = runtimes;
    this.batching = batching;
    this.ticker = ticker;
    this.metrics = metrics;
    this.resolver = resolver;
  }

  /** Changes when any file of a version directory is added, removed or rewritten. */
  static long fingerprint(Path dir) {
    try (var files = java.nio.file.Files.walk(dir)) {
      return files
          .filter(java.nio.file.Files::isRegularFile)
          .mapToLong(f -> {
            try {
              return f.hashCode() * 31L
                  + java.nio.file.Files.getLastModifiedTime(f).toMillis() * 17
                  + java.nio.file.Files.size(f);
            } catch (java.io.IOException e) {
              return 0;
            }
          })
          .sum();
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      return 0;
    }
  }

  void load(Slot slot, Path dir, ModelConfig cfg) {
    String name = slot.model;
    long version = slot.version;
    long start = ticker.nanos();
    try {
      ModelRuntime runtime = runtimes.choose(cfg.backend(), dir);
      LoadedModel loaded =
          runtime.load(new ModelSource(name, version, dir, cfg.parameters(), config, resolver));
      ModelSignature merged;
      try {
        merged = Signatures.merge(loaded.signature(), cfg);
      } catch (RuntimeException e) {
        loaded.close();
        throw e;
      }
      DynamicBatcher batcher = batcherFor(name, version, cfg, merged, loaded);
      long ms = (ticker.nanos() - start) / 1_000_000;
      slot.ready(loaded, merged, batcher, ms);
      LOG.log(
          Level.INFO, "loaded {0} version {1} ({2}) in {3} ms", name, version, runtime.name(), ms);
    } catch (RuntimeException | LinkageError e) {
      long ms = (ticker.nanos() - start) / 1_000_000;
      String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      slot.failed(why, ms);
      LOG.log(Level.WARNING, "failed to load {0} version {1}: {2}", name, version, why);
      if (!(e instanceof KilnException)) {
        LOG.log(Level.DEBUG, "load failure", e);
      }
    }
  }

  private DynamicBatcher batcherFor(
      String name, long version, ModelConfig cfg, ModelSignature sig, LoadedModel loaded) {
    var policy = batching.forModel(cfg.dynamicBatching(), sig.maxBatchSize());
    if (policy.isEmpty()) {
      return null;
    }
    if (!sig.inputs().stream().allMatch(TensorSpec::batched)) {
      LOG.log(
          Level.WARNING,
          "model {0}: dynamic batching needs a variable first dimension on every input; off",
          name);
      return null;
    }
    return DynamicBatcher.start(
        policy.get(),
        loaded,
        ticker,
        name + "-" + version,
        rows -> metrics.batch(name, version, rows));
  }
}
