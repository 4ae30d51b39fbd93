/**
 * The command line ({@link dev.kiln.server.Main}) and a running server ({@link
 * dev.kiln.server.KilnServer}).
 */
package dev.kiln.server;
