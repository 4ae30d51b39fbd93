/**
 * The prediction cache: an in-process L1 (Caffeine, bounded by bytes, per-entry TTL) and an
 * optional remote L2 ({@link dev.kiln.core.cache.RemoteTier}, Redis in kiln-server). Entries are
 * found by the full {@link dev.kiln.core.cache.CacheKey}, never by a hash alone.
 */
package dev.kiln.core.cache;
