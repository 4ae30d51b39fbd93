package dev.kiln.llm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.kiln.core.config.KilnConfig;
import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import dev.kiln.core.model.DataType;
import dev.kiln.core.model.InferenceRequest;
import dev.kiln.core.model.InferenceResult;
import dev.kiln.core.model.LoadedModel;
import dev.kiln.core.model.ModelRuntime;
import dev.kiln.core.model.ModelSource;
import dev.kiln.core.model.Tensor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LlmRuntimeTest {
  /** A version directory as a user would lay it out: model, config and tokenizer side by side. */
  private static Path versionDir(Path dir) throws IOException {
    for (String f : List.of("config.json", "model.safetensors")) {
      Files.createSymbolicLink(dir.resolve(f), Fixtures.tinyModelDir().resolve(f));
    }
    for (String f : List.of("vocab.json", "merges.txt")) {
      Files.createSymbolicLink(dir.resolve(f), Fixtures.tokenizerDir().resolve(f));
    }
    return dir;
  }

  private static InferenceRequest request(Map<String, Object> parameters, String... prompts) {
    byte[][] data = new byte[prompts.length][];
    for (int i = 0; i < prompts.length; i++) {
      data[i] = prompts[i].getBytes(StandardCharsets.UTF_8);
    }
    Tensor text = new Tensor("text", DataType.BYTES, new long[] {prompts.length}, data);
    return new InferenceRequest("r", Map.of("text", text), List.of(), parameters);
  }

  @Test
  void serviceLoader_findsKilnLlm() {
    assertThat(ServiceLoader.load(ModelRuntime.class).stream().map(p -> p.get().name()))
        .contains("kiln-llm");
  }

  @Test
  void claims_gpt2Directory_claims(@TempDir Path dir) throws IOException {
    assertThat(new LlmRuntime().claims(versionDir(dir))).isEqualTo(LlmRuntime.CLAIM);
  }

  @Test
  void claims_otherModelType_doesNotClaim(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"llama\"}");
    Files.write(dir.resolve("model.safetensors"), new byte[16]);
    assertThat(new LlmRuntime().claims(dir)).isZero();
  }

  @Test
  void claims_noSafetensors_doesNotClaim(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\"}");
    assertThat(new LlmRuntime().claims(dir)).isZero();
  }

  @Test
  void execute_twoPrompts_returnsGreedyContinuations(@TempDir Path dir) throws IOException {
    JsonNode cases = Fixtures.json("tiny-gpt2/reference.json").path("cases");
    var source =
        new ModelSource("tiny", 1, versionDir(dir), Map.of("threads", "2"), KilnConfig.defaults());
    try (LoadedModel model = new LlmRuntime().load(source)) {
      String p0 = cases.get(0).path("prompt").asText();
      String p1 = cases.get(4).path("prompt").asText();
      List<InferenceResult> results =
          model.execute(List.of(request(Map.of("max_tokens", 16), p0, p1)));
      byte[][] out = results.getFirst().orThrow().get("text_output").bytes();
      Gpt2Tokenizer t = Fixtures.tokenizer();
      assertThat(new String(out[0], StandardCharsets.UTF_8))
          .isEqualTo(t.decode(Fixtures.ints(cases.get(0).path("greedy"))));
      assertThat(new String(out[1], StandardCharsets.UTF_8))
          .isEqualTo(t.decode(Fixtures.ints(cases.get(4).path("greedy"))));
    }
  }

  @Test
  void execute_badParameter_failsOnlyThatRequest(@TempDir Path dir) throws IOException {
    var source = new ModelSource("tiny", 1, versionDir(dir), Map.of(), KilnConfig.defaults());
    try (LoadedModel model = new LlmRuntime().load(source)) {
      List<InferenceResult> results =
          model.execute(
              List.of(
                  request(Map.of("max_tokens", "lots"), "Hello"),
                  request(Map.of("max_tokens", 2, "temperature", 0.8, "seed", 1), "Hello")));
      assertThat(results.get(0))
          .isInstanceOfSatisfying(
              InferenceResult.Failure.class,
              f -> assertThat(f.error().kind()).isEqualTo(ErrorKind.INVALID_INPUT));
      assertThat(results.get(1)).isInstanceOf(InferenceResult.Success.class);
    }
  }

  @Test
  void load_tinyModel_signatureIsTextInTextOut(@TempDir Path dir) throws IOException {
    var source = new ModelSource("tiny", 1, versionDir(dir), Map.of(), KilnConfig.defaults());
    try (LoadedModel model = new LlmRuntime().load(source)) {
      assertThat(model.signature().input("text").orElseThrow().datatype())
          .isEqualTo(DataType.BYTES);
      assertThat(model.signature().output("text_output").orElseThrow().shape()).containsExactly(-1);
    }
  }

  @Test
  void load_kvCacheDtypeBf16_cachesAreBf16(@TempDir Path dir) throws IOException {
    var source =
        new ModelSource(
            "tiny", 1, versionDir(dir), Map.of("kv-cache-dtype", "bf16"), KilnConfig.defaults());
    try (LoadedModel model = new LlmRuntime().load(source)) {
      assertThat(((Gpt2Model) model).engine().kvFormat()).isEqualTo(KvCache.Format.BF16);
    }
  }

  @Test
  void load_kvCacheDtypeUnknown_failsNamingTheParameter(@TempDir Path dir) throws IOException {
    var source =
        new ModelSource(
            "tiny", 1, versionDir(dir), Map.of("kv-cache-dtype", "fp8"), KilnConfig.defaults());
    assertThatThrownBy(() -> new LlmRuntime().load(source))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("kv-cache-dtype")
        .hasMessageContaining("fp8");
  }

  @Test
  void load_byDefault_warmsUpBeforeItReturns(@TempDir Path dir) throws IOException {
    var source = new ModelSource("tiny", 1, versionDir(dir), Map.of(), KilnConfig.defaults());
    try (LoadedModel model = new LlmRuntime().load(source)) {
      Gpt2Model m = (Gpt2Model) model;
      assertThat(m.engine().logitRowsMade()).isEqualTo(1);
      assertThat(m.occupancy().kvUsedBytes()).isZero();
    }
  }

  @Test
  void load_warmupFalse_runsNothing(@TempDir Path dir) throws IOException {
    var source =
        new ModelSource(
            "tiny", 1, versionDir(dir), Map.of("warmup", "false"), KilnConfig.defaults());
    try (LoadedModel model = new LlmRuntime().load(source)) {
      assertThat(((Gpt2Model) model).engine().logitRowsMade()).isZero();
    }
  }

  @Test
  void load_warmupNotABoolean_failsNamingTheParameter(@TempDir Path dir) throws IOException {
    var source =
        new ModelSource("tiny", 1, versionDir(dir), Map.of("warmup", "yes"), KilnConfig.defaults());
    assertThatThrownBy(() -> new LlmRuntime().load(source))
        .isInstanceOf(KilnException.class)
        .hasMessageContaining("warmup");
  }

  @Test
  void load_kvCacheDtypeAuto_followsTheWeights(@TempDir Path dir) throws IOException {
    Path st = Files.createDirectories(dir.resolve("st"));
    Path q8 = Files.createDirectories(dir.resolve("q8"));
    Files.createSymbolicLink(
        q8.resolve("model.gguf"), Fixtures.resource("tiny-gpt2-gguf").resolve("model-q8_0.gguf"));
    var fp32 = new ModelSource("a", 1, versionDir(st), Map.of(), KilnConfig.defaults());
    var quantised = new ModelSource("b", 1, q8, Map.of(), KilnConfig.defaults());
    var bf16Weights = new ModelSource("c", 1, st, Map.of("weights", "bf16"), KilnConfig.defaults());
    try (LoadedModel a = new LlmRuntime().load(fp32);
        LoadedModel b = new LlmRuntime().load(quantised);
        LoadedModel c = new LlmRuntime().load(bf16Weights)) {
      // vLLM's auto: the model's dtype; llama.cpp: a 16-bit cache beside quantised weights
      assertThat(((Gpt2Model) a).engine().kvFormat()).isEqualTo(KvCache.Format.F32);
      assertThat(((Gpt2Model) b).engine().kvFormat()).isEqualTo(KvCache.Format.BF16);
      assertThat(((Gpt2Model) c).engine().kvFormat()).isEqualTo(KvCache.Format.BF16);
    }
  }
}
