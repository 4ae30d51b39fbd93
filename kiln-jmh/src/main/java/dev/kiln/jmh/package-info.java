/** JMH microbenchmarks of Kiln's hot paths. Build with ./mvnw -pl kiln-jmh -am package. */
package dev.kiln.jmh;
