package dev.kiln.onnx;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.OrtSession.SessionOptions;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * The {@code onnxruntime} backend: serves a version directory holding {@code model.onnx} with ONNX
 * Runtime on the CPU. Found by {@link java.util.ServiceLoader}. Session settings come from the
 * {@code onnx.*} config section, overridable per model (see {@link OnnxSettings}).
 */
public final class OnnxRuntime implements ModelRuntime {
  /** The file a version directory must hold; there is no other way to name it. */
  static final String MODEL_FILE = "model.onnx";

  private static final System.Logger LOG = System.getLogger(OnnxRuntime.class.getName());

  /** "/onnxruntime_src/onnxruntime/core/graph/model.cc:177 onnxruntime::Model::Model(...) ". */
  private static final Pattern SOURCE_LOCATION =
      Pattern.compile("/\\S*?onnxruntime_src/\\S+:\\d+ \\S+\\(.*?\\) ");

  // ONNX Runtime wants one environment per process: it owns the logger and the global state that
  // every session shares. Created on the first load, so that a server without ONNX models never
  // loads the native library.
  private static OrtEnvironment environment;

  /** For {@link java.util.ServiceLoader}. */
  public OnnxRuntime() {}

  @Override
  public String name() {
    return "onnxruntime";
  }

  @Override
  public int claims(Path versionDirectory) {
    return Files.isRegularFile(versionDirectory.resolve(MODEL_FILE)) ? 10 : 0;
  }

  /**
   * Opens a session on {@code model.onnx} and reads its signature. A missing, unreadable or corrupt
   * file is an {@link ErrorKind#INTERNAL} error and a tensor type Kiln cannot serve an {@link
   * ErrorKind#UNSUPPORTED} one, each with a message that names the file or tensor, since the
   * registry shows it as the reason the version failed to load. Bad settings are an {@link
   * IllegalArgumentException}, as every config error in Kiln.
   */
  @Override
  public LoadedModel load(ModelSource source) {
    String label = source.model() + " version " + source.version();
    Path file = source.directory().resolve(MODEL_FILE);
    if (!Files.isRegularFile(file)) {
      throw KilnException.of(
          ErrorKind.INTERNAL, "%s: no such file in %s", MODEL_FILE, source.directory());
    }
    if (!Files.isReadable(file)) {
      throw KilnException.of(ErrorKind.INTERNAL, "%s: not readable (check permissions)", file);
    }
    if (isEmpty(file)) {
      throw KilnException.of(
          ErrorKind.INTERNAL, "%s: empty file in %s", MODEL_FILE, file.getParent());
    }
    OnnxSettings settings = settings(source);
    OrtEnvironment env = environment();
    OrtSession session;
    try (SessionOptions options = new SessionOptions()) {
      settings.applyTo(options);
      // By path rather than bytes: ONNX Runtime then finds external weight files next to it.
      session = env.createSession(file.toString(), options);
    } catch (OrtException e) {
      throw loadError(e);
    }
    LOG.log(Level.DEBUG, "{0}: onnxruntime session with {1}", label, settings);
    return OnnxModel.open(env, session, label);
  }

  private static boolean isEmpty(Path file) {
    try {
      return Files.size(file) == 0;
    } catch (IOException e) {
      throw new KilnException(
          ErrorKind.INTERNAL, MODEL_FILE + ": cannot read it: " + e.getMessage(), e);
    }
  }

  /** The {@code onnx.*} section with the model's parameters on top. */
  static OnnxSettings settings(ModelSource source) {
    KilnConfig config = source.config() == null ? KilnConfig.defaults() : source.config();
    OnnxSettings base;
    try {
      base = config.section("onnx", OnnxSettings.class);
    } catch (IllegalArgumentException e) {
      // Jackson wraps the record's own message in its binding details; keep only ours.
      Throwable root = e;
      while (root.getCause() != null) {
        root = root.getCause();
      }
      throw new IllegalArgumentException(
          "config section onnx: "
              + (root instanceof IllegalArgumentException ? root.getMessage() : e.getMessage()),
          e);
    }
    return base.withOverrides(source.parameters());
  }

  /** The process's one ONNX Runtime environment. Loads are rare, so a plain lock is enough. */
  static synchronized OrtEnvironment environment() {
    if (environment == null) {
      try {
        environment = OrtEnvironment.getEnvironment();
      } catch (RuntimeException | LinkageError e) {
        throw new KilnException(
            ErrorKind.INTERNAL,
            "onnxruntime: cannot start ONNX Runtime (its native library did not load; the JVM"
                + " needs --enable-native-access=ALL-UNNAMED): "
                + e,
            e);
      }
    }
    return environment;
  }

  /**
   * ONNX Runtime's message made fit for a client or a status page: on one line, without the "Error
   * code - X - message: " prefix of its Java API and without the C++ source location and function
   * signature that some native errors carry.
   */
  static String reason(OrtException e) {
    String message = String.valueOf(e.getMessage());
    int at = message.indexOf(" - message: ");
    if (at >= 0) {
      message = message.substring(at + " - message: ".length());
    }
    message = SOURCE_LOCATION.matcher(message).replaceFirst(" ");
    // Keep the server's directory layout out of reasons shown to clients: name the file only.
    message = message.replaceAll("(/[^\\s:/]+)+/(model\\.onnx)", "$2");
    return message.replaceAll("\\s+", " ").strip();
  }

  private static KilnException loadError(OrtException e) {
    String why = reason(e);
    return switch (e.getCode()) {
      case ORT_INVALID_PROTOBUF, ORT_INVALID_GRAPH, ORT_NO_MODEL ->
          new KilnException(ErrorKind.INTERNAL, MODEL_FILE + ": not a valid ONNX model: " + why, e);
      case ORT_NOT_IMPLEMENTED ->
          new KilnException(
              ErrorKind.UNSUPPORTED,
              MODEL_FILE + ": uses something ONNX Runtime does not implement: " + why,
              e);
      default ->
          new KilnException(
              ErrorKind.INTERNAL, MODEL_FILE + ": ONNX Runtime could not load it: " + why, e);
    };
  }
}
