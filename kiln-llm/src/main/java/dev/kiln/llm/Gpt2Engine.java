package dev.kiln.llm;

import dev.kiln.core.error.KilnException;
import java.lang.foreign.MemorySegment;

/**
 * GPT-2's forward pass over one sequence, with a KV cache. Not thread-safe: one sequence at a time
 * (the caller serialises); the parallelism is inside each step, on {@link Workers}.
 *
 * <p>For tokens {@code t} at positions {@code p} (a whole prompt at once in prefill, one token per
 * decode step), with d = n_embd, H heads of size s = d / H:
 *
 * <pre>
 *   x_t = wte[token_t] + wpe[p_t]                                  embeddings
 *   for each block:
 *     a   = LN_1(x)                                                pre-norm
 *     q, k, v = split(a @ W_attn + b_attn)                         [T, 3d] -> 3 x [T, d]
 *     cache k, v at positions p_t
 *     per head h: o_t = softmax(q_t k_{<=p_t}^T / sqrt(s)) v_{<=p_t}   causal attention
 *     x  += o @ W_proj + b_proj                                    residual
 *     m   = LN_2(x)
 *     x  += gelu_new(m @ W_fc + b_fc) @ W_fc_proj + b_fc_proj      MLP, residual
 *   logits = LN_f(x_last) @ wte^T                                  tied output head
 * </pre>
 *
 * All buffers are allocated once, sized for the full context, so a decode step allocates nothing.
 */
final class Gpt2Engine {
  private final Gpt2Config c;
  private final Gpt2Weights w;
  private final Workers workers;

  private final float[] x; // [P, d] the residual stream
  private final float[] xn; // [P, d] normed rows
  private final float[] qkv; // [P, 3d]
  private final float[] att; // [P, d] attention output, heads side by side
  private final float[] hidden; // [P, 4d] MLP hidden layer
  private final float[][] scores; // [workers][P] attention weights, one row per worker
  private final float[][] keys; // [layer][P * d]
  private final float[][] values; // [layer][P * d]
  private final float[] logits; // [vocab]
  private int length; // tokens in the cache

  // Parameters of the current parallel step, read by the preallocated tasks below. Plain fields
  // are safe: Workers.run publishes them to the helpers through a volatile write.
  private float[] mmOut;
  private float[] mmX;
  private int mmRows;
  private int mmIn;
  private MemorySegment mmW;
  private float[] mmBias;
  private int mmOutDim;
  private boolean mmAccumulate;
  private boolean mmGelu;
  private int stepRows;
  private int stepStart;
  private int stepLayer;

  private final Workers.Task matmulTask = this::matmulSlice;
  private final Workers.Task attentionTask = this::attentionSlice;
  private final Workers.Task headTask = this::headSlice;

  Gpt2Engine(Gpt2Config config, Gpt2Weights weights, Workers workers) {
    this.c = config;
    this.w = weights;
    this.workers = workers;
    int p = c.positions();
    int d = c.embedding();
    x = new float[p * d];
    xn = new float[p * d];
    qkv = new float[p * 3 * d];
    att = new float[p * d];
    hidden = new float[p * 4 * d];
    scores = new float[workers.count()][p];
    keys = new float[c.layers()][p * d];
    values = new float[c.layers()][p * d];
    logits = new float[c.vocabularySize()];
  }

  Gpt2Config config() {
    return c;
  }

  /** Tokens already in the KV cache. */
  int length() {
    return length;
  }

  /** Forgets the sequence, so the next call starts a new one at position 0. */
  void reset() {
    length = 0;
  }

  /**
   * Appends {@code tokens[from, from + count)} to the sequence in one batched pass and returns the
   * logits after the last of them (a shared buffer, valid until the next call).
   */
  float[] forward(int[] tokens, int from, int count) {
    if (count < 1 || length + count > c.positions()) {
      throw KilnException.invalid(
          "the sequence would hold %d tokens; the model's context is %d",
          length + count, c.positions());
    }
    int d = c.embedding();
    int start = length;

    // Embeddings: token row plus position row.
    for (int t = 0; t < count; t++) {
      int token = tokens[from + t];
      if (token < 0 || token >= c.vocabularySize()) {
        throw KilnException.invalid("token id %d is outside the vocabulary", token);
      }
      for (int i = 0; i < d; i++) {
        x[t * d + i] =
            w.tokenEmbedding.getAtIndex(SafeTensors.F32, (long) token * d + i)
                + w.positionEmbedding.getAtIndex(SafeTensors.F32, (long) (start + t) * d + i);
      }
    }

    for (int l = 0; l < c.layers(); l++) {
      Gpt2Weights.Block b = w.blocks[l];
      // Attention sub-block: LN_1, the fused q/k/v projection, causal attention, output
      // projection added onto the residual stream.
      for (int t = 0; t < count; t++) {
        Kernels.layerNorm(xn, t * d, x, t * d, b.ln1Weight(), b.ln1Bias(), d, c.layerNormEps());
      }
      matmul(qkv, xn, count, d, b.attnWeight(), b.attnBias(), 3 * d, false, false);
      for (int t = 0; t < count; t++) {
        System.arraycopy(qkv, t * 3 * d + d, keys[l], (start + t) * d, d);
        System.arraycopy(qkv, t * 3 * d + 2 * d, values[l], (start + t) * d, d);
      }
      stepRows = count;
      stepStart = start;
      stepLayer = l;
      // work: rows x visible positions x d, twice (scores and the weighted sum of values)
      workers.run(attentionTask, 2L * count * (start + count) * d);
      matmul(x, att, count, d, b.attnProjWeight(), b.attnProjBias(), d, true, false);

      // MLP sub-block: LN_2, expand to 4d with gelu_new, project back, add to the residual.
      for (int t = 0; t < count; t++) {
        Kernels.layerNorm(xn, t * d, x, t * d, b.ln2Weight(), b.ln2Bias(), d, c.layerNormEps());
      }
      matmul(hidden, xn, count, d, b.fcWeight(), b.fcBias(), 4 * d, false, true);
      matmul(x, hidden, count, 4 * d, b.fcProjWeight(), b.fcProjBias(), d, true, false);
    }

    // Only the last position's logits are needed: final norm, then the tied head over wte.
    int last = (count - 1) * d;
    Kernels.layerNorm(xn, 0, x, last, w.lnFinalWeight, w.lnFinalBias, d, c.layerNormEps());
    workers.run(headTask, (long) c.vocabularySize() * d);
    length = start + count;
    return logits;
  }

  private void matmul(
      float[] out,
      float[] in,
      int rows,
      int inDim,
      MemorySegment weight,
      float[] bias,
      int outDim,
      boolean accumulate,
      boolean gelu) {
    mmOut = out;
    mmX = in;
    mmRows = rows;
    mmIn = inDim;
    mmW = weight;
    mmBias = bias;
    mmOutDim = outDim;
    mmAccumulate = accumulate;
    mmGelu = gelu;
    workers.run(matmulTask, (long) rows * inDim * outDim);
  }

  /** One worker's share of the columns; gelu is applied to them in place while still in cache. */
  private void matmulSlice(int index, int count) {
    int from = Workers.from(mmOutDim, Kernels.LANES, index, count);
    int to = Workers.to(mmOutDim, Kernels.LANES, index, count);
    Kernels.matmul(mmOut, mmX, mmRows, mmIn, mmW, mmBias, mmOutDim, mmAccumulate, from, to);
    if (mmGelu) {
      for (int t = 0; t < mmRows; t++) {
        int row = t * mmOutDim;
        for (int j = from; j < to; j++) {
          mmOut[row + j] = Kernels.gelu(mmOut[row + j]);
        }
      }
    }
  }

  /**
   * One worker's share of the (row, head) pairs. Row t sits at position start + t and sees the
   * cached keys and values of positions 0..start + t: that bound is the causal mask.
   */
  private void attentionSlice(int index, int count) {
    int d = c.embedding();
    int s = c.headSize();
    float scale = (float) (1.0 / Math.sqrt(s));
    float[] k = keys[stepLayer];
    float[] v = values[stepLayer];
    float[] sc = scores[index];
    int pairs = stepRows * c.heads();
    int from = Workers.from(pairs, 1, index, count);
    int to = Workers.to(pairs, 1, index, count);
    for (int pair = from; pair < to; pair++) {
      int t = pair / c.heads();
      int h = pair % c.heads();
      int q = t * 3 * d + h * s;
      int visible = stepStart + t + 1;
      // scores_p = q . k_p / sqrt(s), then a numerically stable softmax over p.
      float max = Float.NEGATIVE_INFINITY;
      for (int p = 0; p < visible; p++) {
        sc[p] = Kernels.dot(qkv, q, k, p * d + h * s, s) * scale;
        max = Math.max(max, sc[p]);
      }
      float sum = 0f;
      for (int p = 0; p < visible; p++) {
        sc[p] = (float) Math.exp(sc[p] - max);
        sum += sc[p];
      }
      // o = sum_p softmax_p v_p
      int o = t * d + h * s;
      java.util.Arrays.fill(att, o, o + s, 0f);
      float inv = 1f / sum;
      for (int p = 0; p < visible; p++) {
        Kernels.axpy(att, o, sc[p] * inv, v, p * d + h * s, s);
      }
    }
  }

  /** One worker's share of the vocabulary: logits_v = LN_f(x_last) . wte_v. */
  private void headSlice(int index, int count) {
    int n = c.vocabularySize();
    Kernels.matvecRows(
        logits,
        xn,
        0,
        w.tokenEmbedding,
        c.embedding(),
        Workers.from(n, 64, index, count),
        Workers.to(n, 64, index, count));
  }
}
