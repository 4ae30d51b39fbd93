/**
 * Ensembles: a model of backend {@code ensemble} that runs N member models of any runtime in
 * parallel on the same inputs and combines their outputs (mean, weighted mean, majority vote, or a
 * final stacking model). Members are resolved by name at request time through {@link
 * dev.kiln.core.model.ModelResolver}, so load order does not matter and member reloads are picked
 * up. See docs/model-repository.md for the config and the outputs.
 */
package dev.kiln.core.ensemble;
