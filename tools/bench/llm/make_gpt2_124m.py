#!/usr/bin/python3
"""A random-weight GPT-2 124M (12 layers, 768 wide, 12 heads, vocab 50257, context 1024) for
kiln-llm's benchmarks, as a Hugging Face checkpoint: config.json, model.safetensors (F32, the
"transformer." names of GPT2LMHeadModel, head tied to wte) and the real GPT-2 vocab.json /
merges.txt. About 500 MB: written to a git-ignored directory, never committed. Weights follow HF's
init (normal 0.02, residual projections 0.02 / sqrt(2 n_layer)); the model says nothing useful,
but its arithmetic and memory traffic are GPT-2 small's.

  /usr/bin/python3 tools/bench/llm/make_gpt2_124m.py [out-dir, default bench-out/gpt2-124m]

Then the GGUF files, in the sid chroot with python3-gguf (see tools/bench/llm/README.md):
  python3 tools/fixtures/llm/make_gguf.py bench-out/gpt2-124m bench-out/gpt2-124m bench-out/gpt2-124m
"""
import json
import math
import os
import shutil
import struct
import sys

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
CONFIG = {
    "model_type": "gpt2",
    "architectures": ["GPT2LMHeadModel"],
    "n_layer": 12,
    "n_head": 12,
    "n_embd": 768,
    "n_positions": 1024,
    "n_ctx": 1024,
    "vocab_size": 50257,
    "layer_norm_epsilon": 1e-5,
    "activation_function": "gelu_new",
    "bos_token_id": 50256,
    "eos_token_id": 50256,
    "tie_word_embeddings": True,
}


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "bench-out", "gpt2-124m")
    os.makedirs(out, exist_ok=True)
    g = torch.Generator().manual_seed(124)
    d, layers, v, p = 768, 12, 50257, 1024

    def normal(*shape, std=0.02):
        return torch.randn(*shape, generator=g) * std

    params = {"wte.weight": normal(v, d), "wpe.weight": normal(p, d, std=0.01)}
    for i in range(layers):
        h = f"h.{i}."
        params[h + "ln_1.weight"] = 1.0 + normal(d, std=0.1)
        params[h + "ln_1.bias"] = normal(d)
        params[h + "attn.c_attn.weight"] = normal(d, 3 * d)
        params[h + "attn.c_attn.bias"] = normal(3 * d)
        params[h + "attn.c_proj.weight"] = normal(d, d, std=0.02 / math.sqrt(2 * layers))
        params[h + "attn.c_proj.bias"] = normal(d)
        params[h + "ln_2.weight"] = 1.0 + normal(d, std=0.1)
        params[h + "ln_2.bias"] = normal(d)
        params[h + "mlp.c_fc.weight"] = normal(d, 4 * d)
        params[h + "mlp.c_fc.bias"] = normal(4 * d)
        params[h + "mlp.c_proj.weight"] = normal(4 * d, d, std=0.02 / math.sqrt(2 * layers))
        params[h + "mlp.c_proj.bias"] = normal(d)
    params["ln_f.weight"] = 1.0 + normal(d, std=0.1)
    params["ln_f.bias"] = normal(d)

    header, offset = {"__metadata__": {"format": "pt", "made_by": "tools/bench/llm/make_gpt2_124m.py"}}, 0
    names = list(params)
    for name in names:
        n = params[name].numel() * 4
        header["transformer." + name] = {"dtype": "F32", "shape": list(params[name].shape),
                                         "data_offsets": [offset, offset + n]}
        offset += n
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for name in names:
            f.write(params[name].contiguous().numpy().astype("<f4").tobytes())
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
    tok = os.path.join(ROOT, "kiln-llm", "src", "test", "resources", "gpt2-tokenizer")
    for name in ("vocab.json", "merges.txt"):
        shutil.copy(os.path.join(tok, name), os.path.join(out, name))
    print(out, sum(t.numel() for t in params.values()), "parameters")


if __name__ == "__main__":
    main()
