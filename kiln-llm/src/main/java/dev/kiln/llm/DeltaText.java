package dev.kiln.llm;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Turns a stream of token bytes into text deltas that are safe to show, for one sequence.
 *
 * <p>Two things may not be shown yet. A byte-level token can end inside a UTF-8 character (an emoji
 * is often two or three tokens), so bytes after the last complete character wait for the next
 * token. And text that could be the start of a stop string waits until it either completes the stop
 * string (then it, and everything after it, is dropped and generation ends) or stops matching. Both
 * the streamed and the whole answer come from here, so the deltas always concatenate to the text.
 */
final class DeltaText {
  private final List<String> stops;
  private final ByteArrayOutputStream pending = new ByteArrayOutputStream();
  private final StringBuilder text = new StringBuilder();
  private int shown; // chars of text already handed out
  private boolean stopped;

  DeltaText(List<String> stops) {
    this.stops = stops;
  }

  /** Whether a stop string has been seen; the text ends before it. */
  boolean stopped() {
    return stopped;
  }

  /** Chars of whole characters decoded so far, shown or held back (not a pending partial one). */
  int length() {
    return text.length();
  }

  /** Chars of text handed out so far. */
  int shown() {
    return shown;
  }

  /** Unicode code points in chars {@code [from, to)} of the text decoded so far. */
  int codePoints(int from, int to) {
    return text.codePointCount(from, to);
  }

  /** The text shown so far. */
  String text() {
    return text.substring(0, shown);
  }

  /** Appends one token's bytes and returns the text that may be shown now (often empty). */
  String append(byte[] bytes) {
    if (stopped) {
      return "";
    }
    pending.writeBytes(bytes);
    byte[] all = pending.toByteArray();
    int complete = completePrefix(all);
    if (complete == 0) {
      return "";
    }
    text.append(new String(all, 0, complete, StandardCharsets.UTF_8));
    pending.reset();
    pending.write(all, complete, all.length - complete);
    // A stop string cannot start before `shown`: text that could begin one is never shown.
    int at = -1;
    for (String s : stops) {
      int i = text.indexOf(s, shown);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
      }
    }
    if (at >= 0) {
      stopped = true;
      text.setLength(at);
      return take(at);
    }
    return take(text.length() - heldBack());
  }

  /** At the end of generation: everything still held back (a lone partial character as U+FFFD). */
  String finish() {
    if (stopped) {
      return "";
    }
    if (pending.size() > 0) {
      text.append(pending.toString(StandardCharsets.UTF_8));
      pending.reset();
    }
    return take(text.length());
  }

  private String take(int upTo) {
    if (upTo <= shown) {
      return "";
    }
    String delta = text.substring(shown, upTo);
    shown = upTo;
    return delta;
  }

  /** The longest suffix of the text that is a proper prefix of some stop string. */
  private int heldBack() {
    int best = 0;
    for (String s : stops) {
      for (int k = Math.min(s.length() - 1, text.length() - shown); k > best; k--) {
        if (endsWithPrefix(s, k)) {
          best = k;
          break;
        }
      }
    }
    return best;
  }

  private boolean endsWithPrefix(String s, int k) {
    int offset = text.length() - k;
    for (int i = 0; i < k; i++) {
      if (text.charAt(offset + i) != s.charAt(i)) {
        return false;
      }
    }
    return true;
  }

  /**
   * The length of the longest prefix that does not end inside a UTF-8 sequence: the last lead byte
   * within three of the end is looked at, and cut off if its sequence is not all there yet.
   */
  static int completePrefix(byte[] b) {
    int n = b.length;
    for (int back = 1; back <= Math.min(4, n); back++) {
      int v = b[n - back] & 0xFF;
      if ((v & 0xC0) == 0x80) {
        continue; // a continuation byte: keep looking for its lead
      }
      int need = v >= 0xF0 ? 4 : v >= 0xE0 ? 3 : v >= 0xC0 ? 2 : 1;
      return need > back ? n - back : n;
    }
    return n; // four continuation bytes in a row: invalid anyway, let the decoder replace them
  }
}
