package dev.kiln.bench;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.net.ProtocolException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The HTTP/1.1 response parser, fed from memory in fragments of a chosen size (no sockets). */
class ResponseReaderTest {

  /** A channel that hands out at most {@code step} bytes per read, as a slow socket would. */
  static ReadableByteChannel fragments(String text, int step) {
    byte[] data = text.getBytes(StandardCharsets.ISO_8859_1);
    return new ReadableByteChannel() {
      int pos;

      @Override
      public int read(ByteBuffer dst) {
        if (pos == data.length) {
          return -1;
        }
        int n = Math.min(Math.min(step, dst.remaining()), data.length - pos);
        dst.put(data, pos, n);
        pos += n;
        return n;
      }

      @Override
      public boolean isOpen() {
        return true;
      }

      @Override
      public void close() {}
    };
  }

  private static ResponseReader reader(String text, int step) {
    return new ResponseReader(fragments(text, step), 16);
  }

  private static String body(Transport.Response r) {
    return new String(r.body(), StandardCharsets.UTF_8);
  }

  @Test
  void read_contentLengthOneByteAtATime_readsExactBody() throws IOException {
    Transport.Response r =
        reader("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nX-A: b\r\n\r\n{\"a\":12345}", 1)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(r.status()).isEqualTo(200);
    assertThat(body(r)).isEqualTo("{\"a\":12345}");
    assertThat(r.close()).isFalse();
  }

  @Test
  void read_twoResponsesOnOneConnection_keepsThemApart() throws IOException {
    ResponseReader reader =
        reader(
            "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabcHTTP/1.1 404 Not Found\r\n"
                + "content-length: 2\r\n\r\nno",
            7);

    Transport.Response first = reader.read(ResponseReader.BodyListener.NONE);
    Transport.Response second = reader.read(ResponseReader.BodyListener.NONE);

    assertThat(body(first)).isEqualTo("abc");
    assertThat(second.status()).isEqualTo(404);
    assertThat(body(second)).isEqualTo("no");
  }

  @Test
  void read_chunkedWithExtensionAndTrailer_joinsChunks() throws IOException {
    Transport.Response r =
        reader(
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5;ext=1\r\nhello\r\n1a\r\n, a chunk of 26 bytes.....\r\n0\r\nX-T: 1\r\n\r\n",
                3)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(body(r)).isEqualTo("hello, a chunk of 26 bytes.....");
  }

  @Test
  void read_bodyListener_seesEverySliceInOrder() throws IOException {
    ByteArrayOutputStream seen = new ByteArrayOutputStream();
    int[] calls = new int[1];

    reader(
            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n",
            5)
        .read((b, off, len, t) -> {
          seen.write(b, off, len);
          calls[0]++;
        });

    assertThat(seen.toString(StandardCharsets.UTF_8)).isEqualTo("abcdefg");
    assertThat(calls[0]).isGreaterThanOrEqualTo(2);
  }

  @Test
  void read_interim100Continue_isSkipped() throws IOException {
    Transport.Response r =
        reader("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", 4)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(r.status()).isEqualTo(201);
    assertThat(r.body()).isEmpty();
  }

  @Test
  void read_noLengthNoChunking_readsToEndAndCloses() throws IOException {
    Transport.Response r =
        reader("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end", 4)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(body(r)).isEqualTo("until the end");
    assertThat(r.close()).isTrue();
  }

  @Test
  void read_connectionClose_isReported() throws IOException {
    Transport.Response r =
        reader("HTTP/1.1 503 Busy\r\nConnection: close\r\nContent-Length: 1\r\n\r\nx", 64)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(r.status()).isEqualTo(503);
    assertThat(r.close()).isTrue();
  }

  @Test
  void read_http10WithoutKeepAlive_closes() throws IOException {
    Transport.Response r =
        reader("HTTP/1.0 200 OK\r\nContent-Length: 1\r\n\r\nx", 64)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(r.close()).isTrue();
  }

  @Test
  void read_204WithLengthHeader_hasNoBody() throws IOException {
    ResponseReader reader =
        reader("HTTP/1.1 204 No Content\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 64);

    assertThat(reader.read(ResponseReader.BodyListener.NONE).body()).isEmpty();
    assertThat(body(reader.read(ResponseReader.BodyListener.NONE))).isEqualTo("ok");
  }

  @Test
  void read_headerLongerThanBuffer_growsBuffer() throws IOException {
    String big = "v".repeat(5000);
    Transport.Response r =
        reader("HTTP/1.1 200 OK\r\nX-Big: " + big + "\r\nContent-Length: 2\r\n\r\nok", 1000)
            .read(ResponseReader.BodyListener.NONE);

    assertThat(body(r)).isEqualTo("ok");
  }

  @Test
  void read_closedBeforeAnyByte_isEofAndNotStarted() {
    ResponseReader reader = reader("", 1);

    assertThatThrownBy(() -> reader.read(ResponseReader.BodyListener.NONE))
        .isInstanceOf(EOFException.class)
        .hasMessageContaining("before the response");
    assertThat(reader.started()).isFalse();
  }

  @Test
  void read_truncatedBody_isEofAndStarted() {
    ResponseReader reader = reader("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 64);

    assertThatThrownBy(() -> reader.read(ResponseReader.BodyListener.NONE))
        .isInstanceOf(EOFException.class)
        .hasMessageContaining("middle");
    assertThat(reader.started()).isTrue();
  }

  @Test
  void read_notHttp_isProtocolException() {
    assertThatThrownBy(
            () -> reader("SSH-2.0-OpenSSH_9.2\r\n\r\n", 64).read(ResponseReader.BodyListener.NONE))
        .isInstanceOf(ProtocolException.class);
  }

  @Test
  void read_badChunkSize_isProtocolException() {
    assertThatThrownBy(() ->
            reader("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 64)
                .read(ResponseReader.BodyListener.NONE))
        .isInstanceOf(ProtocolException.class)
        .hasMessageContaining("chunk size");
  }
}
