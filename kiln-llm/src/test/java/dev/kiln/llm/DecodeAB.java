package dev.kiln.llm;

import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * A paired A/B harness (not a test) for decode speed on a noisy box: loads two builds of kiln-llm
 * into one JVM, each in its own class loader with its own model and workers, and alternates their
 * decode rounds in ABBA order, so that both see the same drift of the machine; reports each build's
 * tok/s and the per-pair ratio. {@code tools/bench/llm/ab.sh} runs it in both load orders (which
 * build is loaded first can itself move the figure). Arguments: {@code <model> <precision> <pairs>
 * <classpath of build 0> <classpath of build 1>}.
 */
final class DecodeAB {
  private DecodeAB() {}

  public static void main(String[] a) throws Exception {
    String model = a[0];
    String precision = a[1];
    int pairs = Integer.parseInt(a[2]);
    Object[] runs = new Object[2];
    Method[] round = new Method[2];
    for (int v = 0; v < 2; v++) {
      String[] parts = a[3 + v].split(":");
      URL[] urls = new URL[parts.length];
      for (int i = 0; i < parts.length; i++) {
        urls[i] = Path.of(parts[i]).toUri().toURL();
      }
      // the platform loader as parent: this JVM's own copy of kiln-llm stays out of both builds
      ClassLoader l = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
      Class<?> c = l.loadClass("dev.kiln.llm.DecodeRound");
      runs[v] =
          c.getConstructor(String.class, String.class, int.class).newInstance(model, precision, 2);
      round[v] = c.getMethod("round", int.class);
    }
    for (int w = 0; w < 3; w++) {
      for (int v = 0; v < 2; v++) {
        round[v].invoke(runs[v], 64);
      }
    }
    double[][] r = new double[2][pairs];
    int wins = 0;
    for (int k = 0; k < pairs; k++) {
      for (int i = 0; i < 2; i++) {
        int v = k % 2 == 0 ? i : 1 - i;
        r[v][k] = (double) round[v].invoke(runs[v], 64);
      }
      wins += r[1][k] > r[0][k] ? 1 : 0;
    }
    for (int v = 0; v < 2; v++) {
      double[] s = r[v].clone();
      Arrays.sort(s);
      System.out.printf(
          "build %d: median %.1f tok/s, min %.1f, max %.1f%n", v, s[pairs / 2], s[0], s[pairs - 1]);
    }
    double[] ratio = new double[pairs];
    for (int k = 0; k < pairs; k++) {
      ratio[k] = r[1][k] / r[0][k];
    }
    Arrays.sort(ratio);
    System.out.printf(
        "build 1 / build 0 per pair: median %.3f (quartiles %.3f-%.3f), 1 faster in %d of %d%n",
        ratio[pairs / 2], ratio[pairs / 4], ratio[3 * pairs / 4], wins, pairs);
    System.exit(0);
  }
}
