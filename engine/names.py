"""Artifact names as people type them: fuzzy resolution ("flux pro", "gpt4o") and families.

A name is compared token by token after folding case, accents, brackets and punctuation, so
"FLUX.1 [pro]", "flux 1 pro" and "flux pro" meet; a short typo inside a word ("lama") is
forgiven by rapidfuzz's ratio, numbers and short words must match exactly. Every artifact is
known by its id, its name, its name without the bracketed part, and an initialism of its two
leading words ("Stable Diffusion XL" is also "sdxl"). A text that fits several artifacts
equally ("whisper", "llama 3") names them all: callers treat the set as one family.

A family is what people mean by "X and its kin": the artifacts of the same provider whose names
share a stem (their first telling word), or where one is a model and the other serves it (the
app, the API: ChatGPT and GPT-4o), those derived from one another, the siblings derived from
the same parent — and their kin in turn.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz, process

# Words too common among names to identify anything on their own.
GENERIC = frozenset(
    "ai api app apps base cli large small model models server mcp instruct chat the a an of "
    "for and v by in on with tool tools web platform desktop reference hub inference".split()
)
# GENERIC words that are only grammar: a span may skip them at no cost.
FUNCTION_WORDS = frozenset("the a an of for and v by in on with".split())
SKIPPED_WEIGHT = 0.7  # for each other GENERIC word of the span the key does not have
ALIAS_WEIGHT = 0.6  # a name read from inside brackets, against the name itself
TAIL_WEIGHT = 0.6  # a name matched without its first word ("vit" in "OWL-ViT")
VERSION_WEIGHT = 0.9  # a word naming a key word without its version ("yolo" for "yolo11")
LIGHT_WEIGHT = 0.25  # for each version or size word of the key the span does not have
SIZES = frozenset("xl xxl medium mini nano lite turbo pro max plus ultra".split())
TYPO_RATIO = 80.0  # rapidfuzz ratio at which two words of 4+ letters are the same word
SUGGEST_CUTOFF = 70.0  # rapidfuzz WRatio below which a name is no suggestion
RESOLVED_KEPT = 4096  # word spans whose resolution is remembered
_SPLIT = re.compile(r"[^\w]+|_")
_BRACKETS = re.compile(r"[\(\[].*?[\)\]]")
_VERSIONED = re.compile(r"([a-z]{3,}?)v?\d[a-z0-9]*")


def fold(text: str) -> str:
    """Lower case, no accents, punctuation and brackets as spaces, single-spaced."""
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(t for t in _SPLIT.split(text) if t)


def tokens(text: str) -> list[str]:
    return fold(text).split()


def _unbracketed(name: str) -> str:
    return _BRACKETS.sub(" ", name)


@lru_cache(maxsize=65536)
def head(word: str) -> str:
    """The name in a word with its version stuck on ("yolo11", "yolov8", "qwen3": "yolo",
    "yolo", "qwen"); "" when the word is not one."""
    found = _VERSIONED.fullmatch(word)
    return found.group(1) if found and found.group(1) not in GENERIC else ""


def _stem(words: Sequence[str]) -> str:
    for w in words:
        if w.isalpha() and w not in GENERIC and len(w) >= 3:
            return w
        if h := head(w):  # YOLO11 and YOLOv8 share the stem "yolo"
            return h
    return words[0] if words else ""


@dataclass(frozen=True)
class Named:
    """One artifact as names see it: its id, the token lists it answers to, its stem."""

    id: str
    name: str
    provider: str
    keys: tuple[tuple[str, ...], ...]
    stem: str
    aliases: frozenset[tuple[str, ...]] = frozenset()  # keys read from inside brackets


def named(row: dict[str, Any]) -> Named:
    name = row.get("name") or row["id"]
    plain = tokens(_unbracketed(name)) or tokens(name)
    keys: list[tuple[str, ...]] = [tuple(tokens(name)), tuple(plain), tuple(tokens(row["id"]))]
    # Bracketed alternatives: "Hugging Face CLI (hf / huggingface-cli)". A slash between
    # words separates names; one inside a word is part of it ("DINOv2 (ViT-L/14)").
    aliases = []
    for inner in re.findall(r"\(([^)]*)\)", name):
        for part in re.split(r"\s/\s|,| or | and ", inner):
            if 0 < len(tokens(part)) <= 3:
                aliases.append(tuple(tokens(part)))
    keys += aliases
    words = [w for w in plain if w.isalpha()]
    if len(words) >= 2 and len(words[0]) > 2 and len(words[1]) > 2 and plain[:2] == words[:2]:
        keys.append((words[0][0] + words[1][0], *plain[2:]))  # "sd xl base 1 0"
    unique = tuple(dict.fromkeys(k for k in keys if k))
    return Named(
        row["id"],
        name,
        (row.get("provider") or "").strip().lower(),
        unique,
        _stem(plain),
        frozenset(aliases) - {tuple(tokens(name)), tuple(plain), tuple(tokens(row["id"]))},
    )


def _maker_keys(provider: str) -> set[tuple[str, ...]]:
    """How people say a provider before a name: whole ("black forest labs"), and by its first
    word when that word is no common one ("stability" for "Stability AI")."""
    said = tokens(_unbracketed(provider))
    if not said:
        return set()
    keys = {tuple(said)}
    if len(said) > 1 and len(said[0]) >= 4 and said[0] not in GENERIC:
        keys.add((said[0],))
    return keys


def singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


@lru_cache(maxsize=4096)
def task_words(task: str) -> frozenset[str]:
    """A task's words, singular: a provider may have thousands of artifacts and few tasks."""
    return frozenset(map(singular, tokens(task)))


def _typo(a: str, b: str) -> bool:
    """Two words of four or more letters one slip apart ("lama", "llama"), or a version
    number without its letter ("4" for "4o")."""
    if a.isdigit() and b.startswith(a) and b[len(a) :].isalpha():
        return True
    return (
        len(a) >= 4
        and len(b) >= 4
        and a.isalpha()
        and b.isalpha()
        and fuzz.ratio(a, b) >= TYPO_RATIO
    )


def key_score(span: Sequence[str], key: Sequence[str], tiers: bool = False) -> tuple[float, bool]:
    """How well the words `span` name `key`, 0 (not at all) to 1 (exactly), and whether a
    typo was forgiven on the way. `tiers`: a size or tier word the key lacks counts as a
    common word ("chatgpt plus" is ChatGPT's plan), for when no name has it.

    Joined forms compare too ("gpt4o" is "gpt 4o", "dalle" is "dall e"). Otherwise every word
    of the span must match a word of the key, except common words (GENERIC: "the", "api")
    that match nothing, and one match must be a word that identifies the key; the score is
    then the share of the key's words matched, so "midjourney" names Midjourney (1.0) better
    than Midjourney V6 (0.5), times SKIPPED_WEIGHT for each common word of the span other
    than grammar that the key lacks, so "bge-base" names BGE base (0.4) before BGE-M3 (0.35).
    """
    if not span or not key:
        return 0.0, False
    if "".join(span) == "".join(key):
        return 1.0, False
    # Plain loops, not generators: this runs for every key of every candidate a query's
    # words could name (hundreds a query at 10k artifacts; BENCHMARKS.md, search latency).
    used: set[int] = set()
    telling = typo = False
    skipped = versions = 0
    n = len(key)
    for word in span:
        hit = -1
        for i in range(n):
            if key[i] == word and i not in used:
                hit = i
                break
        if hit < 0 and len(word) >= 3 and word.isalpha():
            for i in range(n):
                if i not in used and head(key[i]) == word:  # "yolo" for "yolo11"
                    hit = i
                    versions += 1
                    break
        if hit < 0:
            run = _joined_run(word, key, used) if len(word) >= 4 else None
            if run is not None:  # "gpt4o", "chatgpt", "dalle"
                used.update(run)
                telling = True
                continue
            if word.isdigit() or (len(word) >= 4 and word.isalpha()):  # else no typo can be
                for i in range(n):
                    if i not in used and _typo(word, key[i]):
                        hit = i
                        break
            if hit < 0:
                if word in GENERIC or (tiers and word in SIZES):
                    # A name-like common word the key lacks ("base" in "bge-base" against
                    # BGE-M3) still tells the keys apart; "the", "for" tell nothing.
                    if word not in FUNCTION_WORDS:
                        skipped += 1
                    continue
                return 0.0, False
            typo = True
        used.add(hit)
        telling = telling or (key[hit] not in GENERIC and not key[hit].isdigit())
    if not telling:
        return 0.0, False
    # The key words left unmatched count against it, a version or size word less than a
    # word of the name: "stable diffusion" is Stable Diffusion 3.5 Large before it is
    # Stable Video Diffusion. People name a thing by its head word: "vit" is ViT before
    # it is OWL-ViT.
    left = 0.0
    for i in range(n):
        if i not in used:
            left += LIGHT_WEIGHT if _light(key[i]) else 1.0
    score = len(used) / (len(used) + left) * (1.0 if 0 in used else TAIL_WEIGHT)
    return score * SKIPPED_WEIGHT**skipped * VERSION_WEIGHT**versions, typo


def _light(word: str) -> bool:
    """A key word that says which version or size rather than what: "3", "70b", "v6", "large"."""
    return word in GENERIC or word in SIZES or any(c.isdigit() for c in word)


def _joined_run(word: str, key: Sequence[str], used: set[int]) -> range | None:
    """The key words (consecutive, at least two) that `word` spells out joined together."""
    if len(word) < 4:
        return None
    for start in range(len(key)):
        text = ""
        for end in range(start, len(key)):
            text += key[end]
            if len(text) > len(word):
                break
            if text == word and end > start and not used.intersection(range(start, end + 1)):
                return range(start, end + 1)
    return None


class Names:
    """Resolves text to artifacts and artifacts to families, over the artifact rows."""

    def __init__(self, rows: Iterable[dict[str, Any]]):
        self.rows = {r["id"]: r for r in rows}
        self.named = {a: named(r) for a, r in self.rows.items()}
        self._resolved: dict[tuple[str, ...], list[tuple[str, float]]] = {}
        self._task_words: dict[str, int] | None = None
        # Who has which task, and which task word (with_task), worked out on first use.
        self._by_task: dict[str, set[str]] | None = None
        self._by_task_word: dict[str, set[str]] = {}
        self._kin = self._links()
        # What connectors plug into (an MCP server integrates with it): an assistant people
        # extend ("let claude read my files"), as intent reads them.
        self.hosts = frozenset(
            b
            for r in self.rows.values()
            if r.get("kind") == "mcp-server"
            for b in r.get("integrates_with") or ()
        )
        # Families are the connected parts of the kin graph, worked out once.
        self._families: dict[str, frozenset[str]] = {}
        for start in self._kin:
            if start in self._families:
                continue
            seen, todo = {start}, [start]
            while todo:
                for b in self._kin[todo.pop()]:
                    if b not in seen:
                        seen.add(b)
                        todo.append(b)
            family = frozenset(seen)
            for a in family:
                self._families[a] = family
        # Who could a word name: by the word itself, by a run of key words it spells joined
        # ("gpt4o"), by the digits it starts with ("4" → "4o"); typos via the word list.
        self._by_word: dict[str, set[str]] = {}
        for a, n in self.named.items():
            for key in n.keys:
                for i in range(len(key)):
                    self._by_word.setdefault(key[i], set()).add(a)
                    joined = key[i]
                    for j in range(i + 1, len(key)):
                        joined += key[j]
                        self._by_word.setdefault(joined, set()).add(a)
                    digits = re.match(r"\d+", key[i])
                    if digits and digits.group() != key[i]:
                        self._by_word.setdefault(digits.group(), set()).add(a)
                    if h := head(key[i]):
                        self._by_word.setdefault(h, set()).add(a)
        # Typos are looked for among words with the same first letter: a slip there is rare,
        # and it keeps the look-up small when there are many thousands of names.
        self._typo_words: dict[str, list[str]] = {}
        for w in self._by_word:
            if len(w) >= 4 and w.isalpha():
                self._typo_words.setdefault(w[0], []).append(w)
        # People put the maker before the name ("openai whisper", "meta llama", "mistral
        # ocr"): each provider as folded, and by its first word ("Stability AI": "stability").
        self._makers: dict[tuple[str, ...], set[str]] = {}
        for a, n in self.named.items():
            for said in _maker_keys(n.provider):
                self._makers.setdefault(said, set()).add(a)

    def _links(self) -> dict[str, set[str]]:
        """Who is directly kin to whom: the same provider and either the same stem or an
        integration between a model and what serves it (the app, the API), and DERIVED_FROM
        in either direction; siblings meet through their parent."""
        kin: dict[str, set[str]] = {a: set() for a in self.rows}
        by_provider: dict[str, list[str]] = {}
        for a, n in self.named.items():
            if n.provider:
                by_provider.setdefault(n.provider, []).append(a)
        for members in by_provider.values():
            for i, a in enumerate(members):
                na, links = self.named[a], set(self.rows[a].get("integrates_with") or ())
                for b in members[i + 1 :]:
                    nb = self.named[b]
                    serves = (self.rows[a].get("kind") == "model") != (
                        self.rows[b].get("kind") == "model"
                    ) and (b in links or a in set(self.rows[b].get("integrates_with") or ()))
                    if na.stem == nb.stem or serves:
                        kin[a].add(b)
                        kin[b].add(a)
        for a, r in self.rows.items():
            for p in r.get("derived_from") or ():
                if p in kin:
                    kin[a].add(p)
                    kin[p].add(a)
        return kin

    def score(
        self, span: Sequence[str], artifact_id: str, tiers: bool = False
    ) -> tuple[float, bool]:
        """The best of the artifact's keys: (score, whether only a typo made it match)."""
        spans = [span, ["".join(span)]] if len(span) > 1 else [span]  # "eleven labs"
        n = self.named[artifact_id]
        best, best_typo = 0.0, True
        for s in spans:
            for k in n.keys:
                score, typo = key_score(s, k, tiers)
                # A name in brackets is a second name or a descriptor ("ViT-L/14" of
                # DINOv2): it counts a little less than the name itself, so "vit" is ViT.
                if k in n.aliases:
                    score *= ALIAS_WEIGHT
                if (score, not typo) > (best, not best_typo):
                    best, best_typo = score, typo
        return best, best_typo

    def resolve(self, text: str | Sequence[str]) -> list[tuple[str, float]]:
        """Artifacts `text` names, best first, each with its score (0–1]; empty if none.
        Matches that need a typo forgiven count only when nothing matches without one
        ("llama" is Llama, not Ollama)."""
        span = tokens(text) if isinstance(text, str) else list(text)
        if not span or all(w in GENERIC for w in span):
            return []
        if artifact := self._exact_id(span):
            return [(artifact, 1.0)]
        # The same words come back often ("like whisper", a name searched by many): the rows
        # do not change for the life of this object, so neither does the answer.
        key = tuple(span)
        hits = self._resolved.get(key)
        if hits is None:
            hits = self._scored(span, tiers=False)
            if not hits and SIZES.intersection(span):  # "chatgpt plus": no name has "plus"
                hits = self._scored(span, tiers=True)
            if not hits:
                hits = self._made_by(span)
            if len(self._resolved) >= RESOLVED_KEPT:
                self._resolved.clear()
            self._resolved[key] = hits
        return list(hits)

    def _scored(self, span: Sequence[str], tiers: bool) -> list[tuple[str, float]]:
        found = [(a, *self.score(span, a, tiers)) for a in sorted(self._candidates(span, tiers))]
        clean = [(a, s) for a, s, typo in found if s > 0 and not typo]
        return sorted(clean or [(a, s) for a, s, _ in found if s > 0], key=lambda t: (-t[1], t[0]))

    def _made_by(self, span: Sequence[str]) -> list[tuple[str, float]]:
        """What a span naming its maker first names: "openai whisper" is OpenAI's Whisper
        models; "openai embeddings" (no OpenAI name has the word) OpenAI's artifacts whose task
        has it. Empty when the span does not start with a maker or the rest names none of its."""
        for p in range(min(len(span) - 1, 3), 0, -1):
            made = self._makers.get(tuple(span[:p]))
            rest = span[p:]
            if not made or all(w in GENERIC for w in rest):
                continue
            # A maker whose name is a product's exact name means the product: "langchain for
            # agents" is LangChain with words after it, not LangChain Inc.'s agent library.
            if (exact := self.resolve(span[:p])) and exact[0][1] >= 1.0:
                continue
            hits = [(a, s) for a, s in self.resolve(rest) if a in made]
            if hits:
                return hits
            wanted = {singular(w) for w in rest if w not in GENERIC}
            if len(made) < 2 or len(wanted) > 2:  # a maker of one thing is that thing's name
                continue
            doing = sorted(
                a for a in made if wanted <= task_words(str(self.rows[a].get("task") or ""))
            )
            if doing:
                return [(a, 1.0 / len(doing)) for a in doing]
        return []

    def _candidates(self, span: Sequence[str], tiers: bool = False) -> set[str]:
        """The artifacts that could score above 0 for `span` (every other scores 0): those
        that every telling word of it can match — exactly, as joined words, or with a typo —
        and those whose words the whole span spells joined ("eleven labs")."""
        whole = set(self._by_word.get("".join(span), ()))
        common: set[str] | None = None
        for w in span:
            if w in GENERIC or (tiers and w in SIZES):
                continue
            found = set(self._by_word.get(w, ()))
            if len(w) >= 4 and w.isalpha():
                for typo, _, _ in process.extract(
                    w,
                    self._typo_words.get(w[0], ()),
                    scorer=fuzz.ratio,
                    score_cutoff=TYPO_RATIO,
                    limit=None,
                ):
                    found |= self._by_word[typo]
            common = found if common is None else common & found
            if not common:
                break
        return whole | (common or set())

    def suggest(self, text: str, n: int = 3) -> list[tuple[str, str]]:
        """Up to `n` (id, name) pairs whose names look most like `text`: "did you mean"."""
        choices = {a: fold(_unbracketed(n.name)) or fold(n.name) for a, n in self.named.items()}
        found = process.extract(
            fold(text), choices, scorer=fuzz.WRatio, limit=n, score_cutoff=SUGGEST_CUTOFF
        )
        return [(a, self.rows[a].get("name") or a) for _, _, a in found]

    def _exact_id(self, span: Sequence[str]) -> str | None:
        joined = "-".join(span)
        return joined if joined in self.rows else None

    def task_share(self, word: str) -> float:
        """The share of artifacts whose task has this word ("generation": many)."""
        if self._task_words is None:
            counts: dict[str, int] = {}
            for r in self.rows.values():
                for w in set(tokens(str(r.get("task") or ""))):
                    counts[w] = counts.get(w, 0) + 1
            self._task_words = counts
        return self._task_words.get(word, 0) / max(len(self.rows), 1)

    def with_task(self, tasks: set[str], words: set[str]) -> set[str]:
        """The artifacts whose task is one of `tasks` or has one of `words` (singular)."""
        if self._by_task is None:
            by_task: dict[str, set[str]] = {}
            for a, r in self.rows.items():
                task = str(r.get("task") or "")
                by_task.setdefault(task, set()).add(a)
            by_word: dict[str, set[str]] = {}
            for task, members in by_task.items():
                for w in task_words(task):
                    by_word.setdefault(w, set()).update(members)
            self._by_task, self._by_task_word = by_task, by_word
        out: set[str] = set()
        for task in tasks:
            out |= self._by_task.get(task, set())
        for w in words:
            out |= self._by_task_word.get(w, set())
        return out

    def family(self, artifact_id: str) -> frozenset[str]:
        """The artifact and everything kin to it, directly or through others."""
        return self._families.get(artifact_id) or frozenset((artifact_id,))

    def families(self, artifact_ids: Iterable[str]) -> set[str]:
        out: set[str] = set()
        seen: set[int] = set()
        for a in artifact_ids:
            family = self._families.get(a, frozenset((a,)))
            if id(family) not in seen:  # a provider's hundreds share one family
                seen.add(id(family))
                out |= family
        return out
