/**
 * HTTP protocols over Helidon SE: KServe v2 (with Triton's binary tensor extension and repository
 * extension), the v1 predict API, and health. Every route goes through {@link
 * dev.kiln.server.http.Endpoints} and every error through {@link dev.kiln.server.http.Problems}.
 */
package dev.kiln.server.http;
