package dev.kiln.core.registry;

import dev.kiln.core.batch.BatchingConfig;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.config.ModelControl;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.time.Ticker;
import java.lang.System.Logger.Level;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.OptionalLong;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The models being served, by name and version, kept in step with a {@link ModelRepository} under
 * Triton's model-control modes. Lookups are lock-free; changes (load, unload, poll) are serialised.
 * A new version is loaded completely before it is published; a removed version is retired, which
 * lets its in-flight requests finish before it closes. A version that fails to load is kept as
 * UNAVAILABLE with its reason and never stops the others.
 */
public final class ModelRegistry implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger(ModelRegistry.class.getName());

  private final KilnConfig config;
  private final ModelRepository repository;
  private final Runtimes runtimes;
  private final BatchingConfig batching;
  private final Ticker ticker;
  private final dev.kiln.core.metrics.Metrics metrics;
  private final List<java.util.function.Consumer<String>> listeners =
      new java.util.concurrent.CopyOnWriteArrayList<>();
  private final ReentrantLock changes = new ReentrantLock();
  private final Map<String, Entry> models = new ConcurrentHashMap<>();
  private volatile ScheduledExecutorService poller;
  private final RegistryResolver resolver = new RegistryResolver(this);
  private final VersionLoader loader;

  /** One model: its config and its versions (copy-on-write, read without locks). */
  private static final class Entry {
    volatile ModelConfig config;
    volatile String configError = "";
    volatile NavigableMap<Long, Slot> versions = Collections.emptyNavigableMap();
    volatile String reason = "";

    Entry(ModelConfig config) {
      this.config = config;
    }
  }

  public ModelRegistry(KilnConfig config, List<ModelRuntime> runtimes, Ticker ticker) {
    this(config, runtimes, ticker, dev.kiln.core.metrics.Metrics.NONE);
  }

  public ModelRegistry(
      KilnConfig config,
      List<ModelRuntime> runtimes,
      Ticker ticker,
      dev.kiln.core.metrics.Metrics metrics) {
    this.metrics = metrics;
    this.config = config;
    this.repository = new ModelRepository(config.repository().path());
    this.runtimes = new Runtimes(runtimes);
    this.batching = config.section("batching", BatchingConfig.class);
    this.ticker = ticker;
    this.loader = new VersionLoader(config, this.runtimes, batching, ticker, metrics, resolver);
  }

  /** The runtimes found on the class path with {@link java.util.ServiceLoader}. */
  public static List<ModelRuntime> discoverRuntimes() {
    return Runtimes.discover();
  }

  /** Loads what the model-control mode says to load at startup, and starts polling in poll mode. */
  public void start() {
    ModelControl mode = config.repository().modelControl();
    if (mode == ModelControl.EXPLICIT) {
      List<String> names = config.repository().loadModels();
      for (String name : ensemblesLast(repository.modelNames())) {
        if (names.contains("*") || names.contains(name)) {
          try {
            load(name);
          } catch (KilnException e) {
            LOG.log(Level.WARNING, "model {0} not loaded: {1}", name, e.getMessage());
          }
        } else {
          models.computeIfAbsent(name, n -> new Entry(ModelConfig.empty())).reason = "not loaded";
        }
      }
    } else {
      rescan();
    }
    if (mode == ModelControl.POLL) {
      long ms = config.repository().pollInterval().toMillis();
      poller =
          Executors.newSingleThreadScheduledExecutor(
              Thread.ofPlatform().daemon().name("kiln-poll").factory());
      poller.scheduleWithFixedDelay(this::safeRescan, ms, ms, TimeUnit.MILLISECONDS);
    }
  }

  private void safeRescan() {
    try {
      rescan();
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, "repository poll failed", e);
    }
  }

  /**
   * Brings every model in line with the repository: new models and versions load, gone ones retire.
   */
  public void rescan() {
    changes.lock();
    try {
      Set<String> present = new TreeSet<>(repository.modelNames());
      for (String name : ensemblesLast(present)) {
        sync(name, false);
      }
      for (String name : List.copyOf(models.keySet())) {
        if (!present.contains(name)) {
          Entry gone = models.remove(name);
          retireAll(gone, "removed from the repository");
          fireChanged(name);
          LOG.log(Level.INFO, "model {0} removed from the repository", name);
        }
      }
    } finally {
      changes.unlock();
    }
  }

  /** Explicit mode: (re)loads a model from the repository per its version policy. */
  public void load(String name) {
    changes.lock();
    try {
      if (!repository.modelNames().contains(name)) {
        throw KilnException.of(
            ErrorKind.MODEL_NOT_FOUND, "model '%s' is not in the repository", name);
      }
      sync(name, true);
      Entry e = models.get(name);
      if (e != null && !e.configError.isEmpty()) {
        throw KilnException.invalid("model '%s' has a bad config: %s", name, e.configError);
      }
    } finally {
      changes.unlock();
    }
  }

  /** Explicit mode: retires every version of a model; in-flight requests finish first. */
  public void unload(String name) {
    changes.lock();
    try {
      Entry e = models.get(name);
      if (e == null) {
        throw KilnException.of(ErrorKind.MODEL_NOT_FOUND, "model '%s' is not loaded", name);
      }
      retireAll(e, "unloaded");
      e.reason = "unloaded";
      fireChanged(name);
      LOG.log(Level.INFO, "model {0} unloaded", name);
    } finally {
      changes.unlock();
    }
  }

  private void sync(String name, boolean retryFailed) {
    Path dir = repository.modelDirectory(name);
    Entry entry = models.computeIfAbsent(name, n -> new Entry(ModelConfig.empty()));
    var before = entry.versions;
    try {
      syncEntry(name, dir, entry, retryFailed);
    } finally {
      if (entry.versions != before) {
        fireChanged(name);
      }
    }
  }

  /**
   * Tells listeners (the prediction cache) that a model's set of versions changed: a version was
   * published, replaced, removed or unloaded.
   */
  public void addListener(java.util.function.Consumer<String> modelChanged) {
    listeners.add(modelChanged);
  }

  /**
   * Tells the listeners that {@code name} changed, and every ensemble that calls it, directly or
   * through another ensemble: an ensemble's answers are computed by whatever versions its members
   * serve, so a member's reload changes them too (its cached answers must go with the member's).
   */
  private void fireChanged(String name) {
    var changed = new LinkedHashSet<String>();
    var pending = new ArrayDeque<String>(List.of(name));
    while (!pending.isEmpty()) {
      String m = pending.poll();
      if (changed.add(m)) {
        pending.addAll(ensemblesCalling(m));
      }
    }
    for (String m : changed) {
      for (var l : listeners) {
        try {
          l.accept(m);
        } catch (RuntimeException e) {
          LOG.log(Level.WARNING, "model change listener failed", e);
        }
      }
    }
  }

  private List<String> ensemblesCalling(String member) {
    var out = new ArrayList<String>();
    models.forEach((n, e) -> {
      ModelConfig c = e.config;
      if (c != null && c.ensemble() != null && c.ensemble().members().contains(member)) {
        out.add(n);
      }
    });
    return out;
  }

  private void syncEntry(String name, Path dir, Entry entry, boolean retryFailed) {
    ModelConfig cfg;
    try {
      cfg = ModelConfig.read(dir);
      entry.config = cfg;
      entry.configError = "";
    } catch (IllegalArgumentException e) {
      entry.configError = e.getMessage();
      entry.reason = "bad config: " + e.getMessage();
      LOG.log(Level.WARNING, "model {0}: {1}", name, entry.reason);
      return;
    }
    TreeSet<Long> wanted = cfg.versionPolicy().select(repository.versions(name));
    if (wanted.isEmpty()) {
      entry.reason = "no version directory matches the version policy";
    } else {
      entry.reason = "";
    }
    NavigableMap<Long, Slot> current = entry.versions;
    for (Long v : wanted) {
      Slot existing = current.get(v);
      Path versionDir = dir.resolve(Long.toString(v));
      if (existing == null) {
        loadVersion(entry, name, v, versionDir, cfg);
      } else if (existing.state() == ModelState.UNAVAILABLE
          && (retryFailed
              || existing.fingerprint != VersionLoader.fingerprint(versionDir)
              || cfg.ensemble() != null)) {
        // A failed version is retried when its files change (poll) or on an explicit load; a
        // failed ensemble (no files) at every poll, as its members may have arrived since.
        loadVersion(entry, name, v, versionDir, cfg);
      }
    }
    current = entry.versions;
    boolean anyWantedReady =
        wanted.stream().map(current::get).anyMatch(s -> s != null && s.state() == ModelState.READY);
    Long fallback = null;
    if (!anyWantedReady) {
      // The policy's versions all failed: keep the newest ready version that is still on disk
      // serving, rather than leave the model with nothing.
      var onDisk = repository.versions(name);
      for (var e : current.descendingMap().entrySet()) {
        if (e.getValue().state() == ModelState.READY && onDisk.contains(e.getKey())) {
          fallback = e.getKey();
          break;
        }
      }
      if (fallback != null && !wanted.isEmpty()) {
        LOG.log(
            Level.WARNING,
            "model {0}: versions {1} failed to load; version {2} keeps serving",
            name,
            wanted,
            fallback);
      }
    }
    for (var e : current.entrySet()) {
      if (!wanted.contains(e.getKey()) && !e.getKey().equals(fallback)) {
        removeSlot(entry, e.getKey(), "version removed or outside the version policy");
      }
    }
  }

  /**
   * Ensembles after other models: an ensemble reads its members' signatures when it loads, and
   * members load first this way (at request time members are resolved by name, in any order).
   */
  private List<String> ensemblesLast(java.util.Collection<String> names) {
    List<String> out = new ArrayList<>();
    List<String> ensembles = new ArrayList<>();
    for (String name : names) {
      boolean ensemble;
      try {
        ensemble = ModelConfig.read(repository.modelDirectory(name)).ensemble() != null;
      } catch (IllegalArgumentException e) {
        ensemble = false; // sync reports the bad config
      }
      (ensemble ? ensembles : out).add(name);
    }
    out.addAll(ensembles);
    return out;
  }

  private void loadVersion(Entry entry, String name, long version, Path dir, ModelConfig cfg) {
    Slot slot = new Slot(name, version);
    slot.fingerprint = VersionLoader.fingerprint(dir);
    slot.config = cfg;
    publish(entry, slot);
    loader.load(slot, dir, cfg);
  }

  private static void publish(Entry entry, Slot slot) {
    var next = new TreeMap<>(entry.versions);
    Slot old = next.put(slot.version, slot);
    entry.versions = Collections.unmodifiableNavigableMap(next);
    if (old != null) {
      old.retire("replaced");
    }
  }

  private static void removeSlot(Entry entry, long version, String why) {
    var next = new TreeMap<>(entry.versions);
    Slot old = next.remove(version);
    entry.versions = Collections.unmodifiableNavigableMap(next);
    if (old != null) {
      old.retire(why);
      LOG.log(Level.INFO, "retired {0} version {1}: {2}", old.model, version, why);
    }
  }

  private static void retireAll(Entry entry, String why) {
    if (entry == null) {
      return;
    }
    var old = entry.versions;
    entry.versions = Collections.emptyNavigableMap();
    old.values().forEach(s -> s.retire(why));
  }

  /**
   * Holds a ready version for one request: the given version, or the highest ready one. Unknown
   * model or version is MODEL_NOT_FOUND; known but not ready is MODEL_NOT_READY.
   */
  public Lease acquire(String name, OptionalLong version) {
    for (int attempt = 0; attempt < 100; attempt++) {
      Entry entry = models.get(name);
      if (entry == null) {
        throw KilnException.of(ErrorKind.MODEL_NOT_FOUND, "model '%s' not found", name);
      }
      NavigableMap<Long, Slot> versions = entry.versions;
      Slot slot;
      if (version.isPresent()) {
        slot = versions.get(version.getAsLong());
        if (slot == null) {
          throw KilnException.of(
              ErrorKind.MODEL_NOT_FOUND,
              "model '%s' has no version %d (available: %s)",
              name,
              version.getAsLong(),
              versions.keySet());
        }
        if (slot.state() != ModelState.READY) {
          throw notReady(name, slot.version, slot.reason());
        }
      } else {
        slot = null;
        for (Slot s : versions.descendingMap().values()) {
          if (s.state() == ModelState.READY) {
            slot = s;
            break;
          }
        }
        if (slot == null) {
          String why = versions.isEmpty() ? entry.reason : versions.lastEntry().getValue().reason();
          throw notReady(name, -1, why);
        }
      }
      if (slot.tryAcquire()) {
        return new Lease(slot);
      }
      // Retired between lookup and acquire: look again, the registry has published its successor.
      Thread.onSpinWait();
    }
    throw notReady(name, version.orElse(-1), "the model is changing; retry");
  }

  private static KilnException notReady(String name, long version, String why) {
    String v = version > 0 ? " version " + version : "";
    String reason = why == null || why.isEmpty() ? "" : ": " + why;
    return KilnException.of(
        ErrorKind.MODEL_NOT_READY, "model '%s'%s is not ready%s", name, v, reason);
  }

  /**
   * Visits every version of every model with its batching queue depth (-1 when it does not batch),
   * for gauges read at scrape time.
   */
  public void forEachVersion(java.util.function.ObjIntConsumer<VersionStatus> visitor) {
    for (Entry e : models.values()) {
      for (Slot s : e.versions.values()) {
        var b = s.batcher();
        visitor.accept(s.status(), b == null ? -1 : b.queueDepth());
      }
    }
  }

  /** Every model known to the registry, by name. */
  public List<String> modelNames() {
    return new ArrayList<>(new TreeSet<>(models.keySet()));
  }

  /** Whether a model of this name is known (in the repository, loaded or not). */
  public boolean knows(String name) {
    return models.containsKey(name);
  }

  /** Every version of a model with its state; empty if the model has none loaded. */
  public List<VersionStatus> versions(String name) {
    Entry e = models.get(name);
    if (e == null) {
      throw KilnException.of(ErrorKind.MODEL_NOT_FOUND, "model '%s' not found", name);
    }
    return e.versions.values().stream().map(Slot::status).toList();
  }

  /** Why a model has no ready version (bad config, unloaded, nothing on disk), or empty. */
  public String modelReason(String name) {
    Entry e = models.get(name);
    return e == null ? "" : e.reason;
  }

  /** The status of one version, or of the highest version when none is given. */
  public VersionStatus status(String name, OptionalLong version) {
    List<VersionStatus> all = versions(name);
    if (version.isPresent()) {
      return all.stream()
          .filter(s -> s.version() == version.getAsLong())
          .findFirst()
          .orElseThrow(() ->
              KilnException.of(
                  ErrorKind.MODEL_NOT_FOUND,
                  "model '%s' has no version %d",
                  name,
                  version.getAsLong()));
    }
    return all.stream()
        .filter(s -> s.state() == ModelState.READY)
        .reduce((a, b) -> b)
        .orElseGet(() -> all.isEmpty() ? placeholder(name) : all.getLast());
  }

  /**
   * Every version of every model, in name order; a model with no version (not loaded, bad config,
   * nothing on disk) appears once as version 0, UNAVAILABLE, with its reason.
   */
  public List<VersionStatus> statuses() {
    List<VersionStatus> out = new ArrayList<>();
    for (String name : modelNames()) {
      Entry e = models.get(name);
      if (e == null) {
        continue; // removed while we listed
      }
      var versions = e.versions.values();
      if (versions.isEmpty()) {
        out.add(placeholder(name));
      }
      versions.forEach(slot -> out.add(slot.status()));
    }
    return out;
  }

  private VersionStatus placeholder(String name) {
    return new VersionStatus(
        name, 0, ModelState.UNAVAILABLE, modelReason(name), 0, java.util.Optional.empty());
  }

  /** True when every model has a ready version and no version is loading or failed. */
  public boolean allReady() {
    for (var e : models.entrySet()) {
      if (!e.getValue().configError.isEmpty()) {
        return false;
      }
      var versions = e.getValue().versions;
      if (versions.isEmpty() && config.repository().modelControl() != ModelControl.EXPLICIT) {
        return false;
      }
      for (Slot s : versions.values()) {
        if (s.state() != ModelState.READY) {
          return false;
        }
      }
    }
    return true;
  }

  public ModelRepository repository() {
    return repository;
  }

  @Override
  public void close() {
    if (poller != null) {
      poller.shutdownNow();
    }
    changes.lock();
    try {
      models.values().forEach(e -> retireAll(e, "server shutting down"));
      models.clear();
    } finally {
      changes.unlock();
    }
  }
}
