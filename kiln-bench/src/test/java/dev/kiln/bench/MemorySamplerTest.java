package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class MemorySamplerTest {
  @Test
  void leakSlope_straightLine_isItsSlopePerHour() {
    // 100 MB + 0.5 MB/s, sampled every 2 s for a minute: 1800 MB/hour
    List<MemorySampler.Sample> s =
        java.util.stream.IntStream.range(0, 31)
            .mapToObj(i -> new MemorySampler.Sample(2.0 * i, 100 + 0.5 * 2 * i))
            .toList();
    assertThat(MemorySampler.leakMbPerHour(s)).isCloseTo(1800, within(1e-6));
  }

  @Test
  void leakSlope_warmUpSamplesExcluded() {
    // the heap grows 50 MB during the warm-up (t < 0), then stays flat
    List<MemorySampler.Sample> s =
        List.of(
            new MemorySampler.Sample(-2, 100),
            new MemorySampler.Sample(-1, 150),
            new MemorySampler.Sample(0, 150),
            new MemorySampler.Sample(1, 150),
            new MemorySampler.Sample(2, 150));
    assertThat(MemorySampler.leakMbPerHour(s)).isZero();
  }

  @Test
  void leakSlope_noisySamples_leastSquaresNotEndpoints() {
    // endpoints alone would say (101 - 99) / 3 s; the fit of 99,101,99,101 at t=0..3 is 0.4 MB/s
    List<MemorySampler.Sample> s =
        List.of(
            new MemorySampler.Sample(0, 99),
            new MemorySampler.Sample(1, 101),
            new MemorySampler.Sample(2, 99),
            new MemorySampler.Sample(3, 101));
    assertThat(MemorySampler.leakMbPerHour(s)).isCloseTo(0.4 * 3600, within(1e-6));
  }

  @Test
  void leakSlope_fewerThanTwoMeasuredSamples_isNaN() {
    assertThat(MemorySampler.leakMbPerHour(List.of(new MemorySampler.Sample(0, 1)))).isNaN();
  }

  @Test
  void metricsParse_prometheusText_readsTheResidentBytes() {
    String text =
        """
        # HELP process_resident_memory_bytes Resident memory size in bytes.
        # TYPE process_resident_memory_bytes gauge
        process_resident_memory_bytes_total_bogus 1
        process_resident_memory_bytes 2.54337024E8
        """;
    assertThat(RssSource.Metrics.parse(text)).hasValue(254337024L);
    assertThat(RssSource.Metrics.parse("process_resident_memory_bytes{pod=\"a\"} 42 1700000000"))
        .hasValue(42L);
    assertThat(RssSource.Metrics.parse("jvm_memory_used_bytes 1")).isEmpty();
  }

  @Test
  void proc_ownPid_readsVmRssOfThisJvm() throws Exception {
    long rss = new RssSource.Proc(ProcessHandle.current().pid()).rssBytes();
    // a running JVM is resident in more than 10 MB and (here) less than its own reserved heap
    assertThat(rss).isGreaterThan(10L << 20).isLessThan(Runtime.getRuntime().maxMemory() * 4);
  }

  @Test
  void listener_portOfAServerInThisJvm_findsThisProcess() throws Exception {
    try (var socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      assertThat(RssSource.listener(socket.getLocalPort())).hasValue(ProcessHandle.current().pid());
    }
  }
}
