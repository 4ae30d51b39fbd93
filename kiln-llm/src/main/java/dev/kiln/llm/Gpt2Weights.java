package dev.kiln.llm;

import dev.kiln.core.error.ErrorKind;
import dev.kiln.core.error.KilnException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;

/**
 * GPT-2's weights by Hugging Face name, checked against the config. Matrices stay in the mapped
 * file as little-endian F32 {@link MemorySegment}s; biases and layer-norm vectors, which are tiny,
 * are copied to float arrays. The linear layers are Conv1D: a weight is stored {@code [in, out]}
 * and applied as {@code x @ W}. The output head is tied to {@code wte}.
 */
final class Gpt2Weights {
  /** One transformer block. */
  record Block(
      float[] ln1Weight,
      float[] ln1Bias,
      MemorySegment attnWeight, // [d, 3d]: q, k, v side by side
      float[] attnBias,
      MemorySegment attnProjWeight, // [d, d]
      float[] attnProjBias,
      float[] ln2Weight,
      float[] ln2Bias,
      MemorySegment fcWeight, // [d, 4d]
      float[] fcBias,
      MemorySegment fcProjWeight, // [4d, d]
      float[] fcProjBias) {}

  final MemorySegment tokenEmbedding; // wte [vocab, d], also the output head
  final MemorySegment positionEmbedding; // wpe [positions, d]
  final Block[] blocks;
  final float[] lnFinalWeight;
  final float[] lnFinalBias;

  private final SafeTensors file;
  private final String prefix;
  private final Arena arena;

  Gpt2Weights(SafeTensors file, Gpt2Config c, Arena arena) {
    this.file = file;
    this.arena = arena;
    // GPT2Model checkpoints name tensors "h.0...", GPT2LMHeadModel ones "transformer.h.0...".
    this.prefix = file.get("wte.weight") != null ? "" : "transformer.";
    int d = c.embedding();
    tokenEmbedding = matrix("wte.weight", c.vocabularySize(), d);
    positionEmbedding = matrix("wpe.weight", c.positions(), d);
    blocks = new Block[c.layers()];
    for (int i = 0; i < blocks.length; i++) {
      String h = "h." + i + ".";
      blocks[i] =
          new Block(
              vector(h + "ln_1.weight", d),
              vector(h + "ln_1.bias", d),
              matrix(h + "attn.c_attn.weight", d, 3 * d),
              vector(h + "attn.c_attn.bias", 3 * d),
              matrix(h + "attn.c_proj.weight", d, d),
              vector(h + "attn.c_proj.bias", d),
              vector(h + "ln_2.weight", d),
              vector(h + "ln_2.bias", d),
              matrix(h + "mlp.c_fc.weight", d, 4 * d),
              vector(h + "mlp.c_fc.bias", 4 * d),
              matrix(h + "mlp.c_proj.weight", 4 * d, d),
              vector(h + "mlp.c_proj.bias", d));
    }
    lnFinalWeight = vector("ln_f.weight", d);
    lnFinalBias = vector("ln_f.bias", d);
  }

  private SafeTensors.Entry entry(String name, long... shape) {
    SafeTensors.Entry e = file.get(prefix + name);
    if (e == null) {
      throw KilnException.of(
          ErrorKind.INTERNAL, "%s: no tensor %s%s", file.file().getFileName(), prefix, name);
    }
    if (!Arrays.equals(e.shape(), shape)) {
      throw KilnException.of(
          ErrorKind.INTERNAL,
          "%s: tensor %s has shape %s, the config implies %s",
          file.file().getFileName(),
          e.name(),
          Arrays.toString(e.shape()),
          Arrays.toString(shape));
    }
    return e;
  }

  private MemorySegment matrix(String name, int rows, int cols) {
    return SafeTensors.asF32(entry(name, rows, cols), arena);
  }

  private float[] vector(String name, int n) {
    return SafeTensors.toFloats(entry(name, n));
  }
}
