"""What a query asks for: a need, a reference ("alternative to X"), constraints, a name.

`understand(text, names)` reads a query the way a person choosing a tool means it:

- a reference — "alternative to X", "like X", "instead of X", "X but free", "similar to X",
  "X alternative", "replace X", "cheaper than X" — where X resolves (engine/names.py) to one
  artifact or one family; X and its family are then left out of the answers, X's capabilities
  and the searches that led to X describe the need, and the other words add to it;
- constraint words — free, open source / open weights, self-hosted / offline / local /
  on-device, API, cheap, commercial use, on a Mac / CPU — and kind words ("MCP server",
  "CLI", "agent"), which become soft boosts in the ranking (engine/features.py);
- a name: the whole query naming an artifact ("gpt-4o", "stable diffusion xl"), perhaps with
  words that only say what it is ("kokoro tts"), puts it first; "X vs Y" names both.

Phrases are matched on folded words (engine/names.fold), so case and punctuation do not matter.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from unfragile.engine.names import GENERIC, Names, fold, tokens

# Words that introduce the artifact referred to (it follows them) ...
BEFORE = (
    ("alternative", "to"),
    ("alternatives", "to"),
    ("alternative", "for"),
    ("alternatives", "for"),
    ("alternative", "of"),
    ("alternatives", "of"),
    ("similar", "to"),
    ("instead", "of"),
    ("replacement", "for"),
    ("replacement", "of"),
    ("substitute", "for"),
    ("cheaper", "than"),
    ("better", "than"),
    ("other", "than"),
    ("competitor", "to"),
    ("competitors", "to"),
    ("competitor", "of"),
    ("competitors", "of"),
    ("switch", "from"),
    ("move", "off"),
    ("like",),
    ("replace",),
    ("replacing",),
    ("vs",),  # when only the other side names something ("open source vs midjourney")
    ("versus",),
)
# ... or follow it.
AFTER = (
    ("alternative",),
    ("alternatives",),
    ("competitor",),
    ("competitors",),
    ("replacement",),
    ("clone",),
    ("equivalent",),
    ("but",),
)
MAX_NAME_WORDS = 5
# Abbreviations people type that the catalog's texts spell out: each is matched with its
# spelling after it ("vector db" as "vector db database"). Not those the texts use as they
# are ("tts", "ocr" stand in names and descriptions, and spelled out they match worse).
ABBREVIATIONS = {
    "db": "database",
    "dbs": "databases",
    "rag": "retrieval augmented generation",
    "asr": "speech recognition",
    "stt": "speech to text",
    "llm": "large language model",
    "llms": "large language models",
    "vlm": "vision language model",
    "img": "image",
}
# Words that say what a named thing is, around its name: "kokoro tts", "chroma vector db",
# "whisper speech to text" name Kokoro, Chroma and Whisper.
DESCRIPTORS = frozenset(
    "tts stt asr ocr llm llms embedding embeddings embedder reranker vector db database video "
    "videos image images photo music song audio voice speech text to transcription detection "
    "segmentation classifier classification generator generation editor ide framework "
    "library sdk agent assistant chatbot bot server model models api app cli tool tools open "
    "source weights cloning coding search engine".split()
)
CORE_NAME_MIN = 0.5  # a name among descriptors counts when it resolves at least this well
TASK_WORD_SHARE = 0.15  # a word in more tasks than this says nothing of which member is meant
# Words between two names that ask to compare them: "whisper vs deepgram".
COMPARED = (("vs",), ("versus",), ("compared", "to"), ("compared", "with"))
# Phrases that say which way a task goes, and the task that goes the other way: an artifact
# doing that one is the opposite of what was asked ("speech to text": not a TTS model).
_STT, _TTS, _I2T, _T2I = "speech-recognition", "text-to-speech", "image-to-text", "text-to-image"
DIRECTIONS: dict[tuple[str, ...], tuple[str, str]] = {  # phrase: (task asked, its opposite)
    ("speech", "to", "text"): (_STT, _TTS),
    ("voice", "to", "text"): (_STT, _TTS),
    ("audio", "to", "text"): (_STT, _TTS),
    ("transcribe",): (_STT, _TTS),
    ("transcription",): (_STT, _TTS),
    ("text", "to", "speech"): (_TTS, _STT),
    ("text", "to", "voice"): (_TTS, _STT),
    ("image", "to", "text"): (_I2T, _T2I),
    ("text", "to", "image"): (_T2I, _I2T),
}
# Words that say nothing of the need once a reference and constraints are taken out.
FILLER = frozenset(
    "a an the something one some that which who is are be to for of on in my me i with but "
    "and or it its runs run can could would please want need looking any".split()
)

# Constraint phrases (folded words) → the constraint they set, and how it is shown.
CONSTRAINTS: dict[str, tuple[tuple[str, ...], ...]] = {
    "free": (("free",), ("for", "free"), ("no", "cost"), ("gratis",), ("free", "tier")),
    "open": (
        ("open", "source"),
        ("opensource",),
        ("oss",),
        ("open", "weights"),
        ("open", "weight"),
        ("open", "model"),
        ("open", "licensed"),
    ),
    "local": (
        ("self", "hosted"),
        ("selfhosted",),
        ("self", "host"),
        ("host", "it", "myself"),
        ("on", "prem"),
        ("on", "premise"),
        ("on", "premises"),
        ("offline",),
        ("local",),
        ("locally",),
        ("on", "device"),
        ("ondevice",),
        ("my", "own", "machine"),
        ("my", "machine"),
        ("my", "laptop"),
        ("without", "internet"),
        ("no", "internet"),
        ("private",),
        ("privately",),
    ),
    "api": (("api",), ("apis",), ("rest", "api"), ("endpoint",), ("sdk",)),
    "cheap": (
        ("cheap",),
        ("cheaper",),
        ("cheapest",),
        ("inexpensive",),
        ("low", "cost"),
        ("affordable",),
        ("budget",),
    ),
    "commercial": (("commercial",), ("commercially",), ("for", "business")),
    "small": (
        ("mac",),
        ("macbook",),
        ("cpu",),
        ("laptop",),
        ("no", "gpu"),
        ("without", "a", "gpu"),
        ("without", "gpu"),
        ("apple", "silicon"),
        ("raspberry", "pi"),
        ("small",),
        ("lightweight",),
        ("tiny",),
    ),
}
SHOWN = {
    "free": "free",
    "open": "open weights / open source",
    "local": "runs locally",
    "api": "has an API",
    "cheap": "cheap",
    "commercial": "commercial use",
    "small": "runs on a laptop / CPU",
}
KIND_WORDS: dict[str, tuple[tuple[str, ...], ...]] = {
    "mcp-server": (("mcp", "server"), ("mcp", "servers"), ("mcp",)),
    "cli": (("cli",), ("command", "line"), ("commandline",), ("terminal",)),
    "agent": (("agent",), ("agents",), ("agentic",)),
    "library": (("library",), ("framework",), ("python", "package")),
    "web-app": (("web", "app"), ("website",), ("chat", "app")),
}


@dataclass(frozen=True)
class Understanding:
    """What was read from a query; `label` is what every surface shows back."""

    text: str
    # The words that describe the need: without the reference and constraint words. A
    # query without a reference is embedded whole; one with a reference as X plus these.
    need: str
    literal: bool = False
    reference: tuple[str, ...] = ()  # the artifacts the query refers to (X)
    reference_name: str = ""
    excluded: tuple[str, ...] = ()  # X and its family
    constraints: tuple[str, ...] = ()
    kind: str | None = None
    named: tuple[tuple[str, float], ...] = field(default=())  # what the whole query names
    named_as: str = ""  # the first named artifact's name, as shown
    spelled: str = ""  # the text with its abbreviations spelled out; "" when it has none
    opposite: tuple[str, ...] = ()  # tasks that go the other way from the one asked for

    @property
    def matched(self) -> str:
        """The words matched against the catalog: as typed, abbreviations spelled out."""
        return self.spelled or self.text

    @property
    def label(self) -> str:
        parts = []
        if self.reference:
            parts.append(f"like {self.reference_name}, not it or its family")
        elif self.named:
            parts.append(f"named: {self.named_as}")
        if self.kind:
            parts.append(self.kind)
        parts.extend(SHOWN[c] for c in self.constraints)
        return " · ".join(parts)

    def as_dict(self) -> dict[str, Any]:
        return {
            "text": self.label,
            "literal": self.literal,
            "need": self.need,
            "reference": list(self.reference),
            "reference_name": self.reference_name or None,
            "excluded": sorted(self.excluded),
            "constraints": list(self.constraints),
            "kind": self.kind,
            "named": [a for a, _ in self.named],
            "spelled": self.spelled or None,
            "opposite": list(self.opposite),
        }


def literal(text: str) -> Understanding:
    """The words as typed, nothing read into them."""
    return Understanding(text=text, need=text, literal=True)


def understand(text: str, names: Names) -> Understanding:
    u = _read(text, names)
    if u.named:  # "llm" is also a name (the CLI): a named query is matched as typed
        return u
    spelled = spell_out(text)
    words = tokens(spelled)
    ways = [
        way
        for phrase, way in DIRECTIONS.items()
        if any(tuple(words[i : i + len(phrase)]) == phrase for i in range(len(words)))
    ]
    opposite = {o for _, o in ways} - {asked for asked, _ in ways}  # both ways: neither
    if spelled != text:
        u = replace(u, spelled=spelled, need=spell_out(u.need))
    return replace(u, opposite=tuple(sorted(opposite))) if opposite else u


def spell_out(text: str) -> str:
    """`text` with each abbreviation of ABBREVIATIONS followed by its spelling."""
    out = []
    for word in text.split():
        out.append(word)
        if spelled := ABBREVIATIONS.get(fold(word)):
            out.append(spelled)
    return " ".join(out)


def _read(text: str, names: Names) -> Understanding:
    words = tokens(text)
    compared, sides = _compared(words, names)
    if compared:
        return Understanding(text=text, need=text, named=compared, named_as=" vs ".join(sides))
    reference, span = _reference(words, names)
    rest = [w for i, w in enumerate(words) if i not in span]
    constraints, used = _phrases(rest, CONSTRAINTS)
    kinds, used_kind = _phrases(rest, KIND_WORDS)
    kind = kinds[0] if len(kinds) == 1 else None
    if reference:
        ids = tuple(a for a, _ in reference)
        name = names.rows[ids[0]]["name"] if len(ids) == 1 else _family_name(words, span)
        need_words = [w for i, w in enumerate(rest) if i not in used and w not in FILLER]
        if (members := _members_meant(ids, need_words, names)) != ids:
            ids, name = members, f"{name} {' '.join(need_words)}"
        return Understanding(
            text=text,
            need=" ".join(need_words),
            reference=ids,
            reference_name=name,
            excluded=tuple(sorted(names.families(ids))),
            constraints=tuple(constraints),
            kind=kind,
        )
    need = " ".join(w for i, w in enumerate(rest) if i not in used) or text
    named = tuple(names.resolve(words)) or _named_core(words, names)
    # "api" names the OpenAI API only together with "openai": alone it is a constraint.
    if named and len(words) == 1 and words[0] in ("api",):
        named = ()
    return Understanding(
        text=text,
        need=need,
        constraints=tuple(constraints),
        kind=kind,
        named=named,
        named_as=names.rows[named[0][0]]["name"] if named else "",
    )


def _named_core(words: list[str], names: Names) -> tuple[tuple[str, float], ...]:
    """What the query names once the words that only say what it is are taken off its ends
    ("kokoro tts" names Kokoro); empty unless that leaves a name resolved well."""
    end = len(words)
    while end and words[end - 1] in DESCRIPTORS:
        end -= 1
    start = 0
    while start < end and words[start] in DESCRIPTORS:
        start += 1
    core = words[start:end]
    if not core or len(core) == len(words) or len(core) > MAX_NAME_WORDS:
        return ()
    found = names.resolve(core)
    return tuple(found) if found and found[0][1] >= CORE_NAME_MIN else ()


def _compared(words: list[str], names: Names) -> tuple[tuple[tuple[str, float], ...], list[str]]:
    """Both sides of "X vs Y" when each names something (as a whole query would), the best
    of each side scored 1 so that both come first, and each side's best name; empty when a
    side names nothing ("open source vs midjourney" asks for alternatives instead)."""
    for i in range(1, len(words) - 1):
        for phrase in COMPARED:
            if tuple(words[i : i + len(phrase)]) != phrase:
                continue
            both: dict[str, float] = {}
            shown: list[str] = []
            for side in (words[:i], words[i + len(phrase) :]):
                found = list(names.resolve(side)) or list(_named_core(side, names))
                if not found or len(side) > MAX_NAME_WORDS:
                    return (), []
                top = found[0][1]
                for a, s in found:
                    both[a] = max(both.get(a, 0.0), s / top)
                shown.append(names.rows[found[0][0]]["name"])
            return tuple(sorted(both.items(), key=lambda t: (-t[1], t[0]))), shown
    return (), []


def _members_meant(ids: tuple[str, ...], need: list[str], names: Names) -> tuple[str, ...]:
    """The members of X's family that the other words point at: in "alternative to openai
    embeddings", OpenAI's embedding models (their task has the word), not the OpenAI
    API in general; in "mistral alternative for ocr", Mistral OCR. X as resolved when the
    words point at no member."""
    # Words many tasks share ("text", "generation") point at no member in particular.
    wanted = {
        w
        for w in map(_singular, need)
        if len(w) >= 3 and w not in GENERIC and names.task_share(w) <= TASK_WORD_SHARE
    }

    def about(a: str) -> bool:
        task = tokens(str(names.rows[a].get("task") or ""))
        return bool(wanted.intersection(map(_singular, task)))

    if not wanted:
        return ids
    return tuple(sorted(a for a in names.families(ids) if about(a))) or ids


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _family_name(words: list[str], span: set[int]) -> str:
    return " ".join(w for i, w in enumerate(words) if i in span and w not in _TRIGGER_WORDS)


_TRIGGER_WORDS = {w for phrase in BEFORE + AFTER for w in phrase} | {"something", "a", "an"}


def _reference(words: list[str], names: Names) -> tuple[list[tuple[str, float]], set[int]]:
    """The artifacts a trigger phrase points at, and the word positions used (trigger + X)."""
    best: tuple[tuple[int, float], list[tuple[str, float]], set[int]] | None = None
    for i in range(len(words)):
        for phrase in BEFORE:
            if tuple(words[i : i + len(phrase)]) != phrase:
                continue
            start = i + len(phrase)
            if start < len(words) and words[start] in ("a", "an", "the"):
                start += 1
            for end in range(min(len(words), start + MAX_NAME_WORDS), start, -1):
                best = _better(best, names, words, start, end, set(range(i, end)))
        for phrase in AFTER:
            if tuple(words[i : i + len(phrase)]) != phrase:
                continue
            stop = i
            for begin in range(max(0, stop - MAX_NAME_WORDS), stop):
                used = set(range(begin, i + len(phrase)))
                if phrase == ("but",):
                    used = set(range(begin, i + 1))
                best = _better(best, names, words, begin, stop, used)
    if best is None:
        return [], set()
    return best[1], best[2]


def _better(
    best: tuple[tuple[int, float], list[tuple[str, float]], set[int]] | None,
    names: Names,
    words: list[str],
    start: int,
    end: int,
    used: set[int],
) -> tuple[tuple[int, float], list[tuple[str, float]], set[int]] | None:
    """Keep the reference whose name span is longest, then best matched."""
    span = words[start:end]
    if not span or span[0] in ("a", "an", "the", "something", "one"):
        return best
    found = names.resolve(span)
    if not found:
        return best
    # An ambiguous name ("whisper") refers to every artifact of the best match's family it
    # fits; a name one artifact has exactly ("gpt4o") refers to it alone (GPT-4o's speech
    # siblings share its words, not its purpose). The family is left out either way.
    family = names.family(found[0][0])
    top = found[0][1]
    chosen = [(a, s) for a, s in found if a in family and (top < 1.0 or s >= 1.0)]
    key = (len(span), top)
    if best is None or key > best[0]:
        return key, chosen, used
    return best


def _phrases(
    words: list[str], table: dict[str, tuple[tuple[str, ...], ...]]
) -> tuple[list[str], set[int]]:
    """The table's keys whose phrases occur in `words` (in table order), and the positions."""
    found: list[str] = []
    used: set[int] = set()
    for key, phrases in table.items():
        for phrase in sorted(phrases, key=len, reverse=True):
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if tuple(words[i : i + n]) == phrase and not used.intersection(range(i, i + n)):
                    used.update(range(i, i + n))
                    if key not in found:
                        found.append(key)
    return found, used
