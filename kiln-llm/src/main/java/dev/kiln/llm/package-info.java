/**
 * Pure-Java LLM serving for the GPT-2 family: the byte-level BPE tokenizer ({@link
 * dev.kiln.llm.Gpt2Tokenizer}), a memory-mapped safetensors reader, a transformer engine with a KV
 * cache whose matmuls use the Vector API on persistent worker threads, a sampler, and the {@code
 * kiln-llm} runtime ({@link dev.kiln.llm.LlmRuntime}).
 */
package dev.kiln.llm;
