package dev.kiln.llm;

import dev.kiln.core.error.Checks;
import java.util.List;

/**
 * A loaded language model as the OpenAI-compatible routes see it: tokenise, then generate with text
 * deltas pushed to a listener as they are decoded. A {@link dev.kiln.core.model.LoadedModel} from
 * the {@code kiln-llm} runtime implements it; test for it with {@code instanceof}.
 */
public interface TextGenerator {
  /** The prompt's token ids, exactly as {@link #generate} will feed them. */
  int[] encode(String text);

  /** The model's context length in tokens (prompt plus completion). */
  int contextLength();

  /** When this version was loaded, in seconds since the epoch (OpenAI's {@code created}). */
  long createdEpochSeconds();

  /**
   * Generates a continuation of {@code prompt}, calling {@code listener} in the calling thread with
   * each piece of text as soon as it is safe to show (whole UTF-8 characters, never a part of a
   * stop string). Blocks while it waits for a free sequence slot and while it generates (with other
   * requests, batched); throws {@code KilnException} OVERLOADED at once when the model's slots and
   * queue are full, INVALID_INPUT when the prompt does not fit. The text passed to the listener,
   * concatenated, is {@link Result#text()}.
   */
  Result generate(int[] prompt, Options options, Listener listener);

  /** Requests running and waiting, and KV cache bytes reserved and budgeted, now (for gauges). */
  Occupancy occupancy();

  /** Receives text as it is generated; returns false to cancel (the client went away). */
  @FunctionalInterface
  interface Listener {
    boolean onText(String delta);

    /**
     * A piece of text and, when logprobs were asked for, the tokens that start in it (a token whose
     * text is held back, as a partial character or a possible stop string, comes with the delta
     * that shows it). Defaults to {@link #onText}.
     */
    default boolean onDelta(String delta, List<TokenLogprob> logprobs) {
      return onText(delta);
    }

    Listener NONE = delta -> true;
  }

  /**
   * Sampling and stopping. {@code temperature} 0 is greedy; {@code topK} 0 means no cut; {@code
   * stop} strings end generation and are not part of the text; {@code repetitionPenalty} 1 and the
   * presence and frequency penalties 0 are off (see {@code Sampler}); {@code logprobs} -1 reports
   * none, n >= 0 reports each token's logprob and the n most likely tokens (at most 20).
   */
  record Options(
      int maxTokens,
      float temperature,
      int topK,
      float topP,
      long seed,
      List<String> stop,
      float repetitionPenalty,
      float presencePenalty,
      float frequencyPenalty,
      int logprobs) {
    public Options {
      Checks.require(maxTokens >= 0, "max_tokens must be >= 0, was %d", maxTokens);
      stop = List.copyOf(stop);
      for (String s : stop) {
        Checks.require(!s.isEmpty(), "stop strings must not be empty");
      }
      Checks.require(
          logprobs >= -1 && logprobs <= Logprobs.MAX_TOP,
          "logprobs must be in [0, %d], was %d",
          Logprobs.MAX_TOP,
          logprobs);
      // Validates the sampling settings now (fields are not assigned yet: pass the parameters).
      new Sampler.Settings(
          temperature, topK, topP, seed, repetitionPenalty, presencePenalty, frequencyPenalty);
    }

    /** No penalties, no logprobs. */
    public Options(
        int maxTokens, float temperature, int topK, float topP, long seed, List<String> stop) {
      this(maxTokens, temperature, topK, topP, seed, stop, 1f, 0f, 0f, -1);
    }

    Sampler.Settings sampler() {
      return new Sampler.Settings(
          temperature, topK, topP, seed, repetitionPenalty, presencePenalty, frequencyPenalty);
    }
  }

  /**
   * One generated token's log-probability (natural log, of the model's raw logits: before the
   * penalties, the temperature and the top-k/top-p cut), its text (its bytes decoded alone, a
   * partial UTF-8 character as U+FFFD), its bytes, where its text starts in the answer (in Unicode
   * code points; a token that ends a character started by the previous token starts where that
   * character does), and the most likely tokens at its position, most likely first.
   */
  record TokenLogprob(
      int id, String token, byte[] bytes, float logprob, int textOffset, List<TopLogprob> top) {}

  /** One of the most likely tokens at a position. */
  record TopLogprob(int id, String token, byte[] bytes, float logprob) {}

  /** What a model is holding now. */
  record Occupancy(int running, int waiting, long kvUsedBytes, long kvBudgetBytes) {}

  /** Why generation ended. */
  enum Finish {
    /** {@code <|endoftext|>} or a stop string. */
    STOP,
    /** max_tokens or the end of the context. */
    LENGTH,
    /** The listener asked to stop. */
    CANCELLED
  }

  /**
   * The outcome of one generation. {@code completionTokens} counts every sampled token, including
   * an {@code <|endoftext|>} that ended it and the tokens of a stop string. Times in nanoseconds:
   * the wait for the engine, the prompt's forward pass, the decode steps after the first token, and
   * the time to the first token from the call; {@code interTokenNanos} the gaps between successive
   * sampled tokens (completionTokens - 1 of them). {@code logprobs}: null unless asked for, else
   * one entry per token whose text starts in {@code text} (not the {@code <|endoftext|>}, not the
   * tokens of a stop string).
   */
  record Result(
      String text,
      int promptTokens,
      int completionTokens,
      Finish finish,
      long queueNanos,
      long prefillNanos,
      long decodeNanos,
      long firstTokenNanos,
      long[] interTokenNanos,
      List<TokenLogprob> logprobs) {}
}
