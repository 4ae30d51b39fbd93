/**
 * The ONNX Runtime backend: {@link dev.kiln.onnx.OnnxRuntime} loads {@code model.onnx} files into
 * sessions and runs Kiln's batches through them. This is the only package that touches ONNX
 * Runtime's API, so its native library stays out of every other module.
 */
package dev.kiln.onnx;
