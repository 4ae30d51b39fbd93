package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CompareCommandTest {
  @TempDir Path dir;
  final ObjectMapper mapper = new ObjectMapper();
  final ByteArrayOutputStream out = new ByteArrayOutputStream();

  private Path report(
      String name, double p50, double p99, double rps, double errorRate, boolean passed)
      throws IOException {
    ObjectNode r = mapper.createObjectNode();
    ObjectNode s = r.putArray("steps").addObject();
    s.put("label", "rate 100/s");
    s.putObject("latency_ms").putObject("corrected").put("p50", p50).put("p99", p99);
    s.put("throughput_rps", rps);
    s.put("error_rate", errorRate);
    ObjectNode t = r.putArray("thresholds").addObject();
    t.put("threshold", "p99<200ms").put("step", "rate 100/s").put("actual", p99);
    t.put("passed", passed);
    Path p = dir.resolve(name);
    mapper.writeValue(p.toFile(), r);
    return p;
  }

  private int compare(Path a, Path b, String... extra) {
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    String[] args = new String[3 + extra.length];
    args[0] = "compare";
    args[1] = a.toString();
    args[2] = b.toString();
    System.arraycopy(extra, 0, args, 3, extra.length);
    return BenchMain.execute(ps, ps, args);
  }

  @Test
  void compare_withinAllowance_exitZero() throws IOException {
    Path a = report("a.json", 1.0, 10.0, 1000, 0, true);
    Path b = report("b.json", 1.05, 10.9, 950, 0, true);

    assertThat(compare(a, b)).as(out.toString()).isZero();
    assertThat(out.toString()).contains("no regression");
  }

  @Test
  void compare_p99Regressed_exitOne() throws IOException {
    Path a = report("a.json", 1.0, 10.0, 1000, 0, true);
    Path b = report("b.json", 1.0, 12.0, 1000, 0, true);

    assertThat(compare(a, b)).as(out.toString()).isEqualTo(1);
    assertThat(out.toString()).contains("REGRESSION");
  }

  @Test
  void compare_largerAllowance_acceptsTheSameChange() throws IOException {
    Path a = report("a.json", 1.0, 10.0, 1000, 0, true);
    Path b = report("b.json", 1.0, 12.0, 1000, 0, true);

    assertThat(compare(a, b, "--max-regression", "25%")).as(out.toString()).isZero();
  }

  @Test
  void compare_throughputDropOrErrors_exitOne() throws IOException {
    Path a = report("a.json", 1.0, 10.0, 1000, 0, true);

    assertThat(compare(a, report("b.json", 1.0, 10.0, 800, 0, true))).isEqualTo(1);
    assertThat(compare(a, report("c.json", 1.0, 10.0, 1000, 0.05, true))).isEqualTo(1);
  }

  @Test
  void compare_candidateFailedItsThreshold_exitOne() throws IOException {
    Path a = report("a.json", 1.0, 10.0, 1000, 0, true);
    Path b = report("b.json", 1.0, 10.0, 1000, 0, false);

    assertThat(compare(a, b)).as(out.toString()).isEqualTo(1);
  }
}
