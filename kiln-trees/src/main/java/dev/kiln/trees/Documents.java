package dev.kiln.trees;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a JSON document into the same plain values that {@link Ubjson} produces: {@code Map} for
 * objects, {@code String}, {@code Long}, {@code Float}, {@code Boolean}, {@code null}, and for
 * arrays a {@code float[]} when every element is a number and one is fractional, a {@code long[]}
 * when every element is an integer, otherwise a {@code List}. Numeric arrays are what a tree model
 * is made of, so keeping them primitive keeps a large model's load cheap.
 *
 * <p>Fractional numbers are parsed straight to float32 from their text ({@link Float#parseFloat}),
 * not through a double, so that a value XGBoost wrote from a float comes back bit for bit (parsing
 * to double first can round twice).
 */
final class Documents {
  // XGBoost writes NaN for the (unused) split condition of a categorical split.
  private static final JsonFactory JSON =
      JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build();

  private Documents() {}

  static Object readJson(InputStream in) throws IOException {
    try (JsonParser p = JSON.createParser(in)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new IOException("empty document");
      }
      Object value = value(p, t);
      if (p.nextToken() != null) {
        throw new IOException("trailing content after the document at " + p.currentLocation());
      }
      return value;
    }
  }

  /** The names of the top-level object's first fields, read without reading their values. */
  static boolean jsonHasTopLevelKey(InputStream in, String key, int maxKeys) throws IOException {
    try (JsonParser p = JSON.createParser(in)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        return false;
      }
      for (int i = 0; i < maxKeys && p.nextToken() == JsonToken.FIELD_NAME; i++) {
        if (key.equals(p.currentName())) {
          return true;
        }
        p.nextToken();
        p.skipChildren();
      }
      return false;
    }
  }

  private static Object value(JsonParser p, JsonToken t) throws IOException {
    return switch (t) {
      case START_OBJECT -> {
        Map<String, Object> map = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          map.put(name, value(p, p.nextToken()));
        }
        yield map;
      }
      case START_ARRAY -> {
        List<Object> items = new ArrayList<>();
        JsonToken next;
        while ((next = p.nextToken()) != JsonToken.END_ARRAY) {
          if (next == null) {
            throw new IOException("unterminated array");
          }
          items.add(value(p, next));
        }
        yield compact(items);
      }
      case VALUE_STRING -> p.getText();
      case VALUE_NUMBER_INT -> p.getLongValue();
      case VALUE_NUMBER_FLOAT -> Float.parseFloat(p.getText());
      case VALUE_TRUE -> Boolean.TRUE;
      case VALUE_FALSE -> Boolean.FALSE;
      case VALUE_NULL -> null;
      default -> throw new IOException("unexpected " + t + " at " + p.currentLocation());
    };
  }

  /** A list of numbers as a primitive array, any other list as it is. */
  static Object compact(List<Object> items) {
    if (items.isEmpty()) {
      return new long[0];
    }
    boolean fractional = false;
    for (Object o : items) {
      if (o instanceof Float || o instanceof Double) {
        fractional = true;
      } else if (!(o instanceof Long)) {
        return items;
      }
    }
    if (fractional) {
      float[] a = new float[items.size()];
      for (int i = 0; i < a.length; i++) {
        a[i] = ((Number) items.get(i)).floatValue();
      }
      return a;
    }
    long[] a = new long[items.size()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (Long) items.get(i);
    }
    return a;
  }
}
