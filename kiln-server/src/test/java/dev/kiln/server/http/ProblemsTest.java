package dev.kiln.server.http;

import static org.assertj.core.api.Assertions.assertThat;

import dev.kiln.core.error.ErrorKind;
import org.junit.jupiter.api.Test;

class ProblemsTest {
  @Test
  void status_everyKind_mapsToItsDocumentedStatus() {
    assertThat(Problems.status(ErrorKind.INVALID_INPUT)).isEqualTo(400);
    assertThat(Problems.status(ErrorKind.UNAUTHORIZED)).isEqualTo(401);
    assertThat(Problems.status(ErrorKind.MODEL_NOT_FOUND)).isEqualTo(404);
    assertThat(Problems.status(ErrorKind.CONFLICT)).isEqualTo(409);
    assertThat(Problems.status(ErrorKind.PAYLOAD_TOO_LARGE)).isEqualTo(413);
    assertThat(Problems.status(ErrorKind.OVERLOADED)).isEqualTo(429);
    assertThat(Problems.status(ErrorKind.INTERNAL)).isEqualTo(500);
    assertThat(Problems.status(ErrorKind.UNSUPPORTED)).isEqualTo(501);
    assertThat(Problems.status(ErrorKind.MODEL_NOT_READY)).isEqualTo(503);
    assertThat(Problems.status(ErrorKind.DEADLINE_EXCEEDED)).isEqualTo(504);
  }

  @Test
  void title_everyKind_isNotBlankAndInternalIs5xx() {
    for (ErrorKind k : ErrorKind.values()) {
      if (k == ErrorKind.INTERNAL) {
        assertThat(Problems.status(k)).isGreaterThanOrEqualTo(500);
      }
      assertThat(Problems.title(k)).isNotBlank();
    }
  }
}
