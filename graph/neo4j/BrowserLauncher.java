// Starts the Neo4j launcher with a tiny loopback HTTP server beside it that serves one file:
// the Neo4j Browser guide listing the saved explorations (`unfragile db start --browser`).
//
// Usage: java -Dunfragile.guide.file=FILE -Dunfragile.guide.port=PORT
//             -Dunfragile.guide.origins=ORIGIN,... -cp CLASSPATH BrowserLauncher LAUNCHER_ARGS...
// Neo4j Browser fetches the guide from its page (an ORIGIN: the HTTP connector by 127.0.0.1 or
// localhost), so the answer allows exactly those origins. Only GET of /unfragile.html is
// answered; the file is read on each request, so a later start can rewrite it.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

public final class BrowserLauncher {
    public static void main(String[] args) throws Exception {
        Path file = Path.of(System.getProperty("unfragile.guide.file"));
        int port = Integer.parseInt(System.getProperty("unfragile.guide.port"));
        Set<String> origins = Set.of(System.getProperty("unfragile.guide.origins").split(","));
        HttpServer server = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        server.createContext("/", exchange -> answer(exchange, file, origins));
        server.start();
        Launcher.main(args);
    }

    private static void answer(HttpExchange exchange, Path file, Set<String> origins)
            throws IOException {
        try (exchange) {
            String origin = exchange.getRequestHeaders().getFirst("Origin");
            if (origin != null && origins.contains(origin)) {
                exchange.getResponseHeaders().set("Access-Control-Allow-Origin", origin);
            }
            exchange.getResponseHeaders().set("Vary", "Origin");
            exchange.getResponseHeaders().set("X-Content-Type-Options", "nosniff");
            String method = exchange.getRequestMethod();
            if (method.equals("OPTIONS")) {
                // Browser's fetch sends no-cache headers, so it asks first.
                exchange.getResponseHeaders().set("Access-Control-Allow-Methods", "GET");
                exchange.getResponseHeaders().set(
                        "Access-Control-Allow-Headers", "pragma, cache-control");
                exchange.sendResponseHeaders(204, -1);
                return;
            }
            if (!method.equals("GET") || !exchange.getRequestURI().getPath().equals("/unfragile.html")) {
                exchange.sendResponseHeaders(404, -1);
                return;
            }
            byte[] body = Files.readAllBytes(file);
            exchange.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        }
    }
}
