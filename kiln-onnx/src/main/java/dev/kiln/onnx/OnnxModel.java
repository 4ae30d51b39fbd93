package dev.kiln.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import dev.kiln.core.model.Tensors;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;

/**
 * One ONNX Runtime session serving one model version. {@link OrtSession#run} is thread-safe, so
 * concurrent {@link #execute} calls share the session without locking.
 *
 * <p>A batch of several requests runs as one session call when the model allows it: every input and
 * output has a variable first dimension, so the requests' rows can be stacked and the outputs cut
 * back into each request's rows. One call amortises ONNX Runtime's per-call overhead and lets its
 * kernels work on bigger blocks. When stacking is impossible or the joint call fails, each request
 * runs alone, so that a request ONNX Runtime rejects fails only itself.
 */
final class OnnxModel implements LoadedModel {
  static final String PLATFORM = "onnxruntime_onnx";

  private static final System.Logger LOG = System.getLogger(OnnxModel.class.getName());

  private final String label;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final ModelSignature signature;
  private final Set<String> allOutputs;
  private final boolean stackable;
  private final AtomicBoolean closed = new AtomicBoolean();
  private final LongAdder sessionRuns = new LongAdder();

  private OnnxModel(
      String label, OrtEnvironment env, OrtSession session, ModelSignature signature) {
    this.label = label;
    this.env = env;
    this.session = session;
    this.signature = signature;
    var names = new LinkedHashSet<String>();
    signature.outputs().forEach(s -> names.add(s.name()));
    // "All outputs" means the tensor outputs served, so that ONNX Runtime does not compute a
    // skipped sequence or map output (such as a ZipMap) that nobody can receive.
    this.allOutputs = Collections.unmodifiableSet(names);
    this.stackable =
        signature.inputs().stream().allMatch(TensorSpec::batched)
            && signature.outputs().stream().allMatch(TensorSpec::batched);
  }

  /** Wraps a new session; closes it when the model's inputs or outputs cannot be served. */
  static OnnxModel open(OrtEnvironment env, OrtSession session, String label) {
    try {
      return new OnnxModel(label, env, session, inferSignature(session, label));
    } catch (OrtException e) {
      closeQuietly(session, label);
      throw new KilnException(
          ErrorKind.INTERNAL,
          OnnxRuntime.MODEL_FILE + ": cannot read its inputs and outputs: " + OnnxRuntime.reason(e),
          e);
    } catch (RuntimeException e) {
      closeQuietly(session, label);
      throw e;
    }
  }

  /**
   * The signature as the file declares it. Symbolic and unknown dimensions come from ONNX Runtime
   * as -1, which is what Kiln calls variable. Outputs that are not tensors (the sequence of maps
   * that skl2onnx's ZipMap produces) are left out, since Kiln's protocols carry only tensors.
   */
  static ModelSignature inferSignature(OrtSession session, String label) throws OrtException {
    List<TensorSpec> inputs = new ArrayList<>();
    for (NodeInfo node : session.getInputInfo().values()) {
      inputs.add(spec("input", node));
    }
    if (inputs.isEmpty()) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED, "%s: the model takes no inputs", OnnxRuntime.MODEL_FILE);
    }
    List<TensorSpec> outputs = new ArrayList<>();
    List<String> skipped = new ArrayList<>();
    for (NodeInfo node : session.getOutputInfo().values()) {
      if (node.getInfo() instanceof TensorInfo) {
        outputs.add(spec("output", node));
      } else {
        skipped.add(node.getName() + " (" + node.getInfo() + ")");
      }
    }
    if (outputs.isEmpty()) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: no tensor outputs; Kiln cannot serve sequence or map outputs %s",
          OnnxRuntime.MODEL_FILE,
          skipped);
    }
    if (!skipped.isEmpty()) {
      LOG.log(Level.INFO, "{0}: not serving non-tensor outputs {1}", label, skipped);
    }
    return new ModelSignature(PLATFORM, inputs, outputs, 0);
  }

  private static TensorSpec spec(String role, NodeInfo node) {
    if (!(node.getInfo() instanceof TensorInfo info)) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: %s '%s' is not a tensor (%s); Kiln serves tensor inputs only",
          OnnxRuntime.MODEL_FILE,
          role,
          node.getName(),
          node.getInfo());
    }
    DataType type =
        OnnxTensors.dataType(info.onnxType)
            .orElseThrow(() ->
                KilnException.of(
                    ErrorKind.UNSUPPORTED,
                    "%s: %s '%s' has element type %s, which Kiln does not support"
                        + " (supported: FLOAT, DOUBLE, INT32, INT64, BOOL, STRING)",
                    OnnxRuntime.MODEL_FILE,
                    role,
                    node.getName(),
                    OnnxTensors.describe(info.onnxType)));
    long[] shape = info.getShape().clone();
    for (int i = 0; i < shape.length; i++) {
      shape[i] = Math.max(shape[i], -1);
    }
    return new TensorSpec(node.getName(), type, shape);
  }

  @Override
  public ModelSignature signature() {
    return signature;
  }

  @Override
  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    if (batch.size() > 1 && stackable) {
      Optional<List<InferenceResult>> stacked = runStacked(batch);
      if (stacked.isPresent()) {
        return stacked.get();
      }
    }
    List<InferenceResult> results = new ArrayList<>(batch.size());
    for (InferenceRequest request : batch) {
      results.add(runAlone(request));
    }
    return results;
  }

  /**
   * Runs the batch as one call: each input is the requests' rows stacked along dimension 0, in
   * request order, and each request gets back its own rows of every output it asked for. Empty when
   * that cannot work (trailing dimensions differ, an output does not keep the row count) or when
   * the call fails, in which case the caller runs the requests one by one.
   */
  private Optional<List<InferenceResult>> runStacked(List<InferenceRequest> batch) {
    long[] rows = new long[batch.size()];
    long total = 0;
    Map<String, Tensor> stacked = new HashMap<>();
    try {
      for (int i = 0; i < batch.size(); i++) {
        rows[i] = batch.get(i).batchSize();
        total += rows[i];
      }
      for (TensorSpec spec : signature.inputs()) {
        List<Tensor> parts = new ArrayList<>(batch.size());
        for (int i = 0; i < batch.size(); i++) {
          Tensor t = batch.get(i).inputs().get(spec.name());
          if (t == null || t.shape().length == 0 || t.shape()[0] != rows[i]) {
            return Optional.empty();
          }
          parts.add(t);
        }
        stacked.put(spec.name(), Tensors.concat(parts));
      }
    } catch (RuntimeException e) {
      // Tensors.concat refuses parts whose trailing dimensions differ; each runs alone instead.
      return Optional.empty();
    }
    Set<String> wanted = new LinkedHashSet<>();
    for (InferenceRequest request : batch) {
      wanted.addAll(wanted(request));
    }
    Map<String, Tensor> outputs;
    try {
      outputs = run(stacked, wanted);
    } catch (RuntimeException e) {
      LOG.log(
          Level.DEBUG,
          "{0}: batch of {1} failed, running its requests one by one: {2}",
          label,
          batch.size(),
          e.getMessage());
      return Optional.empty();
    }
    for (Tensor out : outputs.values()) {
      if (out.shape().length == 0 || out.shape()[0] != total) {
        LOG.log(
            Level.DEBUG, "{0}: output {1} does not keep the batch''s {2} rows", label, out, total);
        return Optional.empty();
      }
    }
    List<InferenceResult> results = new ArrayList<>(batch.size());
    long from = 0;
    for (int i = 0; i < batch.size(); i++) {
      Map<String, Tensor> mine = new HashMap<>();
      for (String name : wanted(batch.get(i))) {
        mine.put(name, Tensors.slice(outputs.get(name), from, rows[i]));
      }
      results.add(InferenceResult.ok(mine));
      from += rows[i];
    }
    return Optional.of(results);
  }

  private InferenceResult runAlone(InferenceRequest request) {
    try {
      return InferenceResult.ok(run(request.inputs(), wanted(request)));
    } catch (KilnException e) {
      return InferenceResult.failed(e);
    } catch (RuntimeException e) {
      LOG.log(Level.WARNING, label + ": unexpected failure in onnxruntime", e);
      return InferenceResult.failed(new KilnException(ErrorKind.INTERNAL, "onnxruntime: " + e, e));
    }
  }

  private Set<String> wanted(InferenceRequest request) {
    return request.outputs().isEmpty() ? allOutputs : new LinkedHashSet<>(request.outputs());
  }

  /** One session call. Every native tensor it creates is closed before it returns. */
  private Map<String, Tensor> run(Map<String, Tensor> inputs, Set<String> wanted) {
    Map<String, OnnxTensor> feed = new HashMap<>();
    try {
      for (var e : inputs.entrySet()) {
        feed.put(e.getKey(), OnnxTensors.toOrt(env, e.getValue()));
      }
      sessionRuns.increment();
      try (OrtSession.Result result = session.run(feed, wanted)) {
        Map<String, Tensor> outputs = new HashMap<>();
        for (Map.Entry<String, OnnxValue> e : result) {
          // Every wanted output is a tensor: the signature holds tensor outputs only.
          outputs.put(e.getKey(), OnnxTensors.fromOrt(e.getKey(), (OnnxTensor) e.getValue()));
        }
        return outputs;
      }
    } catch (OrtException e) {
      throw runError(e);
    } finally {
      OnnxValue.close(feed);
    }
  }

  /**
   * Maps a failed call to a kind. ONNX Runtime reports bad shapes, out-of-range indices and the
   * like as invalid arguments, which the request caused; anything else is Kiln's problem and stays
   * a 500, since unknown errors are never the client's fault.
   */
  static KilnException runError(OrtException e) {
    String why = OnnxRuntime.reason(e);
    String lower = why.toLowerCase(Locale.ROOT);
    boolean input =
        e.getCode() == OrtException.OrtErrorCode.ORT_INVALID_ARGUMENT
            || lower.contains("dimension")
            || lower.contains("shape");
    return new KilnException(
        input ? ErrorKind.INVALID_INPUT : ErrorKind.INTERNAL, "onnxruntime: " + why, e);
  }

  /** How many session calls this model has made; tests use it to see a batch run as one call. */
  long sessionRuns() {
    return sessionRuns.sum();
  }

  @Override
  public void close() {
    if (closed.compareAndSet(false, true)) {
      closeQuietly(session, label);
    }
  }

  private static void closeQuietly(OrtSession session, String label) {
    try {
      session.close();
    } catch (OrtException | RuntimeException e) {
      LOG.log(Level.WARNING, label + ": closing the onnxruntime session failed", e);
    }
  }
}
