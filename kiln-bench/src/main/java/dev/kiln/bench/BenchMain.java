package dev.kiln.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code kiln bench}: runs load against a server and writes DIR/report.json and DIR/report.html.
 * Exit codes: 0 all thresholds passed, 1 a threshold failed, 2 bad usage, 3 the run could not start
 * (server unreachable, no metadata).
 */
@Command(
    name = "kiln bench",
    mixinStandardHelpOptions = true,
    version = "kiln-bench 0.1.0",
    subcommands = CompareCommand.class,
    description = {
      "Open-loop HTTP load generator: latency measured from each request's intended send time"
          + " (corrected for coordinated omission) and from its actual send (uncorrected).",
      "  kiln bench --target http://127.0.0.1:8080 --protocol v2 --model M --rate 1000"
          + " --duration 10s --out DIR",
      "  kiln bench compare a.json b.json [--max-regression 10%%]"
    })
public final class BenchMain implements Callable<Integer> {
  static final int EXIT_THRESHOLD = 1;
  static final int EXIT_USAGE = 2;
  static final int EXIT_RUN = 3;

  @Option(names = "--target", description = "Server base URL, e.g. http://127.0.0.1:8080")
  String target;

  @Option(names = "--protocol", description = "v2 (default), v1 or openai")
  String protocol;

  @Option(names = "--model", description = "Model name")
  String model;

  @Option(
      names = "--rate",
      split = ",",
      description = "Open loop: requests per second; a comma list is a sweep")
  List<Double> rate;

  @Option(
      names = "--concurrency",
      split = ",",
      description = "Closed loop: clients sending back to back; a comma list is a sweep")
  List<Integer> concurrency;

  @Option(names = "--duration", description = "Measured time per step (default 10s)")
  String duration;

  @Option(names = "--warmup", description = "Unmeasured time before each step (default 2s)")
  String warmup;

  @Option(names = "--ramp", description = "Open loop: rise linearly to the rate over this time")
  String ramp;

  @Option(names = "--arrival", description = "Open loop: constant (default) or poisson")
  String arrival;

  @Option(
      names = "--connections",
      description = "Open loop: keep-alive connections, one request at a time each (default 64)")
  Integer connections;

  @Option(
      names = "--max-backlog",
      description =
          "Open loop: arrivals that may wait for a free connection (default 10 x connections);"
              + " beyond it an arrival is dropped")
  Integer maxBacklog;

  @Option(names = "--client", description = "raw (default: HTTP/1.1 on sockets) or jdk")
  String client;

  @Option(
      names = "--io-threads",
      description = "platform (default) or virtual: the thread that drives each connection")
  String ioThreads;

  @Option(names = "--body", description = "Send this file as every request's body (JSON)")
  Path body;

  @Option(
      names = "--stream",
      description = "openai: stream the completion (SSE) and time first token and each chunk")
  boolean stream;

  @Option(
      names = "--binary",
      description =
          "v2: send inputs and ask for outputs as Triton binary tensor data"
              + " (Inference-Header-Content-Length, raw little-endian bytes after the JSON)")
  boolean binary;

  @Option(names = "--timeout", description = "Per-request timeout (default 30s)")
  String timeout;

  @Option(
      names = {"--batch", "--batch-size"},
      split = ",",
      description = "Rows per request (default 1); a comma list is a sweep")
  List<Integer> batch;

  @Option(
      names = "--input-tokens",
      split = ",",
      description = "openai: prompt length in tokens instead of --prompt; a comma list is a sweep")
  List<Integer> inputTokens;

  @Option(
      names = "--memory",
      description =
          "Server RSS sampling: auto (default: --pid or the local process on the target's port,"
              + " else the target's /metrics), proc, metrics or off")
  String memory;

  @Option(names = "--pid", description = "Sample this local process's RSS from /proc")
  Long pid;

  @Option(names = "--memory-interval", description = "RSS sampling interval (default 1s)")
  String memoryInterval;

  @Option(
      names = "--soak",
      description =
          "A soak: one long step of this duration (overrides --duration) whose RSS must be"
              + " sampled; use with --threshold 'leak_mb_per_hour<50'")
  String soak;

  @Option(names = "--features", description = "Values per row (default: model metadata)")
  Integer features;

  @Option(names = "--csv", description = "Take rows from this CSV (a header line is skipped)")
  Path csv;

  @Option(names = "--min", description = "Random rows: lower bound (default 0)")
  Double min;

  @Option(names = "--max", description = "Random rows: upper bound (default 1)")
  Double max;

  @Option(names = "--prompt", description = "openai: the prompt (default 'Hello')")
  String prompt;

  @Option(names = "--max-tokens", description = "openai: max_tokens (default 16)")
  Integer maxTokens;

  @Option(
      names = "--threshold",
      description = "Pass/fail condition, repeatable: 'p99<200ms', 'error_rate<1%%'")
  List<String> thresholds;

  @Option(names = "--scenario", description = "YAML or JSON file with the same settings")
  Path scenario;

  @Option(names = "--out", description = "Directory for report.json and report.html")
  Path out;

  @Option(names = "--seed", description = "Random seed for rows and Poisson arrivals")
  Long seed;

  @Option(names = "--quiet", description = "No progress line")
  boolean quiet;

  private final PrintStream stdout;
  private final PrintStream stderr;

  BenchMain(PrintStream stdout, PrintStream stderr) {
    this.stdout = stdout;
    this.stderr = stderr;
  }

  public static void main(String[] args) {
    System.exit(execute(System.out, System.err, args));
  }

  /** Runs the CLI with the given streams; returns the exit code (also used by Kiln's ITs). */
  public static int execute(PrintStream out, PrintStream err, String... args) {
    CommandLine cl = new CommandLine(new BenchMain(out, err));
    cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      if (e instanceof IllegalArgumentException) {
        cmd.getErr().println("kiln bench: " + e.getMessage());
        return EXIT_USAGE;
      }
      if (e instanceof IOException) {
        cmd.getErr().println("kiln bench: " + e.getMessage());
        return EXIT_RUN;
      }
      throw e;
    });
    return cl.execute(args);
  }

  @Override
  public Integer call() throws Exception {
    PrintStream out = stdout;
    PrintStream err = stderr;
    BenchConfig cfg = config();
    HttpClient client =
        HttpClient.newBuilder()
            .version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(10))
            .build();
    try (client) {
      List<BenchConfig.Step> plan = cfg.steps();
      Payload payload = Payload.create(cfg, client, plan.getFirst());
      Optional<RssSource> memory = RssSource.resolve(cfg, client);
      if (cfg.soak() && memory.isEmpty()) {
        throw new IOException(
            "--soak: cannot sample the server's memory (no --pid, no local process on the"
                + " target's port, no process_resident_memory_bytes at /metrics)");
      }
      ObjectNode report = Report.start(cfg, payload);
      report.put("memory_source", memory.map(RssSource::describe).orElse(null));
      ArrayNode steps = report.putArray("steps");
      LoadRunner runner = new LoadRunner(cfg, quiet ? nullStream() : err);
      BenchConfig.Step previous = null;
      Transport transport = null;
      try {
        for (BenchConfig.Step step : plan) {
          if (previous == null
              || previous.batch() != step.batch()
              || previous.inputTokens() != step.inputTokens()) {
            if (transport != null) {
              transport.close();
              payload = Payload.create(cfg, client, step);
            }
            transport =
                cfg.client() == BenchConfig.Client.JDK
                    ? new JdkTransport(client, payload, cfg.timeout())
                    : new RawTransport(payload, cfg.timeout());
          }
          previous = step;
          ObjectNode result = runner.run(step, transport, payload, memory);
          steps.add(result);
          Report.printStep(out, result);
        }
      } finally {
        if (transport != null) {
          transport.close();
        }
      }
      Report.summarise(out, report);
      boolean passed = Report.evaluate(cfg, report);
      Report.printThresholds(out, report);
      Files.createDirectories(cfg.out());
      Path json = cfg.out().resolve("report.json");
      new ObjectMapper()
          .enable(SerializationFeature.INDENT_OUTPUT)
          .writeValue(json.toFile(), report);
      Path html = cfg.out().resolve("report.html");
      Files.writeString(html, HtmlReport.render(report), StandardCharsets.UTF_8);
      out.println("wrote " + json + " and " + html);
      return passed ? 0 : EXIT_THRESHOLD;
    }
  }

  private static PrintStream nullStream() {
    return new PrintStream(java.io.OutputStream.nullOutputStream());
  }

  /** Defaults, then the scenario file, then the flags. */
  BenchConfig config() throws IOException {
    Scenario s =
        scenario == null
            ? new Scenario(
                null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null, null, null, null)
            : Scenario.read(scenario);
    Scenario.Payload p =
        s.payload() == null
            ? new Scenario.Payload(null, null, null, null, null, null, null, null, null)
            : s.payload();
    Path base = scenario == null ? Path.of(".") : scenario.toAbsolutePath().getParent();
    boolean cliLoad = rate != null || concurrency != null;
    List<Double> rates = cliLoad ? orEmpty(rate) : orEmpty(s.rate());
    List<Integer> clients = cliLoad ? orEmpty(concurrency) : orEmpty(s.concurrency());
    String outDir = first(out == null ? null : out.toString(), s.out(), null);
    Path csvPath = csv != null ? csv : p.csv() == null ? null : base.resolve(p.csv());
    Path bodyPath = body != null ? body : p.body() == null ? null : base.resolve(p.body());
    int conns = first(connections, s.connections(), 64);
    String soakFor = first(soak, s.soak(), null);
    java.time.Duration soakDuration = soakFor == null ? null : Units.duration(soakFor);
    String interval =
        first(
            memoryInterval,
            s.memoryInterval(),
            soakDuration == null
                ? "1s"
                : Math.max(1, soakDuration.toSeconds() / 600) + "s"); // ~600 samples a soak
    return new BenchConfig(
        uri(first(target, s.target(), null)),
        Protocol.parse(first(protocol, s.protocol(), "v2")),
        first(model, s.model(), null),
        batch != null ? orEmpty(batch) : s.batch() != null ? orEmpty(s.batch()) : List.of(1),
        inputTokens != null ? orEmpty(inputTokens) : orEmpty(s.inputTokens()),
        rates,
        clients,
        soakDuration != null ? soakDuration : Units.duration(first(duration, s.duration(), "10s")),
        Units.duration(first(warmup, s.warmup(), "2s")),
        Units.duration(first(ramp, s.ramp(), "0s")),
        Schedule.Arrival.valueOf(
            first(arrival, s.arrival(), "constant").toUpperCase(java.util.Locale.ROOT)),
        conns,
        Units.duration(first(timeout, s.timeout(), "30s")),
        (thresholds != null ? thresholds : orEmpty(s.thresholds()))
            .stream().map(Threshold::parse).toList(),
        csvPath,
        first(features, p.features(), null),
        first(min, p.min(), 0.0),
        first(max, p.max(), 1.0),
        first(prompt, p.prompt(), "Hello"),
        first(maxTokens, p.maxTokens(), 16),
        outDir == null ? null : Path.of(outDir),
        first(seed, s.seed(), 42L),
        BenchConfig.Client.parse(first(client, s.client(), "raw")),
        first(maxBacklog, s.maxBacklog(), 10 * conns),
        bodyPath,
        stream || Boolean.TRUE.equals(p.stream()),
        binary || Boolean.TRUE.equals(p.binary()),
        BenchConfig.IoThreads.parse(first(ioThreads, s.ioThreads(), "platform")),
        BenchConfig.Memory.parse(first(memory, s.memory(), "auto")),
        first(pid, s.pid(), null),
        Units.duration(interval),
        soakDuration != null);
  }

  private static URI uri(String s) {
    if (s == null) {
      return null;
    }
    URI u = URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s);
    if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
      throw new IllegalArgumentException("--target must be an http(s) URL, was " + s);
    }
    return u;
  }

  @SafeVarargs
  private static <T> T first(T... values) {
    for (T v : values) {
      if (v != null) {
        return v;
      }
    }
    return null;
  }

  private static <T> List<T> orEmpty(List<T> l) {
    return l == null ? List.of() : l.stream().filter(Objects::nonNull).toList();
  }
}
