package dev.kiln.bench;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.PrintStream;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs one step of load and records it.
 *
 * <p>Open loop: a platform thread walks the {@link Schedule}, parks until each request's intended
 * send time and hands the request to a new virtual thread, without waiting for earlier responses.
 * Latency is recorded twice: from the intended send time (corrected: what a user arriving on
 * schedule would have waited, stalls included) and from the actual send (uncorrected, what a
 * closed-loop tool reports). At most {@code connections} requests are outstanding; an arrival that
 * finds none free is dropped and counted, never queued, so a slow server cannot slow the schedule.
 *
 * <p>Closed loop: {@code concurrency} virtual threads each send back to back. Its latency cannot be
 * corrected (there is no schedule to miss), so corrected and uncorrected are the same.
 */
final class LoadRunner {
  private final BenchConfig cfg;
  private final HttpClient client;
  private final Payload payload;
  private final PrintStream progress;
  private final AtomicLong requestIndex = new AtomicLong();

  LoadRunner(BenchConfig cfg, HttpClient client, Payload payload, PrintStream progress) {
    this.cfg = cfg;
    this.client = client;
    this.payload = payload;
    this.progress = progress;
  }

  ObjectNode run(BenchConfig.Step step) throws InterruptedException {
    Recording rec = new Recording();
    long warmupNanos = cfg.warmup().toNanos();
    long durationNanos = cfg.duration().toNanos();
    long start = System.nanoTime() + 5_000_000; // a little lead so the first arrival is on time
    long measureStart = start + warmupNanos;
    long end = measureStart + durationNanos;
    Thread ticker = startTicker(step, rec, measureStart, end);
    try {
      if (step.open()) {
        openLoop(step, rec, start, measureStart, end);
      } else {
        closedLoop(step, rec, measureStart, end);
      }
    } finally {
      ticker.interrupt();
      ticker.join();
    }
    long last = rec.lastCompletionNanos.get();
    double window = (Math.max(end, last) - measureStart) / 1e9;
    ObjectNode result = rec.toJson(step, window, payload.rowsPerRequest());
    if (step.open()) {
      double intervalMs = 1000 / step.rate();
      double lagP99 = result.at("/send_lag_ms/p99").asDouble();
      if (lagP99 > 5 || lagP99 > 0.1 * intervalMs) {
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
        progress.println("WARNING: " + warning);
      }
    }
    return result;
  }

  private void openLoop(
      BenchConfig.Step step, Recording rec, long start, long measureStart, long end)
      throws InterruptedException {
    Semaphore slots = new Semaphore(cfg.connections());
    Schedule schedule =
        new Schedule(step.rate(), cfg.ramp().toNanos() / 1e9, cfg.arrival(), cfg.seed());
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
      }
      if (!slots.tryAcquire()) {
        if (measured) {
          rec.dropped.increment();
        }
        continue;
      }
      if (measured) {
        rec.sent.increment();
      }
      Thread.ofVirtual()
          .start(() -> {
            try {
              send(rec, intended, measured, true);
            } finally {
              slots.release();
            }
          });
    }
    // Wait for the stragglers, at most one request timeout plus a margin.
    long grace = cfg.timeout().toMillis() + 5_000;
    if (slots.tryAcquire(cfg.connections(), grace, TimeUnit.MILLISECONDS)) {
      slots.release(cfg.connections());
    }
  }

  private void closedLoop(BenchConfig.Step step, Recording rec, long measureStart, long end)
      throws InterruptedException {
    List<Thread> clients = new ArrayList<>();
    for (int c = 0; c < step.concurrency(); c++) {
      clients.add(
          Thread.ofVirtual()
              .start(() -> {
                long t;
                while ((t = System.nanoTime()) < end) {
                  boolean measured = t >= measureStart;
                  if (measured) {
                    rec.sent.increment();
                  }
                  send(rec, t, measured, false);
                }
              }));
    }
    for (Thread t : clients) {
      t.join();
    }
  }

  private void send(Recording rec, long intended, boolean measured, boolean open) {
    long actual = System.nanoTime();
    if (measured && open) {
      rec.sendLag(actual - intended);
    }
    String outcome;
    try {
      HttpResponse<byte[]> res =
          client.send(
              payload.request(requestIndex.getAndIncrement()),
              HttpResponse.BodyHandlers.ofByteArray());
      long done = System.nanoTime();
      if (!measured) {
        return;
      }
      rec.completed(done);
      int status = res.statusCode();
      if (status / 100 == 2) {
        rec.success(
            Integer.toString(status), done - intended, done - actual, Protocol.parse(res.body()));
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

  /** Prints a one-line progress indicator every second and closes each timeline interval. */
  private Thread startTicker(BenchConfig.Step step, Recording rec, long measureStart, long end) {
    return Thread.ofPlatform()
        .name("kiln-bench-progress")
        .daemon()
        .start(() -> {
          long next = measureStart;
          double total = (end - measureStart) / 1e9;
          try {
            while (System.nanoTime() < measureStart) {
              progress.printf(
                  Locale.ROOT,
                  "\r%s: warming up, %.0fs left   ",
                  step.label(),
                  (measureStart - System.nanoTime()) / 1e9);
              Thread.sleep(
                  Math.min(1000, Math.max(1, (measureStart - System.nanoTime()) / 1_000_000)));
            }
            rec.tick(0, 1); // discard anything recorded before the window (nothing should be)
            next = measureStart + 1_000_000_000L;
            while (true) {
              long sleep = next - System.nanoTime();
              if (sleep > 0) {
                TimeUnit.NANOSECONDS.sleep(sleep);
              }
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
          } catch (InterruptedException e) {
            long now = System.nanoTime();
            if (now > measureStart && now - (next - 1_000_000_000L) > 50_000_000L) {
              double len = (now - (next - 1_000_000_000L)) / 1e9;
              rec.tick((now - measureStart) / 1e9, len);
            }
            progress.print("\r" + " ".repeat(100) + "\r");
          }
        });
  }
}
