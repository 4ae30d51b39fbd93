package dev.kiln.trees;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.ModelSource;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Claims and loads of the LightGBM and ONNX formats, and the protobuf reader under them. */
class TreeRuntimeFormatsTest {
  private final TreeRuntime runtime = new TreeRuntime();

  @TempDir Path dir;

  private ModelSource source() {
    return new ModelSource("m", 1, dir, Map.of(), KilnConfig.defaults());
  }

  @Test
  void claims_lightgbmModelTxt_isClaimed() throws IOException {
    Files.copy(
        LightgbmFixtureTest.dir("multiclass_iris").resolve("model.txt"), dir.resolve("model.txt"));

    assertThat(runtime.claims(dir)).isEqualTo(TreeRuntime.CLAIM);
  }

  @Test
  void claims_otherModelTxt_isZero() throws IOException {
    Files.writeString(dir.resolve("model.txt"), "trees are nice\nTree=0\n");

    assertThat(runtime.claims(dir)).isZero();
  }

  @Test
  void load_lightgbmModelTxt_servesLightgbmPlatform() throws IOException {
    Files.copy(
        LightgbmFixtureTest.dir("multiclass_iris").resolve("model.txt"), dir.resolve("model.txt"));

    var signature = runtime.load(source()).signature();

    assertThat(signature.platform()).isEqualTo("kiln_lightgbm");
    assertThat(signature.input("input").orElseThrow().features())
        .containsExactly("Column_0", "Column_1", "Column_2", "Column_3");
    assertThat(signature.output("probabilities").orElseThrow().shape()).containsExactly(-1, 3);
  }

  @Test
  void claims_garbageModelOnnx_isZero() throws IOException {
    Files.write(dir.resolve("model.onnx"), "this is not an ONNX protobuf\n\0\1\2".getBytes());

    assertThat(runtime.claims(dir)).isZero();
  }

  @Test
  void load_onnxGraphKilnDoesNotTake_isUnsupportedNamingTheReason() throws IOException {
    Files.copy(
        OnnxTreeFixtureTest.fixture("gb_clf_iris").resolve("model.onnx"),
        dir.resolve("model.onnx"));

    assertThatThrownBy(() -> runtime.load(source()))
        .isInstanceOfSatisfying(
            KilnException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(ErrorKind.UNSUPPORTED);
              assertThat(e.getMessage()).contains("model.onnx", "nodes");
            });
  }

  @Test
  void protobuf_varintsPackedAndFixed_areRead() {
    // field 1 varint 300; field 2 packed [1, 150]; field 3 fixed32 1.5f; field 4 "hi"
    byte[] bytes = {
      0x08,
      (byte) 0xac,
      0x02,
      0x12,
      0x03,
      0x01,
      (byte) 0x96,
      0x01,
      0x1d,
      0,
      0,
      (byte) 0xc0,
      0x3f,
      0x22,
      0x02,
      'h',
      'i'
    };
    var r = new Protobuf(ByteBuffer.wrap(bytes));
    var ints = new Protobuf.LongList();

    assertThat(r.next()).isTrue();
    assertThat(r.varint()).isEqualTo(300);
    assertThat(r.next()).isTrue();
    r.int64s(ints);
    assertThat(ints.toArray()).containsExactly(1, 150);
    assertThat(r.next()).isTrue();
    assertThat(r.fixed32Float()).isEqualTo(1.5f);
    assertThat(r.next()).isTrue();
    assertThat(r.string()).isEqualTo("hi");
    assertThat(r.next()).isFalse();
  }

  @Test
  void protobuf_lengthPastTheEnd_isRejected() {
    var r = new Protobuf(ByteBuffer.wrap(new byte[] {0x0a, 0x05, 'a'}));

    assertThat(r.next()).isTrue();
    assertThatThrownBy(r::string).isInstanceOf(IllegalArgumentException.class);
  }
}
