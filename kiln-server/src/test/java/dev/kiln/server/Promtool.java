package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs Prometheus's {@code promtool} (Debian package {@code prometheus}; .ci/run installs it). A
 * missing promtool fails the test with the command to install it: these checks never skip.
 */
final class Promtool {
  private Promtool() {}

  static String find() {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path p = Path.of(dir.isEmpty() ? "." : dir, "promtool");
      if (Files.isExecutable(p)) {
        return p.toString();
      }
    }
    throw new AssertionError(
        "promtool is not installed, and these tests need it. Install it with: "
            + "apt-get install -y prometheus   (.ci/run does this when promtool is missing)");
  }

  /** The exit code and combined output of {@code promtool args...}, fed {@code stdin}. */
  record Result(int exit, String output) {}

  static Result run(byte[] stdin, String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(find());
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    try (var in = p.getOutputStream()) {
      in.write(stdin);
    }
    byte[] out = p.getInputStream().readAllBytes();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("promtool finished").isTrue();
    return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
  }
}
