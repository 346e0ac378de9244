"""Neo4j Browser beside the local server (`db start --browser`): loopback only, the same
password, no HTTP Cypher, and a saved exploration run from its guide in headless Chromium.

The module starts its own server (without GDS) in a temporary home, once, unless the suite's
server runs with the browser already (then it uses that one, emptied). Chromium reaches
127.0.0.1 only, so the Browser page's calls to outside services fail fast and change nothing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode
from collections.abc import Iterator
from email.message import Message
from html import escape
from pathlib import Path

import pytest

from tests.test_server import _listening_addresses
from unfragile.engine import browser_guide, explore
from unfragile.engine.db import local_server, open_graph, start_local
from unfragile.engine.settings import Settings
from unfragile.graph import store
from unfragile.graph.server import ServerInfo

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
REPO = Path(__file__).resolve().parents[1]
PROVIDERS = {"Acme Vision": 2, "Bolt Audio": 1}


@pytest.fixture(scope="module")
def with_browser(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Settings, ServerInfo]]:
    if settings.external_neo4j:
        pytest.skip("uses the project's own server, not an external one")
    suite = local_server(settings).info()
    if suite is not None and suite.browser_url:
        # The suite's server was started with the browser: use it (emptied, as tests do).
        own, info, started = settings, suite, False
        with open_graph(own) as graph:
            store.delete_everything(graph)
    else:
        own = settings.with_(
            home=tmp_path_factory.mktemp("browser-home"),
            gds=False,
            neo4j_browser=True,
            neo4j_heap="512m",
            neo4j_pagecache="64m",
        )
        info, started = start_local(own)
        assert started and info.browser_url
    try:
        # Written by the store's own upsert (what ingest runs), without ingest's models.
        rows = [
            {"id": i, "props": {"name": i, "kind": "model"}, "provider": provider}
            | {"frameworks": [], "categories": [], "capabilities": []}
            for i, provider in (
                ("acme-detector", "Acme Vision"),
                ("acme-segmenter", "Acme Vision"),
                ("bolt-whisper", "Bolt Audio"),
            )
        ]
        with open_graph(own) as graph:
            graph.write(lambda tx: store.upsert_artifacts(tx, rows))
        yield own, info
    finally:
        if started:
            local_server(own).stop()


def test_the_guide_lists_every_saved_exploration_with_its_defaults() -> None:
    html = browser_guide.render()
    for query in explore.saved():
        assert f'<section id="{query.name}" class="exploration">' in html
        assert escape(query.text) in html
    alternatives = explore.get("alternatives")
    # One `:param` a line, evaluated by Neo4j: 10 stays an integer (LIMIT refuses 10.0).
    assert browser_guide.params_command(alternatives) == (
        ':param id => "vit-base-patch16-224";\n:param top => 10;'
    )
    hostile = explore.SavedQuery("x", "<script>alert(1)</script>", "", [], "RETURN '</pre>'")
    page = browser_guide.render([hostile])
    assert "<script>" not in page and "RETURN &#x27;&lt;/pre&gt;&#x27;" in page


def test_browser_cannot_be_added_to_a_running_server(settings: Settings, cli) -> None:
    if settings.external_neo4j:
        pytest.skip("uses the project's own server, not an external one")
    before = local_server(settings).info()
    assert before is not None
    if before.browser_url:
        pytest.skip("the suite's server runs with the browser")
    result = cli("db", "start", "--browser")
    assert result.returncode == 1
    assert "already runs without Neo4j Browser" in result.stderr and "db stop" in result.stderr
    assert "Traceback" not in result.stderr
    assert local_server(settings).info() == before


def _get(url: str, **headers: str) -> tuple[int, bytes, Message]:
    """Status, body and headers (looked up in any case) of a GET."""
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read(), answer.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers


def test_browser_is_served_on_loopback_only_without_http_cypher(with_browser) -> None:
    own, info = with_browser
    assert info.http_port and info.guide_port
    for port in (info.http_port, info.guide_port):
        addresses = _listening_addresses(port)
        assert addresses and addresses <= {"127.0.0.1", "::ffff:127.0.0.1"}, (port, addresses)
    status, page, _ = _get(info.browser_url)
    assert status == 200 and b"Neo4j Browser" in page
    # Only the Browser module: no Cypher over HTTP, even with the right password.
    auth = "Basic " + b64encode(f"neo4j:{local_server(own).password()}".encode()).decode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{info.http_port}/db/neo4j/tx/commit",
        data=b'{"statements": [{"statement": "RETURN 1"}]}',
        headers={"Content-Type": "application/json", "Authorization": auth},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 404
    # The guide server answers its one file, to the Browser's origins only.
    guide_url = f"http://127.0.0.1:{info.guide_port}/unfragile.html"
    for host in ("127.0.0.1", "localhost"):
        origin = f"http://{host}:{info.http_port}"
        status, guide, headers = _get(guide_url, Origin=origin)
        assert status == 200 and b"Providers with the most artifacts" in guide
        assert headers.get("Access-Control-Allow-Origin") == origin
    foreign = _get(guide_url, Origin="http://evil.example")[2]
    assert foreign.get("Access-Control-Allow-Origin") is None
    assert _get(f"http://127.0.0.1:{info.guide_port}/../neo4j/password")[0] == 404


def test_db_status_shows_the_browser_address(with_browser) -> None:
    own, info = with_browser
    env = dict(os.environ, UNFRAGILE_HOME=str(own.home))
    if not own.gds:
        env["UNFRAGILE_GDS"] = "0"
    env.pop("NEO4J_URI", None)
    result = subprocess.run(
        [sys.executable, "-m", "unfragile.api.cli", "db", "status", "--json"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    status = json.loads(result.stdout)
    assert status["reachable"] and status["browser"] == info.browser_url
    assert "browser_problem" not in status


@pytest.fixture(scope="module")
def chromium() -> Iterator[object]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        pytest.skip("selenium is not installed (pip install -e '.[dev]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            if os.environ.get("CI", "").lower() == "true":
                pytest.fail(f"{path} is missing; CI must run the browser tests")
            pytest.skip(f"{path} is missing (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_chromium_logs_in_and_runs_a_saved_exploration(with_browser, chromium) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    own, info = with_browser
    driver, wait = chromium, WebDriverWait(chromium, 60)
    driver.get(info.browser_url)
    css = By.CSS_SELECTOR
    wait.until(lambda d: d.find_elements(css, "[data-testid=password]"))
    # The Bolt address comes from the server's discovery answer: ours, on loopback.
    bolt = driver.find_element(css, "[data-testid=boltaddress]").get_attribute("value")
    assert bolt.endswith(f"127.0.0.1:{info.bolt_port}")
    driver.find_element(css, "[data-testid=username]").send_keys("neo4j")
    driver.find_element(css, "[data-testid=password]").send_keys(local_server(own).password())
    driver.find_element(css, "[data-testid=connect]").click()
    # After login the guide of saved explorations opens by itself (browser.post_connect_cmd).
    wait.until(lambda d: d.find_elements(css, "section#providers pre.runnable"))
    params, query = driver.find_elements(css, "section#providers pre.runnable")
    assert params.text == ":param top => 10;"
    assert query.text.startswith("MATCH (o:Organization)<-[:PROVIDED_BY]-(a:Artifact)")

    def frame_showing(command: str, *texts: str):
        """The contents of the frame of `command` once they show every one of `texts`."""

        def find(d):
            for frame in d.find_elements(css, "[data-testid=frame]"):
                label = frame.find_elements(css, "[data-testid=frameCommand]")
                contents = frame.find_elements(css, "[data-testid=frameContents]")
                if label and label[0].text.startswith(command) and contents:
                    if all(text in contents[0].text for text in texts):
                        return contents[0].text
            return None

        return find

    def run(block) -> None:
        block.click()  # puts it in the editor
        driver.find_element(css, "[data-testid=editor-Run]").click()

    # Neo4j evaluates the parameter: the query runs only once it is set.
    run(params)
    wait.until(frame_showing(":param top", '"top": 10'))
    run(query)
    result_frame = frame_showing("MATCH (o:Organization)", *PROVIDERS)

    try:
        shown = wait.until(result_frame)
    finally:
        driver.save_screenshot(str(own.home / "browser.png"))
        print(f"\nscreenshot: {own.home / 'browser.png'}")
    lines = [line.strip() for line in shown.splitlines() if line.strip()]
    assert "provider" in shown and "artifacts" in shown
    for name, count in PROVIDERS.items():
        row = next(i for i, line in enumerate(lines) if name in line)
        # The count is on the provider's row (the table) or just after it (cells one a line).
        assert str(count) in " ".join(lines[row : row + 2]), (name, lines)
    assert lines.index(next(x for x in lines if "Acme Vision" in x)) < lines.index(
        next(x for x in lines if "Bolt Audio" in x)
    )
