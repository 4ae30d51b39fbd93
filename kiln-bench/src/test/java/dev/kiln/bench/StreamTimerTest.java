package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** SSE timing from chunks with chosen arrival times (no sockets, no clock). */
class StreamTimerTest {
  private static final long MS = 1_000_000;

  private static void feed(StreamTimer t, String text, long atMillis) {
    byte[] b = text.getBytes(StandardCharsets.UTF_8);
    t.body(b, 0, b.length, atMillis * MS);
  }

  private static String token(String text) {
    return "data: {\"choices\":[{\"index\":0,\"text\":\"" + text + "\"}]}\n\n";
  }

  @Test
  void timings_fourTokensWithUsage_ttftTpotAndEveryGap() {
    StreamTimer t = new StreamTimer(0);

    feed(t, token("a"), 100);
    feed(t, token("b"), 120);
    feed(t, token("c"), 150);
    feed(t, token("d"), 160);
    feed(t, "data: {\"choices\":[],\"usage\":{\"completion_tokens\":4}}\n\ndata: [DONE]\n\n", 161);

    assertThat(t.ttftNanos()).isEqualTo(100 * MS);
    assertThat(t.interTokenNanos()).containsExactly(20 * MS, 30 * MS, 10 * MS);
    assertThat(t.tpotNanos()).isEqualTo(20 * MS); // (160 - 100) / (4 - 1): the first is excluded
    assertThat(t.tokens()).isEqualTo(4);
  }

  @Test
  void timings_usageCountsMoreTokensThanChunks_tpotUsesUsage() {
    StreamTimer t = new StreamTimer(10 * MS);

    feed(t, token("two tokens"), 50);
    feed(t, token("two more"), 110);
    feed(t, "data: {\"usage\":{\"completion_tokens\":4}}\n\n", 111);

    assertThat(t.ttftNanos()).isEqualTo(40 * MS);
    assertThat(t.tpotNanos()).isEqualTo(20 * MS); // 60 ms over 3 tokens after the first
    assertThat(t.interTokenNanos()).containsExactly(60 * MS);
  }

  @Test
  void body_eventSplitAcrossReadsWithCrLf_timedWhenItCompletes() {
    StreamTimer t = new StreamTimer(0);
    String event = token("x").replace("\n", "\r\n");

    feed(t, event.substring(0, 7), 5);
    feed(t, event.substring(7), 9);

    assertThat(t.textEvents()).isEqualTo(1);
    assertThat(t.ttftNanos()).isEqualTo(9 * MS);
  }

  @Test
  void body_chatDeltaAndRoleOnlyChunk_countsOnlyContent() {
    StreamTimer t = new StreamTimer(0);

    feed(t, "data: {\"choices\":[{\"delta\":{\"role\":\"assistant\"}}]}\n\n", 3);
    feed(t, "data: {\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}\n\n", 7);
    feed(t, ": keep-alive comment\n\ndata: [DONE]\n\n", 8);

    assertThat(t.textEvents()).isEqualTo(1);
    assertThat(t.ttftNanos()).isEqualTo(7 * MS);
    assertThat(t.tokens()).isEqualTo(1);
    assertThat(t.tpotNanos()).isEqualTo(-1);
  }
}
