package dev.kiln.core.ensemble;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelResolver;
import dev.kiln.core.model.ModelSignature;
import dev.kiln.core.model.Tensor;
import dev.kiln.core.model.TensorSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One loaded ensemble. Per request: call every member on the request's inputs in parallel (one
 * virtual thread per member beyond the first, which runs on the caller), then combine. A member
 * failure fails the request with the member's error kind and a message naming it.
 */
final class EnsembleModel implements LoadedModel {
  /**
   * Request parameter carrying the chain of ensembles a request went through, to stop cycles (a
   * names b, b names a) with a clear error instead of unbounded recursion.
   */
  static final String PATH_PARAMETER = "kiln-ensemble-path";

  /** Virtual threads need no pool size and no shutdown. */
  private static final ExecutorService MEMBERS = Executors.newVirtualThreadPerTaskExecutor();

  private final String name;
  private final Plan plan;
  private final ModelSignature signature;
  private final ModelResolver resolver;

  /** The member signature each member was last checked against (identity: one per version). */
  private final Map<String, ModelSignature> checked = new ConcurrentHashMap<>();

  EnsembleModel(String name, Plan plan, ModelSignature signature, ModelResolver resolver) {
    this.name = name;
    this.plan = plan;
    this.signature = signature;
    this.resolver = resolver;
  }

  @Override
  public ModelSignature signature() {
    return signature;
  }

  @Override
  public List<InferenceResult> execute(List<InferenceRequest> batch) {
    List<InferenceResult> out = new ArrayList<>(batch.size());
    for (InferenceRequest request : batch) {
      try {
        out.add(InferenceResult.ok(run(request)));
      } catch (KilnException e) {
        out.add(InferenceResult.failed(e));
      }
    }
    return out;
  }

  private Map<String, Tensor> run(InferenceRequest request) {
    String path = request.parameters().get(PATH_PARAMETER) instanceof String s ? s : "";
    List<String> chain = path.isEmpty() ? List.of() : List.of(path.split("\n"));
    if (chain.contains(name)) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "ensemble cycle: %s -> %s; an ensemble cannot contain itself",
          String.join(" -> ", chain),
          name);
    }
    String next = path.isEmpty() ? name : path + "\n" + name;
    var memberRequest =
        new InferenceRequest(
            request.id(), request.inputs(), List.of(plan.output()), Map.of(PATH_PARAMETER, next));
    List<Tensor> parts = fanOut(memberRequest);
    return switch (plan.combiner()) {
      case MEAN, WEIGHTED_MEAN -> {
        Tensor mean = Combine.mean(plan.output(), plan.members(), parts, plan.weights());
        Map<String, Tensor> outputs = new LinkedHashMap<>();
        outputs.put(plan.output(), mean);
        if (!plan.output().equals(Plan.LABEL) && signature.output(Plan.LABEL).isPresent()) {
          outputs.put(Plan.LABEL, Combine.argmax(Plan.LABEL, mean));
        }
        yield outputs;
      }
      case VOTE ->
          Map.of(Plan.LABEL, Combine.vote(Plan.LABEL, plan.members(), parts, plan.weights()));
      case STACK -> stack(request, parts, next);
    };
  }

  private Map<String, Tensor> stack(InferenceRequest request, List<Tensor> parts, String path) {
    String finalModel = plan.finalModel();
    try {
      ModelSignature fs = checkFinal(finalModel);
      String input = fs == null ? "input" : fs.inputs().getFirst().name();
      Tensor row = Combine.concatRows(input, plan.members(), parts);
      return resolver.infer(
          finalModel,
          new InferenceRequest(
              request.id(), Map.of(input, row), List.of(), Map.of(PATH_PARAMETER, path)));
    } catch (KilnException e) {
      throw new KilnException(
          e.kind(),
          "ensemble '" + name + "': final model '" + finalModel + "': " + e.getMessage(),
          e);
    }
  }

  private List<Tensor> fanOut(InferenceRequest request) {
    List<String> members = plan.members();
    List<Future<Tensor>> others = new ArrayList<>(members.size() - 1);
    for (int m = 1; m < members.size(); m++) {
      String member = members.get(m);
      others.add(MEMBERS.submit(() -> call(member, request)));
    }
    List<Tensor> parts = new ArrayList<>(members.size());
    try {
      parts.add(call(members.getFirst(), request));
      for (Future<Tensor> f : others) {
        parts.add(join(f));
      }
      return parts;
    } finally {
      // After a failure the rest is wasted work; cancelling a finished future does nothing.
      others.forEach(f -> f.cancel(true));
    }
  }

  private static Tensor join(Future<Tensor> f) {
    try {
      return f.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof KilnException k) {
        throw k;
      }
      throw new KilnException(ErrorKind.INTERNAL, "ensemble member failed", e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new KilnException(ErrorKind.INTERNAL, "interrupted", e);
    }
  }

  private Tensor call(String member, InferenceRequest request) {
    try {
      checkMember(member);
      Tensor t = resolver.infer(member, request).get(plan.output());
      if (t == null) {
        throw KilnException.of(ErrorKind.UNSUPPORTED, "it returned no output '%s'", plan.output());
      }
      if (t.batchSize() != request.batchSize()) {
        throw KilnException.of(
            ErrorKind.UNSUPPORTED,
            "it returned %s for %d rows",
            Arrays.toString(t.shape()),
            request.batchSize());
      }
      return t;
    } catch (KilnException e) {
      throw new KilnException(
          e.kind(), "ensemble '" + name + "': member '" + member + "': " + e.getMessage(), e);
    } catch (RuntimeException e) {
      throw new KilnException(
          ErrorKind.INTERNAL, "ensemble '" + name + "': member '" + member + "' failed", e);
    }
  }

  /**
   * At a member's first use (and after it reloads): it must take exactly the ensemble's inputs,
   * same names and types and compatible shapes, and have the combined output.
   */
  private void checkMember(String member) {
    ModelSignature ms = resolver.signature(member).orElse(null);
    if (ms == null || checked.get(member) == ms) {
      return; // not ready: the call itself says so
    }
    List<String> theirs = ms.inputs().stream().map(TensorSpec::name).sorted().toList();
    List<String> ours = signature.inputs().stream().map(TensorSpec::name).sorted().toList();
    if (!theirs.equals(ours)) {
      throw Combine.mismatch(
          "it takes inputs %s but the ensemble takes %s; all members need the same inputs",
          ms.inputs(), signature.inputs());
    }
    for (TensorSpec in : signature.inputs()) {
      TensorSpec t = ms.input(in.name()).orElseThrow();
      if (t.datatype() != in.datatype() || !compatible(t.shape(), in.shape())) {
        throw Combine.mismatch(
            "its input %s does not match the ensemble's %s; all members need the same inputs",
            t, in);
      }
    }
    if (ms.output(plan.output()).isEmpty()) {
      throw Combine.mismatch(
          "it has no output '%s' to combine; its outputs are %s",
          plan.output(), ms.outputs().stream().map(TensorSpec::name).toList());
    }
    checked.put(member, ms);
  }

  private ModelSignature checkFinal(String finalModel) {
    ModelSignature fs = resolver.signature(finalModel).orElse(null);
    if (fs == null || checked.get(finalModel) == fs) {
      return fs;
    }
    TensorSpec in = fs.inputs().getFirst();
    if (fs.inputs().size() != 1 || in.shape().length != 2 || in.datatype() != DataType.FP32) {
      throw Combine.mismatch(
          "a stacking model takes one FP32 [rows, features] input; it takes %s", fs.inputs());
    }
    checked.put(finalModel, fs);
    return fs;
  }

  /** Same rank, and equal wherever both dimensions are fixed. */
  private static boolean compatible(long[] a, long[] b) {
    if (a.length != b.length) {
      return false;
    }
    for (int i = 0; i < a.length; i++) {
      if (a[i] != -1 && b[i] != -1 && a[i] != b[i]) {
        return false;
      }
    }
    return true;
  }

  @Override
  public void close() {
    // Holds nothing: members are other models' versions, held per call.
  }
}
