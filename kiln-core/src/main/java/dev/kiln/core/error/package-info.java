/** The error model: one exception, one closed set of kinds. */
package dev.kiln.core.error;
