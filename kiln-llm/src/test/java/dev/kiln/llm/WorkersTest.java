package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class WorkersTest {
  @Test
  void run_manyTimes_everyMemberRunsEachTask() {
    try (Workers workers = new Workers(3, "test")) {
      AtomicIntegerArray hits = new AtomicIntegerArray(3);
      for (int i = 0; i < 300; i++) {
        workers.run((index, count) -> hits.incrementAndGet(index));
      }
      for (int m = 0; m < 3; m++) {
        assertThat(hits.get(m)).isEqualTo(300);
      }
    }
  }

  @Test
  void run_helperThrows_rethrowsOnCaller() {
    try (Workers workers = new Workers(2, "test")) {
      assertThatThrownBy(() ->
              workers.run((index, count) -> {
                if (index == 1) {
                  throw new IllegalStateException("boom");
                }
              }))
          .hasMessage("boom");
      workers.run((index, count) -> {}); // still usable
    }
  }

  @Test
  void run_afterHelpersParked_wakesThemAndEveryMemberRuns() throws InterruptedException {
    try (Workers workers = new Workers(3, "test")) {
      AtomicIntegerArray hits = new AtomicIntegerArray(3);
      for (int i = 0; i < 5; i++) {
        Thread.sleep(200); // long past the spinning: the helpers park (not a timing assertion)
        workers.run((index, count) -> hits.incrementAndGet(index));
      }
      for (int m = 0; m < 3; m++) {
        assertThat(hits.get(m)).isEqualTo(5);
      }
    }
  }

  @Test
  void ranges_coverAllItemsOnceInGrainUnits() {
    int n = 1000;
    int end = 0;
    for (int i = 0; i < 3; i++) {
      assertThat(Workers.from(n, 16, i, 3)).isEqualTo(end);
      assertThat(Workers.from(n, 16, i, 3) % 16).isZero();
      end = Workers.to(n, 16, i, 3);
    }
    assertThat(end).isEqualTo(n);
  }
}
