package dev.kiln.bench;

import java.io.IOException;

/**
 * How requests reach the server. A run opens one {@link Lane} per worker (a connection for the raw
 * client) and each worker sends its requests through it one at a time, so the number of connections
 * is fixed by the number of workers, not by how slowly the server answers.
 */
interface Transport extends AutoCloseable {
  /** A whole response: status, body and whether the server will close the connection. */
  record Response(int status, byte[] body, boolean close) {}

  /** A new lane; the raw client connects lazily on its first exchange. */
  Lane lane();

  /** Connections opened so far (reconnects included), or -1 when the client does not tell. */
  long connectionsOpened();

  @Override
  void close();

  /** One worker's path to the server. Not thread-safe: one exchange at a time. */
  interface Lane extends AutoCloseable {
    /** Sends prepared request number {@code index} (round-robin) and reads the whole response. */
    Response exchange(long index, ResponseReader.BodyListener listener)
        throws IOException, InterruptedException;

    @Override
    void close();
  }
}
