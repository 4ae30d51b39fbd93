package dev.kiln.llm;

import dev.kiln.llm.TextGenerator.Finish;
import dev.kiln.llm.TextGenerator.Listener;
import dev.kiln.llm.TextGenerator.Options;
import dev.kiln.llm.TextGenerator.Result;
import dev.kiln.llm.TextGenerator.TokenLogprob;
import dev.kiln.llm.TextGenerator.TopLogprob;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One {@link TextGenerator#generate} call in the caller's thread: tokens from the {@link Scheduler}
 * become text through {@link DeltaText} (whole characters, never a part of a stop string), and,
 * when asked, each token's {@link TokenLogprob} travels with the delta that first shows its text,
 * so that the streamed logprobs and the whole answer's agree.
 */
final class Generation {
  private final Gpt2Tokenizer tokenizer;
  private final Listener listener;
  private final DeltaText text;
  private final List<TokenLogprob> logprobs; // null when not asked for
  private int[] startChars = new int[16]; // where each token of logprobs starts, in chars
  private int attached; // logprobs already handed to the listener
  private int offsetChars; // chars of decoded text counted in offsetPoints
  private int offsetPoints;
  private boolean cancelled;

  private Generation(Gpt2Tokenizer tokenizer, Options options, Listener listener) {
    this.tokenizer = tokenizer;
    this.listener = listener;
    this.text = new DeltaText(options.stop());
    this.logprobs = options.logprobs() >= 0 ? new ArrayList<>() : null;
  }

  /** Generates {@code start} (the prompt, or {@code <|endoftext|>} for an empty one). */
  static Result run(
      Scheduler scheduler,
      Gpt2Tokenizer tokenizer,
      int[] prompt,
      int[] start,
      Options options,
      Listener listener) {
    Generation g = new Generation(tokenizer, options, listener);
    Scheduler.Run run =
        scheduler.generate(
            start, options.maxTokens(), options.sampler(), options.logprobs(), g::token);
    Finish finish = g.cancelled ? Finish.CANCELLED : g.text.stopped() ? Finish.STOP : run.finish();
    if (finish != Finish.CANCELLED) {
      String rest = g.text.finish();
      if (!rest.isEmpty() && !g.emit(rest)) {
        finish = Finish.CANCELLED;
      }
    }
    long[] gaps = new long[Math.max(0, run.tokenNanos().length - 1)];
    for (int i = 0; i < gaps.length; i++) {
      gaps[i] = run.tokenNanos()[i + 1] - run.tokenNanos()[i];
    }
    return new Result(
        g.text.text(),
        prompt.length,
        run.tokens(),
        finish,
        run.queueNanos(),
        run.prefillNanos(),
        run.decodeNanos(),
        run.firstTokenNanos(),
        gaps,
        g.logprobs == null ? null : List.copyOf(g.logprobs.subList(0, g.attached)));
  }

  private boolean token(int token, Logprobs lp) {
    byte[] bytes = tokenizer.decodeBytes(new int[] {token});
    if (logprobs != null) {
      int start = text.length();
      offsetPoints += text.codePoints(offsetChars, start);
      offsetChars = start;
      if (logprobs.size() == startChars.length) {
        startChars = java.util.Arrays.copyOf(startChars, startChars.length * 2);
      }
      startChars[logprobs.size()] = start;
      logprobs.add(
          new TokenLogprob(token, show(bytes), bytes, lp.logprob(), offsetPoints, top(lp)));
    }
    String delta = text.append(bytes);
    if (!delta.isEmpty() && !emit(delta)) {
      cancelled = true;
      return false;
    }
    return !text.stopped();
  }

  /** Hands out a delta with the logprobs of the tokens that start before its end. */
  private boolean emit(String delta) {
    List<TokenLogprob> tokens = List.of();
    if (logprobs != null) {
      int end = text.shown();
      int from = attached;
      while (attached < logprobs.size() && startChars[attached] < end) {
        attached++;
      }
      tokens = List.copyOf(logprobs.subList(from, attached));
    }
    return listener.onDelta(delta, tokens);
  }

  private List<TopLogprob> top(Logprobs lp) {
    List<TopLogprob> top = new ArrayList<>(lp.topIds().length);
    for (int k = 0; k < lp.topIds().length; k++) {
      byte[] b = tokenizer.decodeBytes(new int[] {lp.topIds()[k]});
      top.add(new TopLogprob(lp.topIds()[k], show(b), b, lp.topLogprobs()[k]));
    }
    return top;
  }

  private static String show(byte[] bytes) {
    return new String(bytes, StandardCharsets.UTF_8);
  }
}
