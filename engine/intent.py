"""What a query asks for: a need, a reference ("alternative to X"), constraints, a name.

`understand(text, names)` reads a query the way a person choosing a tool means it:

- a reference — "alternative to X", "like X", "instead of X", "X but free", "similar to X",
  "X alternative", "replace X", "cheaper than X" — where X resolves (engine/names.py) to one
  artifact or one family; X and its family are then left out of the answers, X's capabilities
  and the searches that led to X describe the need, and the other words add to it; in "X
  but for Y" ("like whisper.cpp but for llms") Y is the need, in the way X does things;
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

from unfragile.engine.names import (
    FUNCTION_WORDS,
    GENERIC,
    Names,
    fold,
    singular,
    tokens,
)
from unfragile.engine.query_words import (
    ABBREVIATIONS,
    AFTER,
    ANY_HOST,
    ANY_HOST_CUES,
    ARTICLES,
    BEFORE,
    COMPARE_CUES,
    COMPARED,
    CONSTRAINED_BEFORE,
    CONSTRAINTS,
    CORE_NAME_MIN,
    DESCRIPTORS,
    DIRECTIONS,
    HOST_CUES,
    HOST_KINDS,
    JOINED,
    KIND_WORDS,
    MAKING,
    MAX_NAME_WORDS,
    MEDIA,
    NOT_VERSUS,
    OWNED,
    QUESTION,
    REFERENCE_FILLER,
    SHOWN,
    TASK_ABBREVIATIONS,
    TASK_WORD_SHARE,
    VERSUS,
    WAYS,
)


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
    host: str = ""  # the assistant the asker has and extends ("let claude read my files")
    host_words: tuple[str, ...] = ()  # its words in the query, left out of what is matched
    # "X but for Y" ("like whisper.cpp but for llms"): the need is Y, in the way X does things;
    # X's task and the searches that led to X are not the need.
    for_other: bool = False

    @property
    def matched(self) -> str:
        """The words matched against the catalog: as typed, abbreviations spelled out, the
        asker's own assistant left out."""
        return _cut(self.spelled or self.text, self.host_words)

    @property
    def label(self) -> str:
        parts = []
        if self.reference and self.for_other:
            words = tokens(self.text)  # Y as typed, not spelled out ("llms")
            at = _at(words, _BUT_FOR)
            y = " ".join(words[at + 2 :]) if at >= 0 else self.need
            parts.append(f"like {self.reference_name} but for {y}, not it or its family")
        elif self.reference:
            parts.append(f"like {self.reference_name}, not it or its family")
        elif self.named:
            parts.append(f"named: {self.named_as}")
        if self.kind:
            parts.append(self.kind)
        if self.host:
            parts.append(f"for {self.host}")
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
            "host": self.host or None,
            "for_other": self.for_other,
        }


def literal(text: str) -> Understanding:
    """The words as typed, nothing read into them."""
    return Understanding(text=text, need=text, literal=True)


def understand(text: str, names: Names) -> Understanding:
    u = _read(text, names)
    if u.named:  # "llm" is also a name (the CLI): a named query is matched as typed
        return u
    if not u.reference and (host := _host(tokens(text), names)):
        name, said = host
        u = replace(
            u, host=name, host_words=said, kind=u.kind or "mcp-server", need=_cut(u.need, said)
        )
    spelled = spell_out(text)
    words = tokens(spelled)
    ways = [way for phrase, way in DIRECTIONS.items() if _at(words, phrase) >= 0]
    ways += _media_ways(words)
    opposite = {o for _, o in ways} - {asked for asked, _ in ways}  # both ways: neither
    if spelled != text:
        u = replace(u, spelled=spelled, need=spell_out(u.need))
    return replace(u, opposite=tuple(sorted(opposite))) if opposite else u


def _at(words: list[str], phrase: tuple[str, ...]) -> int:
    """Where `phrase` first occurs in `words`; −1 if nowhere (or `phrase` is empty)."""
    n = len(phrase)
    for i in range(len(words) - n + 1) if n else ():
        if tuple(words[i : i + n]) == phrase:
            return i
    return -1


def _cut(text: str, part: tuple[str, ...]) -> str:
    """`text`'s words without the first run of `part` (folded words); `text` if none."""
    if not part:  # most queries name no host: nothing to fold and look for
        return text
    words = tokens(text)
    at = _at(words, part)
    return " ".join(words[:at] + words[at + len(part) :]) if at >= 0 else text


def _host(words: list[str], names: Names) -> tuple[str, tuple[str, ...]] | None:
    """The assistant the asker has, named after a word of HOST_CUES ("let claude query my
    database"), when more words follow: (its name as shown, its words); None if none."""
    for i, w in enumerate(words[:-2]):
        if w not in HOST_CUES:
            continue
        start = i + 1 + (words[i + 1] in ARTICLES or words[i + 1] == "my")
        if w in ANY_HOST_CUES and words[start] in ANY_HOST:
            return words[start], (words[start],)
        for end in range(min(len(words) - 1, start + 3), start, -1):
            found = names.resolve(words[start:end])
            if found and found[0][1] >= CORE_NAME_MIN:
                hosts = [
                    a
                    for a, _ in found
                    if names.rows[a].get("kind") in HOST_KINDS or a in names.hosts
                ]
                if hosts:
                    name = str(names.rows[hosts[0]]["name"]).split(" (")[0]
                    return name, tuple(words[start:end])
                break
    return None


def _media_ways(words: list[str]) -> list[tuple[str, str]]:
    """The ways of WAYS said as "<medium> ... to/into <medium>" (up to five words between),
    or the other way round as "<medium> from <medium>" ("images from text descriptions")."""
    found = []
    for i, w in enumerate(words):
        if w == "from" and 0 < i < len(words) - 1:
            made = [m for m, ws in MEDIA.items() if words[i - 1] in ws]
            given = [m for m, ws in MEDIA.items() if ws & set(words[i + 1 : i + 4])]
            found += [WAYS[(a, b)] for a in given for b in made if (a, b) in WAYS]
            continue
        if w not in ("to", "into") or i + 1 >= len(words):
            continue
        after = words[i + 2] if words[i + 1] in ARTICLES and i + 2 < len(words) else words[i + 1]
        out = [m for m, ws in MEDIA.items() if after in ws]
        before = set(words[max(0, i - 6) : i])
        into = [m for m, ws in MEDIA.items() if ws & before]
        found += [WAYS[(a, b)] for a in into for b in out if (a, b) in WAYS]
    return found


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
    reference, span = _reference(words, names, constrained=bool(_phrases(words, _CONSTRAINTS)[0]))
    rest = [w for i, w in enumerate(words) if i not in span]
    constraints, used = _phrases(rest, _CONSTRAINTS)
    # "open model" sets a constraint, and a model is still what is wanted.
    used = {i for i in used if rest[i] not in ("model", "models")}
    kinds, used_kind = _phrases(_without_objects(rest), _KINDS)
    kind = kinds[0] if len(kinds) == 1 else None
    if reference:
        ids = tuple(a for a, _ in reference)
        name = names.rows[ids[0]]["name"] if len(ids) == 1 else _family_name(words, span)
        need_words = [w for i, w in enumerate(rest) if i not in used and w not in REFERENCE_FILLER]
        if (members := _members_meant(ids, need_words, names)) != ids:
            ids, name = members, f"{name} {' '.join(need_words)}"
        return Understanding(
            text=text,
            need=" ".join(need_words),
            for_other=bool(need_words) and _at(words, _BUT_FOR) >= 0,
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
    while start < end and (words[start] in DESCRIPTORS or words[start] in QUESTION):
        start += 1
    core = words[start:end]
    if not core or len(core) == len(words) or len(core) > MAX_NAME_WORDS:
        return ()
    found = names.resolve(core)
    if not found or found[0][1] < CORE_NAME_MIN:
        return ()
    # One word that is half of a name is a word, not the name: "semantic" in "embedding
    # model for semantic search" is not Semantic Kernel, "browser" not Browser Use.
    if _half_name(core, found):
        return ()
    # The words around the name may point at members of its family ("openai tts").
    ids = tuple(a for a, _ in found)
    if (members := _members_meant(ids, words[:start] + words[end:], names)) != ids:
        return tuple((a, 1.0) for a in members)
    return tuple(found)


def _half_name(span: list[str], found: list[tuple[str, float]]) -> bool:
    """One telling word that names at best half of a name ("semantic", "google")."""
    return found[0][1] <= CORE_NAME_MIN and sum(w not in GENERIC for w in span) == 1


def _trigger_at(words: list[str], i: int, phrase: tuple[str, ...]) -> bool:
    """Whether `phrase` is said at position i as a trigger: "vs" before "code" is the editor
    ("an mcp server for vs code" compares nothing)."""
    if tuple(words[i : i + len(phrase)]) != phrase:
        return False
    after = i + len(phrase)
    return not (phrase in VERSUS and after < len(words) and words[after] in NOT_VERSUS)


def _compared(words: list[str], names: Names) -> tuple[tuple[tuple[str, float], ...], list[str]]:
    """Both sides of "X vs Y" (or "X or Y", "compare X and Y") when each names something, the
    best of each side scored 1 so that both come first, and each side's best name; empty when
    a side names nothing ("open source vs midjourney" asks for alternatives instead). Words of
    a question may come before X ("which is cheaper, X or Y") and any words after Y ("X vs Y
    for meetings")."""
    cued = bool(COMPARE_CUES.intersection(words))
    for i in range(1, len(words) - 1):
        for phrase in COMPARED + (JOINED if cued else ()):
            if words[i] != phrase[0] or not _trigger_at(words, i, phrase):
                continue
            left = _side(words[:i], names, from_end=True)
            right = _side(words[i + len(phrase) :], names, from_end=False)
            if not left or not right:
                continue
            both: dict[str, float] = {}
            for found in (left, right):
                for a, s in found:
                    both[a] = max(both.get(a, 0.0), s / found[0][1])
            shown = [names.rows[f[0][0]]["name"] for f in (left, right)]
            return tuple(sorted(both.items(), key=lambda t: (-t[1], t[0]))), shown
    return (), []


def _side(side: list[str], names: Names, from_end: bool) -> list[tuple[str, float]]:
    """What one side of a comparison names: the whole side as a whole query would, else (left)
    the words after a question's words or (right) the first words, resolved well."""
    if len(side) <= MAX_NAME_WORDS and (
        found := list(names.resolve(side)) or list(_named_core(side, names))
    ):
        return found
    if from_end:  # after the longest run of a question's words, then shorter ones
        start = 0
        while start < len(side) - 1 and side[start] in QUESTION:
            start += 1
        spans = [side[s:] for s in range(start, 0, -1)]
    else:
        spans = [side[:e] for e in range(min(len(side) - 1, MAX_NAME_WORDS), 0, -1)]
    for span in spans:
        if len(span) > MAX_NAME_WORDS:
            continue
        found = list(names.resolve(span)) or list(_named_core(span, names))
        if found and found[0][1] >= CORE_NAME_MIN:
            return found
    return []


def _members_meant(ids: tuple[str, ...], need: list[str], names: Names) -> tuple[str, ...]:
    """The members of X's family that the other words point at: in "alternative to openai
    embeddings", OpenAI's embedding models (their task has the word), not the OpenAI
    API in general; in "mistral alternative for ocr", Mistral OCR. X as resolved when the
    words point at no member."""
    # Words many tasks share ("text", "generation") point at no member in particular.
    wanted = {
        w
        for w in map(singular, need)
        if len(w) >= 3 and w not in GENERIC and names.task_share(w) <= TASK_WORD_SHARE
    }

    tasks = {TASK_ABBREVIATIONS[w] for w in need if w in TASK_ABBREVIATIONS}
    if not wanted and not tasks:
        return ids
    # From the side of the task words: a provider's family may be thousands of artifacts.
    return tuple(sorted(names.families(ids) & names.with_task(tasks, wanted))) or ids


def _family_name(words: list[str], span: set[int]) -> str:
    return " ".join(w for i, w in enumerate(words) if i in span and w not in _TRIGGER_WORDS)


_TRIGGER_WORDS = {w for phrase in BEFORE + AFTER + CONSTRAINED_BEFORE for w in phrase} | {
    "something",
    "a",
    "an",
}


def _reference(
    words: list[str], names: Names, constrained: bool = False
) -> tuple[list[tuple[str, float]], set[int]]:
    """The artifacts a trigger phrase points at, and the word positions used (trigger + X).
    `constrained`: the query sets a constraint, so "free version of X" refers to X too."""
    best: tuple[tuple[int, float], list[tuple[str, float]], set[int]] | None = None
    before = BEFORE + CONSTRAINED_BEFORE if constrained else BEFORE
    for i in range(len(words)):
        for phrase in before:
            if words[i] != phrase[0] or not _trigger_at(words, i, phrase):
                continue
            start = i + len(phrase)
            if start < len(words) and words[start] in ("a", "an", "the"):
                start += 1
            for end in range(min(len(words), start + MAX_NAME_WORDS), start, -1):
                best = _better(best, names, words, start, end, set(range(i, end)))
        for phrase in AFTER:
            if words[i] != phrase[0] or not _trigger_at(words, i, phrase):
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
    # "I'd like to know" refers to nothing; the name in "replace whisper with ..." ends
    # before "with".
    if not span or span[0] in _NOT_A_NAME_START or span[-1] in FUNCTION_WORDS:
        return best
    if start and words[start - 1] == "vs" and not _trigger_at(words, start - 1, ("vs",)):
        return best  # "code" of "vs code" is half of the editor's name, not Claude Code
    found = names.resolve(span)
    if not found:
        return best
    # Half of a name with a word of another name after it is that other name, one the
    # catalog lacks: "replace google translate" does not refer to the Gemini app.
    if (
        _half_name(span, found)
        and end < len(words)
        and words[end].isalpha()
        and words[end] not in _NAME_ENDS
    ):
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


_BUT_FOR = ("but", "for")
_NOT_A_NAME_START = frozenset("a an the something one to my your our this that it".split())
# Words that may follow a name without being more of it: grammar, the words of a reference,
# constraints and kinds ("alternative to google for search", "like notion but free").
_NAME_ENDS = (
    FUNCTION_WORDS
    | _TRIGGER_WORDS
    | REFERENCE_FILLER
    | GENERIC
    | {phrase[0] for phrases in CONSTRAINTS.values() for phrase in phrases}
    | {phrase[0] for phrases in KIND_WORDS.values() for phrase in phrases}
)


def _without_objects(words: list[str]) -> list[str]:
    """`words` with each kind word that names what the asker has or makes blanked out."""
    out = list(words)
    for i, w in enumerate(words):
        if w not in _KIND_HEADS:
            continue
        before = [b for b in words[max(0, i - 3) : i] if b not in ARTICLES]
        if (before and before[-1] in OWNED) or MAKING.intersection(before):
            out[i] = ""
    return out


_KIND_HEADS = {phrase[0] for phrases in KIND_WORDS.values() for phrase in phrases}


Table = tuple[tuple[str, tuple[tuple[str, ...], ...]], ...]


def _longest_first(table: dict[str, tuple[tuple[str, ...], ...]]) -> Table:
    """The table's keys in order, each with its phrases longest first."""
    return tuple((k, tuple(sorted(p, key=len, reverse=True))) for k, p in table.items())


def _phrases(words: list[str], table: Table) -> tuple[list[str], set[int]]:
    """The table's keys whose phrases occur in `words` (in table order), and the positions."""
    found: list[str] = []
    used: set[int] = set()
    present = set(words)
    for key, phrases in table:
        for phrase in phrases:
            if phrase[0] not in present:  # most phrases: nothing to scan for
                continue
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if tuple(words[i : i + n]) == phrase and not used.intersection(range(i, i + n)):
                    used.update(range(i, i + n))
                    if key not in found:
                        found.append(key)
    return found, used


_CONSTRAINTS, _KINDS = _longest_first(CONSTRAINTS), _longest_first(KIND_WORDS)
