package dev.kiln.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;

/** Checks an RFC 9457 problem answer: status, media type, and what its detail names. */
final class ProblemAssert {
  private ProblemAssert() {}

  /** Asserts the status and problem body; returns the body for further checks. */
  static JsonNode assertProblem(TestServer.Reply reply, int status, String... detailNames) {
    assertThat(reply.status()).as("status of %s", reply).isEqualTo(status);
    assertThat(reply.contentType())
        .as("Content-Type of %s", reply)
        .startsWith("application/problem+json");
    JsonNode body = reply.json();
    assertThat(body.path("status").asInt()).isEqualTo(status);
    assertThat(body.path("title").asText()).isNotBlank();
    assertThat(body.path("type").asText()).startsWith("urn:kiln:problem:");
    assertThat(body.path("requestId").asText()).isNotBlank();
    assertThat(body.path("detail").asText()).as("detail of %s", reply).isNotBlank();
    for (String name : detailNames) {
      assertThat(body.path("detail").asText()).as("detail of %s", reply).contains(name);
    }
    return body;
  }
}
