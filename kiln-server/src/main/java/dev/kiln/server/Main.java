package dev.kiln.server;

import dev.kiln.core.config.ConfigLoader;
import dev.kiln.core.config.KilnConfig;
import java.io.File;
import java.lang.System.Logger.Level;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The {@code kiln} command line. The {@code ./kiln} launcher finds a JDK 25 and runs this. */
@Command(
    name = "kiln",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "A model server for the JVM with its own honest benchmark tool.",
    subcommands = {Main.Serve.class, Main.Test.class, CommandLine.HelpCommand.class})
public final class Main implements Callable<Integer> {
  static {
    if (System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty(
          "java.util.logging.SimpleFormatter.format", "%1$tFT%1$tT.%1$tL %4$-7s %3$s - %5$s%6$s%n");
    }
  }

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public Integer call() {
    new CommandLine(this).usage(System.out);
    return 0;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {
        "kiln " + KilnServer.version(),
        "JVM " + System.getProperty("java.vm.name") + " " + Runtime.version()
      };
    }
  }

  @Command(
      name = "serve",
      mixinStandardHelpOptions = true,
      description = "Serve the models in a repository over HTTP (KServe v2, v1).",
      footer = {
        "",
        "Any config key can be set as --key=value, e.g. --server.admin-token=s3cret,",
        "or as an environment variable, e.g. KILN_REPOSITORY_POLL_INTERVAL=2s.",
        "Layers: embedded defaults < --config file < KILN_* environment < flags."
      })
  static final class Serve implements Callable<Integer> {
    private static final System.Logger LOG = System.getLogger(Serve.class.getName());

    @Option(
        names = "--model-repository",
        description = "Model repository directory (default: models)")
    Path repository;

    @Option(names = "--port", description = "HTTP port (default: 8080; 0 picks a free one)")
    Integer port;

    @Option(names = "--config", description = "YAML or JSON config file")
    Path config;

    @Option(names = "--model-control", description = "none, poll or explicit (default: none)")
    String modelControl;

    @CommandLine.Unmatched List<String> extra = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      Map<String, String> flags = new LinkedHashMap<>();
      for (String arg : extra) {
        if (!arg.startsWith("--") || !arg.contains("=")) {
          throw new CommandLine.ParameterException(
              new CommandLine(this), "unknown option '" + arg + "'; settings take --key=value");
        }
        int eq = arg.indexOf('=');
        flags.put(arg.substring(2, eq), arg.substring(eq + 1));
      }
      if (repository != null) {
        flags.put("repository.path", repository.toString());
      }
      if (port != null) {
        flags.put("server.port", port.toString());
      }
      if (modelControl != null) {
        flags.put("repository.model-control", modelControl);
      }
      KilnConfig cfg = ConfigLoader.load(config, flags);
      cfg = withHomeRepository(cfg, flags);
      LOG.log(Level.INFO, "effective config: {0}", cfg.redacted());
      KilnServer server = KilnServer.start(cfg);
      var stopped = new CountDownLatch(1);
      Runtime.getRuntime()
          .addShutdownHook(
              Thread.ofPlatform()
                  .name("kiln-shutdown")
                  .unstarted(() -> {
                    // JUL's own shutdown hook may already have closed the log handlers, so
                    // these two lines go to stderr directly.
                    System.err.println("kiln: SIGTERM: draining in-flight requests");
                    server.close();
                    System.err.println("kiln: stopped");
                    stopped.countDown();
                  }));
      stopped.await();
      return 0;
    }

    /**
     * The default repository "models" is relative to the working directory; when it is not there,
     * use the one beside the launcher, so {@code ./kiln serve} works from anywhere.
     */
    private KilnConfig withHomeRepository(KilnConfig cfg, Map<String, String> flags)
        throws Exception {
      Path path = cfg.repository().path();
      String home = System.getProperty("kiln.home");
      if (!path.isAbsolute() && !Files.isDirectory(path) && home != null) {
        Path candidate = Path.of(home).resolve(path);
        if (Files.isDirectory(candidate)) {
          flags.put("repository.path", candidate.toString());
          return ConfigLoader.load(config, flags);
        }
      }
      return cfg;
    }
  }

  @Command(
      name = "test",
      mixinStandardHelpOptions = true,
      description = "Run the test suite (./mvnw verify with this JDK): unit tests, ITs, format.")
  static final class Test implements Callable<Integer> {
    @CommandLine.Parameters(description = "extra Maven arguments")
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
      String home = System.getProperty("kiln.home", ".");
      List<String> cmd = new ArrayList<>(List.of(home + File.separator + "mvnw", "-B", "verify"));
      cmd.addAll(args);
      var pb = new ProcessBuilder(cmd).directory(new File(home)).inheritIO();
      pb.environment().put("JAVA_HOME", System.getProperty("java.home"));
      return pb.start().waitFor();
    }
  }
}
