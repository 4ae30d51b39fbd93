package dev.kiln.bench;

import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;

/**
 * Reads HTTP/1.1 responses off one connection: status line, headers, then a body delimited by
 * Content-Length, by chunked transfer coding or by the end of the connection. 1xx interim responses
 * are skipped. Minimal on purpose: it understands what a load generator needs to keep a keep-alive
 * connection in step and to read the body; it is not a general HTTP client.
 *
 * <p>Bytes come in through one reusable direct buffer and are parsed out of a heap array, so a
 * response costs a read call or two and no per-read allocation. Each body slice is also handed to a
 * {@link BodyListener} with the time its bytes arrived: that is how streamed (SSE) responses get
 * their per-token timings.
 */
final class ResponseReader {
  /** Receives a response body as it arrives, for streamed responses. */
  interface BodyListener {
    BodyListener NONE = (b, off, len, arrivedNanos) -> {};

    void body(byte[] b, int off, int len, long arrivedNanos);
  }

  private static final int MAX_LINE = 1 << 20;
  private final ReadableByteChannel in;
  private final ByteBuffer io;
  private byte[] buf;
  private int pos;
  private int lim;
  private long fillNanos;
  private boolean started;
  private byte[] body = new byte[8192];
  private int bodyLen;

  ResponseReader(ReadableByteChannel in, int bufferBytes) {
    this.in = in;
    this.io = ByteBuffer.allocateDirect(bufferBytes);
    this.buf = new byte[bufferBytes];
  }

  /** Marks the start of a new exchange: nothing of its response has arrived yet. */
  void expectResponse() {
    started = pos < lim;
  }

  /** True once any byte of the current response has arrived (a stale connection sends none). */
  boolean started() {
    return started;
  }

  Transport.Response read(BodyListener listener) throws IOException {
    started = pos < lim;
    int status;
    long length;
    boolean chunked;
    boolean close;
    do {
      String statusLine = line();
      if (!statusLine.startsWith("HTTP/1.") || statusLine.length() < 12) {
        throw new ProtocolException("not an HTTP/1.x status line: " + clip(statusLine));
      }
      status = parseStatus(statusLine);
      close = statusLine.startsWith("HTTP/1.0");
      length = -1;
      chunked = false;
      for (String h = line(); !h.isEmpty(); h = line()) {
        int colon = h.indexOf(':');
        if (colon <= 0) {
          throw new ProtocolException("malformed header line: " + clip(h));
        }
        String name = h.substring(0, colon).trim();
        String value = h.substring(colon + 1).trim().toLowerCase(Locale.ROOT);
        if (name.equalsIgnoreCase("content-length")) {
          length = parseLength(value);
        } else if (name.equalsIgnoreCase("transfer-encoding")) {
          chunked = value.endsWith("chunked");
        } else if (name.equalsIgnoreCase("connection")) {
          close = value.contains("close") || (close && !value.contains("keep-alive"));
        }
      }
    } while (status / 100 == 1 && status != 101);
    bodyLen = 0;
    if (status == 204 || status == 304) {
      // no body, whatever the headers say
    } else if (chunked) {
      chunked(listener);
    } else if (length >= 0) {
      fixed(length, listener);
    } else {
      untilEof(listener);
      close = true;
    }
    return new Transport.Response(status, Arrays.copyOf(body, bodyLen), close);
  }

  private void chunked(BodyListener listener) throws IOException {
    while (true) {
      String sizeLine = line();
      int semi = sizeLine.indexOf(';');
      String hex = (semi < 0 ? sizeLine : sizeLine.substring(0, semi)).trim();
      long size;
      try {
        size = Long.parseLong(hex, 16);
      } catch (NumberFormatException e) {
        throw new ProtocolException("bad chunk size: " + clip(sizeLine));
      }
      if (size < 0) {
        throw new ProtocolException("bad chunk size: " + clip(sizeLine));
      }
      if (size == 0) {
        while (!line().isEmpty()) {
          // trailer fields: ignored
        }
        return;
      }
      fixed(size, listener);
      if (!line().isEmpty()) {
        throw new ProtocolException("chunk not followed by CRLF");
      }
    }
  }

  private void fixed(long length, BodyListener listener) throws IOException {
    long remaining = length;
    while (remaining > 0) {
      if (pos == lim) {
        fill();
      }
      int n = (int) Math.min(lim - pos, remaining);
      consume(n, listener);
      remaining -= n;
    }
  }

  private void untilEof(BodyListener listener) throws IOException {
    while (true) {
      if (pos == lim && !tryFill()) {
        return;
      }
      consume(lim - pos, listener);
    }
  }

  private void consume(int n, BodyListener listener) {
    if (bodyLen + n > body.length) {
      body = Arrays.copyOf(body, Math.max(body.length * 2, bodyLen + n));
    }
    System.arraycopy(buf, pos, body, bodyLen, n);
    bodyLen += n;
    listener.body(buf, pos, n, fillNanos);
    pos += n;
  }

  /** One line without its CRLF (a bare LF is accepted), as ISO-8859-1. */
  private String line() throws IOException {
    int scan = pos;
    while (true) {
      for (; scan < lim; scan++) {
        if (buf[scan] == '\n') {
          int end = scan > pos && buf[scan - 1] == '\r' ? scan - 1 : scan;
          String s = new String(buf, pos, end - pos, StandardCharsets.ISO_8859_1);
          pos = scan + 1;
          return s;
        }
      }
      int consumed = scan - pos;
      fill();
      scan = pos + consumed;
    }
  }

  private void fill() throws IOException {
    if (!tryFill()) {
      throw new EOFException(
          started
              ? "connection closed in the middle of a response"
              : "connection closed before the response");
    }
  }

  /** Reads at least one more byte into {@code buf}; false at the end of the stream. */
  private boolean tryFill() throws IOException {
    if (pos > 0) {
      System.arraycopy(buf, pos, buf, 0, lim - pos);
      lim -= pos;
      pos = 0;
    }
    if (lim == buf.length) {
      if (buf.length >= MAX_LINE) {
        throw new ProtocolException("response line or header longer than " + MAX_LINE + " bytes");
      }
      buf = Arrays.copyOf(buf, buf.length * 2);
    }
    io.clear().limit(Math.min(io.capacity(), buf.length - lim));
    int n;
    do {
      n = in.read(io);
    } while (n == 0);
    if (n < 0) {
      return false;
    }
    fillNanos = System.nanoTime();
    started = true;
    io.flip().get(buf, lim, n);
    lim += n;
    return true;
  }

  private static int parseStatus(String statusLine) throws ProtocolException {
    int s = 0;
    for (int i = 9; i < 12; i++) {
      char c = statusLine.charAt(i);
      if (c < '0' || c > '9') {
        throw new ProtocolException("bad status code: " + clip(statusLine));
      }
      s = s * 10 + (c - '0');
    }
    return s;
  }

  private static long parseLength(String value) throws ProtocolException {
    try {
      long l = Long.parseLong(value);
      if (l < 0) {
        throw new NumberFormatException();
      }
      return l;
    } catch (NumberFormatException e) {
      throw new ProtocolException("bad Content-Length: " + clip(value));
    }
  }

  private static String clip(String s) {
    return s.length() > 80 ? s.substring(0, 80) + "..." : s;
  }
}
