package dev.kiln.core.config;

import dev.kiln.core.error.Checks;
import java.time.Duration;

/** The HTTP server's settings ({@code server.*}). */
public record ServerConfig(
    String host,
    int port,
    long maxBodyBytes,
    Duration shutdownTimeout,
    String adminToken,
    boolean strictReadiness,
    int maxInFlight) {
  public ServerConfig {
    Checks.require(host != null && !host.isBlank(), "server.host must not be empty");
    Checks.require(port >= 0 && port <= 65535, "server.port must be 0..65535, was %d", port);
    Checks.require(
        maxBodyBytes >= 1024, "server.max-body-bytes must be >= 1024, was %d", maxBodyBytes);
    Checks.require(
        shutdownTimeout != null && !shutdownTimeout.isNegative(),
        "server.shutdown-timeout must be >= 0");
    adminToken = adminToken == null ? "" : adminToken;
    Checks.require(maxInFlight >= 1, "server.max-in-flight must be >= 1, was %d", maxInFlight);
  }
}
