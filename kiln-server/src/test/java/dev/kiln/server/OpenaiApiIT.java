package dev.kiln.server;

import static dev.kiln.server.OpenaiSdk.MODEL;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.openai.client.OpenAIClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.NotFoundException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionChoice;
import com.openai.models.completions.CompletionCreateParams;
import com.openai.models.completions.CompletionUsage;
import com.openai.models.models.Model;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OpenAI-compatible routes, driven by the official OpenAI Java SDK. */
class OpenaiApiIT {
  @TempDir static Path repository;
  static TestServer server;
  static OpenAIClient client;
  static JsonNode lord; // "The LORD is my shepherd;" -> " and the LORD, and the LORD, ..."

  @BeforeAll
  static void start() {
    server = TestServer.withModels(repository, Map.of(), MODEL, Fixture.RF);
    client = OpenaiSdk.client(server);
    lord = OpenaiSdk.cases().get(1);
  }

  @AfterAll
  static void stop() {
    client.close();
    server.close();
  }

  private static CompletionCreateParams.Builder greedy(String prompt) {
    return CompletionCreateParams.builder().model(MODEL).prompt(prompt).temperature(0.0);
  }

  @Test
  void listModels_listsOnlyTheLanguageModel() {
    List<Model> models = client.models().list().data();
    assertThat(models).extracting(Model::id).containsExactly(MODEL);
    assertThat(models.getFirst().ownedBy()).isEqualTo("kiln");
    assertThat(models.getFirst().created()).isPositive();
  }

  @Test
  void completion_greedy_equalsTorchReference() {
    Completion c = client.completions().create(greedy(lord.path("prompt").asText()).build());
    assertThat(c.id()).startsWith("cmpl-");
    assertThat(c.choices()).hasSize(1);
    assertThat(c.choices().getFirst().text()).isEqualTo(OpenaiSdk.greedyText(lord));
    assertThat(c.choices().getFirst().finishReason())
        .isEqualTo(CompletionChoice.FinishReason.LENGTH);
    CompletionUsage usage = c.usage().orElseThrow();
    assertThat(usage.promptTokens()).isEqualTo(lord.path("ids").size());
    assertThat(usage.completionTokens()).isEqualTo(16);
    assertThat(usage.totalTokens()).isEqualTo(lord.path("ids").size() + 16);
  }

  @Test
  void completion_stopString_endsBeforeIt() {
    Completion c =
        client.completions().create(greedy(lord.path("prompt").asText()).stop(",").build());
    assertThat(c.choices().getFirst().text()).isEqualTo(" and the LORD");
    assertThat(c.choices().getFirst().finishReason()).isEqualTo(CompletionChoice.FinishReason.STOP);
  }

  @Test
  void chatCompletion_greedy_answersAsAssistantWithTheTemplatePrompt() {
    ChatCompletion c =
        client
            .chat()
            .completions()
            .create(
                ChatCompletionCreateParams.builder()
                    .model(MODEL)
                    .addUserMessage("The LORD is my shepherd;")
                    .maxCompletionTokens(8)
                    .temperature(0.0)
                    .build());
    assertThat(c.id()).startsWith("chatcmpl-");
    var message = c.choices().getFirst().message();
    assertThat(message.content()).get().asString().isNotEmpty();
    assertThat(message._role().toString()).contains("assistant");
    String template = "User: The LORD is my shepherd;\nAssistant:";
    assertThat(c.usage().orElseThrow().promptTokens())
        .isEqualTo(OpenaiSdk.tokenizer().encode(template).length);
    assertThat(c.usage().orElseThrow().completionTokens()).isEqualTo(8);
  }

  @Test
  void completionStream_includeUsage_concatenatesToTheWholeAnswer() {
    var params = greedy(lord.path("prompt").asText()).maxTokens(24);
    Completion whole = client.completions().create(params.build());
    params.streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build());
    StringBuilder text = new StringBuilder();
    List<Completion> chunks = new ArrayList<>();
    try (StreamResponse<Completion> s = client.completions().createStreaming(params.build())) {
      s.stream().forEach(chunks::add);
    }
    chunks.stream()
        .filter(c -> !c.choices().isEmpty())
        .forEach(c -> text.append(c.choices().getFirst().text()));
    assertThat(text).hasToString(whole.choices().getFirst().text());
    assertThat(chunks.size()).isGreaterThan(2);
    Completion last = chunks.getLast();
    assertThat(last.choices()).isEmpty();
    assertThat(last.usage()).contains(whole.usage().orElseThrow());
    assertThat(chunks.get(chunks.size() - 2).choices().getFirst().finishReason())
        .isEqualTo(CompletionChoice.FinishReason.LENGTH);
  }

  @Test
  void chatStream_includeUsage_deltasEqualTheWholeAnswer() {
    var params =
        ChatCompletionCreateParams.builder()
            .model(MODEL)
            .addSystemMessage("Answer from the Psalms.")
            .addUserMessage("Who is my shepherd?")
            .maxCompletionTokens(12)
            .temperature(0.0);
    ChatCompletion whole = client.chat().completions().create(params.build());
    params.streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build());
    StringBuilder text = new StringBuilder();
    List<ChatCompletionChunk> chunks = new ArrayList<>();
    try (StreamResponse<ChatCompletionChunk> s =
        client.chat().completions().createStreaming(params.build())) {
      s.stream().forEach(chunks::add);
    }
    for (ChatCompletionChunk c : chunks) {
      if (!c.choices().isEmpty()) {
        c.choices().getFirst().delta().content().ifPresent(text::append);
      }
    }
    assertThat(text).hasToString(whole.choices().getFirst().message().content().orElseThrow());
    assertThat(chunks.getLast().usage()).contains(whole.usage().orElseThrow());
    assertThat(chunks.getFirst().choices().getFirst().delta().role()).isPresent();
  }

  @Test
  void completion_unknownModel_isOpenAiShaped404() {
    assertThatThrownBy(
            () -> client.completions().create(greedy("x").model("no-such-model").build()))
        .isInstanceOfSatisfying(
            NotFoundException.class,
            e -> {
              assertThat(e.statusCode()).isEqualTo(404);
              assertThat(e.code()).contains("model_not_found");
              assertThat(e.type()).contains("invalid_request_error");
            });
  }

  @Test
  void completion_nTwo_isOpenAiShaped400() {
    var reply =
        server.post(
            "/v1/completions", "{\"model\": \"" + MODEL + "\", \"prompt\": \"x\", \"n\": 2}");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.contentType()).startsWith("application/json");
    JsonNode error = reply.json().path("error");
    assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
    assertThat(error.path("param").asText()).isEqualTo("n");
    assertThat(error.path("message").asText()).contains("n=1");
  }

  @Test
  void chatCompletion_malformedJson_isOpenAiShaped400() {
    var reply = server.post("/v1/chat/completions", "{\"model\": ");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.json().path("error").path("message").asText()).contains("malformed JSON");
    assertThat(reply.json().path("error").path("type").asText()).isEqualTo("invalid_request_error");
  }

  @Test
  void completion_notALanguageModel_is400() {
    var reply =
        server.post("/v1/completions", "{\"model\": \"" + Fixture.RF + "\", \"prompt\": \"x\"}");
    assertThat(reply.status()).isEqualTo(400);
    assertThat(reply.json().path("error").path("code").asText()).isEqualTo("model_not_supported");
  }

  @Test
  void kserveV1Status_sameModelName_stillAnswersV1() {
    var reply = server.get("/v1/models/" + MODEL);
    assertThat(reply.status()).isEqualTo(200);
    assertThat(reply.json().path("model_version_status").get(0).path("state").asText())
        .isEqualTo("AVAILABLE");
  }
}
