// Starts the Neo4j launcher with a tiny loopback HTTP server beside it that serves one file:
// the Neo4j Browser guide listing the saved explorations (`unfragile db start --browser`).
//
// Usage: java -Dunfragile.guide.file=FILE -Dunfragile.guide.port=PORT
//             -Dunfragile.guide.origin=ORIGIN -cp CLASSPATH BrowserLauncher LAUNCHER_ARGS...
// Neo4j Browser fetches the guide from the page's own origin (ORIGIN, the HTTP connector), so
// the answer allows exactly that origin. Only GET of /unfragile.html is answered; the file is
// read on each request, so `unfragile db start --browser` can rewrite it while Neo4j runs.

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;

public final class BrowserLauncher {
    public static void main(String[] args) throws Exception {
        Path file = Path.of(System.getProperty("unfragile.guide.file"));
        int port = Integer.parseInt(System.getProperty("unfragile.guide.port"));
        String origin = System.getProperty("unfragile.guide.origin");
        HttpServer server = HttpServer.create(
                new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 16);
        server.createContext("/", exchange -> answer(exchange, file, origin));
        server.start();
        Launcher.main(args);
    }

    private static void answer(HttpExchange exchange, Path file, String origin) throws IOException {
        try (exchange) {
            exchange.getResponseHeaders().set("Access-Control-Allow-Origin", origin);
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
