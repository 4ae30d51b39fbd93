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

/**
 * The {@code kiln-trees} backend: serves XGBoost models saved with {@code Booster.save_model} as
 * {@code model.json} or {@code model.ubj}, LightGBM models as {@code model.txt}, and ONNX files
 * whose graph is a scikit-learn style tree ensemble ({@link OnnxTreeModel}), evaluated in pure
 * Java. Found by {@link java.util.ServiceLoader}.
 *
 * <p>Model parameter {@code use-best-iteration} ({@code true}/{@code false}, default false): when
 * true, evaluate only the rounds up to {@code best_iteration} as XGBoost's sklearn wrapper does; by
 * default all trees, as {@code Booster.predict} and XGBoost4J do.
 */
public final class TreeRuntime implements ModelRuntime {
  static final String JSON_FILE = "model.json";
  static final String UBJ_FILE = "model.ubj";
  static final String LIGHTGBM_FILE = "model.txt";
  static final String ONNX_FILE = "model.onnx";
  static final String USE_BEST_ITERATION = "use-best-iteration";

  /** Above ONNX's 10: a directory with an XGBoost model.json is ours even beside a model.onnx. */
  static final int CLAIM = 20;

  /** Above ONNX Runtime's 10, so an ONNX tree ensemble Kiln evaluates exactly is served here. */
  static final int ONNX_CLAIM = 15;

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
   * top-level object starts with XGBoost's {@code learner} key, or a {@code model.txt} whose first
   * line is LightGBM's {@code tree}; {@value #ONNX_CLAIM} (above ONNX Runtime's 10) when its {@code
   * model.onnx} is a tree ensemble Kiln evaluates exactly ({@link OnnxTreeModel}); 0 otherwise.
   * Reads a few hundred bytes of the first kinds, so that other files with those names are not
   * claimed; reads the ONNX graph without its initializers.
   */
  @Override
  public int claims(Path versionDirectory) {
    Path ubj = versionDirectory.resolve(UBJ_FILE);
    Path json = versionDirectory.resolve(JSON_FILE);
    Path txt = versionDirectory.resolve(LIGHTGBM_FILE);
    Path onnx = versionDirectory.resolve(ONNX_FILE);
    try {
      if (Files.isRegularFile(json) && looksLikeXgboostJson(json)) {
        return CLAIM;
      }
      if (Files.isRegularFile(ubj) && Ubjson.firstKeyIs(head(ubj), "learner")) {
        return CLAIM;
      }
      if (Files.isRegularFile(txt) && LightgbmText.looksLikeLightgbm(firstLine(txt))) {
        return CLAIM;
      }
      if (Files.isRegularFile(onnx)) {
        OnnxTreeModel.from(OnnxTreeModel.readGraph(onnx), onnx.toString());
        return ONNX_CLAIM;
      }
    } catch (IOException e) {
      LOG.log(Level.DEBUG, "cannot peek into {0}: {1}", versionDirectory, e.getMessage());
    } catch (KilnException | IllegalArgumentException e) {
      LOG.log(Level.DEBUG, "{0}: left to other runtimes: {1}", versionDirectory, e.getMessage());
    }
    return 0;
  }

  private static byte[] firstLine(Path file) throws IOException {
    byte[] head = head(file);
    int end = 0;
    while (end < head.length && head[end] != '\n') {
      end++;
    }
    return java.util.Arrays.copyOf(head, Math.min(head.length, end + 1));
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
   * Loads {@code model.json}, else {@code model.ubj}, else {@code model.txt} (LightGBM), else
   * {@code model.onnx} (a tree ensemble). A missing, unreadable or malformed file is INTERNAL, a
   * model Kiln cannot evaluate UNSUPPORTED; the message names the file, since the registry shows it
   * as the reason the version failed.
   */
  @Override
  public LoadedModel load(ModelSource source) {
    String label = source.model() + " version " + source.version();
    Path dir = source.directory();
    Path json = dir.resolve(JSON_FILE);
    Path ubj = dir.resolve(UBJ_FILE);
    if (!Files.isRegularFile(json) && !Files.isRegularFile(ubj)) {
      if (Files.isRegularFile(dir.resolve(LIGHTGBM_FILE))) {
        LightgbmText model = readLightgbm(dir.resolve(LIGHTGBM_FILE));
        LOG.log(
            Level.DEBUG,
            "{0}: LightGBM {1}, {2} trees, {3} nodes",
            label,
            model.objective().name(),
            model.forest().numTrees(),
            model.forest().numNodes());
        return new LightgbmModel(label, model);
      }
      if (Files.isRegularFile(dir.resolve(ONNX_FILE))) {
        return readOnnx(dir.resolve(ONNX_FILE), label);
      }
    }
    Path file = Files.isRegularFile(json) ? json : ubj;
    if (!Files.isRegularFile(file)) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "no %s, %s, %s or %s in %s",
          JSON_FILE,
          UBJ_FILE,
          LIGHTGBM_FILE,
          ONNX_FILE,
          source.directory());
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

  /** Reads a LightGBM {@code model.txt}; errors as {@link #load}. */
  static LightgbmText readLightgbm(Path file) {
    String text;
    try {
      text = Files.readString(file, java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new KilnException(
          ErrorKind.INTERNAL, file.getFileName() + ": cannot read it: " + e.getMessage(), e);
    }
    return LightgbmText.parse(text, file.getFileName().toString());
  }

  /** Reads an ONNX tree ensemble; UNSUPPORTED (naming the file) when it is not one Kiln takes. */
  static OnnxTreeModel readOnnx(Path file, String label) {
    OnnxGraph graph;
    try {
      graph = OnnxTreeModel.readGraph(file);
    } catch (IOException e) {
      throw new KilnException(
          ErrorKind.INTERNAL, file.getFileName() + ": cannot read it: " + e.getMessage(), e);
    }
    try {
      return OnnxTreeModel.from(graph, label);
    } catch (KilnException e) {
      throw KilnException.of(
          e.kind(), "%s: not a tree ensemble kiln-trees serves: %s", ONNX_FILE, e.getMessage());
    }
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
    return source.booleanParameter(USE_BEST_ITERATION, false);
  }
}
