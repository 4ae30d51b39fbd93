/** Time as an injected dependency. */
package dev.kiln.core.time;
