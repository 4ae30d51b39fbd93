package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * report.html as a browser draws it: headless Chromium screenshots a report from a short run
 * against {@link StubServer}, and the PNG must show the chart lines. Counting pixels of the three
 * series colours tells drawn data (a polyline across the plot, hundreds of pixels) from empty
 * charts (only the 18-pixel legend swatches); the second test proves the check fails on a report
 * whose charts have no data. Fails when no Chromium is installed ({@code ./kiln test} installs it).
 */
class ReportScreenshotIT {
  /** Pixels of one series colour that only a drawn line, not the legend swatches, reaches. */
  static final int MIN_LINE_PIXELS = 300;

  static final int[][] SERIES = {
    {0xd6, 0x27, 0x28}, // corrected, p99
    {0x1f, 0x77, 0xb4}, // uncorrected, p50
    {0x2c, 0xa0, 0x2c}, // throughput
    {0x94, 0x67, 0xbd}, // server RSS (HtmlSweep.RSS)
    {0xff, 0x7f, 0x0e} // leak fit (HtmlSweep.FIT)
  };

  @TempDir static Path dir;
  static Path reportJson;

  @BeforeAll
  static void runBench() throws IOException {
    try (StubServer stub = new StubServer()) {
      ByteArrayOutputStream out = new ByteArrayOutputStream();
      PrintStream ps = new PrintStream(out, true, StandardCharsets.UTF_8);
      int exit =
          BenchMain.execute(
              ps,
              ps,
              "--target",
              stub.url(),
              "--model",
              "m",
              "--rate",
              "100",
              "--duration",
              "3s",
              "--warmup",
              "0s",
              "--quiet",
              "--out",
              dir.resolve("run").toString());
      assertThat(exit).as(out.toString()).isZero();
    }
    reportJson = dir.resolve("run/report.json");
  }

  static Optional<Path> chromium() {
    for (String name : List.of("chromium", "chromium-browser", "google-chrome")) {
      for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
        Path p = Path.of(d, name);
        if (Files.isExecutable(p)) {
          return Optional.of(p);
        }
      }
    }
    return Optional.empty();
  }

  static BufferedImage screenshot(Path html, Path png) throws IOException, InterruptedException {
    Path browser = chromium().orElseThrow();
    Path profile = Files.createTempDirectory(dir, "chromium-profile");
    List<String> cmd =
        new ArrayList<>(
            List.of(
                browser.toString(),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--hide-scrollbars",
                "--user-data-dir=" + profile,
                "--screenshot=" + png,
                "--window-size=1200,2000",
                html.toUri().toString()));
    Path log = dir.resolve(png.getFileName() + ".log");
    Process p =
        new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    if (!p.waitFor(120, TimeUnit.SECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("chromium did not finish in 120 s: " + Files.readString(log));
    }
    assertThat(png).as("screenshot; chromium said: %s", Files.readString(log)).isNotEmptyFile();
    // Kept beside the build output so a person can look at it.
    Files.createDirectories(Path.of("target"));
    Files.copy(
        png, Path.of("target", png.getFileName().toString()), StandardCopyOption.REPLACE_EXISTING);
    return ImageIO.read(png.toFile());
  }

  /**
   * How many pixels are each series colour drawn over the white page at 30% opacity or more. An
   * anti-aliased line (a horizontal one on a half-pixel row has no pixel of the exact colour) is a
   * blend {@code white + a (colour - white)} with the same {@code a} in all three channels; text
   * and grid lines are not, so the dark red warning text does not count as the red series.
   */
  static int[] seriesPixels(BufferedImage img) {
    int[] counts = new int[SERIES.length];
    double[] alpha = new double[3];
    for (int y = 0; y < img.getHeight(); y++) {
      for (int x = 0; x < img.getWidth(); x++) {
        int rgb = img.getRGB(x, y);
        int[] px = {(rgb >> 16) & 0xff, (rgb >> 8) & 0xff, rgb & 0xff};
        for (int s = 0; s < SERIES.length; s++) {
          double mean = 0;
          for (int c = 0; c < 3; c++) {
            alpha[c] = (255.0 - px[c]) / (255 - SERIES[s][c]);
            mean += alpha[c] / 3;
          }
          boolean blend = mean >= 0.3 && mean <= 1.1;
          for (int c = 0; c < 3 && blend; c++) {
            blend = Math.abs(alpha[c] - mean) <= 0.12;
          }
          if (blend) {
            counts[s]++;
          }
        }
      }
    }
    return counts;
  }

  @Test
  void screenshot_reportFromARun_showsEveryChartLine() throws Exception {
    assertThat(chromium())
        .as("chromium is required (./kiln test installs it: tools/test-deps.sh)")
        .isPresent();

    BufferedImage img =
        screenshot(dir.resolve("run/report.html"), dir.resolve("report-screenshot.png"));

    assertThat(img.getWidth()).isEqualTo(1200);
    int[] counts = seriesPixels(img);
    assertThat(counts[0]).as("red pixels (corrected / p99 lines)").isGreaterThan(MIN_LINE_PIXELS);
    assertThat(counts[1]).as("blue pixels (uncorrected / p50)").isGreaterThan(MIN_LINE_PIXELS);
    assertThat(counts[2]).as("green pixels (throughput line)").isGreaterThan(MIN_LINE_PIXELS);
    // the stub runs in this JVM, so --memory auto samples this process's VmRSS
    assertThat(counts[3]).as("purple pixels (server RSS)").isGreaterThan(MIN_LINE_PIXELS);
    // (the leak fit line is not counted: on a flat RSS it lies on the purple line)
  }

  @Test
  void screenshot_chartsWithoutData_failTheCheck() throws Exception {
    assertThat(chromium())
        .as("chromium is required (./kiln test installs it: tools/test-deps.sh)")
        .isPresent();
    ObjectMapper mapper = new ObjectMapper();
    ObjectNode report = (ObjectNode) mapper.readTree(reportJson.toFile());
    for (var step : report.withArray("steps")) {
      ObjectNode s = (ObjectNode) step;
      s.putArray("timeline");
      ObjectNode spectrum = s.putObject("spectrum");
      spectrum.set("corrected", mapper.createArrayNode());
      spectrum.set("uncorrected", mapper.createArrayNode());
      if (s.has("memory")) {
        ((ObjectNode) s.path("memory")).putArray("samples");
        ((ObjectNode) s.path("memory")).putNull("leak_mb_per_hour");
      }
    }
    assertThat(report.withArray("steps")).isInstanceOf(ArrayNode.class).isNotEmpty();
    Path html = dir.resolve("empty.html");
    Files.writeString(html, HtmlReport.render(report), StandardCharsets.UTF_8);

    BufferedImage img = screenshot(html, dir.resolve("report-empty-screenshot.png"));

    int[] counts = seriesPixels(img);
    for (int c : counts) {
      assertThat(c).isLessThan(MIN_LINE_PIXELS);
    }
  }
}
