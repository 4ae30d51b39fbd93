package dev.kiln.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one step of load and records it.
 *
 * <p>Open loop: a platform thread walks the {@link Schedule}, parks until each request's intended
 * send time and puts that time into a bounded queue, without waiting for earlier responses. A fixed
 * set of workers, one per connection ({@code --connections}), each take the next intended time,
 * send and read the response, and take again. When every connection is busy an arrival waits in the
 * queue; it is dropped (and counted) only when {@code --max-backlog} arrivals already wait. Latency
 * is recorded twice: from the intended send time (corrected: what a user arriving on schedule would
 * have waited, including any wait for a connection and any stall) and from the actual send
 * (uncorrected, what a closed-loop tool reports).
 *
 * <p>Workers are platform threads by default ({@code --io-threads}): on two shared cores a blocking
 * read woken by the kernel cost ~30% less client CPU per request than a virtual thread parked and
 * unparked through the JDK's poller, and its median latency was 5x lower.
 *
 * <p>Closed loop: {@code concurrency} workers, each with its own connection, send back to back. Its
 * latency cannot be corrected (there is no schedule to miss), so corrected and uncorrected are the
 * same.
 */
final class LoadRunner {
  /** Tells an open-loop worker that the schedule is over. */
  private static final long END = Long.MIN_VALUE;

  private final BenchConfig cfg;
  private final PrintStream progress;
  private final AtomicLong requestIndex = new AtomicLong();
  private Transport transport;

  LoadRunner(BenchConfig cfg, PrintStream progress) {
    this.cfg = cfg;
    this.progress = progress;
  }

  /**
   * Runs one step through {@code transport} (whose payload is the step's), sampling the server's
   * RSS from {@code memory} when present.
   */
  ObjectNode run(
      BenchConfig.Step step, Transport transport, Payload payload, Optional<RssSource> memory)
      throws InterruptedException {
    this.transport = transport;
    Recording rec = new Recording();
    long connectsBefore = transport.connectionsOpened();
    long warmupNanos = cfg.warmup().toNanos();
    long durationNanos = cfg.duration().toNanos();
    long start = System.nanoTime() + 5_000_000; // a little lead so the first arrival is on time
    long measureStart = start + warmupNanos;
    long end = measureStart + durationNanos;
    MemorySampler sampler =
        memory.map(m -> new MemorySampler(m, cfg.memoryInterval(), measureStart)).orElse(null);
    CountDownLatch stopTicker = new CountDownLatch(1);
    Thread ticker = startTicker(step, rec, measureStart, end, stopTicker);
    try {
      if (step.open()) {
        openLoop(rec, step, start, measureStart, end);
      } else {
        closedLoop(rec, step, measureStart, end);
      }
    } finally {
      stopTicker.countDown();
      ticker.join();
      if (sampler != null) {
        sampler.close();
      }
    }
    long last = rec.lastCompletionNanos.get();
    double window = (Math.max(end, last) - measureStart) / 1e9;
    ObjectNode result = rec.toJson(step, window, payload.rowsPerRequest());
    result.put("client", cfg.client().name().toLowerCase(Locale.ROOT));
    result.put("payload", payload.description());
    if (sampler != null) {
      result.set("memory", sampler.toJson());
    }
    if (connectsBefore >= 0) {
      result.put("connections_opened", transport.connectionsOpened() - connectsBefore);
    }
    if (step.open()) {
      selfCheck(step, result);
    }
    return result;
  }

  /**
   * The generator's own timing: a late dispatch is the generator's fault (its thread did not get
   * the CPU in time), a wait for a connection is the server's (all connections were busy).
   */
  private void selfCheck(BenchConfig.Step step, ObjectNode result) {
    double intervalMs = 1000 / step.rate();
    double lagP99 = result.at("/send_lag_ms/p99").asDouble();
    // A lag under 1 ms (a "late send") is scheduler jitter, not a missed schedule.
    if (lagP99 > 5 || (lagP99 > 1 && lagP99 > 0.1 * intervalMs)) {
      String warning =
          String.format(
              Locale.ROOT,
              "the generator could not keep the schedule: send lag p99 %s ms against an"
                  + " interval of %s ms (%d late sends); latencies include this lag, so treat"
                  + " them as an upper bound and give the generator its own cores",
              Units.ms(lagP99),
              Units.ms(intervalMs),
              result.path("late_sends").asLong());
      result.put("warning", warning);
    }
    double waitP99 = result.at("/queue_wait_ms/p99").asDouble();
    if (waitP99 > 5 || result.path("dropped").asLong() > 0) {
      String note =
          String.format(
              Locale.ROOT,
              "all %d connections were busy at times: requests waited for one (queue wait p99 %s"
                  + " ms, backlog peak %d, %d dropped beyond --max-backlog %d); corrected latency"
                  + " includes the wait. The server is saturated, or give it more --connections",
              cfg.connections(),
              Units.ms(waitP99),
              result.path("backlog_peak").asLong(),
              result.path("dropped").asLong(),
              cfg.maxBacklog());
      result.put("note", note);
    }
  }

  private void openLoop(
      Recording rec, BenchConfig.Step step, long start, long measureStart, long end)
      throws InterruptedException {
    int n = cfg.connections();
    BlockingQueue<Long> backlog =
        cfg.maxBacklog() == 0
            ? new SynchronousQueue<>()
            : new ArrayBlockingQueue<>(cfg.maxBacklog());
    AtomicBoolean abandon = new AtomicBoolean();
    List<Transport.Lane> lanes = new ArrayList<>(n);
    List<Thread> workers = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Transport.Lane lane = transport.lane();
      lanes.add(lane);
      workers.add(
          cfg.ioThreads()
              .builder()
              .name("kiln-bench-connection-" + i)
              .start(() -> {
                try {
                  while (true) {
                    long intended = backlog.take();
                    if (intended == END) {
                      return;
                    }
                    boolean measured = intended >= measureStart;
                    if (abandon.get()) {
                      if (measured) {
                        rec.dropped.increment();
                      }
                    } else {
                      send(lane, rec, intended, measured, true);
                    }
                  }
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              }));
    }
    Schedule schedule =
        new Schedule(step.rate(), cfg.ramp().toNanos() / 1e9, cfg.arrival(), cfg.seed());
    long peak = 0;
    while (true) {
      long intended = start + schedule.nextNanos();
      if (intended >= end) {
        break;
      }
      long wait;
      while ((wait = intended - System.nanoTime()) > 0) {
        LockSupport.parkNanos(wait);
      }
      boolean measured = intended >= measureStart;
      if (measured) {
        rec.scheduled.increment();
        rec.sendLag(System.nanoTime() - intended);
      }
      if (!backlog.offer(intended)) {
        if (measured) {
          rec.dropped.increment();
        }
      } else if (measured) {
        peak = Math.max(peak, backlog.size());
      }
    }
    rec.backlogPeak = peak;
    // Let the backlog drain, at most one request timeout plus a margin; then give up on it.
    long deadline = System.nanoTime() + cfg.timeout().toNanos() + 5_000_000_000L;
    int ended = 0;
    while (ended < n && backlog.offer(END, deadline - System.nanoTime(), TimeUnit.NANOSECONDS)) {
      ended++;
    }
    for (Thread w : workers) {
      w.join(java.time.Duration.ofNanos(Math.max(1_000_000, deadline - System.nanoTime())));
    }
    if (workers.stream().anyMatch(Thread::isAlive)) {
      abandon.set(true);
      lanes.forEach(Transport.Lane::close);
      for (; ended < n; ended++) {
        backlog.put(END);
      }
      for (Thread w : workers) {
        w.join();
      }
    }
    lanes.forEach(Transport.Lane::close);
  }

  private void closedLoop(Recording rec, BenchConfig.Step step, long measureStart, long end)
      throws InterruptedException {
    List<Thread> clients = new ArrayList<>();
    List<Transport.Lane> lanes = new ArrayList<>();
    for (int c = 0; c < step.concurrency(); c++) {
      Transport.Lane lane = transport.lane();
      lanes.add(lane);
      clients.add(
          cfg.ioThreads()
              .builder()
              .name("kiln-bench-client-" + c)
              .start(() -> {
                long t;
                while ((t = System.nanoTime()) < end) {
                  send(lane, rec, t, t >= measureStart, false);
                }
              }));
    }
    for (Thread t : clients) {
      t.join();
    }
    lanes.forEach(Transport.Lane::close);
  }

  private void send(
      Transport.Lane lane, Recording rec, long intended, boolean measured, boolean open) {
    long actual = System.nanoTime();
    if (measured) {
      rec.sent.increment();
      if (open) {
        rec.queueWait(actual - intended);
      }
    }
    String outcome;
    StreamTimer stream = cfg.stream() ? new StreamTimer(actual) : null;
    try {
      Transport.Response res =
          lane.exchange(
              requestIndex.getAndIncrement(),
              stream == null ? ResponseReader.BodyListener.NONE : stream);
      long done = System.nanoTime();
      if (!measured) {
        return;
      }
      rec.completed(done);
      int status = res.status();
      if (status / 100 == 2) {
        Protocol.ServerSide server =
            stream == null
                ? Protocol.parse(res.body())
                : new Protocol.ServerSide(
                    Double.NaN, Double.NaN, stream.tokens(), stream.promptTokens());
        rec.success(Integer.toString(status), done - intended, done - actual, server);
        if (stream != null) {
          rec.stream(stream);
        }
        return;
      }
      outcome = Integer.toString(status);
    } catch (IOException | RuntimeException e) {
      outcome = e.getClass().getSimpleName();
      if (measured) {
        rec.completed(System.nanoTime());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      outcome = "InterruptedException";
    }
    if (measured) {
      rec.failure(outcome);
    }
  }

  /**
   * Prints a one-line progress indicator every second and closes each timeline interval, until
   * {@code stop} opens. A latch, not an interrupt: HdrHistogram's phaser, which {@code rec.tick}
   * flips, swallows interrupts, so one arriving mid-tick was lost and the run never ended.
   */
  private Thread startTicker(
      BenchConfig.Step step, Recording rec, long measureStart, long end, CountDownLatch stop) {
    return Thread.ofPlatform()
        .name("kiln-bench-progress")
        .daemon()
        .start(() -> {
          try {
            tick(step, rec, measureStart, end, stop);
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
          progress.print("\r" + " ".repeat(100) + "\r");
        });
  }

  private void tick(
      BenchConfig.Step step, Recording rec, long measureStart, long end, CountDownLatch stop)
      throws InterruptedException {
    double total = (end - measureStart) / 1e9;
    while (System.nanoTime() < measureStart) {
      progress.printf(
          Locale.ROOT,
          "\r%s: warming up, %.0fs left   ",
          step.label(),
          (measureStart - System.nanoTime()) / 1e9);
      long wait = Math.min(1000, Math.max(1, (measureStart - System.nanoTime()) / 1_000_000));
      if (stop.await(wait, TimeUnit.MILLISECONDS)) {
        return;
      }
    }
    rec.discardInterval(); // anything recorded before the window (nothing should be)
    long next = measureStart + 1_000_000_000L;
    while (!stop.await(next - System.nanoTime(), TimeUnit.NANOSECONDS)) {
      ObjectNode p = rec.tick((next - measureStart) / 1e9, 1);
      progress.printf(
          Locale.ROOT,
          "\r%s: %3.0fs/%.0fs  %8s req/s  p50 %s ms  p99 %s ms  errors %d  dropped %d   ",
          step.label(),
          (next - measureStart) / 1e9,
          total,
          Units.rate(p.path("rps").asDouble()),
          Units.ms(p.path("p50_ms").asDouble()),
          Units.ms(p.path("p99_ms").asDouble()),
          rec.errors.sum(),
          rec.dropped.sum());
      next += 1_000_000_000L;
    }
    // The last, partial interval, if it is long enough to say anything.
    long now = System.nanoTime();
    long last = next - 1_000_000_000L;
    if (now - last > 50_000_000L) {
      rec.tick((now - measureStart) / 1e9, (now - last) / 1e9);
    }
  }
}
