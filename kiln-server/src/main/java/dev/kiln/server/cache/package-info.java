/** The Redis L2 of the prediction cache (Lettuce); the cache itself is in dev.kiln.core.cache. */
package dev.kiln.server.cache;
