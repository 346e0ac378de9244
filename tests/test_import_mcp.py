"""`unfragile import mcp-registry` on the real Neo4j: the 2025 seed file whole, and pages in the
live API's shape from a registry served on 127.0.0.1 (versions, statuses, removal, faults)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import REPO, load_catalog
from tests.helpers import snapshot
from tests.registry_server import LocalRegistry, entry
from unfragile.engine.errors import InvalidInput
from unfragile.engine.importers.mcp_registry import DEFAULT_URL, Fetcher, import_registry
from unfragile.engine.settings import MAX_DESCRIPTION_CHARS

SEED = REPO.parent / "shared" / "mcp-registry" / "seed_2025_05_16.json"
needs_seed = pytest.mark.skipif(
    not SEED.is_file(), reason=f"the MCP Registry seed is not at {SEED} (../shared/mcp-registry)"
)

NPM = {"registryType": "npm", "identifier": "@example/pg-explorer", "transport": {"type": "stdio"}}


def servers() -> list[dict[str, Any]]:
    """Eight records (seven servers) in today's shape, with prose of our own."""
    return [
        entry(
            "com.example/pg-explorer",
            "Runs read-only SQL against a PostgreSQL database and lists its tables and columns.",
            version="1.1.0",
            latest=False,
            title="Postgres Explorer",
            packages=[{**NPM, "version": "1.1.0"}],
        ),
        entry(
            "io.github.example-user/weather-now",
            "Gives current weather and a five-day forecast for any city.",
            repository={"url": "https://github.com/Example-User/weather-now", "source": "github"},
            packages=[
                {
                    "registryType": "pypi",
                    "identifier": "weather-now-mcp",
                    "version": "0.4.2",
                    "transport": {"type": "stdio"},
                }
            ],
            remotes=[{"type": "streamable-http", "url": "https://weather.example.com/mcp"}],
        ),
        entry(
            "com.example/old-tickets",
            "Files and updates tickets in a help desk.",
            status="deprecated",
        ),
        entry(
            "com.example/gone-soon",
            "Translates short texts between English and French.",
            status="deleted",
        ),
        entry(
            "com.example/pg-explorer",
            "Runs read-only SQL against a PostgreSQL database and lists its tables and columns. "
            "Explains slow queries with their plans.",
            version="1.2.0",
            title="Postgres Explorer",
            packages=[{**NPM, "version": "1.2.0"}],
        ),
        entry(
            "io.github.another/slack-notes",
            "Posts messages to Slack channels and reads their recent history.",
            packages=[
                {
                    "registryType": "oci",
                    "identifier": "docker.io/another/slack-notes",
                    "version": "2.0.1",
                    "transport": {"type": "stdio"},
                }
            ],
        ),
        entry("dev.example/mcp-server", "Searches the files of a local folder by their contents."),
        entry("io.github.someone/mcp-server", "Converts between units of length, mass and time."),
    ]


def imported(graph) -> dict[str, dict[str, Any]]:
    rows = graph.read(
        "MATCH (a:Artifact {imported_from: 'mcp-registry'}) "
        "OPTIONAL MATCH (a)-[:HAS_CAPABILITY]->(c) "
        "RETURN a.id AS id, properties(a) AS props, collect(c.text) AS capabilities"
    )
    return {r["id"]: {**r["props"], "capabilities": sorted(r["capabilities"])} for r in rows}


def quick() -> Fetcher:
    return Fetcher(timeout_s=10, attempts=3, backoff_s=0)


# -- the seed file -----------------------------------------------------------------------------


@needs_seed
def test_the_seed_file_imports_whole_and_twice_changes_nothing(graph):
    seed = json.loads(SEED.read_text(encoding="utf-8"))
    named = [r for r in seed if r["name"]]
    report = import_registry(graph, str(SEED), show_progress=False)
    # 471 records: 7 are blank placeholders (every field empty, the same empty name 7 times);
    # no two real servers share a name, so 464 servers.
    assert (report.records, report.blank, report.merged) == (471, 7, 0)
    assert report.servers == len(named) == 464
    assert report.complete and report.removed == 0
    got = imported(graph)
    assert set(got) == {"mcp:" + r["name"].lower().replace("/", ":") for r in named}
    assert {a["kind"] for a in got.values()} == {"mcp-server"}

    magic = next(r for r in named if r["name"] == "io.github.21st-dev/magic-mcp")
    a = got["mcp:io.github.21st-dev:magic-mcp"]
    assert a["name"] == "magic-mcp"
    assert a["provider"] == "21st-dev"
    assert a["url"] == "https://github.com/21st-dev/magic-mcp"
    assert a["description"] == magic["description"]
    assert a["packages"] == ["npm @21st-dev/magic 0.0.46 -"]
    assert a["released"] == "2025-05-16" and a["status"] == "active"
    assert a["capabilities"]  # decomposed from the description
    assert graph.read(
        "MATCH (:Artifact {id: 'mcp:io.github.21st-dev:magic-mcp'})-[:PROVIDED_BY]->(o) "
        "RETURN o.name AS name"
    ) == [{"name": "21st-dev"}]
    # A server the seed gives no description: one capability from its name, no made-up text.
    bare = next(r for r in named if not r["description"].strip())
    b = got["mcp:" + bare["name"].lower().replace("/", ":")]
    assert b.get("description") is None and len(b["capabilities"]) == 1
    # Docker images are named as today's registry names them.
    assert any(p.startswith("oci ") for x in got.values() for p in x["packages"])

    before = snapshot(graph)
    again = import_registry(graph, str(SEED), show_progress=False)
    assert again.servers == 464 and again.removed == 0
    assert snapshot(graph) == before


@needs_seed
def test_a_search_by_need_finds_an_imported_server(graph, settings, encoder):
    from unfragile.engine.search import SearchEngine

    indexer = load_catalog(graph, settings, encoder)
    import_registry(graph, str(SEED), show_progress=False)
    for name in ("capabilities", "queries", "artifacts"):
        indexer.sync_text(name, show_progress=False)
    answer = SearchEngine(settings, graph, encoder=encoder).ask(
        "an MCP server to query a MySQL database", k=5
    )
    top = [(r.artifact, r.kind) for r in answer.results]
    assert any(i.startswith("mcp:") and "mysql" in i and k == "mcp-server" for i, k in top[:3]), top


# -- the live API's shape, served locally ------------------------------------------------------


def test_pages_are_followed_and_the_latest_version_kept(graph):
    with LocalRegistry(servers(), page_size=3) as registry:
        report = import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
    assert (report.pages, report.records, report.merged, report.servers) == (3, 8, 1, 7)
    assert all("limit=" in path for path in registry.requests)
    assert sum("cursor=" in path for path in registry.requests) == 2
    got = imported(graph)
    pg = got["mcp:com.example:pg-explorer"]
    assert pg["name"] == "Postgres Explorer"  # the title
    assert pg["provider"] == "example.com"  # the reverse-DNS namespace
    assert pg["packages"] == ["npm @example/pg-explorer 1.2.0 stdio"]
    assert any("slow queries" in text for text in pg["capabilities"])  # 1.2.0's description
    assert (pg["released"], pg["updated"]) == ("2025-10-01", "2025-10-02")
    weather = got["mcp:io.github.example-user:weather-now"]
    assert weather["provider"] == "Example-User"  # the GitHub account, as its URL spells it
    assert weather["url"] == "https://github.com/Example-User/weather-now"
    assert weather["remotes"] == ["streamable-http https://weather.example.com/mcp"]
    assert got["mcp:com.example:old-tickets"]["status"] == "archived"  # deprecated
    assert got["mcp:com.example:gone-soon"]["status"] == "removed"  # deleted
    # Two servers named "mcp-server": each says whose it is.
    assert {
        got[i]["name"] for i in ("mcp:dev.example:mcp-server", "mcp:io.github.someone:mcp-server")
    } == {
        "mcp-server (example.dev)",
        "mcp-server (someone)",
    }


def test_reimport_updates_in_place_and_marks_what_is_gone_removed(graph):
    records = servers()
    with LocalRegistry(records) as registry:
        import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
        first = imported(graph)
        # The weather server leaves the registry; the Postgres one gets a new description.
        del records[1]
        records[3]["server"]["description"] = "Describes the schema of a PostgreSQL database."
        report = import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
        assert report.removed == 1
        got = imported(graph)
        weather = got["mcp:io.github.example-user:weather-now"]
        assert weather["status"] == "removed"  # kept, with its capabilities
        assert (
            weather["capabilities"]
            == first["mcp:io.github.example-user:weather-now"]["capabilities"]
        )
        # Capabilities replaced, not added to.
        assert got["mcp:com.example:pg-explorer"]["capabilities"] == [
            "Describes the schema of a PostgreSQL database."
        ]
        assert graph.read(
            "MATCH (c:Capability) WHERE c.artifact = 'mcp:com.example:pg-explorer' "
            "RETURN count(c) AS n"
        ) == [{"n": 1}]
        # A filtered listing is partial: nothing more is marked removed.
        partial = import_registry(
            graph, registry.url + "?search=pg", fetcher=quick(), show_progress=False
        )
        assert not partial.complete and partial.removed is None
        # Back in the registry: active again.
        records.insert(1, servers()[1])
        import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
    assert imported(graph)["mcp:io.github.example-user:weather-now"]["status"] == "active"


def _no_name(records: list[dict[str, Any]]) -> str:
    del records[4]["server"]["name"]
    return "servers[1].server.name': is required"


def _long_description(records: list[dict[str, Any]]) -> str:
    records[4]["server"]["description"] = "word " * (MAX_DESCRIPTION_CHARS // 5 + 1)
    return f"servers[1].server.description': is {MAX_DESCRIPTION_CHARS + 4:,} characters long"


@pytest.mark.parametrize(
    ("fault", "change", "said"),
    [
        ("500", None, "HTTP 500 Internal Server Error"),
        ("truncated", None, "not valid JSON (cut short or broken)"),
        (None, _no_name, None),
        (None, _long_description, None),
    ],
    ids=["http-500", "truncated-page", "no-name", "long-description"],
)
def test_a_bad_answer_names_the_page_and_leaves_the_graph_as_it_was(graph, fault, change, said):
    records = servers()
    with LocalRegistry(records) as registry:
        import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
        before = snapshot(graph)
        bad = copy.deepcopy(records)
        bad[1]["server"]["description"] = "Changed: this must not be written."
        del bad[2]  # nor this server marked removed
        registry.entries = bad
        if fault:
            registry.faults[1] = fault
        if change:
            said = change(bad)
        with pytest.raises(InvalidInput) as caught:
            import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
    message = str(caught.value)
    assert message.startswith(f"{registry.url}?limit=100&cursor=")  # the second page
    assert said in message
    assert snapshot(graph) == before


def test_rate_limits_are_waited_out_and_a_busy_registry_named(graph):
    with LocalRegistry(servers()) as registry:
        registry.faults[1] = "429-once"
        report = import_registry(graph, registry.url, fetcher=quick(), show_progress=False)
        assert report.servers == 7
        assert len(registry.requests) == 4  # page 1 asked twice
        registry.faults[0] = "503"
        with pytest.raises(InvalidInput, match="HTTP 503 .* after 3 tries"):
            import_registry(graph, registry.url, fetcher=quick(), show_progress=False)


def test_one_json_file_by_url_and_a_document_that_is_not_a_listing(graph):
    with LocalRegistry([]) as registry:
        one = servers()[1]["server"]
        registry.files["/weather.json"] = json.dumps(one).encode()
        registry.files["/other.json"] = b'{"models": []}'
        report = import_registry(
            graph, registry.base + "/weather.json", fetcher=quick(), show_progress=False
        )
        assert (report.pages, report.servers) == (1, 1)
        with pytest.raises(InvalidInput, match="other.json: not an MCP Registry document"):
            import_registry(graph, registry.base + "/other.json", fetcher=quick())
        with pytest.raises(InvalidInput, match="HTTP 404"):
            import_registry(graph, registry.base + "/missing.json", fetcher=quick())
        with pytest.raises(InvalidInput, match="the registry lists no servers"):
            import_registry(graph, registry.url, fetcher=quick())


def test_the_command_reports_and_fails_with_one_message(graph, cli, tmp_path: Path):
    assert DEFAULT_URL in cli("import", "mcp-registry", "--help", check=True).stdout
    with LocalRegistry(servers()) as registry:
        done = cli("import", "mcp-registry", registry.url, "--json", check=True)
        assert json.loads(done.stdout)["servers"] == 7
        before = snapshot(graph)
        registry.faults[2] = "500"
        failed = cli("import", "mcp-registry", registry.url)
    assert failed.returncode == 2
    assert "HTTP 500" in failed.stderr and registry.url in failed.stderr
    assert "Nothing was written." in failed.stderr
    assert snapshot(graph) == before
    bad = tmp_path / "bad.json"
    bad.write_text('[{"name": "com.example/x", "description": 5}]', encoding="utf-8")
    refused = cli("import", "mcp-registry", str(bad))
    assert refused.returncode == 2
    assert f"{bad}: field '[0].description': must be a string" in refused.stderr
