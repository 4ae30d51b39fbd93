/**
 * {@code kiln bench}: an open-loop HTTP load generator that measures latency from each request's
 * intended send time (correcting for coordinated omission, as wrk2 does), and writes a JSON and a
 * self-contained HTML report. It talks HTTP only, so it can load-test any server that speaks KServe
 * v2, TensorFlow-Serving-style v1 or OpenAI completions.
 */
package dev.kiln.bench;
