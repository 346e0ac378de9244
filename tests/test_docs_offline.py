"""/docs and /redoc work with no internet: headless Chromium with every host but 127.0.0.1
unresolvable and every proxied request sent to a dead port opens them on a real uvicorn.

No Neo4j is needed: the pages only read /openapi.json. Chromium is Debian's, driven through
its chromedriver by path (Selenium Manager never downloads anything).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from unfragile.api.app import create_app
from unfragile.api.config import ApiConfig
from unfragile.engine.settings import Settings

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


def _missing_browser(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}; CI must run the browser tests (apt-get install chromium)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live_url() -> Iterator[str]:
    """The app under a real uvicorn on a free loopback port, in a thread."""
    import uvicorn

    app = create_app(Settings(), ApiConfig(), warm=False)
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
def offline_browser() -> Iterator[object]:
    """Chromium that reaches 127.0.0.1 only: other names do not resolve, and any request
    that would still leave (a literal address) goes to a proxy port nobody listens on."""
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
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--proxy-server=http://127.0.0.1:{_free_port()}",
        "--proxy-bypass-list=127.0.0.1",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _resources(driver) -> list[str]:
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")


def test_the_browser_is_really_offline(offline_browser) -> None:
    from selenium.common.exceptions import WebDriverException

    # The check can fail: the CDN FastAPI's default docs page loads from, and an address
    # given literally, are out of reach.
    for url in ("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css", "http://1.1.1.1/"):
        with pytest.raises(WebDriverException, match="net::ERR_"):
            offline_browser.get(url)


def test_swagger_ui_renders_the_operations_offline(offline_browser, live_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    offline_browser.get(live_url + "/docs")
    WebDriverWait(offline_browser, 30).until(
        ec.presence_of_element_located((By.CSS_SELECTOR, ".opblock-summary-path"))
    )
    paths = {
        e.get_attribute("data-path")
        for e in offline_browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert {"/search", "/artifacts/{artifact_id}", "/compare", "/leaderboard"} <= paths
    search = offline_browser.find_element(
        By.CSS_SELECTOR, ".opblock-get .opblock-summary-path[data-path='/search']"
    )
    assert search.is_displayed()
    # Swagger UI's stylesheet applied: an operation block is laid out as a bordered box.
    block = offline_browser.find_element(By.CSS_SELECTOR, ".opblock.opblock-get")
    assert block.value_of_css_property("border-top-style") == "solid"
    loaded = _resources(offline_browser)
    assert any(u.endswith("/docs/assets/swagger-ui-bundle.js") for u in loaded)
    assert all(u.startswith(live_url + "/") for u in loaded), loaded


def test_redoc_renders_the_operations_offline(offline_browser, live_url: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    offline_browser.get(live_url + "/redoc")
    WebDriverWait(offline_browser, 30).until(
        lambda d: "/search" in d.find_element(By.TAG_NAME, "body").text
    )
    assert (
        "Find, rank and compare AI models and tools"
        in offline_browser.find_element(By.TAG_NAME, "body").text
    )
    # ReDoc's sidebar footer tries its logo from its own CDN (refused by the page's policy
    # anyway) and drops the image when that fails: the one request that does not come here.
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    loaded = _resources(offline_browser)
    assert any(u.endswith("/docs/assets/redoc.standalone.js") for u in loaded)
    assert all(u.startswith(live_url + "/") or u == logo for u in loaded), loaded
    assert not offline_browser.find_elements(By.CSS_SELECTOR, f"img[src='{logo}']")
