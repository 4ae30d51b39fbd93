package dev.kiln.server.http;

import io.helidon.common.uri.UriPath;
import io.helidon.http.Method;
import io.helidon.http.PathMatcher;
import io.helidon.http.PathMatchers;
import io.helidon.webserver.http.Handler;
import io.helidon.webserver.http.HttpRouting;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The server's routes: registers each with Helidon's routing and remembers its method and path
 * pattern, so that the fallback can answer a known path asked with the wrong method 405 with an
 * {@code Allow} header (RFC 9110 §15.5.6), as Triton and vLLM do, rather than 404.
 */
public final class RouteTable {
  private record Route(Method method, PathMatcher path) {}

  private final HttpRouting.Builder routing;
  private final List<Route> routes = new ArrayList<>();

  public RouteTable(HttpRouting.Builder routing) {
    this.routing = routing;
  }

  public RouteTable get(String pattern, Handler handler) {
    routing.get(pattern, handler);
    return remember(Method.GET, pattern);
  }

  public RouteTable post(String pattern, Handler handler) {
    routing.post(pattern, handler);
    return remember(Method.POST, pattern);
  }

  private RouteTable remember(Method method, String pattern) {
    routes.add(new Route(method, PathMatchers.create(pattern)));
    return this;
  }

  /** The methods some route takes at {@code path}, in registration order; empty if none. */
  public Set<Method> allowed(UriPath path) {
    Set<Method> methods = new LinkedHashSet<>();
    for (Route r : routes) {
      if (r.path().match(path).accepted()) {
        methods.add(r.method());
      }
    }
    return methods;
  }
}
