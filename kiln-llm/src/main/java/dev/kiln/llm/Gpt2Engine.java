package dev.kiln.llm;

import dev.kiln.core.error.KilnException;
import java.util.Arrays;

/**
 * GPT-2's forward pass over a batch of sequences, each with its own {@link KvCache}. A step takes
 * segments (a sequence's cache and the tokens to append to it: a whole or partial prompt, or the
 * one token of a decode step) and stacks all their rows into one matrix, so every weight matrix is
 * read once per step however many sequences run; only attention is per sequence, against its own
 * cache. Each row's arithmetic is independent of the other rows and of how many there are, so a
 * sequence's logits are bit-for-bit the same alone or in any batch. Not thread-safe: one step at a
 * time (the scheduler thread); the parallelism is inside each step, on {@link Workers}.
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
 * All buffers are allocated once, sized for the largest step, so a step allocates nothing; only the
 * rows of logits are made when a step first wants that many (most servers never run 16 sequences at
 * once). {@link #forward} drives a single sequence in an own cache (for tests and the speed check).
 */
final class Gpt2Engine {
  private final Gpt2Config c;
  private final Gpt2Weights w;
  private final Workers workers;

  private final int maxRows; // rows of one step, all segments together
  private final float[] x; // [R, d] the residual stream
  private final float[] xn; // [R, d] normed rows
  private final float[] qkv; // [R, 3d]
  private final float[] att; // [R, d] attention output, heads side by side
  private final float[] hidden; // [R, 4d] MLP hidden layer
  private final float[][] scores; // [workers][P] attention weights, one row per worker
  // [workers][max(PANEL, 4d)]: kernel tiles, packed weights, column sums of a one-row step
  private final float[][] scratch;
  private final float[] positionRow; // [d] a position embedding row, dequantised
  private final KvCache.Format kvFormat; // of the caches newCache makes
  private final KvCache[] rowCache; // [R] the cache each row belongs to
  private final int[] rowPosition; // [R] each row's position in its sequence
  // [maxLogits][vocab], a row made the first time a step wants it: at 200 KB a row (GPT-2), 16
  // rows made up front would be 3.2 MB of heap that a server serving one stream never touches
  private final float[][] logits;
  private KvCache own; // forward()'s single sequence, made on first use (the server never uses it)
  private final KvCache[] ownCaches = new KvCache[1];
  private final int[][] ownTokens = new int[1][];
  private final int[] ownFrom = new int[1];
  private final int[] ownCount = new int[1];
  private final int[] ownLogits = new int[1];

  // Parameters of the current parallel step, read by the preallocated tasks below. Plain fields
  // are safe: Workers.run publishes them to the helpers through a volatile write.
  private float[] mmOut;
  private float[] mmX;
  private int mmRows;
  private int mmIn;
  private Matrix mmW;
  private float[] mmBias;
  private int mmOutDim;
  private boolean mmAccumulate;
  private boolean mmGelu;
  private int stepRows;
  private int stepLayer;
  private int stepLogits;

  private final Workers.Task matmulTask = this::matmulSlice;
  private final Workers.Task attentionTask = this::attentionSlice;
  private final Workers.Task headTask = this::headSlice;

  Gpt2Engine(Gpt2Config config, Gpt2Weights weights, Workers workers) {
    this(config, weights, workers, config.positions(), 1, KvCache.Format.F32);
  }

  /**
   * An engine whose steps hold at most {@code maxRows} rows and at most {@code maxLogits} segments
   * that want logits; its buffers are sized for that, about {@code 40 * d} bytes a row. Its caches
   * ({@link #newCache}) store keys and values in {@code kvFormat}.
   */
  Gpt2Engine(
      Gpt2Config config,
      Gpt2Weights weights,
      Workers workers,
      int maxRows,
      int maxLogits,
      KvCache.Format kvFormat) {
    this.c = config;
    this.kvFormat = kvFormat;
    this.w = weights;
    this.workers = workers;
    int p = c.positions();
    int d = c.embedding();
    // Steps are as wide as the scheduler needs (its sequences plus a prefill chunk), not the
    // context: forward() takes a longer prompt in chunks of this many rows.
    int r = Math.max(maxRows, 1);
    this.maxRows = r;
    x = new float[r * d];
    xn = new float[r * d];
    qkv = new float[r * 3 * d];
    att = new float[r * d];
    hidden = new float[r * 4 * d];
    scores = new float[workers.count()][p];
    // each worker's own: the RowMatrix kernels' widened panels and the head's chains
    scratch = new float[workers.count()][RowKernels.SCRATCH];
    positionRow = new float[d];
    rowCache = new KvCache[r];
    rowPosition = new int[r];
    logits = new float[Math.max(maxLogits, 1)][];
  }

  Gpt2Config config() {
    return c;
  }

  Gpt2Weights weights() {
    return w;
  }

  KvCache.Format kvFormat() {
    return kvFormat;
  }

  /** A cache of {@code capacity} positions in this engine's KV format. */
  KvCache newCache(int capacity) {
    return new KvCache(c, capacity, kvFormat);
  }

  /** Tokens already in {@link #forward}'s cache. */
  int length() {
    return own == null ? 0 : own.length;
  }

  /** Forgets {@link #forward}'s sequence, so the next call starts a new one at position 0. */
  void reset() {
    if (own != null) {
      own.length = 0;
    }
  }

  /**
   * Appends {@code tokens[from, from + count)} to the engine's own sequence in one batched pass and
   * returns the logits after the last of them (a shared buffer, valid until the next call).
   */
  float[] forward(int[] tokens, int from, int count) {
    if (own == null) {
      own = newCache(c.positions());
    }
    ownCaches[0] = own;
    ownTokens[0] = tokens;
    // In steps of at most maxRows rows: rows do not depend on the step they run in.
    for (int done = 0; done < count; ) {
      int n = Math.min(maxRows, count - done);
      ownFrom[0] = from + done;
      ownCount[0] = n;
      ownLogits[0] = done + n == count ? 0 : -1;
      step(1, ownCaches, ownTokens, ownFrom, ownCount, ownLogits);
      done += n;
    }
    return logits[0];
  }

  /** How many rows of logits the steps so far have needed and so made (for tests). */
  int logitRowsMade() {
    int n = 0;
    while (n < logits.length && logits[n] != null) {
      n++;
    }
    return n;
  }

  /** Runs {@code t} on the engine's workers (between steps, e.g. the sampling of a step). */
  void parallel(Workers.Task t, long work) {
    workers.run(t, work);
  }

  /** Row {@code k} of the logits of the last {@link #step}: a shared buffer. */
  float[] logits(int k) {
    return logits[k];
  }

  /**
   * One forward pass over {@code segments} sequences at once: segment s appends {@code
   * tokens[s][from[s], from[s] + counts[s])} to {@code caches[s]} (whose length advances), and when
   * {@code logitRow[s] >= 0} the logits after its last token land in {@link #logits}{@code
   * (logitRow[s])}. Rows of all segments are stacked in order; the caches must be distinct.
   */
  void step(
      int segments, KvCache[] caches, int[][] tokens, int[] from, int[] counts, int[] logitRow) {
    try {
      runStep(segments, caches, tokens, from, counts, logitRow);
    } finally {
      // no cache stays reachable from here once its sequence is gone: a pooled cache the
      // scheduler drops to make room must be garbage before the new one is allocated
      Arrays.fill(rowCache, null);
    }
  }

  private void runStep(
      int segments, KvCache[] caches, int[][] tokens, int[] from, int[] counts, int[] logitRow) {
    int d = c.embedding();
    int rows = 0;
    int wanted = 0;
    for (int s = 0; s < segments; s++) {
      int start = caches[s].length;
      if (counts[s] < 1 || start + counts[s] > c.positions()) {
        throw KilnException.invalid(
            "the sequence would hold %d tokens; the model's context is %d",
            start + counts[s], c.positions());
      }
      if (rows + counts[s] > maxRows) {
        throw new IllegalStateException("a step of more than " + maxRows + " rows");
      }
      for (int t = 0; t < counts[s]; t++) {
        int token = tokens[s][from[s] + t];
        if (token < 0 || token >= c.vocabularySize()) {
          throw KilnException.invalid("token id %d is outside the vocabulary", token);
        }
        rowCache[rows + t] = caches[s];
        rowPosition[rows + t] = start + t;
      }
      rows += counts[s];
      wanted = Math.max(wanted, logitRow[s] + 1);
    }
    if (wanted > logits.length) {
      throw new IllegalStateException("more than " + logits.length + " logit rows");
    }
    for (int k = 0; k < wanted; k++) {
      if (logits[k] == null) {
        logits[k] = new float[c.vocabularySize()];
      }
    }

    // Embeddings: token row plus position row.
    for (int s = 0, r = 0; s < segments; s++) {
      for (int t = 0; t < counts[s]; t++, r++) {
        int token = tokens[s][from[s] + t];
        w.tokenEmbedding.row(token, x, r * d);
        w.positionEmbedding.row(rowPosition[r], positionRow, 0);
        for (int i = 0; i < d; i++) {
          x[r * d + i] += positionRow[i];
        }
      }
    }
    int count = rows;

    for (int l = 0; l < c.layers(); l++) {
      Gpt2Weights.Block b = w.blocks[l];
      // Attention sub-block: LN_1, the fused q/k/v projection, causal attention, output
      // projection added onto the residual stream.
      for (int t = 0; t < count; t++) {
        Kernels.layerNorm(xn, t * d, x, t * d, b.ln1Weight(), b.ln1Bias(), d, c.layerNormEps());
      }
      matmul(qkv, xn, count, d, b.attnWeight(), b.attnBias(), 3 * d, false, false);
      long visible = 0;
      for (int t = 0; t < count; t++) {
        int p = rowPosition[t];
        rowCache[t].putValues(l, p, qkv, t * 3 * d + 2 * d, d);
        visible += p + 1;
      }
      // keys feature-major (feature j's positions at j * keyStride): attention's scores then read
      // each feature's positions as vectors. Feature by feature over the rows, so that a prefill
      // chunk's consecutive positions are written one after another.
      for (int j = 0; j < d; j++) {
        for (int t = 0; t < count; t++) {
          rowCache[t].putKey(l, j, rowPosition[t], qkv[t * 3 * d + d + j]);
        }
      }
      stepRows = count;
      stepLayer = l;
      // work: visible positions x d, twice (scores and the weighted sum of values), plus an exp
      // per score, which costs about as much as 64 multiply-adds
      workers.run(attentionTask, (2L * d + 64L * c.heads()) * visible);
      matmul(x, att, count, d, b.attnProjWeight(), b.attnProjBias(), d, true, false);

      // MLP sub-block: LN_2, expand to 4d with gelu_new, project back, add to the residual.
      for (int t = 0; t < count; t++) {
        Kernels.layerNorm(xn, t * d, x, t * d, b.ln2Weight(), b.ln2Bias(), d, c.layerNormEps());
      }
      matmul(hidden, xn, count, d, b.fcWeight(), b.fcBias(), 4 * d, false, true);
      matmul(x, hidden, count, 4 * d, b.fcProjWeight(), b.fcProjBias(), d, true, false);
    }

    // Only each wanting segment's last position needs logits: final norm of that row into row
    // logitRow[s] of xn, then the tied head over wte for all of them in one pass over wte.
    for (int s = 0, end = 0; s < segments; s++) {
      end += counts[s];
      caches[s].length += counts[s];
      if (logitRow[s] >= 0) {
        int last = (end - 1) * d;
        Kernels.layerNorm(
            xn, logitRow[s] * d, x, last, w.lnFinalWeight, w.lnFinalBias, d, c.layerNormEps());
      }
    }
    if (wanted > 0) {
      stepLogits = wanted;
      workers.run(headTask, (long) wanted * c.vocabularySize() * d);
    }
  }

  private void matmul(
      float[] out,
      float[] in,
      int rows,
      int inDim,
      Matrix weight,
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
    int from = Workers.from(mmOutDim, mmW.grain(), index, count);
    int to = Workers.to(mmOutDim, mmW.grain(), index, count);
    mmW.multiply(mmOut, mmX, mmRows, mmBias, mmAccumulate, from, to, scratch[index]);
    if (mmGelu) {
      for (int t = 0; t < mmRows; t++) {
        int row = t * mmOutDim;
        Kernels.gelu(mmOut, row + from, row + to);
      }
    }
  }

  /**
   * One worker's share of the (row, head) pairs. Row t sits at position p_t of its own sequence and
   * sees that sequence's cached keys and values of positions 0..p_t: the causal mask.
   */
  private void attentionSlice(int index, int count) {
    int d = c.embedding();
    int s = c.headSize();
    float scale = (float) (1.0 / Math.sqrt(s));
    float[] sc = scores[index];
    int pairs = stepRows * c.heads();
    int from = Workers.from(pairs, 1, index, count);
    int to = Workers.to(pairs, 1, index, count);
    for (int pair = from; pair < to; pair++) {
      int t = pair / c.heads();
      int h = pair % c.heads();
      int q = t * 3 * d + h * s;
      KvCache kv = rowCache[t];
      int visible = rowPosition[t] + 1;
      // fp32 or bf16 (the other array null), widened as the kernels read them
      float[] k = kv.keys == null ? null : kv.keys[stepLayer];
      short[] k16 = kv.keys16 == null ? null : kv.keys16[stepLayer];
      float[] v = kv.values == null ? null : kv.values[stepLayer];
      short[] v16 = kv.values16 == null ? null : kv.values16[stepLayer];
      // scores_p = q . k_p / sqrt(s), L positions at a time (feature i's at i keyStride), each one
      // chain of fused multiply-adds over the features in order; then a numerically stable softmax
      float max =
          Kernels.scores(qkv, q, k, k16, h * s * kv.keyStride, kv.keyStride, s, visible, scale, sc);
      float sum = Kernels.expShift(sc, visible, max);
      // o = sum_p softmax_p v_p
      Kernels.weightedSum(att, t * d + h * s, sc, 1f / sum, v, v16, h * s, d, visible, s);
    }
  }

  /** One worker's share of the vocabulary: logits[b]_v = LN_f(x_last(b)) . wte_v for each b. */
  private void headSlice(int index, int count) {
    int n = c.vocabularySize();
    RowKernels.head(
        w.tokenEmbedding,
        logits,
        stepLogits,
        xn,
        Workers.from(n, w.tokenEmbedding.grain(), index, count),
        Workers.to(n, w.tokenEmbedding.grain(), index, count),
        scratch[index]);
  }
}
