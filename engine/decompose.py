"""Decompose one long artifact description into capability-sized units."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

MAX_TITLE = 80
MAX_TEXT = 600
_JACCARD = 0.6


@dataclass(frozen=True)
class DecomposedCapability:
    title: str
    text: str


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP = _words("""a an the and or of for to in on at by with from into about as is are be been was
were this that these those it its it's their they them you your our we us can will may also any all
each other more most such so than then which who what how when where using use used via per plugin
tool api app users user help helps allows allow lets let enables enable""")
# Verbs a title may be normalised to ("searching"/"searches" -> "search"); others stay as written.
_VERBS = _words("""access add aggregate alert allow analyse analyze answer assess assist automate
book browse build buy calculate chart chat check choose classify collect combine communicate
compare compose compress compute connect convert count create curate debug decide delete deliver
deploy design detect diagnose discover download draft draw edit email empower enable enhance
estimate evaluate explain explore export extract fetch filter find follow forecast format
formulate gain gather generate get give guide help host identify import improve index integrate
interpret invest join learn leverage list listen locate log look make manage map match measure
merge monitor navigate notify obtain offer optimize order organise organize paraphrase parse pay
personalize pick plan play plot post predict present price produce proofread propose provide
publish query rank rate read recommend record remind remove rent report research reserve retrieve
return review rewrite roll run save scan schedule score scrape scrutinize search select sell send
share shop simplify solve sort spot store study suggest summarise summarize supply support teach
test trade track train transcribe transform translate tutor update upload use validate verify
view visualize watch write""")
_ABBREV = _words("e.g. i.e. etc. vs. inc. u.s. dr. mr. ms. st. no. approx. ltd.")
_DANGLING = _words("""a an the and or of for to in on at by with from into about as your their its
via according related based such""")
_IS_WHAT = _words("a an the your one also designed built used able dedicated made meant here")
_MODALS = _words("is are was were can will may should must")
_NOT_NAMES = _words("there here it this these those each any all some the a an what who")

_CODE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_URL = re.compile(r"(?i)(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*")
_PATH = re.compile(r"(?<![\w/])/[\w{}?=&<>.:/-]+")
_HTML = re.compile(r"</?[a-zA-Z][^>]*>")
# Quoted passages holding sentences are sample prompts or outputs; split up, they pose as abilities.
_QUOTED = re.compile(r"""(?x)(?<![^\s:(])(?:"(?=\S)[^"]{0,1500}?[.!?][^"]{0,1500}?"
    |“[^”]{0,1500}?[.!?][^”]{0,1500}?”|'(?=\S)(?:[^'\n]|(?<=\w)'(?=\w)){0,300}?[.!?]
    (?:[^'\n]|(?<=\w)'(?=\w)){0,300}?')(?=[\s.,;:!?)]|$)""")
_EXAMPLE_PAREN = re.compile(r"(?i)\s*\((?:e\.g\.?|i\.e\.?|for example|for instance|see)[^)]*\)")
_EXAMPLE_TAIL = re.compile(r"(?i)[,;:]?\s+(?:e\.g\.?|for example|for instance)(?:[\s,:].*)?$")
_BULLET = re.compile(r"^\s*(?:[-*•+>]+|\(?\d{1,2}[.)]|\(?[a-z][.)](?=\s))\s+")
_ENUM = re.compile(r"(?:(?<=\s)|(?<=^)|(?<=:))\(?(\d{1,2})[.)]\s+(?=\S)")
_SENT = re.compile(r"(?<=[.!?])[\"')\]]?\s+(?=[\"'(\[]?[A-Z0-9])|(?<=[a-z]{2}[.!?])(?=[A-Z][a-z])")
_CONNECTIVE = re.compile(r"""(?ix)^(?:moreover|additionally|furthermore|also|besides|in\ addition
    |other\ than\ that|beyond\ that|plus|overall|basically|simply\ put|similarly|likewise),\s*""")
_LABEL = re.compile(r"^[A-Z][^:]{0,40}:\s+")
_ADVERBIAL = re.compile(r"""(?ix)^(?:with|from|beyond|besides|apart\s+from|in\s+addition\s+to|at|by
    |after|using|whether|thanks\s+to|once|for|in|on|to|when|if|as|before|while|during)\b""")

# Units opening like this speak to the model, show examples or advertise: no ability in them.
_DIRECTIVE_START = re.compile(r"""(?ix)^(?:(?:always|never|do\s+not|don'?t|dont|do|must|should
    |make\s+sure|remember|ensure|please|note|notice|important|avoid|only|respond|reply|display|show
    |answer\s+(?:in|with|only|the)|format|render|present|print|output|link|cite|include|tell|ask
    |inform|mention|explain|prefer|call|invoke|to|try|fail|refrain|follow\s+(?:these|this|the)|first
    |then|next|finally|lastly|after|before|once|if|unless|when|whenever|until|wait|proceed|strictly
    |even\s+if|be\s+proactive|default|and\s+(?:if|when|whenever)|as\s+a\s+(?:reply|response|result)
    |for\s+any|for\s+each|instead|the\s+only|the\s+correct|this\s+is\s+wrong|things\s+to|step\s*\d+
    |(?:bad|good|sample|example)\s+\w+:|examples?|e\.g|i\.e|for\s+example|for\s+instance
    |here\s+(?:is|are)|here'?s|in\s+this\s+(?:diagram|example|case)
    |in\s+(?:all|every|each|your|the)\s+(?:responses?|answers?|replies|messages?)
    |provide\s+(?:the\s+)?(?:users?|top|links?|image|references|clear)|give\s+(?:responses|answers)
    |return\s+(?:all|only|every|the)|suggest\s+to|let\s+(?:the\s+)?users?|guide\s+(?:the\s+)?users?
    |(?:the\s+|most\s+)?(?:responses?|results?|output)
    |the\s+(?:reply|replies|answer|first|second|third|last)
    |user\s+asks|user|assistant(?!\s+(?:uses|can)\s)|the\s+(?:assistant|model)
    |(?:the\s+)?users?\s+(?:simply\s+|just\s+|only\s+)?(?:must|should|needs?|will\s+need|has\s+to
       |have\s+to|asks?|provides?)
    |it\s+is\s+(?:most\s+|very\s+|also\s+)?(?:important|helpful|recommended|best|better|crucial
       |essential|necessary|worth)|it'?s\s+(?:very\s+)?important|its\s+very\s+important
    |whether|no\s+matter|however|currently|over\s+time|in\s+essence|that'?s\s+why|the\s+benefits
    |we'?ll|we\s+will|(?:the|our|its)\s+(?:goal|mission|aim|expectation|plan|purpose|usage)
    |founded|established|launched|(?:built|created|developed|made|powered)\s+by)(?![\w-])
  |(?:this|the)\s+(?:plugin|tool|app|api)\s+is\s+(?:called\s+)?[\w.'-]+(?:\s+[\w.'-]+)?\.?$
  |keep\s+(?!track)|we\s+(?!provide|offer|help|support|make)|you\b(?!\s+can\b)|your\s
  |(?:use|utili[sz]e)\s+(?!for\s|(?:it|me|this\s+(?:plugin|tool|api|app|service)
     |the(?:\s+[\w-]+){1,6}?|(?-i:[A-Z])[\w-]*(?:\s+[\w-]+){0,5}?)\s+(?:to|for)\s))""")
# Anywhere in a unit: model instructions, shouted rules, API mechanics, limitations, boilerplate.
_DIRECTIVE_ANY = re.compile(r"""(?ix)(?-i:INSTRUCTIONS|\b(?:ALL|ONLY|ANY|NOT|EVERY|BOTH|NO|NEVER
    |ALWAYS)\b)|\b(?:pay\s+attention|markdown|always|never|do(?:es)?\s+not|don'?t|doesn'?t|must
    |should|make\s+sure|ensure\s+that|remember\s+to|you\s+(?:will|need|have\s+to|may\s+not|cannot
       |can'?t|are\s+(?:given|to|required)|should|must|receive)|you'll
    |(?:refer|talk|speak)\s+to\s+you|as\s+if\s+you|we\s+invite
    |your\s+(?:task|goal|job|response|answer|reply|output|call)
    |(?:tell|ask|inform|remind|show|prompt|direct)s?\s+(?:the\s+)?users?\b
    |(?:if|when|whenever|unless|once|until|after|before)\s+(?:\w+\s+){0,3}?(?:you|users?|someone
       |they|guest|player)\s+(?:ask|request|want|say|mention|provide|type|need|express|receive
       |specif|do|does)\w*
    |(?:the\s+)?(?:assistant|model|chatgpt|gpt)\s+(?:must|should|will|needs?|may|is\s+to|presents?
       |always|never)
    |(?:in|to|of|within|at\s+the\s+end\s+of)\s+(?:your|the|each|every|all|future|its)
       \s+(?:responses?|answers?|repl(?:y|ies)|messages?|outputs?)
    |end-?points?|end\s+points?|api\s+calls?|call\s+the\s+api|parameters?|will\s+cause
    |could\s+not\s+parse|free\s+preview|privacy|terms\s+of|copyright|disclaimer|advertis\w*
    |sponsored|affiliate|endorse\w*|non-commercial|user\s+feedback
    |(?:send|give|leave|share|provide)\s+(?:us\s+|your\s+|their\s+)?feedback|examples?|paragraphs?
    |is\s+appreciated|(?:is|are)\s+required|when\s+asked|(?:text|clickable|hyper)\s*links?
    |(?:un|not\s+|only\s+)available|cannot|can'?t|can\s+not|unable\s+to|not\s+supported
    |(?:is|are|will)\s+not|isn'?t|aren'?t|won'?t|only\s+(?:supports?|works?|for|in|applies))\b""")

# Framing stripped from the front of a title, in order ("This plugin allows users to ...", "X is
# a search engine for finding ...", "Summary Generator: ..."); patterns are blank-line separated.
_TOKENS = {
    "<THING>": r"(?:plugin|tool|api|app|application|service|assistant|bot|extension|gpt|platform"
    r"|website|feature|engine|system|integration)s?",
    "<ACT>": r"(?:\w+ing|" + "|".join(sorted(_VERBS)) + r")\b",
    "<PART>": r"(?:designed|built|made|used|meant|intended|here|dedicated)",
    "<WHO>": r"(?:you|chatgpt(?:\s+users)?|users?|people|humans|customers|buyers|developers"
    r"|travell?ers|students|businesses|teams|them|anyone)",
    "<IS>": "(?:" + "|".join(sorted(_IS_WHAT)) + ")",
}
_TOKENS["<FOR>"] = r"(?:to|for(?=\s+" + _TOKENS["<ACT>"] + "))"
_LEAD_SPEC = r"""
^[\w.-]+,\s+(?=(?:a|an|the)\s)

^(?:[\w.'&/-]+\s){0,3}[\w.'&/-]+:\s+

^(?!<ACT>)(?:(?:this|the|our|a|an)\s+)?(?:(?-i:[A-Z0-9])[\w'.&-]*\s+){0,4}?<THING>
 (?:\s+(?:that|which))?\s+(?=(?:also\s+)?(?:can|will|could|may|(?:is|are)\s+<IS>|helps?|allows?
 |enables?|lets|provides?|offers?|\w+s)\b)

^(?!<ACT>)(?:(?:a|an|the)\s+)?(?:[\w'.&-]+\s+){0,4}?<THING>
 \s+(?:that|which|to|for|<PART>\s+<FOR>)\s+

^(?:it|this)\s+(?=(?:also\s+)?(?:\w+s|can|will)\b)(?!is\b)

^also\s+

^(?:also\s+)?(?:can|will|could|may|is\s+able\s+to|are\s+able\s+to)\s+(?:also\s+)?
 (?:be\s+used\s+(?:to|for)\s+|help\s+(?:you\s+|users?\s+)?(?:to\s+)?)?

^(?:is|are)\s+(?:also\s+)?(?:(?:specifically\s+)?<PART>\s+)?<FOR>\s+

^(?:is|are)\s+(?:a|an|the|your|one)\s+(?:[\w'-]+\s+){0,5}?(?:<PART>\s+<FOR>|that\s+(?:can\s+)?
 |which\s+(?:can\s+)?|<FOR>)\s+

^(?:is|are)\s+(?:a|an)\s+

^(?:useful|helpful|great|perfect|ideal|dedicated|used|designed|built)
 \s+(?:to|(?:for|in)(?=\s+<ACT>))\s+

^(?:allows?|enables?|lets|let|helps?|empowers?|assists?|permits?)
 \s+(?:(?:[\w'-]+\s+){0,2}?<WHO>\s+)?(?:(?:in|with|to)\s+)?

^(?:(?:the\s+)?assistant\s+)?uses?\s+(?:it|this|these|the|our|[\w-]+)(?:\s+[\w-]+){0,3}?
 \s+(?:to|for)\s+

^(?:you|users?|one|the\s+player|players|customers)\s+can\s+(?:now\s+|also\s+|easily\s+|even\s+)*

^(?:(?:offers?|provides?)\s+)?(?:the\s+)?(?:ability|a\s+way)\s+to\s+
"""
_LEAD = [
    re.compile(re.sub("<[A-Z]+>", lambda m: _TOKENS[m.group()], p), re.I | re.X)
    for p in _LEAD_SPEC.strip().split("\n\n")
]
_STRONG_CUT = re.compile(r"\s*(?:[,;:(]|\s[-–—]\s)")
_WEAK_CUT = re.compile(r"""(?x)\s(?:which|that|so|by|using|with|without|including|such\s+as
    |based\s+on|and|or|for|in|on|from|to|as|at|into|about|regarding|within|across|through|via
    |where|while)\s""")


def _normalise(text: str) -> str:
    text = _CODE_FENCE.sub("\n", text.replace("\\n", "\n").replace("\\/", "/"))
    text = _HTML.sub(" ", _URL.sub("", _MD_LINK.sub(r"\1", text)))
    text = re.sub(r"\*\*|__|`|^#+\s*", "", _PATH.sub("", _QUOTED.sub("", text)), flags=re.M)
    text = "".join(
        c for c in text if c != "\ufe0f" and unicodedata.category(c) not in ("So", "Cf", "Cs")
    )
    return re.sub(r"\(\s*[,;]?\s*\)", "", text)


def _split_sentences(block: str) -> list[str]:
    out: list[str] = []
    for piece in _SENT.split(block):
        if out and out[-1].split()[-1].lower() in _ABBREV:
            out[-1] = f"{out[-1]} {piece}"
        elif piece.strip():
            out.append(piece)
    return out


def _split_colon(part: str) -> list[str]:
    # "Here is a summary of X: This allows ..." is a header and a sentence; "Label: does x" is one.
    head, sep, tail = part.partition(": ")
    tail = tail.lstrip()
    if sep and len(head.split()) >= 5 and tail[:1].isupper():
        if len(_split_sentences(tail)[0].split()) >= 5:
            return [head + ":", *_split_colon(tail)]
    return [part]


def _split_enumeration(block: str) -> list[str]:
    marks = list(_ENUM.finditer(block))
    numbers = [int(m.group(1)) for m in marks]
    if 1 not in numbers or 2 not in numbers[numbers.index(1) :]:
        return [block]  # a stray number, not a "1) ... 2) ..." list
    cuts = [m.start() for m in marks] + [len(block)]
    return [block[: cuts[0]]] + [block[m.end() : cuts[i + 1]] for i, m in enumerate(marks)]


def _split_clauses(sentence: str) -> list[str]:
    # Long ";"-joined clauses are abilities each; a list of nouns or a rule's clauses stay whole.
    head, *rest = [p.strip() for p in sentence.split(";")]
    if not rest or _DIRECTIVE_START.match(head) or min(len(p.split()) for p in [head, *rest]) < 4:
        return [sentence]
    if not all(p[0].isupper() or _is_verb(p.split()[0]) for p in rest):
        return [sentence]
    return [head] + [p[:1].upper() + p[1:] for p in rest]


def _units(description: str) -> list[str]:
    units: list[str] = []
    for line in _normalise(description).splitlines():
        parts = _split_enumeration(_BULLET.sub("", line).strip())
        intro = (_split_sentences(parts[0]) or [""])[-1].strip()
        if len(parts) > 1 and (_DIRECTIVE_START.match(intro) or _DIRECTIVE_ANY.search(intro)):
            parts = parts[:1]  # items of a list the model is told to produce are not abilities
        for part in parts:
            for sentence in (s for chunk in _split_colon(part) for s in _split_sentences(chunk)):
                units.extend(_BULLET.sub("", p).strip() for p in _split_clauses(sentence))
    return [u for u in units if u]


def _clean(unit: str) -> str:
    stripped = _CONNECTIVE.sub("", unit)
    if stripped != unit:
        stripped = stripped[:1].upper() + stripped[1:]
    unit = _EXAMPLE_TAIL.sub("", _EXAMPLE_PAREN.sub("", stripped))
    unit = re.sub(r"\s+", " ", unit).strip(" \t-–—,;")
    if len(unit) > MAX_TEXT:
        unit = unit[:MAX_TEXT].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return unit


def _strip_adverbial(text: str) -> str:
    return re.sub(_ADVERBIAL.pattern + r"[^,]{0,90},\s+", "", text)  # "With a query, users can"


def _capability_part(unit: str, sole: bool) -> str | None:
    """The part of a cleaned unit that states an ability, or None when it states none."""
    words = unit.split()
    if not words or sum(c.isalpha() or c.isspace() for c in unit) < 0.75 * len(unit):
        return None  # code, paths, numbers
    if re.search(r"[{}]|->|=>|==", unit) or len(re.findall(r"'[^']{1,30}'", unit)) > 2:
        return None
    if unit.endswith((":", "?", '"', "”")) or not unit[0].isalnum():
        return None  # a header, a sample question, a fragment of a quote
    if not sole and (
        unit[0].islower() or len(words) < 3 or len(words) < 4 and not _is_verb(words[0])
    ):
        return None  # a fragment of a list or of a broken sentence
    if any(_DIRECTIVE_START.match(u) for u in (unit, _LABEL.sub("", unit), _strip_adverbial(unit))):
        return None
    hit = _DIRECTIVE_ANY.search(unit)
    if hit:
        # An instruction tacked on after a comma need not cost the ability stated before it.
        unit = ", ".join(re.split(r",\s|;\s|\s[-–—]\s", unit[: hit.start()])[:-1])
        if len(unit.split()) < 5 or _DIRECTIVE_ANY.search(unit) or _ADVERBIAL.match(unit):
            return None
    return unit


def _tokens(text: str) -> frozenset[str]:
    words = (w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP)
    return frozenset(w[:-1] if len(w) > 3 and w[-1] == "s" and w[-2] != "s" else w for w in words)


def _base(word: str) -> str | None:
    """Base form of a gerund or third-person verb we know, else None."""
    w = word.lower()
    if w.endswith("ing") and len(w) > 5:
        candidates: tuple[str, ...] = (w[:-3], w[:-3] + "e", w[:-4])
    elif w.endswith("ies"):
        candidates = (w[:-3] + "y",)
    elif w.endswith(("shes", "ches", "xes", "sses", "zes")):
        candidates = (w[:-2], w[:-1])
    elif w.endswith("s") and not w.endswith("ss"):
        candidates = (w[:-1],)
    else:
        return None
    return next((c for c in candidates if c in _VERBS), None)


def _is_verb(word: str) -> bool:
    return word.lower() in _VERBS or _base(word) is not None


def _verbify(text: str) -> str:
    """Turn a leading "searching ..."/"provides ..." and verbs joined to it into "search ..."."""
    words = text.split(" ")
    first, nxt = words[0].rstrip(","), (words[1:] or [""])[0].lower()
    suffix = "ing" if first.lower().endswith("ing") else "s"
    # "Maps of ...", "Reports are ..." are nouns; a gerund stays a verb whatever follows it.
    noun = suffix == "s" and nxt in _MODALS | _words("of for from in on that which")
    if noun or not _base(first):
        return text
    for i, word in enumerate(words[:8]):
        core = word.rstrip(",")
        joined = i == 0 or words[i - 1].endswith(",") or words[i - 1].lower() in {"and", "or", "&"}
        base = _base(core) if joined and core.lower().endswith(suffix) else None
        words[i] = base + word[len(core) :] if base else word
    return " ".join(words)


def _strip_subject(text: str) -> str:
    """Drop a leading name that a verb follows: "Kroki supports ..." -> "supports ..."."""
    words = text.split()
    i, limit = 0, min(4, len(words) - 1)
    while i < limit and words[i][:1].isupper() and words[i].lower() not in _NOT_NAMES:
        i += 1
    if i == 0 or i == len(words) or i == 1 and _is_verb(words[0]):
        return text  # "Find answers ..." is a verb phrase already
    verb, after = words[i], (words[i + 1 :] or [""])[0]
    if verb in {"can", "will"} or verb in {"is", "are"} and after in _IS_WHAT:
        return " ".join(words[i:])
    if verb.endswith("s") and _base(verb) and after not in _MODALS:
        return " ".join(words[i:])
    return text


def _title(text: str) -> str:
    title = re.sub(r"\s*\([^)]*\)?", "", _split_sentences(text)[0]).strip() if text else ""
    title = _strip_adverbial(title)
    for _ in range(4):
        before = title
        for pattern in _LEAD:
            stripped = pattern.sub("", title, count=1)
            title = stripped if len(stripped.split()) >= 2 else title
        title = _strip_subject(title)
        if title == before:
            break
    title = _verbify(title.strip())
    if len(title) > MAX_TITLE:
        window = title[: MAX_TITLE + 1]
        strong = [m.start() for m in _STRONG_CUT.finditer(window) if m.start() >= 25]
        weak = [m.start() for m in _WEAK_CUT.finditer(window) if m.start() >= 25]
        cut = (
            strong[-1] if strong else next((c for c in weak if c >= 40), weak[-1] if weak else None)
        )
        title = window[:cut] if cut else window.rsplit(" ", 1)[0]
        for _ in range(2):  # a cut inside "a, b, c" leaves a stub item; end before it instead
            title = re.sub(r"^(.{25,}?),\s+\S+(?:\s+\S+)?$", r"\1", title)
    words = title.rstrip(" .,;:!?-–—…").split()
    while len(words) > 1 and words[-1].lower() in _DANGLING:
        words.pop()
    title = " ".join(words).rstrip(" .,;:!?-–—…'\"")
    return (title[:1].upper() + title[1:])[:MAX_TITLE] or text[:MAX_TITLE].strip() or "Capability"


def _extract(description: str) -> list[str]:
    """Capability texts in original order, near duplicates merged; no cap, no fallback."""
    units = _units(description)
    kept: list[tuple[str, frozenset[str]]] = []
    for unit in units:
        part = _capability_part(_clean(unit), sole=len(units) == 1)
        text = _clean(part) if part else ""
        if not text:
            continue
        tokens = _tokens(text)
        same = (i for i, (_, t) in enumerate(kept) if len(t & tokens) >= _JACCARD * len(t | tokens))
        match = next(same, None)
        if match is None:
            kept.append((text, tokens))
        elif len(tokens) > len(kept[match][1]):
            kept[match] = (text, tokens)  # the more informative phrasing, at the earlier position
    return [text for text, _ in kept]


def _fallback_text(description: str, fallback: str | None) -> str:
    if fallback and (text := _clean(" ".join(_normalise(fallback).split()))):
        return text
    sentences = (_clean(s) for s in _split_sentences(" ".join(_normalise(description).split())))
    first = next((s for s in sentences if s), "")
    return first or _clean(description) or description.strip()[:MAX_TEXT]


def decompose(
    description: str, *, fallback: str | None = None, max_capabilities: int = 13
) -> list[DecomposedCapability]:
    """Split a long description into capability-sized units.

    Sentences, enumerations, bullet items and long ";"-joined clauses are candidates; instructions
    to the model, boilerplate, examples and fragments are dropped and near duplicates merged,
    keeping the original order, at most `max_capabilities`. When nothing survives, `fallback`
    (else the description's first sentence) is the single capability: only blank input gives [].
    """
    if not description or not description.strip():
        return []
    texts = _extract(description)[: max(1, max_capabilities)]
    result: list[DecomposedCapability] = []
    for text in texts or [_fallback_text(description, fallback)]:
        title = base = _title(text)
        n = 2
        while title.lower() in {c.title.lower() for c in result}:
            title, n = f"{base[: MAX_TITLE - len(str(n)) - 3].rstrip()} ({n})", n + 1
        result.append(DecomposedCapability(title=title, text=text))
    return result
