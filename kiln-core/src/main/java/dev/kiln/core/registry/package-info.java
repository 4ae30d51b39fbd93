/**
 * The model repository (Triton's directory layout), per-model config files, and the registry that
 * loads, serves, swaps and retires versions under the none, poll and explicit control modes.
 */
package dev.kiln.core.registry;
