package dev.kiln.bench;

import java.io.IOException;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Where the server's resident memory (RSS) is read from during a run: {@code /proc/PID/status}
 * ({@code VmRSS}) for a local process, or the target's Prometheus {@code /metrics} ({@code
 * process_resident_memory_bytes}, which Kiln and any Prometheus client's process collector expose).
 */
sealed interface RssSource {
  /** The server's resident set size in bytes now. */
  long rssBytes() throws IOException, InterruptedException;

  /** For report.json: {@code proc:PID} or {@code metrics:URL}. */
  String describe();

  /** VmRSS of a local process, from /proc (Linux). */
  record Proc(long pid) implements RssSource {
    @Override
    public long rssBytes() throws IOException {
      for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
        if (line.startsWith("VmRSS:")) {
          String[] f = line.substring(6).trim().split("\\s+");
          long v = Long.parseLong(f[0]);
          return f.length > 1 && f[1].equalsIgnoreCase("kB") ? v * 1024 : v;
        }
      }
      throw new IOException("/proc/" + pid + "/status has no VmRSS line (a kernel thread?)");
    }

    @Override
    public String describe() {
      return "proc:" + pid;
    }
  }

  /** process_resident_memory_bytes from a Prometheus text-format endpoint. */
  record Metrics(HttpClient client, URI uri) implements RssSource {
    static final String METRIC = "process_resident_memory_bytes";

    @Override
    public long rssBytes() throws IOException, InterruptedException {
      HttpResponse<String> res =
          client.send(
              HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).GET().build(),
              HttpResponse.BodyHandlers.ofString());
      if (res.statusCode() != 200) {
        throw new IOException("GET " + uri + " answered " + res.statusCode());
      }
      return parse(res.body())
          .orElseThrow(() -> new IOException("GET " + uri + " has no " + METRIC + " sample"));
    }

    /** The first unlabelled or labelled sample of the metric, e.g. {@code ..._bytes 1.23E8}. */
    static OptionalLong parse(String text) {
      for (String line : text.split("\n")) {
        if (line.startsWith(METRIC) && line.length() > METRIC.length()) {
          char c = line.charAt(METRIC.length());
          if (c != ' ' && c != '{') {
            continue;
          }
          String rest =
              c == '{' ? line.substring(line.indexOf('}') + 1) : line.substring(METRIC.length());
          String value = rest.trim().split("\\s+")[0];
          try {
            return OptionalLong.of((long) Double.parseDouble(value));
          } catch (NumberFormatException e) {
            return OptionalLong.empty();
          }
        }
      }
      return OptionalLong.empty();
    }

    @Override
    public String describe() {
      return "metrics:" + uri;
    }
  }

  /**
   * The source {@code --memory} asks for: {@code off}; {@code proc} (the {@code --pid}, else the
   * local process listening on the target's port); {@code metrics} (the target's /metrics); or
   * {@code auto}, the first of those that answers. Empty when auto finds none; an {@link
   * IOException} when an explicitly named source does not answer.
   */
  static Optional<RssSource> resolve(BenchConfig cfg, HttpClient client)
      throws IOException, InterruptedException {
    BenchConfig.Memory mode = cfg.memory();
    if (mode == BenchConfig.Memory.OFF) {
      return Optional.empty();
    }
    if (mode != BenchConfig.Memory.METRICS) {
      OptionalLong pid =
          cfg.pid() != null ? OptionalLong.of(cfg.pid()) : localListener(cfg.target());
      if (pid.isPresent()) {
        Proc p = new Proc(pid.getAsLong());
        p.rssBytes(); // fails now, not in the middle of the run, when the pid is gone
        return Optional.of(p);
      }
      if (mode == BenchConfig.Memory.PROC) {
        throw new IOException(
            "--memory proc: no --pid given and no local process listens on " + cfg.target());
      }
    }
    Metrics m = new Metrics(client, cfg.target().resolve("/metrics"));
    try {
      m.rssBytes();
      return Optional.of(m);
    } catch (IOException e) {
      if (mode == BenchConfig.Memory.METRICS) {
        throw e;
      }
      return Optional.empty();
    }
  }

  /** The pid of the process listening on the target's TCP port, when the target is this host. */
  static OptionalLong localListener(URI target) {
    try {
      InetAddress host = InetAddress.getByName(target.getHost());
      if (!host.isLoopbackAddress() && !host.isAnyLocalAddress()) {
        return OptionalLong.empty();
      }
      int port =
          target.getPort() > 0 ? target.getPort() : "https".equals(target.getScheme()) ? 443 : 80;
      return listener(port);
    } catch (IOException e) {
      return OptionalLong.empty();
    }
  }

  /** Finds the socket inode listening on {@code port} in /proc/net/tcp{,6}, then its owner. */
  static OptionalLong listener(int port) throws IOException {
    String hexPort = String.format(Locale.ROOT, ":%04X", port);
    String inode = null;
    for (String table : List.of("/proc/net/tcp", "/proc/net/tcp6")) {
      Path p = Path.of(table);
      if (!Files.isReadable(p)) {
        continue;
      }
      for (String line : Files.readAllLines(p)) {
        String[] f = line.trim().split("\\s+");
        // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
        if (f.length > 9 && f[1].endsWith(hexPort) && f[3].equals("0A")) {
          inode = f[9];
          break;
        }
      }
      if (inode != null) {
        break;
      }
    }
    if (inode == null || inode.equals("0")) {
      return OptionalLong.empty();
    }
    String link = "socket:[" + inode + "]";
    try (DirectoryStream<Path> procs = Files.newDirectoryStream(Path.of("/proc"), "[0-9]*")) {
      for (Path proc : procs) {
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(proc.resolve("fd"))) {
          for (Path fd : fds) {
            try {
              if (Files.readSymbolicLink(fd).toString().equals(link)) {
                return OptionalLong.of(Long.parseLong(proc.getFileName().toString()));
              }
            } catch (NoSuchFileException ignored) {
              // the fd closed while we looked
            }
          }
        } catch (IOException | SecurityException ignored) {
          // another user's process, or it exited
        }
      }
    }
    return OptionalLong.empty();
  }
}
