"""Hugging Face Hub models as catalog records: the field mapping and the model card's prose."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from unfragile.engine import settings as limits

HUB_URL = "https://huggingface.co"
ID_PREFIX = "hf:"

# The Hub's pipeline tags: what each takes in and puts out (our modalities), and its family
# (the Hub's own task groups), which becomes a category next to the tag itself.
_NLP, _CV, _AUDIO, _MULTI, _TAB, _RL = (
    "natural-language-processing",
    "computer-vision",
    "audio",
    "multimodal",
    "tabular",
    "reinforcement-learning",
)
TASKS: dict[str, tuple[tuple[str, ...], str]] = {
    "text-generation": (("text",), _NLP),
    "text2text-generation": (("text",), _NLP),
    "text-classification": (("text",), _NLP),
    "token-classification": (("text",), _NLP),
    "question-answering": (("text",), _NLP),
    "summarization": (("text",), _NLP),
    "translation": (("text",), _NLP),
    "fill-mask": (("text",), _NLP),
    "zero-shot-classification": (("text",), _NLP),
    "text-ranking": (("text",), _NLP),
    "sentence-similarity": (("text", "embedding"), _NLP),
    "feature-extraction": (("text", "embedding"), _MULTI),
    "table-question-answering": (("text", "tabular"), _NLP),
    "image-classification": (("image",), _CV),
    "object-detection": (("image",), _CV),
    "image-segmentation": (("image",), _CV),
    "mask-generation": (("image",), _CV),
    "depth-estimation": (("image",), _CV),
    "keypoint-detection": (("image",), _CV),
    "image-to-image": (("image",), _CV),
    "unconditional-image-generation": (("image",), _CV),
    "image-feature-extraction": (("image", "embedding"), _CV),
    "zero-shot-image-classification": (("image", "text"), _CV),
    "zero-shot-object-detection": (("image", "text"), _CV),
    "text-to-image": (("text", "image"), _MULTI),
    "image-to-text": (("image", "text"), _MULTI),
    "image-text-to-text": (("image", "text"), _MULTI),
    "visual-question-answering": (("image", "text"), _MULTI),
    "document-question-answering": (("image", "text"), _MULTI),
    "visual-document-retrieval": (("image", "text", "embedding"), _MULTI),
    "video-classification": (("video",), _CV),
    "text-to-video": (("text", "video"), _MULTI),
    "image-to-video": (("image", "video"), _MULTI),
    "video-text-to-text": (("video", "text"), _MULTI),
    "any-to-any": (("text", "image", "audio", "video"), _MULTI),
    "text-to-speech": (("text", "audio"), _AUDIO),
    "text-to-audio": (("text", "audio"), _AUDIO),
    "automatic-speech-recognition": (("audio", "text"), _AUDIO),
    "audio-classification": (("audio",), _AUDIO),
    "audio-to-audio": (("audio",), _AUDIO),
    "voice-activity-detection": (("audio",), _AUDIO),
    "audio-text-to-text": (("audio", "text"), _MULTI),
    "tabular-classification": (("tabular",), _TAB),
    "tabular-regression": (("tabular",), _TAB),
    "time-series-forecasting": (("tabular",), _TAB),
    "text-to-3d": (("text", "3d"), _MULTI),
    "image-to-3d": (("image", "3d"), _MULTI),
    "reinforcement-learning": ((), _RL),
    "robotics": ((), _RL),
}

# Repository tags that name a framework or a weights format (the Hub tags "tf" for TensorFlow).
_FRAMEWORK_TAGS = {
    "pytorch": "pytorch",
    "tf": "tensorflow",
    "tensorflow": "tensorflow",
    "jax": "jax",
    "keras": "keras",
    "safetensors": "safetensors",
    "onnx": "onnx",
    "gguf": "gguf",
    "mlx": "mlx",
    "transformers": "transformers",
    "diffusers": "diffusers",
    "sentence-transformers": "sentence-transformers",
    "timm": "timm",
    "peft": "peft",
    "openvino": "openvino",
    "coreml": "coreml",
}
# A repo id as the Hub allows it: `org/name` (or a legacy bare `name`) of letters, digits, -_.
REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(?:/[A-Za-z0-9][A-Za-z0-9._-]*)?")


def artifact_id(repo_id: str) -> str:
    """`hf:<org>:<name>` in lower case (the Hub's names are unique whatever their case; '/'
    as ':', which repo ids never hold, so the id has no '/' for a URL path to split, as the
    MCP importer's `mcp:` ids); a hash keeps an over-long one within the id limit."""
    ident = ID_PREFIX + repo_id.lower().replace("/", ":")
    if len(ident) > limits.MAX_ID_CHARS:
        digest = hashlib.blake2b(ident.encode(), digest_size=8).hexdigest()
        ident = f"{ident[: limits.MAX_ID_CHARS - 17]}~{digest}"
    return ident


def hub_url(repo_id: str) -> str:
    """The model's public page: always huggingface.co, whatever endpoint served the data, so
    a record matches the catalog's own link to the same repository."""
    return f"{HUB_URL}/{repo_id}"


def url_key(url: str) -> str:
    return url.strip().rstrip("/").lower()


def base_models(info: Any) -> list[str]:
    """The repo ids the card's `base_model` names (a string or a list), well-formed ones only."""
    value = _card(info).get("base_model")
    values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    out: list[str] = []
    for v in values:
        if isinstance(v, str) and REPO_ID.fullmatch(v.strip()) and v.strip() != info.id:
            out.append(v.strip())
    return list(dict.fromkeys(out))


def has_readme(info: Any) -> bool:
    """Whether the repository holds a README.md; unknown (no file list) counts as yes."""
    if info.siblings is None:
        return True
    return any(s.rfilename == "README.md" for s in info.siblings)


def model_record(
    info: Any, card: str | None, derived_from: list[str], as_of: str
) -> dict[str, Any]:
    """The catalog record of one model (`ModelInfo` from the Hub, its README.md or None)."""
    repo_id = info.id
    author = info.author or (repo_id.split("/")[0] if "/" in repo_id else None)
    task = info.pipeline_tag if isinstance(info.pipeline_tag, str) else None
    modalities, family = TASKS.get(task or "", ((), None))
    private = bool(info.private)
    short = repo_id.rsplit("/", 1)[-1]
    signals = {
        key: value
        for key, value in (("downloads", info.downloads), ("likes", info.likes))
        if isinstance(value, int) and not isinstance(value, bool) and value >= 0
    }
    record: dict[str, Any] = {
        "id": artifact_id(repo_id),
        "name": repo_id,
        "short_name": short if len(short) <= 40 else None,
        "kind": "model",
        "task": clean_text(task, 100),
        "provider": clean_text(author, limits.MAX_NAME_CHARS),
        "description": card_prose(card) if card else None,
        "pricing": "unknown" if private else "free",
        "license": licence(info),
        # Gated weights are still published (behind accepted terms); private ones are not.
        "open_weights": not private,
        "modalities": list(modalities),
        "parameters": parameters(info),
        "released": _day(info.created_at),
        "updated": _day(info.last_modified),
        "url": hub_url(repo_id),
        # Real figures read from the Hub (downloads: its last-30-days count), never illustrative.
        "signals": signals or None,
        "signals_as_of": as_of if signals else None,
        "frameworks": frameworks(info),
        "categories": [c for c in (family, task) if c],
        "derived_from": derived_from,
        "gated": bool(info.gated),
        "private": private,
    }
    if not record["description"]:
        record["description"] = fallback_description(info, task, author)
    return {key: value for key, value in record.items() if value is not None}


def fallback_description(info: Any, task: str | None, author: str | None) -> str:
    """One sentence from the facts, for a model whose card has no prose to decompose."""
    words = task.replace("-", " ") if task else ""
    what = f"{'An' if words[:1] in tuple('aeiou') else 'A'} {words} model" if words else "A model"
    parts = [what]
    if author:
        parts.append(f"published by {author} on the Hugging Face Hub")
    bases = base_models(info)
    if bases:
        parts.append(f"derived from {', '.join(bases[:3])}")
    if isinstance(info.library_name, str):
        parts.append(f"for the {info.library_name} library")
    return (
        clean_text(
            " ".join(parts[:1]) + (", " + ", ".join(parts[1:]) if parts[1:] else "") + ".", 2000
        )
        or what
    )


def licence(info: Any) -> str | None:
    """The card's licence (its `license_name` for `other`), else the repository's tag."""
    card = _card(info)
    value = card.get("license")
    if isinstance(value, list):
        value = next((v for v in value if isinstance(v, str)), None)
    if value == "other" and isinstance(card.get("license_name"), str):
        value = card.get("license_name")
    if not isinstance(value, str) or not value.strip():
        tags = info.tags or []
        value = next((t[8:] for t in tags if isinstance(t, str) and t.startswith("license:")), None)
    return clean_text(value, 100)


def parameters(info: Any) -> int | None:
    """The parameter count the Hub read from the safetensors (else GGUF) weights' headers."""
    for source in (info.safetensors, info.gguf):
        total = source.get("total") if isinstance(source, dict) else None
        if isinstance(total, int) and not isinstance(total, bool) and 0 < total < 2**63:
            return total
    return None


def frameworks(info: Any) -> list[str]:
    names: list[str] = []
    if isinstance(info.library_name, str) and info.library_name.strip():
        names.append(info.library_name.strip().lower()[:100])
    for tag in info.tags or []:
        name = _FRAMEWORK_TAGS.get(tag) if isinstance(tag, str) else None
        if name and name not in names:
            names.append(name)
    return names[:50]


def _card(info: Any) -> dict[str, Any]:
    data = info.card_data
    if data is None:
        return {}
    return data if isinstance(data, dict) else data.to_dict()


def _day(value: Any) -> str | None:
    return value.date().isoformat() if isinstance(value, datetime) else None


# -- the model card's prose --------------------------------------------------------------------

# Sections that say how to install, call, train, cite or evaluate a model, or what it must not
# be used for: split into sentences they pose as abilities, so they are left out of the prose.
_SKIP_SECTION = re.compile(
    r"""(?ix)\b(?:(?:citation|cite|bibtex|references?|licen[cs]e|limitations?|bias|risks?
    |safety|environmental|carbon|emissions|hardware|compute|infrastructure|training
    |hyper-?parameters?|evaluation|results?|metrics?|benchmarks?|performance|how\ to|usage
    |use\ with|using|quick-?start|get(?:ting)?\ started|install(?:ation)?|setup|requirements
    |code|examples?|snippets?|contact|authors?|framework\ versions|technical|specifications
    |more\ information|glossary|disclaimer|changelog|news|updates?|prompts?|templates?
    |downloads?|files|inference|deploy(?:ment)?|serving|run(?:ning)?|demo|contents|misuse
    |out-of-scope|recommendations|privacy|terms|versions?|history)(?!\w)
    |ethic|fine-?tun|acknowledg|quanti[sz])""",
)
# "- Developed by: ...", "- License: ...": a card's fact sheet, which the record has as fields.
_FACT_ITEM = re.compile(
    r"""(?ix)^-\s+(?:(?:developed|funded|shared|trained|created|maintained)\s+by|model\s+type
    |languages?|licen[cs]e|(?:fine-?tuned|finetuned|trained)\s+from|repository|paper|demo
    |resolution|parameters|context|architecture|model\s+size|release|date|version|input|output
    |status|contact|website|blog|homepage|author|creator|model\s+name|base\s+model)[^:]{0,30}:""",
)
_FRONT_MATTER = re.compile(r"\A\ufeff?---\s*\n.*?\n---\s*(?:\n|\Z)", re.S)
_FENCE = re.compile(r"^(```|~~~).*?^\1[^\n]*$", re.S | re.M)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_COMMENT = re.compile(r"<!--.*?-->", re.S)
_TAG = re.compile(r"</?[A-Za-z][^>]*>")
_IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)")
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")
_NOISE = re.compile(r"(?i)^\s*(?:\[?more information needed\]?|\[optional\]|n/?a|tbd|todo)\s*$")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def card_prose(readme: str, max_chars: int = limits.MAX_DESCRIPTION_CHARS) -> str | None:
    """The card's prose as plain paragraphs: no YAML front matter, code, tables, images or
    markup, without the sections that are usage, training, evaluation or citation; trimmed
    at a paragraph (else a sentence) to `max_chars`. None when nothing is left."""
    text = _FENCE.sub("", _COMMENT.sub("", _FRONT_MATTER.sub("", readme.replace("\r\n", "\n"))))
    paragraphs: list[str] = []
    current: list[str] = []
    skip_level = 0  # inside a skipped section: its heading's level
    for line in text.split("\n"):
        heading = _HEADING.match(line)
        if heading:
            _flush(current, paragraphs)
            level = len(heading.group(1))
            if skip_level and level > skip_level:
                continue
            skip_level = level if _SKIP_SECTION.search(heading.group(2)) else 0
            continue
        if skip_level:
            continue
        line = _plain(line)
        if not line or line.startswith("|") or _NOISE.match(line) or set(line) <= set("-=*_ "):
            _flush(current, paragraphs)
            continue
        if line.startswith(("- ", "* ", "+ ")):
            _flush(current, paragraphs)
            line = "- " + line[2:].strip()
            if _FACT_ITEM.match(line):
                continue
        current.append(line)
    _flush(current, paragraphs)
    return _trim("\n\n".join(paragraphs), max_chars) or None


def _plain(line: str) -> str:
    line = _LINK.sub(r"\1", _IMAGE.sub("", _TAG.sub(" ", line)))
    line = re.sub(r"\*\*|__|`", "", line).replace("&nbsp;", " ").replace("&amp;", "&")
    return " ".join(line.split())


def _flush(current: list[str], paragraphs: list[str]) -> None:
    if current:
        text = " ".join(current) if not current[0].startswith("- ") else "\n".join(current)
        if sum(ch.isalpha() for ch in text) >= 12:  # a badge row or stray symbol is not prose
            paragraphs.append(text)
        current.clear()


def _trim(text: str, max_chars: int) -> str:
    text = clean_text(text, None) or ""
    if len(text) <= max_chars:
        return text
    cut = text.rfind("\n\n", 0, max_chars)
    if cut < max_chars // 2:
        cut = max(text.rfind(". ", 0, max_chars - 1) + 1, text.rfind(" ", 0, max_chars))
    return text[: cut if cut > 0 else max_chars].rstrip()


def clean_text(value: Any, max_chars: int | None) -> str | None:
    """Text the record checks will take: no control characters or lone surrogates, trimmed."""
    if not isinstance(value, str):
        return None
    value = value.encode("utf-8", "replace").decode("utf-8")  # a lone surrogate becomes "?"
    value = "\n".join(_CONTROL.sub(" ", line) for line in value.split("\n")).strip()
    if max_chars is not None:
        value = value[:max_chars].strip()
    return value or None
