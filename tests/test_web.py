"""The web page over the bundled catalog: HTTP checks, then a real headless Chromium.

The catalog is loaded, indexed and ranked once for the module on the session's Neo4j. The
browser part drives Debian's `chromium` through `chromedriver` (Selenium, the driver path
given, so Selenium Manager never downloads anything) against a real uvicorn server on a
free loopback port, and saves a screenshot of each page to $UNFRAGILE_SCREENSHOTS (or a
pytest temporary folder, printed).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.conftest import CATALOG
from tests.helpers import artifact, event, write_jsonl
from unfragile.api import web
from unfragile.api.state import Services
from unfragile.engine import compare, ranking
from unfragile.engine.indexer import Indexer
from unfragile.engine.ingest import ingest
from unfragile.engine.search import Filters
from unfragile.engine.settings import Settings
from unfragile.graph import projection, store
from unfragile.graph.connection import Graph

HTML = {"accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
A, B = "vit-base-patch16-224", "flux-1-pro"


HOSTILE = "<img src=x onerror=alert(1)>"
PROBE = artifact(
    "xss-probe",
    name=f"Probe {HOSTILE}",
    kind="tool",
    provider=f"Evil {HOSTILE}",
    url='https://example.com/?q="><script>alert(4)</script>',
    capabilities=[
        {
            "title": f"Rune vowels {HOSTILE}",
            "text": "Counts the vowels in Old Norse runes <script>alert(2)</script>.",
            "unique": f"Unique {HOSTILE}",
            "vs_alternatives": f"Versus {HOSTILE}",
        }
    ],
)
PROBE_QUERY = "count vowels in norse runes <script>alert(3)</script>"


@pytest.fixture(scope="module")
def loaded(
    settings: Settings, graph_session: Graph, tmp_path_factory: pytest.TempPathFactory
) -> Settings:
    """The bundled catalog and events, plus one artifact and search made of markup, indexed
    and ranked, once for this module."""
    from unfragile.indexing.text import TextEncoder

    store.delete_everything(graph_session)
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    ingest(graph_session, CATALOG, show_progress=False)
    hostile = write_jsonl(
        tmp_path_factory.mktemp("hostile") / "probe.jsonl",
        [
            PROBE,
            *(
                event(PROBE_QUERY, "xss-probe", f"s-x{i}", kind)
                for i in range(2)
                for kind in ("match", "click")
            ),
        ],
    )
    ingest(graph_session, hostile, show_progress=False)
    indexer = Indexer(settings, graph_session, text_encoder=TextEncoder())
    indexer.sync_text("capabilities", show_progress=False)
    indexer.sync_text("queries", show_progress=False)
    ranking.rank(graph_session, ranking.load_config(env={}), settings=settings, show_progress=False)
    return settings


def make_app(settings: Settings) -> FastAPI:
    """The API's app, which includes the pages first (lifespan warm-up off: tests warm it)."""
    from unfragile.api.app import create_app
    from unfragile.api.config import ApiConfig

    # TestClient sends Host: testserver; the API answers loopback names only unless told more.
    return create_app(settings, ApiConfig(allowed_hosts=("testserver",)), warm=False)


@pytest.fixture(scope="module")
def app(loaded: Settings) -> Iterator[FastAPI]:
    app = make_app(loaded)
    yield app
    app.state.services.close()


@pytest.fixture(scope="module")
def client(app: FastAPI) -> TestClient:
    return TestClient(app, headers=HTML)


@pytest.fixture(scope="module")
def services(app: FastAPI) -> Services:
    return app.state.services


def text_of(page: str) -> str:
    """The page's visible text, roughly: tags dropped, entities decoded, spaces collapsed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


# -- HTTP ------------------------------------------------------------------------------------


def test_landing_page_is_the_search_box(client: TestClient) -> None:
    r = client.get("/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "Need something different?" in r.text
    assert '<form method="get" action="/"' in r.text and 'name="q"' in r.text
    for name in ("kind", "pricing", "open_weights", "modality"):
        assert f'name="{name}"' in r.text
    assert 'class="results' not in r.text
    css = client.get("/static/unfragile.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert "font-family" in css.text


def test_search_shows_the_engine_results_with_evidence(
    client: TestClient, services: Services
) -> None:
    query = "classify images"
    expected = services.search().search(query, 10)
    r = client.get("/?" + urlencode({"q": query}))
    assert r.status_code == 200
    shown_ids = re.findall(r'<h3><a href="/artifact/([^"]+)">', r.text)
    assert shown_ids == [e.artifact for e in expected]
    # One of the catalog's image classifiers answers this.
    assert expected[0].artifact in {A, "resnet-50", "convnext-base-224"}
    text = text_of(r.text)
    top = expected[0]
    assert top.capability and top.capability["title"] in text and top.capability["text"] in text
    assert f"score {top.score:.3f}" in text
    for name, value in top.components.items():
        assert f"{name} {value:.3f}" in text
    with_evidence = [e for e in expected if e.evidence]
    assert with_evidence, "no result carries evidence for this query"
    for e in with_evidence[0].evidence:
        assert e["query"] in text
        assert f"{e['sessions']} session" in text and f"{e['clicks']} click" in text
    # Every other result links to a comparison with the top one.
    for e in expected[1:]:
        assert html.escape(f"/compare?a={top.artifact}&b={e.artifact}") in r.text


def test_filters_narrow_the_results(client: TestClient) -> None:
    r = client.get(
        "/?" + urlencode({"q": "generate an image from text", "kind": "api", "open_weights": "no"})
    )
    assert r.status_code == 200
    kinds = re.findall(r'<span class="kind">([^<]+)</span>', r.text)
    assert kinds and set(kinds) == {"api"}
    assert '<option value="api" selected>' in r.text  # the form keeps the chosen filter


def test_alternatives_exclude_the_artifact(client: TestClient) -> None:
    r = client.get("/?" + urlencode({"alternatives_to": B}))
    assert r.status_code == 200
    assert "Alternatives to FLUX.1 [pro]" in text_of(r.text)
    ids = re.findall(r'<h3><a href="/artifact/([^"]+)">', r.text)
    assert ids and B not in ids
    missing = client.get("/?alternatives_to=no-such-artifact")
    assert missing.status_code == 404 and "no-such-artifact" in missing.text


@pytest.mark.parametrize(
    "params, status, words",
    [
        ({"q": ""}, 400, "query: is empty"),
        ({"q": "   "}, 400, "query: is empty"),
        ({"q": "x" * 2001}, 400, "the limit is 2000"),
        ({"q": "images", "kind": "spaceship"}, 400, "kind: unknown value 'spaceship'"),
        ({"q": "images", "modality": "smell"}, 400, "modality: unknown value 'smell'"),
        ({"q": "images", "open_weights": "maybe"}, 400, "open_weights: use yes or no"),
        ({"q": "images", "k": "0"}, 400, "k: give a whole number from 1 to 50"),
        ({"q": "images", "colour": "red"}, 400, "colour: unknown parameter"),
    ],
)
def test_bad_search_input_is_a_4xx_page_with_the_message(
    client: TestClient, params, status, words
) -> None:
    r = client.get("/?" + urlencode(params))
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/html")
    assert words in text_of(r.text)
    assert 'name="q"' in r.text  # the search box stays, to try again


def test_hostile_text_is_escaped(client: TestClient) -> None:
    hostile = "<script>alert(1)</script>"
    r = client.get("/?" + urlencode({"q": hostile}))
    assert r.status_code == 200
    assert "<script>" not in r.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in r.text
    for path in (
        "/artifact/" + hostile,
        "/compare?" + urlencode({"a": hostile, "b": B}),
        "/?" + urlencode({"q": "x", "kind": hostile}),
    ):
        r = client.get(path)
        assert 400 <= r.status_code < 500, path
        assert "<script>" not in r.text and "&lt;script&gt;" in r.text, path


def test_stored_markup_is_escaped_on_every_page(client: TestClient) -> None:
    pages = {
        "search": client.get("/?" + urlencode({"q": "count the vowels in norse runes"})),
        "artifact": client.get("/artifact/xss-probe"),
        "compare": client.get("/compare?" + urlencode({"a": "xss-probe", "b": A})),
        "leaderboard": client.get("/leaderboard?kind=tool"),
        "alternatives": client.get("/?" + urlencode({"alternatives_to": "xss-probe"})),
    }
    for name, r in pages.items():
        assert r.status_code == 200, name
        assert "<img" not in r.text and "<script" not in r.text, name
        assert html.escape(f"Probe {HOSTILE}", quote=False) in r.text, name
    search = pages["search"].text
    assert 'href="/artifact/xss-probe"' in search.split('id="result-1"')[1][:400]
    assert html.escape(PROBE_QUERY, quote=False) in search  # the past query, as evidence
    assert html.escape(f"Rune vowels {HOSTILE}", quote=False) in pages["artifact"].text
    assert 'href="https://example.com/?q=&#34;&gt;&lt;script&gt;' in pages["artifact"].text
    assert html.escape(f"Unique {HOSTILE}", quote=False) in pages["compare"].text


def test_artifact_page(client: TestClient, services: Services) -> None:
    r = client.get(f"/artifact/{A}")
    assert r.status_code == 200
    row = projection.artifact_page(services.graph(), A)
    p = row["props"]
    text = text_of(r.text)
    assert p["name"] in text and "UnfragileRank" in text
    assert f"{p['unfragile_rank']} /100 [{p['rank_low']}–{p['rank_high']}]" in text
    for label in ("Adoption", "Quality", "Ecosystem", "Match graph", "Freshness"):
        assert label in text
    assert f"Capabilities ({len(row['capabilities'])})" in text
    for c in row["capabilities"]:
        assert c["title"] in text
    assert row["alternatives"], "ranking wrote no alternatives"
    section = r.text[r.text.index('<section class="alternatives"') :]
    shown = re.findall(r'<li><a href="/artifact/([^"]+)">', section)
    assert shown == [alt["id"] for alt in row["alternatives"]]  # in their stored order
    for alt in row["alternatives"]:
        assert f"match {alt['match']}/100" in section
    assert f'href="/?alternatives_to={A}"' in r.text and "Need something different?" in text
    assert 'href="https://huggingface.co/google/vit-base-patch16-224"' in r.text


def test_unknown_artifact_is_a_404_page(client: TestClient) -> None:
    r = client.get("/artifact/no-such-artifact")
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "No artifact has the id 'no-such-artifact'" in text_of(r.text)


def test_compare_page_renders_build_page(client: TestClient, services: Services) -> None:
    page = compare.build_page(services.graph(), A, B)
    r = client.get("/compare?" + urlencode({"a": A, "b": B}))
    assert r.status_code == 200
    text = text_of(r.text)
    assert page["title"] in text
    assert page["verdict"]["sentence"] in text
    for row in page["table"]:
        assert f"{row['label']} {row['a']} {row['b']}" in text
    for key in ("a", "b"):
        caps = page["capabilities"][key]
        for c in caps["shown"]:
            assert c["title"] in text
        if caps["more"]:
            assert f"+{caps['more']} more capabilit" in text
    assert f'href="/?alternatives_to={A}"' in r.text and f'href="/?alternatives_to={B}"' in r.text


def test_compare_names_resolve_and_bad_pairs_are_4xx(client: TestClient) -> None:
    by_name = client.get("/compare?" + urlencode({"a": "flux.1 [PRO]", "b": A}))
    assert by_name.status_code == 200 and "FLUX.1 [pro] vs" in text_of(by_name.text)
    ambiguous = client.get("/compare?" + urlencode({"a": "flux", "b": A}))
    assert ambiguous.status_code == 400
    assert "'flux' is ambiguous" in text_of(ambiguous.text)
    listed = re.findall(r'<li><a href="/artifact/([^"]+)">', ambiguous.text)
    assert len(listed) >= 2 and all("flux" in x for x in listed)
    unknown = client.get("/compare?" + urlencode({"a": A, "b": "zz-nothing-zz"}))
    assert unknown.status_code == 404 and "zz-nothing-zz" in unknown.text
    same = client.get("/compare?" + urlencode({"a": A, "b": A}))
    assert same.status_code == 400 and "two different artifacts" in same.text
    half = client.get("/compare?" + urlencode({"a": A}))
    assert half.status_code == 400 and "B: give an artifact id or name" in text_of(half.text)
    form = client.get("/compare")
    assert form.status_code == 200 and 'name="a"' in form.text and 'name="b"' in form.text


def test_compare_and_leaderboard_leave_non_browser_requests_to_the_api(app: FastAPI) -> None:
    plain = TestClient(app)  # Accept: */*, as curl or a program sends
    for path in (f"/compare?a={A}&b={B}", "/leaderboard"):
        assert "· Unfragile</title>" in TestClient(app, headers=HTML).get(path).text
        r = plain.get(path)
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        explicit = path + ("&" if "?" in path else "?") + "format=json"
        assert "· Unfragile</title>" not in plain.get(explicit, headers=HTML).text, path
    assert plain.get(f"/compare?a={A}&b={B}").json()["verdict"]["sentence"]


def test_leaderboard(client: TestClient, services: Services) -> None:
    graph = services.graph()
    r = client.get("/leaderboard")
    assert r.status_code == 200
    rows = projection.leaderboard(graph, None, web.LEADERBOARD_DEFAULT)
    ids = re.findall(r'<td><a href="/artifact/([^"]+)">', r.text)
    assert ids == [row["id"] for row in rows]
    top = rows[0]
    assert f"{top['unfragile_rank']} [{top['rank_low']}–{top['rank_high']}]" in text_of(r.text)
    models = client.get("/leaderboard?kind=model")
    assert models.status_code == 200
    kinds = re.findall(r'<span class="kind">([^<]+)</span>', models.text)
    assert kinds and set(kinds) == {"model"}
    bad = client.get("/leaderboard?kind=spaceship")
    assert bad.status_code == 400 and "kind: unknown value 'spaceship'" in text_of(bad.text)


def test_neo4j_down_is_a_503_page(loaded: Settings) -> None:
    # A real Bolt connection attempt to a loopback port where nothing listens.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        down = loaded.with_(neo4j_uri=f"bolt://127.0.0.1:{port}", neo4j_password="unused")
        client = TestClient(make_app(down), headers=HTML)
        for path in (
            "/?q=images",
            f"/artifact/{A}",
            f"/compare?a={A}&b={B}",
            "/leaderboard",
            f"/?alternatives_to={A}",
        ):
            r = client.get(path)
            assert r.status_code == 503, path
            assert "the graph is unreachable, try again shortly" in text_of(r.text).lower()
            assert r.headers.get("retry-after") == "5"
            assert "Traceback" not in r.text


# -- browser -----------------------------------------------------------------------------------


def _missing_browser(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(
            f"{reason}; CI must run the browser test (apt-get install chromium chromium-driver)"
        )
    pytest.skip(reason)


@pytest.fixture(scope="module")
def live_url(app: FastAPI) -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port, in a thread."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _missing_browser("selenium is not installed (pip install -e '.[dev]')")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            _missing_browser(f"{path} is missing (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1280,900",
        "--lang=en-US",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("UNFRAGILE_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"\nscreenshots: {folder}")
    return folder


def screenshot(driver, folder: Path, name: str) -> Path:
    """The whole page: the window is stretched to the document's height first."""
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1280, max(600, min(int(height) + 40, 6000)))
    path = folder / f"{name}.png"
    assert driver.save_screenshot(str(path)), f"no screenshot for {name}"
    driver.set_window_size(1280, 900)
    assert path.stat().st_size > 10_000  # a rendered page, not a blank image
    return path


def test_browser_search_then_compare(
    browser, live_url: str, shots: Path, services: Services
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(live_url + "/")
    assert browser.title.startswith("Need something different?")
    box = browser.find_element(By.ID, "q")
    assert box.get_attribute("placeholder")
    box.send_keys("classify images")
    Select(browser.find_element(By.ID, "modality")).select_by_value("image")
    browser.find_element(By.ID, "search-button").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.result")))
    assert "q=classify+images" in browser.current_url and "modality=image" in browser.current_url

    expected = services.search().search("classify images", 10, Filters(modality="image"))
    results = browser.find_elements(By.CSS_SELECTOR, "li.result")
    assert [r.find_element(By.CSS_SELECTOR, "h3").text for r in results] == [
        e.name for e in expected
    ]
    evidence = browser.find_elements(By.CSS_SELECTOR, "details.evidence li")
    assert evidence and all(("session" in e.text and "click" in e.text) for e in evidence)
    assert (
        results[0]
        .find_element(By.CSS_SELECTOR, ".capability")
        .text.startswith(expected[0].capability["title"])
    )
    screenshot(browser, shots, "1-search")

    # The second result's "compare with the top result" link opens the comparison.
    results[1].find_element(By.CSS_SELECTOR, "a.compare-link").click()
    wait.until(ec.presence_of_element_located((By.ID, "verdict")))
    page = compare.build_page(services.graph(), expected[0].artifact, expected[1].artifact)
    assert browser.find_element(By.ID, "verdict").text == page["verdict"]["sentence"]

    # And the page the issue names.
    browser.get(f"{live_url}/compare?a={A}&b={B}")
    page = compare.build_page(services.graph(), A, B)
    assert browser.find_element(By.TAG_NAME, "h1").text == page["title"]
    assert browser.find_element(By.ID, "verdict").text == page["verdict"]["sentence"]
    rows = browser.find_elements(By.CSS_SELECTOR, "#compare-table tbody tr")
    assert [r.find_element(By.TAG_NAME, "th").text for r in rows] == [
        row["label"] for row in page["table"]
    ]
    assert rows[0].text.endswith(f"{page['a']['kind']} {page['b']['kind']}")
    screenshot(browser, shots, "2-compare")


def test_browser_artifact_and_leaderboard(browser, live_url: str, shots: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import Select, WebDriverWait

    wait = WebDriverWait(browser, 60)
    browser.get(live_url + "/leaderboard")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Leaderboard"
    Select(browser.find_element(By.ID, "kind")).select_by_value("model")
    browser.find_element(By.CSS_SELECTOR, ".inline-form button").click()
    wait.until(ec.title_contains("model"))
    rows = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-table tbody tr")
    assert rows and all(r.find_element(By.CSS_SELECTOR, ".kind").text == "model" for r in rows)
    screenshot(browser, shots, "3-leaderboard")

    first = rows[0].find_element(By.CSS_SELECTOR, "td a")
    name = first.text
    first.click()
    wait.until(ec.presence_of_element_located((By.ID, "rank-heading")))
    assert browser.find_element(By.TAG_NAME, "h1").text == name
    assert re.fullmatch(r"\d+/100 \[\d+–\d+\]", browser.find_element(By.CLASS_NAME, "rank").text)
    screenshot(browser, shots, "4-artifact")

    browser.find_element(By.ID, "something-different").click()
    wait.until(ec.presence_of_element_located((By.CSS_SELECTOR, "li.result")))
    assert browser.find_element(By.ID, "results-heading").text == f"Alternatives to {name}"
    screenshot(browser, shots, "5-alternatives")


def test_browser_pages_obey_their_content_security_policy(browser, live_url: str) -> None:
    from selenium.webdriver.common.by import By

    # Record every violation a page reports, from before its first byte is parsed.
    added = browser.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.__csp = []; document.addEventListener('securitypolicyviolation',"
            " e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));"
        },
    )

    def violations() -> list[str]:
        # Violation events are queued as tasks: let them run first.
        return browser.execute_async_script(
            "const done = arguments[0]; setTimeout(() => done(window.__csp), 300);"
        )

    try:
        for path in ("/", "/?q=images", f"/artifact/{A}", "/leaderboard", f"/compare?a={A}&b={B}"):
            browser.get(live_url + path)
            assert violations() == [], path
        # The stylesheet applies (a leaderboard bar is 4rem wide) and so do the bars' inline
        # widths, which the policy allows as attributes only.
        browser.get(live_url + "/leaderboard")
        bars = browser.find_elements(By.CSS_SELECTOR, "#leaderboard-table .bar")
        rem = browser.execute_script(
            "return parseFloat(getComputedStyle(document.documentElement).fontSize)"
        )
        assert bars
        for bar in bars[:5]:
            assert bar.size["width"] == pytest.approx(4 * rem, abs=1)
            shown = float(re.search(r"(\d+) of 100", bar.get_attribute("aria-label")).group(1))
            inner = bar.find_element(By.TAG_NAME, "span").size["width"]
            assert inner / bar.size["width"] == pytest.approx(shown / 100, abs=0.03)
        # The check can fail: a script added to a page is refused and reported.
        browser.execute_script(
            "const s = document.createElement('script'); s.textContent = 'window.ran = 1';"
            "document.body.appendChild(s);"
        )
        assert any(v.startswith("script-src") for v in violations())
        assert browser.execute_script("return window.ran === undefined")
        # The docs page runs its own inline script (Swagger UI's bundle comes from the CDN,
        # which this machine may not reach: a network error, not a violation).
        browser.get(live_url + "/docs")
        assert violations() == []
    finally:
        browser.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", added)
