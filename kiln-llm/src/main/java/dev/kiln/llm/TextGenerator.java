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

  /** Receives text as it is generated; returns false to cancel (the client went away). */
  @FunctionalInterface
  interface Listener {
    boolean onText(String delta);

    Listener NONE = delta -> true;
  }

  /**
   * Sampling and stopping. {@code temperature} 0 is greedy; {@code topK} 0 means no cut; {@code
   * stop} strings end generation and are not part of the text.
   */
  record Options(
      int maxTokens, float temperature, int topK, float topP, long seed, List<String> stop) {
    public Options {
      Checks.require(maxTokens >= 0, "max_tokens must be >= 0, was %d", maxTokens);
      stop = List.copyOf(stop);
      for (String s : stop) {
        Checks.require(!s.isEmpty(), "stop strings must not be empty");
      }
    }

    Sampler.Settings sampler() {
      return new Sampler.Settings(temperature, topK, topP, seed);
    }
  }

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
   * the time to the first token from the call.
   */
  record Result(
      String text,
      int promptTokens,
      int completionTokens,
      Finish finish,
      long queueNanos,
      long prefillNanos,
      long decodeNanos,
      long firstTokenNanos) {}
}
