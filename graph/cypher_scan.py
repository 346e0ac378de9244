"""Our own reading of a Cypher text before Neo4j sees it: every call it makes, its size, depth."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

from unfragile.graph.errors import TooComplex, Unreadable

# Neo4j's parser and planner recurse once per nesting level and per link of an operator
# chain: on 5.26 a few hundred levels (400 parentheses or NOTs, 300 `.a` or CASEs) overflow
# the stack of a Bolt worker, which then never answers; subqueries nested in subqueries
# (EXISTS, COLLECT, pattern comprehensions) take seconds to plan from about 10 levels and
# hang from 32. These limits keep well below that, and far above the saved explorations
# (at most 1.5 KB of query, 401 tokens, nesting 4, depth 10, braces 2).
MAX_CYPHER_CHARS = 10_000
MAX_TOKENS = 4_000
MAX_NESTING = 64  # brackets and CASE ... END inside one another
MAX_BRACES = 10  # { } blocks (subqueries, maps) and pattern comprehensions inside one another
MAX_DEPTH = 100  # nesting plus the operators chained at each level (see `_Frame`)

# Where a `//` comment ends in Neo4j 5.26 (it also ends at U+2028, as tested); a comment
# holding another possible line end is refused rather than guessed at.
_COMMENT_ENDS = "\n\r\u2028"
_DOUBTFUL_IN_COMMENT = "\u2029\x85\x0b\x0c\x1c\x1d\x1e"
# Operators that chain (each link is one more level in Neo4j's expression tree); `.` chains
# property reads and patterns chain through - < >.
_OPERATORS = frozenset("+ - * / % ^ = <> != < > <= >= =~ || . :: ! -> <-".split())
_WORD_OPERATORS = frozenset("AND OR XOR NOT IN IS STARTS ENDS CONTAINS".split())
# Words that end one expression and start the next at the same level.
_SEPARATING_WORDS = frozenset(
    """MATCH OPTIONAL RETURN WITH WHERE UNWIND ORDER BY SKIP LIMIT OFFSET CALL YIELD UNION
    CREATE MERGE SET DELETE DETACH NODETACH REMOVE FOREACH LOAD USE WHEN THEN ELSE AS ON
    FINISH INSERT FILTER LET""".split()
)
_PUNCTUATION = sorted(
    ["<>", "!=", "<=", ">=", "=~", "||", "::", "..", "->", "<-", "+="]
    + list("+-*/%^=<>.:!,;|()[]{}&$?@"),
    key=len,
    reverse=True,
)


@dataclass(frozen=True)
class Token:
    kind: str  # name (bare word), quoted (`name`), param, string, number, punct
    text: str  # the word, the name without backticks, the literal's raw text, the symbol
    offset: int


@dataclass(frozen=True)
class Call:
    name: str  # dotted, without backticks; a backticked part is split on its dots too
    procedure: bool  # after CALL; otherwise a function in an expression
    offset: int


@dataclass
class Scan:
    calls: list[Call] = field(default_factory=list)
    tokens: int = 0
    nesting: int = 0
    depth: int = 0


def scan(text: str) -> Scan:
    """Every procedure and function call in `text`, and its size; TooComplex past a limit,
    Unreadable where the text could mean something else to Neo4j than to this scan."""
    if len(text) > MAX_CYPHER_CHARS:
        raise TooComplex(
            f"the query is {len(text):,} characters long; the limit is {MAX_CYPHER_CHARS:,}"
        )
    tokens = tokenize(text)
    if len(tokens) > MAX_TOKENS:
        raise TooComplex(f"the query has {len(tokens):,} tokens; the limit is {MAX_TOKENS:,}")
    result = Scan(calls=_calls(tokens, text), tokens=len(tokens))
    result.nesting, result.depth = _depth(tokens, text)
    return result


def tokenize(text: str) -> list[Token]:
    """Tokens without whitespace and comments. Strings take backslash escapes (Neo4j reads
    `\\` plus any one character as an escape); backticked names take `` for a backtick."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif text.startswith("//", i):
            end = min((p for p in (text.find(e, i) for e in _COMMENT_ENDS) if p >= 0), default=n)
            if any(d in text[i:end] for d in _DOUBTFUL_IN_COMMENT):
                raise Unreadable(f"a // comment holds an unusual line break ({_where(text, i)})")
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise Unreadable(f"a /* comment is not closed ({_where(text, i)})")
            i = end + 2
        elif c in "'\"":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise Unreadable(f"a string is not closed ({_where(text, i)})")
            tokens.append(Token("string", text[i : j + 1], i))
            i = j + 1
        elif c == "`":
            j, name = i + 1, []
            while True:
                end = text.find("`", j)
                if end < 0:
                    raise Unreadable(f"a name in backticks is not closed ({_where(text, i)})")
                name.append(text[j:end])
                if text.startswith("``", end):
                    name.append("`")
                    j = end + 2
                    continue
                break
            tokens.append(Token("quoted", "".join(name), i))
            i = end + 1
        elif c.isdigit() or (
            c == "." and i + 1 < n and text[i + 1].isdigit() and not _after_value(tokens)
        ):
            j = i + 1
            while j < n and (
                _name_char(text[j])
                or (text[j] == "." and j + 1 < n and text[j + 1].isdigit())
                or (text[j] in "+-" and text[j - 1] in "eE" and j + 1 < n and text[j + 1].isdigit())
            ):
                j += 1
            tokens.append(Token("number", text[i:j], i))
            i = j
        elif _name_start(c):
            j = i + 1
            while j < n and _name_char(text[j]):
                j += 1
            tokens.append(Token("name", text[i:j], i))
            i = j
        else:
            symbol = next((p for p in _PUNCTUATION if text.startswith(p, i)), None)
            if symbol is None:
                raise Unreadable(
                    f"the character {c!r} (U+{ord(c):04X}) is not allowed outside strings, "
                    f"names in backticks and comments ({_where(text, i)})"
                )
            tokens.append(Token("punct", symbol, i))
            i += len(symbol)
    return _join_params(tokens, text)


def _join_params(tokens: list[Token], text: str) -> list[Token]:
    """`$name`, `$`name`` and `$0` are one token: a parameter, never the start of a call."""
    joined: list[Token] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.kind == "punct" and t.text == "$":
            nxt = tokens[i + 1] if i + 1 < len(tokens) else None
            if (
                nxt is None
                or nxt.kind not in ("name", "quoted", "number")
                or nxt.offset != t.offset + 1
            ):
                raise Unreadable(
                    f"a $ is not followed by a parameter name ({_where(text, t.offset)})"
                )
            joined.append(Token("param", nxt.text, t.offset))
            i += 2
            continue
        joined.append(t)
        i += 1
    return joined


def _calls(tokens: list[Token], text: str) -> list[Call]:
    """Each `name(.name)*` followed by `(` (a function), or following CALL (a procedure,
    with or without parentheses: `CALL db.labels` runs it too)."""
    calls: list[Call] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if (
            t.kind == "name"
            and t.text.upper() == "CALL"
            and not _is_dot(tokens, i - 1)
            and nxt is not None
            and nxt.kind in ("name", "quoted")
        ):
            # CALL then a name is a procedure call, whatever else the word could be here
            # (CALL then `(` or `{` is a subquery; a variable named call is read as a name).
            parts, end = _dotted(tokens, i + 1)
            calls.append(Call(".".join(parts), True, nxt.offset))
            i = end
            continue
        if t.kind in ("name", "quoted"):
            parts, end = _dotted(tokens, i)
            opens = end < len(tokens) and tokens[end].kind == "punct" and tokens[end].text == "("
            if opens and _is_dot(tokens, i - 1):
                # `x).f(` or `$p.f(`: no call Neo4j knows looks like this; do not guess.
                raise Unreadable(f"a call on an expression ({_where(text, t.offset)})")
            if opens and len(parts) > 1:
                calls.append(Call(".".join(parts), False, t.offset))
            i = end
            continue
        i += 1
    return calls


def _dotted(tokens: list[Token], i: int) -> tuple[list[str], int]:
    """The parts of the dotted name starting at token i, and the index after it."""
    parts = tokens[i].text.split(".") if tokens[i].kind == "quoted" else [tokens[i].text]
    j = i + 1
    while j + 1 < len(tokens) and _is_dot(tokens, j) and tokens[j + 1].kind in ("name", "quoted"):
        nxt = tokens[j + 1]
        parts += nxt.text.split(".") if nxt.kind == "quoted" else [nxt.text]
        j += 2
    return parts, j


@dataclass
class _Frame:
    """One bracket or CASE level; `chain` counts the operators of the expression now being
    read at this level (reset by a comma, a clause word, WHEN/THEN/ELSE, AS)."""

    closer: str
    chain: int = 0
    block: bool = False  # a { } block or a pattern comprehension [( ...


def _depth(tokens: list[Token], text: str) -> tuple[int, int]:
    """(deepest nesting, deepest depth): depth adds up the operator chains of every level
    open at a token, plus the levels, an upper bound on the expression tree's depth."""
    frames = [_Frame("")]
    nesting = depth = 0
    for i, t in enumerate(tokens):
        word = t.text.upper() if t.kind == "name" else None
        if t.kind == "punct" and t.text in "([{":
            frames.append(_Frame({"(": ")", "[": "]", "{": "}"}[t.text]))
            frames[-1].block = t.text == "{" or (
                t.text == "[" and i + 1 < len(tokens) and tokens[i + 1].text == "("
            )
            if sum(f.block for f in frames) > MAX_BRACES:
                raise TooComplex(
                    f"the query nests more than {MAX_BRACES} subqueries, maps or pattern "
                    f"comprehensions inside one another ({_where(text, t.offset)})"
                )
        elif word == "CASE":
            frames.append(_Frame("END"))
        elif (t.kind == "punct" and t.text in ")]}") or word == "END":
            if len(frames) > 1 and frames[-1].closer == (word or t.text):
                frames.pop()
        elif (t.kind == "punct" and t.text in ",;|") or word in _SEPARATING_WORDS:
            frames[-1].chain = 0
        elif (t.kind == "punct" and t.text in _OPERATORS) or word in _WORD_OPERATORS:
            frames[-1].chain += 1
        nesting = max(nesting, len(frames) - 1)
        depth = max(depth, len(frames) - 1 + sum(f.chain for f in frames))
        if nesting > MAX_NESTING:
            raise TooComplex(
                f"the query nests more than {MAX_NESTING} brackets or CASE expressions "
                f"deep ({_where(text, t.offset)})"
            )
        if depth > MAX_DEPTH:
            raise TooComplex(
                f"an expression chains or nests more than {MAX_DEPTH} operators deep "
                f"({_where(text, t.offset)}); split it up"
            )
    return nesting, depth


def _is_dot(tokens: list[Token], i: int) -> bool:
    return 0 <= i < len(tokens) and tokens[i].kind == "punct" and tokens[i].text == "."


def _after_value(tokens: list[Token]) -> bool:
    """Whether the last token ends a value (so a following `.5` is a property, not 0.5)."""
    if not tokens:
        return False
    last = tokens[-1]
    return last.kind != "punct" or last.text in ")]}"


def _name_start(c: str) -> bool:
    return c == "_" or c.isalpha() or unicodedata.category(c) in ("Nl", "Pc")


def _name_char(c: str) -> bool:
    return c == "_" or c.isalnum() or unicodedata.category(c) in ("Mn", "Mc", "Nl", "Pc", "Nd")


def _where(text: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"line {line}, column {column}"
