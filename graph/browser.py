"""Neo4j Browser on the local server: its jars, the HTTP connector's settings, the guide's server.

The embedded DBMS starts Neo4j's web server by itself when the HTTP connector is on and the
web server's classes are on the classpath (org.neo4j.app:neo4j-server); its Browser module
serves the `browser/` folder of org.neo4j.client:neo4j-browser at /browser. Only that module
is enabled: no HTTP Cypher endpoint, queries go over Bolt with the same password.
"""

from __future__ import annotations

from pathlib import Path

NEO4J_SOURCES = Path(__file__).resolve().parent / "neo4j"
BROWSER_POM = NEO4J_SOURCES / "browser-pom.xml"
GUIDE_SOURCE = NEO4J_SOURCES / "BrowserLauncher.java"
GUIDE_NAME = "unfragile.html"
HTTP_PORT = 7474  # Neo4j's usual one, when it is free


def sources() -> bytes:
    """What the browser runtime is built from (part of its cache key)."""
    return BROWSER_POM.read_bytes() + GUIDE_SOURCE.read_bytes()


def conf_lines(http_port: int, guide_port: int) -> list[str]:
    """neo4j.conf lines: the HTTP connector on loopback with only the Browser module, and the
    guide opened after login (Browser fetches remote guides only from allowed hosts)."""
    origin = f"http://127.0.0.1:{http_port}"
    return [
        "server.http.enabled=true",
        f"server.http.listen_address=127.0.0.1:{http_port}",
        f"server.http.advertised_address=127.0.0.1:{http_port}",
        "server.http_enabled_modules=BROWSER",
        f"dbms.security.http_access_control_allow_origin={origin}",
        f"browser.post_connect_cmd=play http://127.0.0.1:{guide_port}/{GUIDE_NAME}",
        "browser.remote_content_hostname_whitelist=http://127.0.0.1",
        "client.allow_telemetry=false",
    ]


def jvm_args(guide_file: Path, http_port: int, guide_port: int) -> list[str]:
    """The JVM properties and main class that start the guide's server, then the launcher."""
    return [
        f"-Dunfragile.guide.file={guide_file}",
        f"-Dunfragile.guide.port={guide_port}",
        f"-Dunfragile.guide.origins=http://127.0.0.1:{http_port},http://localhost:{http_port}",
        "BrowserLauncher",  # its name says Launcher: `db status` knows the process by it
    ]
