"""Decompose one long artifact description into capability-sized units."""
from __future__ import annotations

import re
from dataclasses import dataclass

MAX_TITLE = 80
MAX_TEXT = 600
_JACCARD = 0.6


@dataclass(frozen=True)
class DecomposedCapability:
    title: str
    text: str


_STOP = frozenset("""a an the and or of for to in on at by with from into about as is are be been was were
this that these those it its it's their they them you your our we us can will may also any all each
other more most such so than then which who what how when where using use used via per plugin tool
api app users user help helps allows allow lets let enables enable""".split())

# Base forms the title builder may turn "searching"/"searches" into; unknown words stay as written.
_VERBS = frozenset("""access add aggregate alert allow analyse analyze answer assess assist automate book browse build
buy calculate chart chat check choose classify collect combine communicate compare compose compress compute
connect convert
count create curate debug decide delete deliver deploy design detect diagnose discover download draft draw
edit email empower enable enhance estimate evaluate explain explore export extract fetch filter find follow forecast
format formulate gather generate get give guide help host identify import improve index integrate interpret
invest join leverage
learn list listen locate log look make manage map match measure merge monitor navigate notify offer
optimize order organise organize paraphrase parse pay personalize plan play plot post predict price
present produce proofread propose provide publish query rank rate read recommend record remind remove rent report
research reserve retrieve return review rewrite roll run save scan schedule score scrape search select
scrutinize sell send share shop simplify solve sort spot store study suggest summarise summarize supply support
teach test
trade track train transcribe transform translate tutor update upload use validate verify view visualize
watch write""".split())

_ABBREV = ("e.g.", "i.e.", "etc.", "vs.", "inc.", "u.s.", "dr.", "mr.", "ms.", "st.", "no.", "approx.", "ltd.")

_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.I)
_PATH = re.compile(r"(?<![\w/])/[\w{}?=&<>.:/-]+")
_HTML = re.compile(r"</?[a-zA-Z][^>]*>")
_EXAMPLE_PAREN = re.compile(r"\s*\((?:e\.g\.?|i\.e\.?|for example|for instance|see)[^)]*\)", re.I)
_EXAMPLE_TAIL = re.compile(r"[,;:]?\s+(?:e\.g\.?|for example|for instance)(?:[\s,:].*)?$", re.I)
_BULLET = re.compile(r"^\s*(?:[-*•+>]+|\(?\d{1,2}[.)]|\(?[a-z][.)](?=\s))\s+")
_ENUM = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=:))\(?(\d{1,2})[.)]\s+(?=\S)")
_INLINE_BULLET = re.compile(r"\s[-•*]\s+(?=[A-Z'\"])")
_SENT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_CONNECTIVE = re.compile(r"^(?:moreover|additionally|furthermore|also|besides|in addition|other than that|"
                         r"beyond that|plus|overall|basically|simply put)\b,?\s*", re.I)

# Sentences opening like this talk to the model (or are examples/fluff), not about an ability.
_DIRECTIVE_START = re.compile(r"""^(?:always|never|do\s+not|don'?t|dont|do|must|should|make\s+sure|remember|ensure
  |please|note|notice|important|avoid|only|respond|reply|answer\s+(?:in|with|only|the)|display|show|format|render
  |present|print|output|link|cite|include|tell|ask|inform|mention|explain|keep\s+(?!track)|prefer|call|invoke
  |try|follow\s+(?:these|this|the)|first|then|next|finally|lastly|after|before|once|if|unless|when|whenever|until
  |in\s+(?:all|every|each|your|the)\s+(?:responses?|answers?|replies|messages?|outputs?)|for\s+each|instead
  |here\s+(?:is|are)|this\s+is\s+wrong|the\s+correct|examples?|e\.g|i\.e|for\s+example|for\s+instance|user\s+asks
  |user:|assistant|step\s*\d+|things\s+to|you\s+(?!can\b)|your\s|the\s+(?:assistant|model)|it\s+is\s+important
  |it'?s\s+(?:very\s+)?important|its\s+very\s+important|whether|no\s+matter|however|currently|over\s+time
  |(?:the|our|its)\s+(?:goal|mission|aim|expectation|plan|purpose|usage)
  |(?:the\s+)?users?\s+(?:must|should|needs?|will\s+need|has\s+to|have\s+to|asks?|provides?)
  |use\s+(?!(?:it|this|these|the|our|(?-i:[A-Z])[\w-]*)(?:\s+[\w-]+){0,3}?\s+(?:to|for)\s))(?![\w-])""",
                              re.I | re.X)
# Anywhere in a sentence: a model instruction, API mechanics or boilerplate.
_DIRECTIVE_ANY = re.compile(r"""(?-i:INSTRUCTIONS)|\b(?:pay\s+attention|markdown|always|never|do\s+not|don'?t
  |must|should|make\s+sure|ensure\s+that|remember\s+to
  |you\s+(?:will|need|have\s+to|may\s+not|cannot|can'?t|are\s+(?:given|to|required)|should|must|receive)
  |your\s+(?:task|goal|job|response|answer|reply|output|call)
  |(?:tell|ask|inform|remind|show|prompt|let|give|provide|offer|direct)s?\s+(?:the\s+)?users?\b
  |(?:if|when|whenever|unless|once|until|after|before)\s+(?:\w+\s+){0,3}?(?:you|users?|someone|they|guest|player)
     \s+(?:ask|request|want|say|mention|provide|type|need|express|receive|specif|do|does)\w*
  |(?:the\s+)?(?:assistant|model|chatgpt|gpt)\s+(?:must|should|will|needs?|may|is\s+to|presents?|always|never)
  |(?:in|to|of|within|at\s+the\s+end\s+of)\s+(?:your|the|each|every|all|future|its)\s+(?:responses?|answers?
     |repl(?:y|ies)|messages?|outputs?)
  |end-?points?|end\s+points?|api\s+calls?|call\s+the\s+api|parameters?|free\s+preview|privacy|terms\s+of
  |copyright|disclaimer|advertis\w*|sponsored|affiliate|endorse\w*|non-commercial|user\s+feedback
  |(?:send|give|leave|share|provide)\s+(?:us\s+|your\s+|their\s+)?feedback|will\s+cause|could\s+not\s+parse)\b""",
                            re.I | re.X)
_IDENTITY = re.compile(r"^(?:this|the)\s+(?:plugin|tool|app|api)(?:'s\s+name)?\s+is\s+(?:called\s+)?[\w .'-]{1,30}$",
                       re.I)

_LEAD = [re.compile(p, re.I) for p in (
    _CONNECTIVE.pattern,
    r"^[^:,]{1,40}:\s+(?=\S)",  # "Summary Generator: compresses ..." labels
    r"^(?:this|the|our|a|an)?\s*(?:[\w'.&-]+\s+){0,4}?(?:plugin|tool|api|app|application|service|assistant|bot"
    r"|extension|gpt|platform|website|feature|engine|system|integration)s?(?:\s+(?:that|which))?\s+"
    r"(?=(?:also\s+)?(?:can|will|could|may|is|are|helps?|allows?|enables?|lets|provides?|offers?|\w+s)\b)",
    r"^(?:a|an)\s+(?:[\w'.&-]+\s+){0,4}?(?:plugin|tool|api|app|application|service|assistant|bot|extension"
    r"|platform|website)\s+(?:that|which|for|to)\s+",
    r"^(?:it|they|this|we)\s+",
    r"^(?:also\s+)?(?:can|will|could|may|is\s+able\s+to|are\s+able\s+to)\s+(?:also\s+)?"
    r"(?:be\s+used\s+(?:to|for)\s+|help\s+(?:you\s+|users?\s+)?(?:to\s+)?)?",
    r"^(?:is|are)\s+(?:(?:specifically\s+)?(?:designed|built|made|used|meant|intended|here|dedicated)\s+(?:to|for)\s+)",
    r"^(?:is|are)\s+(?:a|an|the|your|one)\s+(?:[\w'-]+\s+){0,5}?(?:(?:designed|built|made|used|meant|dedicated)"
    r"\s+(?:to|for)|that\s+(?:can\s+)?|which\s+(?:can\s+)?|for(?=\s+\w+ing\b)|to)\s+",
    r"^(?:is|are)\s+(?:a|an)\s+",
    r"^(?:useful|helpful|great|perfect|ideal|dedicated|used|designed|built)\s+(?:for|to|in)\s+",
    r"^(?:allows?|enables?|lets|let|helps?|empowers?|assists?|permits?)\s+(?:(?:you|users?|people|humans|customers"
    r"|developers|chatgpt(?:\s+users)?|the\s+user|them|anyone)\s+)?(?:(?:in|with)\s+)?(?:to\s+)?",
    r"^use\s+(?:it|this|these|the|our|[\w-]+)(?:\s+[\w-]+){0,3}?\s+(?:to|for)\s+",
    r"^(?:you|users?|one)\s+can\s+(?:now\s+|also\s+|easily\s+)*",
    r"^(?:offers?|provides?)\s+(?:the\s+ability|a\s+way|ways|tools?)\s+(?:to|for)\s+",
    r"^(?:the\s+)?(?:ability|able)\s+to\s+",
)]
_STRONG_CUT = re.compile(r"\s*(?:[,;:(]|\s[-–—]\s)")
_WEAK_CUT = re.compile(r"\s(?:which|that|so|by|using|with|including|such\s+as|based\s+on|and|or|for|in|on|from|to)\s")
_DANGLING = frozenset("a an the and or of for to in on at by with from into about as your their its via".split())


def _normalise(text: str) -> str:
    text = text.replace("\\n", "\n").replace("\\/", "/")
    text = _CODE_FENCE.sub("\n", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _URL.sub("", text)
    text = _HTML.sub(" ", text)
    text = _PATH.sub("", text)
    text = re.sub(r"\*\*|__|`|^#+\s*", "", text, flags=re.M)
    return re.sub(r"\(\s*[,;]?\s*\)", "", text)


def _split_sentences(block: str) -> list[str]:
    out: list[str] = []
    for piece in _SENT.split(block):
        if out and out[-1].lower().endswith(_ABBREV):
            out[-1] = f"{out[-1]} {piece}"
        elif piece.strip():
            out.append(piece)
    return out


def _split_enumeration(block: str) -> list[str]:
    marks = list(_ENUM.finditer(block))
    numbers = [int(m.group(1)) for m in marks]
    if 1 not in numbers or 2 not in numbers[numbers.index(1):]:
        parts = [block]
    else:
        cuts = [m.start() for m in marks] + [len(block)]
        parts = [block[:cuts[0]]] + [block[m.end():cuts[i + 1]] for i, m in enumerate(marks)]
    if any(len(_INLINE_BULLET.findall(p)) >= 2 for p in parts):
        parts = [q for p in parts for q in _INLINE_BULLET.split(p)]
    return parts


def _units(description: str) -> list[str]:
    units: list[str] = []
    for line in _normalise(description).splitlines():
        for part in _split_enumeration(_BULLET.sub("", line).strip()):
            for sentence in _split_sentences(part):
                pieces = sentence.split(";")
                if len(pieces) > 1 and min(len(p.split()) for p in pieces) < 4:
                    pieces = [sentence]
                units.extend(_BULLET.sub("", p).strip() for p in pieces)
    return [u for u in units if u]


def _clean(unit: str) -> str:
    unit = _EXAMPLE_TAIL.sub("", _EXAMPLE_PAREN.sub("", _CONNECTIVE.sub("", unit)))
    unit = re.sub(r"\s+", " ", unit).strip(" \t-–—,;")
    if len(unit) > MAX_TEXT:
        unit = unit[:MAX_TEXT + 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return unit[:MAX_TEXT]


def _is_capability(unit: str, sole: bool) -> str | None:
    """Return the usable part of a unit, or None when it is not a capability."""
    words = unit.split()
    letters = sum(c.isalpha() or c.isspace() for c in unit)
    if not words or letters < 0.75 * len(unit) or re.search(r"[{}]|->|=>|==", unit):
        return None
    if unit.endswith((":", "?")) or unit[0] in "\"'“‘" or _IDENTITY.match(unit):
        return None
    if len(words) < 4 and not sole and _base(words[0]) is None and words[0].lower() not in _VERBS:
        return None
    if len(words) < 3 and not sole:
        return None
    if _DIRECTIVE_START.match(unit):
        return None
    hit = _DIRECTIVE_ANY.search(unit)
    if hit:
        # An instruction tacked on after a comma need not cost the ability stated before it.
        head = re.split(r",\s|;\s|\s[-–—]\s", unit[:hit.start()])
        unit = ", ".join(head[:-1]) if len(head) > 1 else ""
        if len(unit.split()) < 5 or _DIRECTIVE_ANY.search(unit):
            return None
    return unit


def _tokens(text: str) -> frozenset[str]:
    words = re.findall(r"[a-z0-9]+", text.lower())
    return frozenset(w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w
                     for w in words if w not in _STOP)


def _similar(a: frozenset[str], b: frozenset[str]) -> bool:
    if not a or not b:
        return a == b
    return len(a & b) / len(a | b) >= _JACCARD


def _base(word: str) -> str | None:
    """Base form of a gerund or third-person verb we know, else None."""
    w = word.lower()
    if w.endswith("ing") and len(w) > 5:
        candidates = (w[:-3], w[:-3] + "e", w[:-4])
    elif w.endswith("ies"):
        candidates = (w[:-3] + "y",)
    elif w.endswith("s") and not w.endswith("ss"):
        candidates = (w[:-1], w[:-2])
    else:
        return None
    return next((c for c in candidates if c in _VERBS), None)


def _verbify(text: str) -> str:
    words = text.split(" ")
    nxt = words[1].lower() if len(words) > 1 else ""
    first = _base(words[0])
    if first is None or nxt in {"of", "for", "from", "and", "are", "is", "in", "on", "that", "which"}:
        return text
    suffix = "ing" if words[0].lower().endswith("ing") else "s"
    words[0] = first
    for i in range(1, min(len(words), 8)):
        if words[i - 1].lower() in {"and", "or", "&"} and words[i].lower().endswith(suffix) and _base(words[i]):
            words[i] = _base(words[i]) or words[i]
    return " ".join(words)


def _strip_subject(text: str) -> str:
    words = text.split()
    i = 0
    while i < min(4, len(words) - 1) and words[i][:1].isupper():
        i += 1
    if 0 < i < len(words) and (words[i] in {"is", "are", "can", "will"} or
                               (words[i].endswith("s") and _base(words[i]))):
        return " ".join(words[i:])
    return text


def _title(text: str) -> str:
    title = _split_sentences(text)[0] if text else ""
    title = re.sub(r"\s*\([^)]*\)?", "", title).strip()
    for _ in range(4):
        before = title
        for pattern in _LEAD:
            stripped = pattern.sub("", title, count=1)
            if len(stripped.split()) >= 2:
                title = stripped
        title = _strip_subject(title)
        if title == before:
            break
    title = _verbify(title.strip())
    if len(title) > MAX_TITLE:
        window = title[:MAX_TITLE + 1]
        cuts = [m.start() for m in _STRONG_CUT.finditer(window) if m.start() >= 25]
        cuts = cuts or [m.start() for m in _WEAK_CUT.finditer(window) if m.start() >= 25]
        title = window[:cuts[-1]] if cuts else window.rsplit(" ", 1)[0]
    words = title.rstrip(" .,;:!?-–—…").split()
    while len(words) > 1 and words[-1].lower() in _DANGLING:
        words.pop()
    title = " ".join(words).rstrip(" .,;:!?-–—…'\"")
    return (title[:1].upper() + title[1:])[:MAX_TITLE] or text[:MAX_TITLE].strip() or "Capability"


def _extract(description: str) -> list[str]:
    """Capability texts in original order, merged, before any cap or fallback."""
    units = _units(description)
    kept: list[tuple[str, frozenset[str]]] = []
    for unit in units:
        text = _is_capability(_clean(unit), sole=len(units) == 1)
        text = _clean(text) if text else ""
        if not text:
            continue
        tokens = _tokens(text)
        match = next((i for i, (_, t) in enumerate(kept) if _similar(t, tokens)), None)
        if match is None:
            kept.append((text, tokens))
        elif len(tokens) > len(kept[match][1]):
            kept[match] = (text, tokens)  # keep the more informative phrasing, at the first position
    return [text for text, _ in kept]


def _unique_titles(texts: list[str]) -> list[DecomposedCapability]:
    seen: set[str] = set()
    result = []
    for text in texts:
        base = title = _title(text)
        n = 2
        while title.lower() in seen:
            suffix = f" ({n})"
            title = base[:MAX_TITLE - len(suffix)].rstrip() + suffix
            n += 1
        seen.add(title.lower())
        result.append(DecomposedCapability(title=title, text=text))
    return result


def decompose(description: str, *, fallback: str | None = None,
              max_capabilities: int = 13) -> list[DecomposedCapability]:
    """Split a long description into capability-sized units.

    Sentences, enumerations and bullet items become candidates; model instructions, boilerplate,
    examples and fragments are dropped, near duplicates merged. When nothing survives, `fallback`
    (or else the description's first sentence) becomes the single capability, so a non-empty input
    never yields an empty list.
    """
    if not description or not description.strip():
        return []
    texts = _extract(description)[:max(1, max_capabilities)]
    if not texts:
        for source in (fallback or "", description):
            sentences = [_clean(s) for s in _split_sentences(_normalise(source).replace("\n", " "))]
            first = " ".join(sentences) if source is fallback else next((s for s in sentences if s), "")
            if first.strip():
                texts = [_clean(first)]
                break
        texts = texts or [_clean(description) or description.strip()[:MAX_TEXT]]
    return _unique_titles(texts)
