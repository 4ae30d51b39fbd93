package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Locale;

/**
 * GPT-2's weights, from a Hugging Face safetensors checkpoint or a GGUF file, checked against the
 * config. Safetensors matrices stay in the mapped file where their format is used as stored, GGUF
 * matrices are repacked off the heap (and their pages of the file released); biases and layer-norm
 * vectors, which are tiny, are copied to float arrays. The output head is tied to the token
 * embedding.
 *
 * <p>{@link Precision} picks the weight format of the four linear layers of each block and of the
 * token embedding (so of the head): {@code auto} keeps what the file holds (safetensors F32 Conv1D
 * {@code [in, out]} transposed into F32 panels; GGUF F32, BF16 and Q8_0 repacked once at load into
 * the kernels' panels, GGUF F16 rounded to BF16 once at load), {@code fp32}, {@code bf16} and
 * {@code q8_0} convert at load where the file differs (off the heap, into the model's arena).
 */
final class Gpt2Weights {
  /** The {@code weights} model parameter. */
  enum Precision {
    AUTO,
    FP32,
    BF16,
    Q8_0;

    static Precision parse(String text) {
      if (text == null) {
        return AUTO;
      }
      try {
        return valueOf(text.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw KilnException.of(
            ErrorKind.INTERNAL,
            "parameter weights must be auto, fp32, bf16 or q8_0, was '%s'",
            text);
      }
    }

    RowMatrix.Format format() {
      return switch (this) {
        case AUTO, FP32 -> RowMatrix.Format.F32;
        case BF16 -> RowMatrix.Format.BF16;
        case Q8_0 -> RowMatrix.Format.Q8_0;
      };
    }
  }

  /** One transformer block. */
  record Block(
      float[] ln1Weight,
      float[] ln1Bias,
      Matrix attnWeight, // d -> 3d: q, k, v side by side
      float[] attnBias,
      Matrix attnProjWeight, // d -> d
      float[] attnProjBias,
      float[] ln2Weight,
      float[] ln2Bias,
      Matrix fcWeight, // d -> 4d
      float[] fcBias,
      Matrix fcProjWeight, // 4d -> d
      float[] fcProjBias) {}

  final RowMatrix tokenEmbedding; // [vocab, d], also the output head
  final RowMatrix positionEmbedding; // [positions, d]
  final Block[] blocks;
  final float[] lnFinalWeight;
  final float[] lnFinalBias;

  private Gpt2Weights(
      RowMatrix tokenEmbedding,
      RowMatrix positionEmbedding,
      Block[] blocks,
      float[] lnFinalWeight,
      float[] lnFinalBias) {
    this.tokenEmbedding = tokenEmbedding;
    this.positionEmbedding = positionEmbedding;
    this.blocks = blocks;
    this.lnFinalWeight = lnFinalWeight;
    this.lnFinalBias = lnFinalBias;
  }

  /** Bytes of weights a decode step streams: every block matrix and the head. */
  long bytesPerToken() {
    long n = tokenEmbedding.bytes();
    for (Block b : blocks) {
      n +=
          b.attnWeight().bytes()
              + b.attnProjWeight().bytes()
              + b.fcWeight().bytes()
              + b.fcProjWeight().bytes();
    }
    return n;
  }

  /** The format of the head and block matrices, for logs and benchmarks. */
  String describe() {
    return "blocks " + blockFormat() + ", head " + tokenEmbedding.format();
  }

  /** The format of the blocks' matrices. */
  RowMatrix.Format blockFormat() {
    return switch (blocks[0].fcWeight()) {
      case RowMatrix m -> m.format();
    };
  }

  /**
   * Drops a mapped tensor's pages from the resident set once it has been copied or converted
   * (madvise DONTNEED: they stay in the page cache); a segment off the heap is left alone.
   */
  private static void dropPages(MemorySegment tensor) {
    if (tensor.isMapped()) {
      tensor.unload();
    }
  }

  /** From a Hugging Face checkpoint, with or without the {@code transformer.} prefix. */
  static Gpt2Weights fromSafeTensors(
      SafeTensors file, Gpt2Config c, Precision precision, Arena arena) {
    // GPT2Model checkpoints name tensors "h.0...", GPT2LMHeadModel ones "transformer.h.0...".
    String prefix = file.get("wte.weight") != null ? "" : "transformer.";
    String name = file.file().getFileName().toString();
    int d = c.embedding();
    var st =
        new Object() {
          SafeTensors.Entry entry(String tensor, long... shape) {
            SafeTensors.Entry e = file.get(prefix + tensor);
            if (e == null) {
              throw KilnException.of(
                  ErrorKind.INTERNAL, "%s: no tensor %s%s", name, prefix, tensor);
            }
            checkShape(name, e.name(), e.shape(), shape);
            return e;
          }

          float[] vector(String tensor, int n) {
            return SafeTensors.toFloats(entry(tensor, n));
          }

          /**
           * A Conv1D weight [in, out], transposed into column panels: copied for fp32, else
           * converted. The mapped pages read are then dropped from the process (the copy is what
           * the engine reads), so the weights are resident once, not twice; an F16 or BF16 tensor
           * is widened into a scratch copy that is freed once converted.
           */
          RowMatrix linear(String tensor, int in, int out) {
            SafeTensors.Entry e = entry(tensor, in, out);
            try (Arena scratch = Arena.ofConfined()) {
              var data = SafeTensors.asF32(e, scratch);
              RowMatrix m =
                  precision == Precision.AUTO || precision == Precision.FP32
                      ? RowMatrix.fromConv1d(in, out, data, arena)
                      : RowMatrix.convert(
                          precision.format(),
                          out,
                          in,
                          (r, col) -> data.getAtIndex(SafeTensors.F32, (long) col * out + r),
                          arena);
              dropPages(e.data());
              return m;
            }
          }

          /**
           * A [rows, cols] tensor as rows: F32 used in place (the mapping, or the widened F16 or
           * BF16 values), any other format converted from a scratch copy, as {@link #linear}.
           */
          RowMatrix rows(String tensor, int rows, int cols, RowMatrix.Format format) {
            SafeTensors.Entry e = entry(tensor, rows, cols);
            if (format == RowMatrix.Format.F32) {
              var values = SafeTensors.asF32(e, arena);
              if (e.dtype() != SafeTensors.DType.F32) { // widened: the file's pages are done
                dropPages(e.data());
              }
              return new RowMatrix(RowMatrix.Format.F32_ROWS, rows, cols, values);
            }
            try (Arena scratch = Arena.ofConfined()) {
              var f32 =
                  new RowMatrix(
                      RowMatrix.Format.F32_ROWS, rows, cols, SafeTensors.asF32(e, scratch));
              RowMatrix m = RowMatrix.convert(format, rows, cols, f32::get, arena);
              dropPages(e.data());
              return m;
            }
          }
        };
    Block[] blocks = new Block[c.layers()];
    for (int i = 0; i < blocks.length; i++) {
      String h = "h." + i + ".";
      blocks[i] =
          new Block(
              st.vector(h + "ln_1.weight", d),
              st.vector(h + "ln_1.bias", d),
              st.linear(h + "attn.c_attn.weight", d, 3 * d),
              st.vector(h + "attn.c_attn.bias", 3 * d),
              st.linear(h + "attn.c_proj.weight", d, d),
              st.vector(h + "attn.c_proj.bias", d),
              st.vector(h + "ln_2.weight", d),
              st.vector(h + "ln_2.bias", d),
              st.linear(h + "mlp.c_fc.weight", d, 4 * d),
              st.vector(h + "mlp.c_fc.bias", 4 * d),
              st.linear(h + "mlp.c_proj.weight", 4 * d, d),
              st.vector(h + "mlp.c_proj.bias", d));
    }
    return new Gpt2Weights(
        st.rows("wte.weight", c.vocabularySize(), d, precision.format()),
        st.rows("wpe.weight", c.positions(), d, RowMatrix.Format.F32),
        blocks,
        st.vector("ln_f.weight", d),
        st.vector("ln_f.bias", d));
  }

  /**
   * From a GGUF file of the gpt2 architecture, named as llama.cpp's converter names them ({@code
   * token_embd}, {@code position_embd}, {@code blk.N.attn_norm/attn_qkv/attn_output/ffn_norm/
   * ffn_up/ffn_down}, {@code output_norm}), weights as torch's {@code [out, in]} (GGUF ne {@code
   * [in, out]}). A separate {@code output.weight} is refused unless it is absent (tied head).
   */
  static Gpt2Weights fromGguf(GgufFile file, Gpt2Config c, Precision precision, Arena arena) {
    String name = file.file().getFileName().toString();
    int d = c.embedding();
    if (file.tensor("output.weight") != null) {
      throw KilnException.of(
          ErrorKind.UNSUPPORTED,
          "%s: has an untied output.weight; kiln-llm serves GPT-2 with the head tied to"
              + " token_embd",
          name);
    }
    var g =
        new Object() {
          GgufFile.Tensor tensor(String tensor, long... ne) {
            GgufFile.Tensor t = file.tensor(tensor);
            if (t == null) {
              throw KilnException.of(ErrorKind.INTERNAL, "%s: no tensor %s", name, tensor);
            }
            checkShape(name, tensor, t.ne(), ne);
            return t;
          }

          float[] vector(String tensor, int n) {
            GgufFile.Tensor t = tensor(tensor, n);
            return switch (t.type()) {
              case F32 -> t.data().toArray(SafeTensors.F32);
              case F16, BF16 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                  short h = t.data().getAtIndex(SafeTensors.U16, i);
                  out[i] =
                      t.type() == GgufFile.Type.F16
                          ? Float.float16ToFloat(h)
                          : Float.intBitsToFloat((h & 0xffff) << 16);
                }
                yield out;
              }
              case Q8_0 -> {
                float[] out = new float[n];
                for (int i = 0; i < n; i++) {
                  out[i] = RowMatrix.q8Block(t.data(), i);
                }
                yield out;
              }
            };
          }

          /** A [rows, cols] tensor (GGUF ne [cols, rows]) in the format the precision asks. */
          RowMatrix rows(String tensor, int rows, int cols, Precision p) {
            GgufFile.Tensor t = tensor(tensor, cols, rows);
            RowMatrix stored =
                switch (t.type()) {
                  case F32 -> RowMatrix.fromRows(RowMatrix.Format.F32, rows, cols, t.data(), arena);
                  case BF16 ->
                      RowMatrix.fromRows(RowMatrix.Format.BF16, rows, cols, t.data(), arena);
                  case Q8_0 -> RowMatrix.fromQ8Blocks(rows, cols, t.data(), arena);
                  case F16 -> {
                    var seg = t.data();
                    yield RowMatrix.convert(
                        RowMatrix.Format.BF16,
                        rows,
                        cols,
                        (r, col) ->
                            Float.float16ToFloat(
                                seg.getAtIndex(SafeTensors.U16, (long) r * cols + col)),
                        arena);
                  }
                };
            // every format is repacked or converted into the arena: the file's pages of this
            // tensor leave the resident set now, one tensor at a time, so VmHWM never holds both
            dropPages(t.data());
            if (p == Precision.AUTO || stored.format() == p.format()) {
              return stored;
            }
            return RowMatrix.convert(p.format(), rows, cols, stored::get, arena);
          }
        };
    Block[] blocks = new Block[c.layers()];
    for (int i = 0; i < blocks.length; i++) {
      String h = "blk." + i + ".";
      blocks[i] =
          new Block(
              g.vector(h + "attn_norm.weight", d),
              g.vector(h + "attn_norm.bias", d),
              g.rows(h + "attn_qkv.weight", 3 * d, d, precision),
              g.vector(h + "attn_qkv.bias", 3 * d),
              g.rows(h + "attn_output.weight", d, d, precision),
              g.vector(h + "attn_output.bias", d),
              g.vector(h + "ffn_norm.weight", d),
              g.vector(h + "ffn_norm.bias", d),
              g.rows(h + "ffn_up.weight", 4 * d, d, precision),
              g.vector(h + "ffn_up.bias", 4 * d),
              g.rows(h + "ffn_down.weight", d, 4 * d, precision),
              g.vector(h + "ffn_down.bias", d));
    }
    return new Gpt2Weights(
        g.rows("token_embd.weight", c.vocabularySize(), d, precision),
        g.rows("position_embd.weight", c.positions(), d, Precision.AUTO),
        blocks,
        g.vector("output_norm.weight", d),
        g.vector("output_norm.bias", d));
  }

  private static void checkShape(String file, String tensor, long[] actual, long[] expected) {
    if (!Arrays.equals(actual, expected)) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "%s: tensor %s has shape %s, the config implies %s",
          file,
          tensor,
          Arrays.toString(actual),
          Arrays.toString(expected));
    }
  }
}
