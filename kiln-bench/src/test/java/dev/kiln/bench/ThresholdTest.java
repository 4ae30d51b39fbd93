package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class ThresholdTest {
  @Test
  void parse_latencyUnits_convertToMillis() {
    assertThat(Threshold.parse("p99<200ms").limit()).isEqualTo(200);
    assertThat(Threshold.parse("p99 < 1.5s").limit()).isEqualTo(1500);
    assertThat(Threshold.parse("p50<=250us").limit()).isEqualTo(0.25);
    assertThat(Threshold.parse("p99.9<3").limit()).isEqualTo(3);
  }

  @Test
  void parse_percent_isAFraction() {
    Threshold t = Threshold.parse("error_rate<1%");
    assertThat(t.limit()).isEqualTo(0.01);
    assertThat(t.op()).isEqualTo("<");
  }

  @Test
  void parse_unknownMetricOrTimeOnARate_throws() {
    assertThatThrownBy(() -> Threshold.parse("p42<1ms")).hasMessageContaining("unknown metric");
    assertThatThrownBy(() -> Threshold.parse("throughput>5ms")).hasMessageContaining("not a time");
    assertThatThrownBy(() -> Threshold.parse("p99")).hasMessageContaining("expected");
  }

  @Test
  void actual_readsTheCorrectedLatencyOfAStep() {
    ObjectNode step = new ObjectMapper().createObjectNode();
    step.putObject("latency_ms").putObject("corrected").put("p99", 150.0).put("p99_9", 400.0);
    step.put("throughput_rps", 900.0);

    assertThat(Threshold.parse("p99<200ms").passes(Threshold.parse("p99<200ms").actual(step)))
        .isTrue();
    Threshold tail = Threshold.parse("p99.9<300ms");
    assertThat(tail.passes(tail.actual(step))).isFalse();
    Threshold rps = Threshold.parse("throughput>=1000");
    assertThat(rps.passes(rps.actual(step))).isFalse();
  }

  @Test
  void passes_missingFigure_fails() {
    Threshold t = Threshold.parse("tokens_per_s>1");
    assertThat(t.passes(t.actual(new ObjectMapper().createObjectNode()))).isFalse();
  }

  @Test
  void duration_units_parse() {
    assertThat(Units.duration("10s").toMillis()).isEqualTo(10_000);
    assertThat(Units.duration("500ms").toMillis()).isEqualTo(500);
    assertThat(Units.duration("1.5m").toSeconds()).isEqualTo(90);
    assertThat(Units.duration("3").toSeconds()).isEqualTo(3);
    assertThatThrownBy(() -> Units.duration("ten")).isInstanceOf(IllegalArgumentException.class);
  }
}
