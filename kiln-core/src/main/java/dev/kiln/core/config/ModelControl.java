package dev.kiln.core.config;

/** How the repository changes after startup, as Triton's {@code --model-control-mode}. */
public enum ModelControl {
  /** Load what the repository holds at startup; never change. */
  NONE,
  /** Rescan the repository periodically; load new versions, retire removed ones. */
  POLL,
  /** Load and unload only on request (the repository API). */
  EXPLICIT
}
