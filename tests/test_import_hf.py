"""`unfragile import huggingface` against a stand-in Hub on 127.0.0.1 speaking the Hub's JSON.

The real command runs in a subprocess with HF_ENDPOINT pointing at tests/hub_server.py's
server: huggingface_hub's own client does the requests (pagination, retries, headers), and
the graph is the real Neo4j.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.conftest import CATALOG
from tests.hub_server import FakeHub, model_json
from unfragile.engine.records import RawRecord

TOKEN = "hf_test_Zq8sEcReT0kEn"

VIT_CARD = """---
license: apache-2.0
tags:
- vision
- image-classification
datasets:
- imagenet-1k
---

# Vision Transformer (base-sized model)

A Vision Transformer (ViT) pre-trained on ImageNet-21k at 224x224 pixels and fine-tuned on
ImageNet-1k at the same resolution. It was introduced in the paper
[An Image is Worth 16x16 Words](https://arxiv.org/abs/2010.11929).

## Model description

The model cuts an image into a sequence of 16x16 patches, embeds them linearly and runs them
through a transformer encoder, with a classification token in front. It classifies images
into the 1,000 ImageNet classes. Its pooled features can be used to train a linear
classifier on your own labelled images.

## Intended uses & limitations

You can use the raw model for image classification.

### How to use

```python
from transformers import ViTForImageClassification
model = ViTForImageClassification.from_pretrained("google/vit-base-patch16-224")
```

## Evaluation results

| Model | Top-1 |
|-------|-------|
| ViT-B/16 | 81.1 |

### BibTeX entry and citation info

```bibtex
@misc{dosovitskiy2020, title={An Image is Worth 16x16 Words}}
```
"""

CHAT_CARD = """---
library_name: transformers
license: other
license_name: acme-community-license
base_model: acme/acme-7b-base
---

# Model Card for Acme-7B-Chat

<!-- Provide a quick summary of what the model is/does. -->

[![Discord](https://img.shields.io/badge/discord-join-blue)](https://discord.gg/x)

Acme-7B-Chat is an instruction-tuned version of Acme-7B-Base optimized for multi-turn
dialogue in English, German and French.

## Model Details

### Model Description

- **Developed by:** Acme Research
- **Model type:** Decoder-only transformer
- **License:** Acme Community License

Acme-7B-Chat follows instructions, answers questions over long documents with a 32k-token
context window, and calls functions described in JSON schema. It writes and explains Python,
JavaScript and SQL code.

## Uses

### Direct Use

The model can be used as a chat assistant and to summarise meeting notes into action items.

### Out-of-Scope Use

Do not use the model for medical or legal advice.

## How to Get Started with the Model

```python
from transformers import pipeline
pipe = pipeline("text-generation", model="acme/acme-7b-chat")
```

## Citation

**BibTeX:** [More Information Needed]
"""

EMBED_CARD = """# mini-embedder

This is a sentence embedding model: it maps sentences to a 384 dimensional dense vector space
for clustering and semantic search. The vectors can be used for information retrieval and to
find near-duplicate questions.

## Usage

```
pip install -U sentence-transformers
```
"""


def _card(text: str) -> str:
    return f"# {text.split('.')[0]}\n\n{text}\n"


# Newest first: (repo id, lastModified minute, task, downloads, extra fields, card).
MODELS: list[tuple[str, int, str | None, int, dict[str, Any], str | None]] = [
    (
        "studio/pixel-diffusion",
        50,
        "text-to-image",
        9100,
        {"library": "diffusers", "tags": ["diffusers", "safetensors"]},
        _card("Pixel Diffusion draws pixel-art sprites and game tiles from a text prompt."),
    ),
    (
        "lab/whisper-tiny-x",
        49,
        "automatic-speech-recognition",
        5400,
        {},
        _card("Whisper Tiny X transcribes English speech recordings into text with timestamps."),
    ),
    (
        "lab/detr-small",
        48,
        "object-detection",
        3300,
        {"library": "timm"},
        _card("DETR Small detects and boxes cars, people and bicycles in street photos."),
    ),
    ("sbert/mini-embedder", 47, "sentence-similarity", 2200000, {}, EMBED_CARD),
    (
        "google/vit-base-patch16-224",
        46,
        "image-classification",
        2512000,
        {"parameters": 86567656, "card": {"license": "apache-2.0"}},
        VIT_CARD,
    ),
    (
        "acme/acme-7b-chat-gguf",
        45,
        "text-generation",
        700,
        {
            "library": "gguf",
            "card": {"base_model": ["acme/acme-7b-chat", "nowhere/missing-model"]},
            "tags": ["gguf", "license:mit"],
        },
        _card("Quantized GGUF files of Acme-7B-Chat for running chat on a laptop CPU."),
    ),
    (
        "acme/acme-7b-chat",
        44,
        "text-generation",
        48213,
        {
            "parameters": 7241732096,
            "gated": "manual",
            "card": {
                "license": "other",
                "license_name": "acme-community-license",
                "base_model": "acme/acme-7b-base",
            },
        },
        CHAT_CARD,
    ),
    (
        "acme/acme-ocr",
        43,
        "image-text-to-text",
        1500,
        {"card": {"base_model": "vendor/vision-base"}},
        _card("Acme OCR reads printed and handwritten text from scanned invoices and receipts."),
    ),
    ("solo/no-card", 42, "text-classification", 12, {"readme": False}, None),
    (
        "solo/private-thing",
        41,
        "text-generation",
        0,
        {"private": True},
        _card("Private Thing drafts replies to customer emails in the company's tone."),
    ),
    (
        "vendor/vision-base",
        40,
        "image-feature-extraction",
        800,
        {},
        _card("Vision Base encodes images into feature vectors for retrieval and clustering."),
    ),
    (
        "acme/acme-7b-base",
        39,
        "text-generation",
        30000,
        {"parameters": 7241732096, "card": {"license": "apache-2.0"}},
        _card("Acme-7B-Base is a pretrained language model that continues English text."),
    ),
]


def modified(minute: int) -> str:
    return f"2026-10-20T09:{minute:02d}:00.000Z"


def hub_models() -> tuple[list[dict[str, Any]], dict[str, str]]:
    models, cards = [], {}
    for repo_id, minute, task, downloads, extra, card in MODELS:
        extra = dict(extra)
        if card is not None:
            cards[repo_id] = card
        models.append(
            model_json(
                repo_id,
                modified(minute),
                task=task,
                downloads=downloads,
                likes=downloads // 150,
                created="2025-03-01T08:00:00.000Z",
                **extra,
            )
        )
    return models, cards


@pytest.fixture
def hub(settings) -> Iterator[FakeHub]:
    (settings.home / "imports" / "huggingface.json").unlink(missing_ok=True)
    models, cards = hub_models()
    fake = FakeHub(models, cards, page_size=5)
    fake.start()
    yield fake
    fake.stop()


def run(cli, hub: FakeHub, tmp_path, *args: str, **env: str):
    environment = {
        "HF_ENDPOINT": hub.url,
        "HF_HUB_OFFLINE": "0",
        "TRANSFORMERS_OFFLINE": "0",
        "HF_HOME": str(tmp_path / "hf-home"),
        "HF_TOKEN": TOKEN,
        **env,
    }
    return cli("import", "huggingface", *args, env=environment)


def report(result) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def props(graph, artifact_id: str) -> dict[str, Any]:
    rows = graph.read("MATCH (a:Artifact {id: $id}) RETURN properties(a) AS p", id=artifact_id)
    assert rows, f"no artifact {artifact_id}"
    return rows[0]["p"]


def hub_ids(graph) -> set[str]:
    rows = graph.read("MATCH (a:Artifact) WHERE a.id STARTS WITH 'hf:' RETURN a.id AS id")
    return {r["id"] for r in rows}


def derived(graph) -> set[tuple[str, str]]:
    rows = graph.read("MATCH (a)-[:DERIVED_FROM]->(b) RETURN a.id AS a, b.id AS b")
    return {(r["a"], r["b"]) for r in rows}


def catalog_vit() -> dict[str, Any]:
    line = (CATALOG / "artifacts.jsonl").read_text(encoding="utf-8").splitlines()[0]
    record = json.loads(line)
    assert record["id"] == "vit-base-patch16-224"
    record.pop("integrates_with", None)  # its targets are not loaded here
    return record


def test_filters_reach_the_hub_and_named_base_models_come_along(graph, cli, hub, tmp_path):
    out = report(
        run(cli, hub, tmp_path, "--author", "acme", "--task", "text-generation", "--search",
            "chat", "--sort", "downloads", "--limit", "5", "--json")
    )  # fmt: skip
    query = hub.requests("listing")[0].query
    assert query["author"] == ["acme"]
    assert query["pipeline_tag"] == ["text-generation"]
    assert query["search"] == ["chat"]
    assert query["sort"] == ["downloads"]
    assert query["expand"] == ["lastModified"]
    # The chat model and its quantization, and the base model the chat model's card names.
    assert hub_ids(graph) == {
        "hf:acme:acme-7b-chat",
        "hf:acme:acme-7b-chat-gguf",
        "hf:acme:acme-7b-base",
    }
    assert (out["imported"], out["bases"], out["dropped_links"]) == (3, 1, 1)
    assert derived(graph) == {
        ("hf:acme:acme-7b-chat-gguf", "hf:acme:acme-7b-chat"),
        ("hf:acme:acme-7b-chat", "hf:acme:acme-7b-base"),
    }
    asked = {s.path.removeprefix("/api/models/") for s in hub.requests("model")}
    assert asked == {
        "acme/acme-7b-chat",
        "acme/acme-7b-chat-gguf",
        "acme/acme-7b-base",
        "nowhere/missing-model",
    }


def test_import_maps_models_refreshes_the_catalogs_own_and_keeps_the_token_secret(
    graph, cli, hub, tmp_path
):
    from unfragile.engine.ingest import ingest

    ingest(graph, records=[RawRecord("catalog", 1, catalog_vit())], show_progress=False)
    vit_before = props(graph, "vit-base-patch16-224")
    caps_before = graph.read(
        "MATCH (:Artifact {id: 'vit-base-patch16-224'})-[:HAS_CAPABILITY]->(c) "
        "RETURN c.id AS id ORDER BY id"
    )
    day_before = datetime.now(UTC).date().isoformat()
    result = run(cli, hub, tmp_path, "--batch-size", "4", "--json")
    today = {day_before, datetime.now(UTC).date().isoformat()}
    out = report(result)
    assert (out["listed"], out["imported"], out["unavailable"]) == (12, 11, 0)
    assert out["updated_existing"] == ["vit-base-patch16-224"]
    assert out["dropped_links"] == 1 and out["complete"] is True

    # The token went with every request the importer made, and was printed nowhere.
    ours = [s for s in hub.seen if s.path.startswith("/api/models") or "/resolve/" in s.path]
    assert ours and {s.authorization for s in ours} == {f"Bearer {TOKEN}"}
    assert TOKEN not in result.stdout + result.stderr

    chat = props(graph, "hf:acme:acme-7b-chat")
    expected = {
        "name": "acme/acme-7b-chat",
        "short_name": "acme-7b-chat",
        "kind": "model",
        "provider": "acme",
        "task": "text-generation",
        "license": "acme-community-license",
        "gated": True,
        "private": False,
        "open_weights": True,
        "pricing": "free",
        "parameters": 7241732096,
        "released": "2025-03-01",
        "updated": "2026-10-20",
        "url": "https://huggingface.co/acme/acme-7b-chat",
        "signal_downloads": 48213,
        "signal_likes": 321,
        "signals_illustrative": False,
        "modalities": ["text"],
    }
    assert {k: chat.get(k) for k in expected} == expected
    assert chat["signals_as_of"] in today
    assert "Out-of-Scope" not in chat["description"] and "pipeline(" not in chat["description"]
    texts = [
        r["text"]
        for r in graph.read(
            "MATCH (:Artifact {id: 'hf:acme:acme-7b-chat'})-[:HAS_CAPABILITY]->(c) "
            "RETURN c.text AS text ORDER BY c.position"
        )
    ]
    assert any("SQL code" in t for t in texts), texts
    assert not any("medical" in t or "BibTeX" in t or "Developed by" in t for t in texts), texts
    links = graph.read(
        "MATCH (a:Artifact {id: 'hf:acme:acme-7b-chat'})-[r:SUPPORTS|IN_CATEGORY|PROVIDED_BY]->(n) "
        "RETURN type(r) AS type, n.name AS name"
    )
    assert {(r["type"], r["name"]) for r in links} == {
        ("SUPPORTS", "transformers"),
        ("SUPPORTS", "safetensors"),
        ("IN_CATEGORY", "natural-language-processing"),
        ("IN_CATEGORY", "text-generation"),
        ("PROVIDED_BY", "acme"),
    }
    assert derived(graph) == {
        ("hf:acme:acme-7b-chat-gguf", "hf:acme:acme-7b-chat"),
        ("hf:acme:acme-7b-chat", "hf:acme:acme-7b-base"),
        ("hf:acme:acme-ocr", "hf:vendor:vision-base"),
    }
    gguf = props(graph, "hf:acme:acme-7b-chat-gguf")
    assert gguf["license"] == "mit" and "parameters" not in gguf  # from the tags; no safetensors
    private = props(graph, "hf:solo:private-thing")
    assert (private["private"], private["open_weights"], private["pricing"]) == (
        True,
        False,
        "unknown",
    )
    # No README: one sentence made from the facts is the description.
    assert props(graph, "hf:solo:no-card")["description"] == (
        "A text classification model, published by solo on the Hugging Face Hub, "
        "for the transformers library."
    )

    # The catalog's ViT is updated in place: real figures, its own words and capabilities.
    assert "hf:google:vit-base-patch16-224" not in hub_ids(graph)
    vit = props(graph, "vit-base-patch16-224")
    assert (vit["signal_downloads"], vit["signal_likes"]) == (2512000, 2512000 // 150)
    assert vit["signals_illustrative"] is False and vit["signals_as_of"] in today
    assert (vit["gated"], vit["updated"]) == (False, "2026-10-20")
    for key in ("name", "description", "parameters", "released", "license", "provider"):
        assert vit[key] == vit_before[key], key
    assert caps_before == graph.read(
        "MATCH (:Artifact {id: 'vit-base-patch16-224'})-[:HAS_CAPABILITY]->(c) "
        "RETURN c.id AS id ORDER BY id"
    )


def test_a_second_run_asks_only_for_what_changed_since(graph, cli, hub, tmp_path):
    assert report(run(cli, hub, tmp_path, "--json"))["imported"] == 12
    hub.models["sbert/mini-embedder"].update(lastModified=modified(55), downloads=999)
    for repo_id, minute in (("new/model-one", 57), ("new/model-two", 56)):
        hub.models[repo_id] = model_json(repo_id, modified(minute), task="summarization")
        hub.cards[repo_id] = _card(f"{repo_id} summarises long news articles into short briefs.")
    hub.seen.clear()
    out = report(run(cli, hub, tmp_path, "--json"))
    assert (out["listed"], out["imported"], out["skipped"], out["complete"]) == (4, 3, 0, True)
    assert len(hub.requests("listing")) == 1  # it stopped at the first model it already had
    asked = {s.path.removeprefix("/api/models/") for s in hub.requests("model")}
    assert asked == {"new/model-one", "new/model-two", "sbert/mini-embedder"}
    assert props(graph, "hf:sbert:mini-embedder")["signal_downloads"] == 999
    assert len(hub_ids(graph)) == 14
    again = report(run(cli, hub, tmp_path, "--json"))
    assert (again["listed"], again["imported"]) == (1, 0)


def test_since_stops_at_the_day_and_a_later_run_without_it_fills_the_rest(
    graph, cli, hub, tmp_path
):
    for repo_id in ("solo/no-card", "solo/private-thing"):
        hub.models[repo_id]["lastModified"] = "2026-10-01T10:00:00.000Z"
    out = report(run(cli, hub, tmp_path, "--since", "2026-10-10", "--json"))
    assert (out["listed"], out["imported"], out["complete"]) == (11, 10, True)
    assert "hf:solo:no-card" not in hub_ids(graph)
    rest = report(run(cli, hub, tmp_path, "--json"))
    assert (rest["imported"], rest["skipped"], rest["complete"]) == (2, 10, True)
    assert len(hub_ids(graph)) == 12
    bad = run(cli, hub, tmp_path, "--since", "yesterday")
    assert bad.returncode == 2 and "not a date as YYYY-MM-DD" in bad.stderr


def test_a_server_error_mid_listing_keeps_whole_batches_and_the_next_run_finishes(
    graph, cli, hub, tmp_path
):
    hub.fault("listing:1", *[500] * 6)  # the first try and huggingface_hub's five retries
    failed = run(cli, hub, tmp_path, "--batch-size", "4")
    assert failed.returncode == 2
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, failed.stderr
    assert "answered HTTP 500 after 5 retries for the model listing" in errors[0]
    assert "4 models were written in complete batches" in errors[0]
    assert TOKEN not in failed.stdout + failed.stderr
    newest = {f"hf:{m[0].replace('/', ':')}" for m in MODELS[:4]}
    assert hub_ids(graph) == newest
    out = report(run(cli, hub, tmp_path, "--batch-size", "4", "--json"))
    assert (out["imported"], out["skipped"], out["complete"]) == (8, 4, True)
    assert len(hub_ids(graph)) == 12


def test_rate_limits_and_busy_answers_are_retried(graph, cli, hub, tmp_path):
    hub.fault("listing:0", 429)
    hub.fault("model:lab/detr-small", 429)
    hub.fault("card:lab/whisper-tiny-x", 503)
    out = report(run(cli, hub, tmp_path, "--limit", "4", "--json"))
    assert (out["imported"], out["complete"]) == (4, False)  # the next run carries on
    assert len([s for s in hub.requests("listing") if "cursor" not in s.query]) == 2
    assert len([s for s in hub.requests("model") if s.path.endswith("lab/detr-small")]) == 2
    whisper = props(graph, "hf:lab:whisper-tiny-x")
    assert "transcribes English speech" in whisper["description"]
    assert props(graph, "hf:lab:detr-small")["signal_downloads"] == 3300


def test_a_truncated_answer_is_one_clear_message(graph, cli, hub, tmp_path):
    hub.fault("listing:0", "truncate")
    first = run(cli, hub, tmp_path)
    assert first.returncode == 2 and first.stdout == ""
    assert first.stderr.strip().splitlines()[-1] == (
        f"error: the Hugging Face Hub at {hub.url}: sent a response for the model listing "
        "(/api/models) that is not valid JSON (cut short?). Nothing was written"
    )
    assert hub_ids(graph) == set()
    hub.fault("model:lab/detr-small", "truncate")
    second = run(cli, hub, tmp_path, "--batch-size", "2")
    assert second.returncode == 2
    assert "for the model lab/detr-small (/api/models/lab/detr-small) that is not valid JSON" in (
        second.stderr
    )
    assert hub_ids(graph) == {"hf:studio:pixel-diffusion", "hf:lab:whisper-tiny-x"}


def test_offline_mode_is_named(cli, hub, tmp_path):
    result = run(cli, hub, tmp_path, HF_HUB_OFFLINE="1")
    assert result.returncode == 2
    assert "offline mode is on (HF_HUB_OFFLINE" in result.stderr
    assert hub.requests("listing") == []


# -- the mapping and the progress state, without a server ------------------------------------


def test_card_prose_keeps_the_description_and_leaves_out_code_tables_and_citations():
    from unfragile.engine.decompose import decompose
    from unfragile.engine.importers.hub_records import card_prose

    prose = card_prose(VIT_CARD)
    assert prose is not None and prose.startswith("A Vision Transformer (ViT) pre-trained")
    for left_out in ("license:", "```", "from transformers", "| Model", "BibTeX", "raw model"):
        assert left_out not in prose
    assert "An Image is Worth 16x16 Words" in prose  # a link keeps its text
    capabilities = [c.text for c in decompose(prose)]
    assert any("1,000 ImageNet classes" in c for c in capabilities), capabilities
    assert card_prose("---\nlicense: mit\n---\n\n## Citation\n\n@misc{x}\n") is None
    assert len(card_prose("Words here. " * 5000) or "") <= 20000


def test_model_record_from_the_hubs_json():
    from huggingface_hub import ModelInfo

    from unfragile.engine.importers.hub_records import artifact_id, base_models, model_record

    data = model_json(
        "Org/Some-Model",
        modified(1),
        task="image-to-video",
        library="diffusers",
        gated="auto",
        tags=["diffusers", "tf", "license:openrail"],
        card={"base_model": ["org/base", "not a repo id!", "Org/Some-Model"]},
    )
    data["gguf"] = {"total": 1234, "architecture": "llama"}
    info = ModelInfo(**data)
    assert base_models(info) == ["org/base"]
    record = model_record(info, None, ["hf:org:base"], "2026-10-21")
    assert record["id"] == artifact_id("Org/Some-Model") == "hf:org:some-model"
    assert record["modalities"] == ["image", "video"]
    assert record["categories"] == ["multimodal", "image-to-video"]
    assert record["frameworks"] == ["diffusers", "tensorflow"]
    assert (record["license"], record["gated"], record["parameters"]) == ("openrail", True, 1234)
    assert record["signals"] == {"downloads": 100, "likes": 1}
    assert record["derived_from"] == ["hf:org:base"]
    assert record["description"].startswith("An image to video model, published by Org")
    assert "derived from org/base" in record["description"]
    assert len(artifact_id("o/" + "x" * 300)) == 200


def test_progress_ranges_merge_and_say_where_to_stop(tmp_path):
    from unfragile.engine.importers.huggingface import HubState

    state = HubState.load(tmp_path, "k")
    state.add_range("2026-10-02", "2026-10-05")
    assert state.covers("2026-10-03") and not state.covers("2026-10-02")
    assert not state.reached_floor("2026-10-03", None)  # older models are still to come
    assert state.reached_floor("2026-10-03", "2026-10-02")  # ... but not wanted
    state.add_range(None, "2026-10-02")
    assert state.ranges == [[None, "2026-10-05"]] and state.up_to() == "2026-10-05"
    assert state.reached_floor("2026-10-01", None)
    state.save()
    assert HubState.load(tmp_path, "k").ranges == [[None, "2026-10-05"]]
    assert HubState.load(tmp_path, "other").ranges == []
