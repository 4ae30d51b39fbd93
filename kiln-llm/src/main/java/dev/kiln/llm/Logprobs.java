package dev.kiln.llm;

/**
 * One sampled token's log-probability and the {@code n} most likely tokens at its position, all
 * from the log-softmax of the model's raw logits: before the penalties and the temperature, and
 * before the top-k/top-p cut (what vLLM reports by default). {@code log p_j = l_j - (m + log sum_i
 * exp(l_i - m))} with m the largest logit, summed in double.
 */
record Logprobs(float logprob, int[] topIds, float[] topLogprobs) {
  /** The most top logprobs a request may ask for (OpenAI's chat limit). */
  static final int MAX_TOP = 20;

  static Logprobs of(float[] logits, int token, int n) {
    float max = Float.NEGATIVE_INFINITY;
    for (float l : logits) {
      max = Math.max(max, l);
    }
    double sum = 0;
    for (float l : logits) {
      sum += Math.exp(l - max);
    }
    double logZ = max + Math.log(sum);
    // The n largest by insertion into a short sorted list (n <= 20): descending logit, then
    // ascending id on a tie, as a stable sort of the vocabulary would give.
    int[] ids = new int[n];
    float[] values = new float[n];
    int filled = 0;
    for (int j = 0; j < logits.length && n > 0; j++) {
      float v = logits[j];
      if (filled == n && v <= values[n - 1]) {
        continue;
      }
      int at = filled < n ? filled++ : n - 1;
      while (at > 0 && values[at - 1] < v) {
        values[at] = values[at - 1];
        ids[at] = ids[at - 1];
        at--;
      }
      values[at] = v;
      ids[at] = j;
    }
    float[] top = new float[n];
    for (int k = 0; k < n; k++) {
      top[k] = (float) (values[k] - logZ);
    }
    return new Logprobs((float) (logits[token] - logZ), ids, top);
  }
}
