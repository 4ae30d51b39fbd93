package dev.kiln.core.registry;

/** A version's state, named as in Triton's repository index. */
public enum ModelState {
  LOADING,
  READY,
  /** Failed to load, or unloaded; the reason says which. */
  UNAVAILABLE
}
