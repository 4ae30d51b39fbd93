package dev.kiln.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * The setup the kiln bench ITs share: a fresh {@link StubServer} per test, kiln bench run in
 * process against it with its console captured in {@link #out}, and the report in {@link #dir}.
 */
abstract class AgainstStub {
  @TempDir Path dir;
  StubServer stub;
  final ByteArrayOutputStream out = new ByteArrayOutputStream();

  @BeforeEach
  void start() throws IOException {
    stub = new StubServer();
  }

  @AfterEach
  void stop() {
    stub.close();
  }

  /**
   * The flags this class's runs pass after the target, model, {@code --quiet} and {@code --out}.
   */
  abstract List<String> defaults();

  /** Runs kiln bench with the defaults, then {@code extra}; returns its exit code. */
  final int bench(String... extra) {
    List<String> args =
        new ArrayList<>(
            List.of("--target", stub.url(), "--model", "m", "--quiet", "--out", dir.toString()));
    args.addAll(defaults());
    args.addAll(List.of(extra));
    PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
    return BenchMain.execute(ps, ps, args.toArray(String[]::new));
  }

  final JsonNode report() throws IOException {
    return new ObjectMapper().readTree(dir.resolve("report.json").toFile());
  }
}
