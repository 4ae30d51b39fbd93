/**
 * The runtime SPI and the values that cross it: tensors, signatures, requests and results. Runtimes
 * ({@link dev.kiln.core.model.ModelRuntime}) are found with {@link java.util.ServiceLoader}.
 */
package dev.kiln.core.model;
