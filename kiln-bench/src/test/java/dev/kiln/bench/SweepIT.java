package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Sweeps over batch size, input length and load level, one step per combination. */
class SweepIT extends AgainstStub {
  @Override
  List<String> defaults() {
    return List.of("--warmup", "0s", "--memory", "off");
  }

  @Test
  void batchAndConcurrencySweep_oneStepPerCombination_withItsOwnRows() throws IOException {
    int exit = bench("--concurrency", "1,2", "--batch-size", "1,8", "--duration", "500ms");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode steps = report().path("steps");
    assertThat(steps).hasSize(4);
    List<String> labels = new ArrayList<>();
    steps.forEach(s -> labels.add(s.path("label").asText()));
    assertThat(labels)
        .containsExactly(
            "concurrency 1, batch 1",
            "concurrency 2, batch 1",
            "concurrency 1, batch 8",
            "concurrency 2, batch 8");
    for (JsonNode s : steps) {
      int batch = s.path("batch").asInt();
      assertThat(s.path("rows_per_s").asDouble())
          .isCloseTo(
              s.path("throughput_rps").asDouble() * batch,
              org.assertj.core.api.Assertions.within(0.2 * batch));
    }
    // the server saw both request shapes, the batch-1 steps first
    List<Integer> rows = stub.rowsSeen();
    assertThat(rows).containsOnly(1, 8);
    assertThat(rows.getFirst()).isEqualTo(1);
    assertThat(rows.getLast()).isEqualTo(8);
    // the sweep table: console and JSON
    assertThat(report().path("sweep")).hasSize(4);
    assertThat(report().at("/sweep/3/batch").asInt()).isEqualTo(8);
    assertThat(report().at("/sweep/3/load").asDouble()).isEqualTo(2);
    assertThat(out.toString()).contains("== sweep").contains("concurrency 2, batch 8");
    String html = Files.readString(dir.resolve("report.html"));
    assertThat(html)
        .contains("Throughput vs concurrency")
        .contains("Throughput vs batch size (rows)")
        .contains("rows/s");
  }

  @Test
  void inputTokensSweep_openai_promptOfThatManyWords() throws IOException {
    int exit =
        bench(
            "--protocol",
            "openai",
            "--rate",
            "20",
            "--input-tokens",
            "3,12",
            "--duration",
            "500ms");

    assertThat(exit).as(out.toString()).isZero();
    JsonNode steps = report().path("steps");
    assertThat(steps).hasSize(2);
    assertThat(steps.get(0).path("label").asText()).isEqualTo("rate 20/s, 3 input tokens");
    // the stub's usage.prompt_tokens counts the prompt's words
    assertThat(steps.get(0).path("prompt_tokens_mean").asDouble()).isEqualTo(3);
    assertThat(steps.get(1).path("prompt_tokens_mean").asDouble()).isEqualTo(12);
    // every request its own prompt, across both steps: a prompt cache has nothing to reuse
    var prompts = stub.promptsSeen();
    assertThat(prompts).hasSizeGreaterThan(10).doesNotHaveDuplicates();
    assertThat(Files.readString(dir.resolve("report.html"))).contains("Throughput vs input tokens");
  }

  @Test
  void scenario_listsOfBatchAndRate_sweep() throws IOException {
    Path scenario = dir.resolve("s.yaml");
    Files.writeString(
        scenario,
        "target: " + stub.url() + "\nmodel: m\nrate: [20, 40]\nbatch: [2, 4]\nduration: 500ms\n");
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    int exit =
        BenchMain.execute(
            ps,
            ps,
            "--scenario",
            scenario.toString(),
            "--warmup",
            "0s",
            "--quiet",
            "--memory",
            "off",
            "--out",
            dir.toString());

    assertThat(exit).as(out.toString()).isZero();
    assertThat(report().path("steps")).hasSize(4);
    assertThat(stub.rowsSeen()).containsOnly(2, 4);
  }

  @Test
  void inputTokens_v2_isAUsageError() {
    int exit = bench("--rate", "10", "--input-tokens", "8", "--duration", "1s");

    assertThat(exit).isEqualTo(BenchMain.EXIT_USAGE);
    assertThat(out.toString()).contains("--input-tokens applies to --protocol openai only");
  }
}
