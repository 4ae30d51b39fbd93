/** The protocol-independent inference path: acquire, validate, execute, time. */
package dev.kiln.core.inference;
