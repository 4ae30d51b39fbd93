/** One typed configuration tree, merged from defaults, file, environment and flags. */
package dev.kiln.core.config;
