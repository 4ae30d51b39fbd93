package dev.kiln.trees;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The {@code kiln-trees} backend: serves XGBoost models saved with {@code Booster.save_model} as
 * {@code model.json} or {@code model.ubj}, evaluated in pure Java. Found by {@link
 * java.util.ServiceLoader}.
 *
 * <p>Model parameter {@code use-best-iteration} ({@code true}/{@code false}, default false): when
 * true, evaluate only the rounds up to {@code best_iteration} as XGBoost's sklearn wrapper does; by
 * default all trees, as {@code Booster.predict} and XGBoost4J do.
 */
public final class TreeRuntime implements ModelRuntime {
  static final String JSON_FILE = "model.json";
  static final String UBJ_FILE = "model.ubj";
  static final String USE_BEST_ITERATION = "use-best-iteration";

  /** Above ONNX's 10: a directory with an XGBoost model.json is ours even beside a model.onnx. */
  static final int CLAIM = 20;

  private static final System.Logger LOG = System.getLogger(TreeRuntime.class.getName());

  /** Enough of a file to see its first key. */
  private static final int PEEK_BYTES = 256;

  /** For {@link java.util.ServiceLoader}. */
  public TreeRuntime() {}

  @Override
  public String name() {
    return "kiln-trees";
  }

  /**
   * {@value #CLAIM} when the directory holds a {@code model.json} or {@code model.ubj} whose
   * top-level object starts with XGBoost's {@code learner} key, 0 otherwise. Reads a few hundred
   * bytes, so that other JSON files named model.json are not claimed.
   */
  @Override
  public int claims(Path versionDirectory) {
    Path ubj = versionDirectory.resolve(UBJ_FILE);
    Path json = versionDirectory.resolve(JSON_FILE);
    try {
      if (Files.isRegularFile(json) && looksLikeXgboostJson(json)) {
        return CLAIM;
      }
      if (Files.isRegularFile(ubj) && Ubjson.firstKeyIs(head(ubj), "learner")) {
        return CLAIM;
      }
    } catch (IOException e) {
      LOG.log(Level.DEBUG, "cannot peek into {0}: {1}", versionDirectory, e.getMessage());
    }
    return 0;
  }

  private static boolean looksLikeXgboostJson(Path file) throws IOException {
    // XGBoost writes "learner" first; a few keys of slack for hand-edited files.
    try (InputStream in = new ByteArrayInputStream(head(file))) {
      return Documents.jsonHasTopLevelKey(in, "learner", 4);
    } catch (IOException e) {
      // The head ends mid-document: fine as long as "learner" came before the cut.
      return false;
    }
  }

  private static byte[] head(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      return in.readNBytes(PEEK_BYTES);
    }
  }

  /**
   * Loads {@code model.json}, or {@code model.ubj} when there is no model.json. A missing,
   * unreadable or malformed file is INTERNAL, a model Kiln cannot evaluate UNSUPPORTED; the message
   * names the file, since the registry shows it as the reason the version failed.
   */
  @Override
  public LoadedModel load(ModelSource source) {
    String label = source.model() + " version " + source.version();
    Path json = source.directory().resolve(JSON_FILE);
    Path ubj = source.directory().resolve(UBJ_FILE);
    Path file = Files.isRegularFile(json) ? json : ubj;
    if (!Files.isRegularFile(file)) {
      throw KilnException.of(
          ErrorKind.INTERNAL, "no %s or %s in %s", JSON_FILE, UBJ_FILE, source.directory());
    }
    boolean useBest = useBestIteration(source);
    XgboostModel model = read(file);
    LOG.log(
        Level.DEBUG,
        "{0}: {1} {2}, {3} trees, {4} nodes, {5} features",
        label,
        model.booster(),
        model.objective().xgboostName(),
        model.ensemble().numTrees(),
        model.ensemble().numNodes(),
        model.ensemble().numFeatures());
    return new TreeModel(label, model, useBest);
  }

  /** Reads and checks one model file; the errors are those of {@link #load}. */
  static XgboostModel read(Path file) {
    String name = file.getFileName().toString();
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new KilnException(ErrorKind.INTERNAL, name + ": cannot read it: " + e.getMessage(), e);
    }
    if (bytes.length == 0) {
      throw KilnException.of(ErrorKind.INTERNAL, "%s: empty file in %s", name, file.getParent());
    }
    Object document;
    try {
      document =
          name.endsWith(".ubj")
              ? Ubjson.read(bytes)
              : Documents.readJson(new ByteArrayInputStream(bytes));
    } catch (IOException e) {
      throw new KilnException(
          ErrorKind.INTERNAL,
          name + ": not valid " + (name.endsWith(".ubj") ? "UBJSON" : "JSON") + ": " + oneLine(e),
          e);
    }
    return XgboostModel.from(document, name);
  }

  private static String oneLine(IOException e) {
    return String.valueOf(e.getMessage()).replaceAll("\\s+", " ").strip();
  }

  static boolean useBestIteration(ModelSource source) {
    String v = source.parameters().get(USE_BEST_ITERATION);
    if (v == null) {
      return false;
    }
    return switch (v.strip().toLowerCase(Locale.ROOT)) {
      case "true" -> true;
      case "false" -> false;
      default ->
          throw new IllegalArgumentException(
              "parameter " + USE_BEST_ITERATION + " must be true or false, was '" + v + "'");
    };
  }
}
