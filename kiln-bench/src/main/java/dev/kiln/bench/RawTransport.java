package dev.kiln.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * {@code --client raw} (the default): plain HTTP/1.1 over keep-alive connections, one blocking
 * {@link SocketChannel} with TCP_NODELAY per lane, driven by the lane's own (virtual) thread.
 *
 * <p>Every distinct request is serialised once, headers and body, into a direct buffer; a send is a
 * {@code write} of a duplicate of it. There is no pool that grows under load, no per-request
 * allocation beyond the response body, and no selector thread between the socket and the caller:
 * the JDK's HttpClient opened ever more connections as the server slowed, and its hand-offs between
 * threads cost the generator the CPU it needed to keep a 2,000 req/s schedule on two shared cores.
 *
 * <p>Timeouts: a watchdog closes the channel of any exchange older than the timeout, which wakes
 * the blocked read; the exchange then fails with {@link HttpTimeoutException}.
 */
final class RawTransport implements Transport {
  private final InetSocketAddress address;
  private final List<ByteBuffer> requests;
  private final long timeoutNanos;
  private final LongAdder connects = new LongAdder();
  private final List<Connection> connections = new CopyOnWriteArrayList<>();
  private final Thread watchdog;

  RawTransport(Payload payload, Duration timeout) {
    URI uri = payload.uri();
    if (!"http".equals(uri.getScheme())) {
      throw new IllegalArgumentException(
          "the raw client speaks plain http only; use --client jdk for " + uri.getScheme());
    }
    int port = uri.getPort() < 0 ? 80 : uri.getPort();
    this.address = new InetSocketAddress(uri.getHost(), port);
    this.timeoutNanos = timeout.toNanos();
    List<ByteBuffer> prepared = new ArrayList<>();
    for (byte[] body : payload.bodies()) {
      prepared.add(serialise(uri, payload.contentType(), payload.jsonHeaderLength(), body));
    }
    this.requests = List.copyOf(prepared);
    long tick = Math.clamp(timeout.toMillis() / 10, 10, 200);
    this.watchdog =
        Thread.ofPlatform()
            .name("kiln-bench-timeouts")
            .daemon()
            .start(() -> {
              try {
                while (true) {
                  Thread.sleep(tick);
                  long now = System.nanoTime();
                  connections.forEach(c -> c.expireIfDue(now));
                }
              } catch (InterruptedException e) {
                // closed
              }
            });
  }

  /**
   * The request line, Host, Content-Type and Content-Length (and Inference-Header-Content-Length
   * when {@code jsonHeaderLength >= 0}), then the body: as wrk sends it.
   */
  static ByteBuffer serialise(URI uri, String contentType, int jsonHeaderLength, byte[] body) {
    String path = uri.getRawPath() == null || uri.getRawPath().isEmpty() ? "/" : uri.getRawPath();
    if (uri.getRawQuery() != null) {
      path += "?" + uri.getRawQuery();
    }
    String host = uri.getPort() < 0 ? uri.getHost() : uri.getHost() + ":" + uri.getPort();
    byte[] head =
        ("POST "
                + path
                + " HTTP/1.1\r\nHost: "
                + host
                + "\r\nContent-Type: "
                + contentType
                + "\r\nContent-Length: "
                + body.length
                + (jsonHeaderLength < 0
                    ? ""
                    : "\r\nInference-Header-Content-Length: " + jsonHeaderLength)
                + "\r\n\r\n")
            .getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer b = ByteBuffer.allocateDirect(head.length + body.length);
    b.put(head).put(body).flip();
    return b.asReadOnlyBuffer();
  }

  @Override
  public Lane lane() {
    Connection c = new Connection();
    connections.add(c);
    return c;
  }

  @Override
  public long connectionsOpened() {
    return connects.sum();
  }

  @Override
  public void close() {
    watchdog.interrupt();
    connections.forEach(Connection::close);
    connections.clear();
  }

  /** One keep-alive connection, opened on first use and again after the server closes it. */
  private final class Connection implements Lane {
    private volatile SocketChannel channel;
    private ResponseReader reader;

    /** 0 when idle, the deadline while an exchange runs, -1 once the watchdog expired it. */
    private final AtomicLong deadline = new AtomicLong();

    @Override
    public Response exchange(long index, ResponseReader.BodyListener listener) throws IOException {
      ByteBuffer request = requests.get((int) (index % requests.size())).duplicate();
      long due = System.nanoTime() + timeoutNanos;
      deadline.set(due == 0 || due == -1 ? 1 : due);
      try {
        for (int attempt = 0; ; attempt++) {
          boolean reused = channel != null && channel.isOpen();
          try {
            if (!reused) {
              connect();
            }
            reader.expectResponse();
            while (request.hasRemaining()) {
              channel.write(request);
            }
            Response r = reader.read(listener);
            if (r.close()) {
              closeChannel();
            }
            return r;
          } catch (IOException e) {
            boolean stale = reused && !reader.started() && deadline.get() != -1;
            closeChannel();
            if (deadline.get() == -1) {
              throw new HttpTimeoutException(
                  "no complete response within " + Duration.ofNanos(timeoutNanos));
            }
            // A kept-alive connection the server closed while idle fails before any response
            // byte arrives: send once more on a fresh connection, as browsers and HttpClient do.
            if (stale && attempt == 0) {
              request.rewind();
              continue;
            }
            throw e;
          }
        }
      } finally {
        deadline.set(0);
      }
    }

    private void connect() throws IOException {
      SocketChannel ch = SocketChannel.open();
      try {
        ch.setOption(StandardSocketOptions.TCP_NODELAY, true);
        channel = ch;
        ch.connect(address);
      } catch (IOException e) {
        closeChannel();
        throw e;
      }
      reader = new ResponseReader(ch, 64 * 1024);
      connects.increment();
    }

    void expireIfDue(long now) {
      long d = deadline.get();
      if (d > 0 && now - d > 0 && deadline.compareAndSet(d, -1)) {
        SocketChannel ch = channel;
        if (ch != null) {
          try {
            ch.close();
          } catch (IOException e) {
            // already closed
          }
        }
      }
    }

    private void closeChannel() {
      if (channel != null) {
        try {
          channel.close();
        } catch (IOException e) {
          // nothing to do
        }
        channel = null;
      }
    }

    @Override
    public void close() {
      connections.remove(this);
      SocketChannel ch = channel;
      if (ch != null) {
        try {
          ch.close();
        } catch (IOException e) {
          // nothing to do
        }
      }
    }
  }
}
