"""The built wheel works outside the checkout: a fresh venv runs --help, db status and a search."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.helpers import artifact, write_jsonl
from unfragile.engine.settings import Settings
from unfragile.graph.connection import Graph  # the `graph` fixture: an emptied test graph

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv holding only the wheel; third-party packages come from the dev venv.

    Installing PyTorch and the rest again would take minutes and the network; the point is
    what the wheel itself carries (modules, Cypher files, TOML, templates, the entry point),
    so the dev venv's site-packages is put on the path by a .pth file, which does not run that
    folder's own .pth files: the checkout's editable install stays out of sight.
    """
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(work / "dist"),
            str(REPO),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    wheel = next((work / "dist").glob("unfragile-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in (
        "unfragile/api/cli/__init__.py",
        "unfragile/cypher/schema.cypher",
        "unfragile/engine/ranking/rank_weights.toml",
        "unfragile/api/templates/compare.html",
        "unfragile/graph/neo4j/pom.xml",
    ):
        assert expected in names, f"{expected} missing from {wheel.name}"
    assert not any(n.split("/")[0] in ("engine", "graph", "indexing", "api") for n in names)
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(venv / "bin" / "python"),
            "install",
            "-q",
            "--no-deps",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=600,
    )
    site = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Every site-packages folder this interpreter sees (a venv's own, or those a thin venv
    # reaches through .pth files), never the checkout itself.
    folders = [
        p for p in sys.path if p.endswith("site-packages") and not p.startswith(str(REPO))
    ] or [sysconfig.get_paths()["purelib"]]
    Path(site, "dev-venv-deps.pth").write_text("\n".join(folders) + "\n")
    return venv


def run(venv: Path, *args: str, settings: Settings, cwd: Path) -> subprocess.CompletedProcess:
    env = dict(os.environ, UNFRAGILE_HOME=str(settings.home), HF_HUB_OFFLINE="1")
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        [str(venv / "bin" / "unfragile"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_wheel_runs_from_outside_the_checkout(
    installed: Path, settings: Settings, graph: Graph, tmp_path: Path
) -> None:
    where = subprocess.run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import unfragile.engine.search as m; print(m.__file__)",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert where.startswith(str(installed)), where

    help_ = run(installed, "--help", settings=settings, cwd=tmp_path)
    assert help_.returncode == 0, help_.stderr
    assert "search" in help_.stdout and "compare" in help_.stdout

    status = run(installed, "db", "status", settings=settings, cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    assert "reachable" in status.stdout.lower() or "running" in status.stdout.lower()

    catalog = write_jsonl(
        tmp_path / "catalog" / "artifacts.jsonl",
        [
            artifact(
                "whisper-like",
                capabilities=[
                    {"title": "Transcribe speech", "text": "Turns spoken audio into written text."}
                ],
            ),
            artifact(
                "painter",
                capabilities=[
                    {"title": "Paint pictures", "text": "Draws an image from a text prompt."}
                ],
            ),
        ],
    ).parent
    for step in (("ingest", str(catalog)), ("index",)):
        done = run(installed, *step, settings=settings, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    found = run(
        installed,
        "search",
        "transcribe a voice recording",
        "--top-k",
        "1",
        settings=settings,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stderr
    assert "whisper-like" in found.stdout or "Whisper Like" in found.stdout
