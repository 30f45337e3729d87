"""What a SPARQL query or update says, read cheaply before any engine parses it: its tokens (:data:`TOKEN`) and
its shape (:func:`analyse`: the form, every ``SERVICE``, ``FROM``/``FROM NAMED``/``USING``, ``LOAD`` and ``WITH``
target, the words that hide an outbound keyword, the nesting depth and the token count).

Strings, IRIs and comments are skipped exactly as the SPARQL 1.1 grammar reads them
(https://www.w3.org/TR/sparql11-query/#grammar). Prefixed-name local parts stop at ``.`` so that
``ex:o.SERVICE`` is seen as a keyword too. The SPARQL gate (:mod:`reekg.server.lexer`) refuses queries by this
shape; the remote backend (:mod:`reekg.read.remote`) reads a query's form and dataset and rewrites terms over
these tokens. Nothing here imports Flask or the server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin

_PN_ESC = r"\\[_~.\-!$&'()*+,;=/?#@%]"
TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<comment>\#[^\n\r]*)
  | (?P<iri><[^<>"{}|^`\\\x00-\x20]*>)
  | (?P<string>'''(?:(?:'|'')?(?:[^'\\]|\\.))*'''
             |\"\"\"(?:(?:"|"")?(?:[^"\\]|\\.))*\"\"\"
             |'(?:[^'\\\n\r]|\\.)*'
             |"(?:[^"\\\n\r]|\\.)*")
  | (?P<var>[?$][\w\u00B7\u0300-\u036F\u203F-\u2040]+)
  | (?P<pname>(?P<prefix>[^\W\d_][\w\-.\u00B7]*)?:(?P<local>(?:[\w:\-\u00B7]|%[0-9A-Fa-f]{2}|"""
    + _PN_ESC + r""")*))
  | (?P<bnode>_:[\w\-\u00B7]+)
  | (?P<number>[0-9]+(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)
  | (?P<word>[^\W\d]\w*)
  | (?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_OUTBOUND = re.compile(r"service|from|using", re.IGNORECASE)
_UPDATE_OUTBOUND = re.compile(r"load|with", re.IGNORECASE)  # checked on updates only (see update_suspicious)
_UPDATE_KEYWORDS = {"INSERT", "DELETE", "LOAD", "CLEAR", "DROP", "CREATE", "ADD", "MOVE", "COPY", "WITH"}
_QUERY_FORMS = {"SELECT", "ASK", "CONSTRUCT", "DESCRIBE"}
_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
# Nesting (see reekg.server.lexer.DEFAULT_MAX_DEPTH): open brackets plus a run of unary operators.
_OPEN, _CLOSE, _UNARY = frozenset("{(["), frozenset("})]"), frozenset("!^-+")


@dataclass(frozen=True)
class QueryShape:
    """What the lexer learned: the form and every outbound reference. Frozen, its lists tuples: the SPARQL gate
    caches shapes and hands the same one to every caller (:func:`reekg.server.lexer.analyse_cached`)."""

    form: str | None = None  # SELECT, ASK, CONSTRUCT, DESCRIBE, or an update keyword; None if unknown
    services: tuple[str | None, ...] = ()  # None: a variable or unreadable target
    from_graphs: tuple[str | None, ...] = ()
    from_named: tuple[str | None, ...] = ()
    suspicious: tuple[str, ...] = ()  # words that contain an outbound keyword
    loads: tuple[str | None, ...] = ()  # LOAD targets (updates)
    withs: tuple[str | None, ...] = ()  # WITH graphs (updates)
    update_suspicious: tuple[str, ...] = ()  # words that hide LOAD or WITH
    depth: int = 0  # deepest nesting of brackets and unary operators
    tokens: int = 0  # tokens outside VALUES and DATA blocks
    bounded: bool = False  # one triple pattern and nothing else: its cost is bounded (see one_pattern)

    @property
    def is_update(self) -> bool:
        return self.form in _UPDATE_KEYWORDS

    @property
    def has_dataset(self) -> bool:
        return bool(self.from_graphs or self.from_named)


@dataclass
class _Findings:
    """What :func:`analyse` has found so far (the clause readers append to it); frozen into a QueryShape."""

    form: str | None = None
    services: list[str | None] = field(default_factory=list)
    from_graphs: list[str | None] = field(default_factory=list)
    from_named: list[str | None] = field(default_factory=list)
    suspicious: list[str] = field(default_factory=list)
    loads: list[str | None] = field(default_factory=list)
    withs: list[str | None] = field(default_factory=list)
    update_suspicious: list[str] = field(default_factory=list)

    def shape(self, depth: int, tokens: int, bounded: bool) -> QueryShape:
        return QueryShape(self.form, tuple(self.services), tuple(self.from_graphs), tuple(self.from_named),
                          tuple(self.suspicious), tuple(self.loads), tuple(self.withs),
                          tuple(self.update_suspicious), depth, tokens, bounded)


def _unescape(iri: str) -> str:
    return _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), iri)


Token = tuple[str, str, str | None, str | None]  # (kind, text, prefix, local); prefix and local of a pname


def _tokens(query: str) -> list[Token]:
    """The query's tokens, without white space and comments."""
    tokens: list[Token] = []
    for m in TOKEN.finditer(query):
        kind = m.lastgroup
        if kind in ("ws", "comment"):
            continue
        if kind == "pname":
            tokens.append(("pname", m.group(0), m.group("prefix") or "", m.group("local")))
        elif kind in ("prefix", "local"):  # pragma: no cover - inner groups never end a match
            continue
        else:
            tokens.append((kind, m.group(0), None, None))
    return tokens


class _Reader:
    """The token list with the prologue read so far (prefixes, base), to resolve a clause's target."""

    def __init__(self, tokens: list[Token], prefixes: dict[str, str]):
        self.tokens, self.prefixes, self.base = tokens, prefixes, None

    def is_word(self, i: int, word: str) -> bool:
        return i < len(self.tokens) and self.tokens[i][0] == "word" and self.tokens[i][1].upper() == word

    def resolve(self, i: int) -> str | None:
        """The IRI token ``i`` names (an IRI, relative to BASE, or a declared prefixed name), else None."""
        if i >= len(self.tokens):
            return None
        kind, text, prefix, local = self.tokens[i]
        if kind == "iri":
            iri = _unescape(text[1:-1])
            return urljoin(self.base, iri) if self.base and ":" not in iri.split("/")[0] else iri
        if kind == "pname" and prefix is not None and prefix in self.prefixes and local is not None:
            return self.prefixes[prefix] + re.sub(r"\\(.)", r"\1", local)
        return None


# A clause reader takes the reader, the keyword's index and the shape; it returns the index after the clause,
# or None when the keyword does not start that clause here (the token is then read as any other word).
_ClauseReader = Callable[[_Reader, int, _Findings], int | None]


def _read_prefix(reader: _Reader, i: int, shape: _Findings) -> int | None:
    if i + 2 >= len(reader.tokens) or reader.tokens[i + 1][0] != "pname":
        return None
    target = reader.resolve(i + 2)
    if target is not None:
        reader.prefixes[reader.tokens[i + 1][2] or ""] = target
    return i + 3


def _read_base(reader: _Reader, i: int, shape: _Findings) -> int | None:
    if i + 1 >= len(reader.tokens) or reader.tokens[i + 1][0] != "iri":
        return None
    reader.base = reader.resolve(i + 1)
    return i + 2


def _read_service(reader: _Reader, i: int, shape: _Findings) -> int:
    target = i + 1 + reader.is_word(i + 1, "SILENT")
    shape.services.append(reader.resolve(target))
    return target + 1


def _read_dataset(reader: _Reader, i: int, shape: _Findings) -> int:
    named = reader.is_word(i + 1, "NAMED")
    target = i + 1 + named
    (shape.from_named if named else shape.from_graphs).append(reader.resolve(target))
    return target + 1


def _read_load(reader: _Reader, i: int, shape: _Findings) -> int:
    target = i + 1 + reader.is_word(i + 1, "SILENT")
    shape.loads.append(reader.resolve(target))
    return target + 1


def _read_with(reader: _Reader, i: int, shape: _Findings) -> int:
    shape.withs.append(reader.resolve(i + 1))
    return i + 2


_CLAUSES: dict[str, _ClauseReader] = {
    "PREFIX": _read_prefix, "BASE": _read_base, "SERVICE": _read_service, "FROM": _read_dataset,
    "USING": _read_dataset, "LOAD": _read_load, "WITH": _read_with,
}


def _note_suspicious(shape: _Findings, kind: str, text: str, prefix: str | None) -> None:
    """Record a word or prefix that contains an outbound keyword (it may be one run into another token)."""
    if kind == "word":
        hidden = text
    elif kind == "pname" and prefix:
        hidden = prefix
    else:
        return
    if _UPDATE_OUTBOUND.search(hidden):
        shape.update_suspicious.append(text)
    if _OUTBOUND.search(hidden):
        shape.suspicious.append(text)


def analyse(query: str, default_prefixes: dict[str, str] | None = None) -> QueryShape:
    """Lex ``query`` and report its form and outbound references (never raises on bad syntax)."""
    tokens = _tokens(query)
    found = _Findings()
    reader = _Reader(tokens, dict(default_prefixes or {}))
    i = 0
    while i < len(tokens):
        kind, text, prefix, _local = tokens[i]
        upper = text.upper() if kind == "word" else ""
        if found.form is None and (upper in _QUERY_FORMS or upper in _UPDATE_KEYWORDS):
            found.form = upper
        clause = _CLAUSES.get(upper)
        after = clause(reader, i, found) if clause is not None else None
        if after is not None:
            i = after
            continue
        _note_suspicious(found, kind, text, prefix)
        i += 1
    bounded = not (found.services or found.from_graphs or found.from_named or found.suspicious) and one_pattern(tokens)
    return found.shape(*_measure(tokens), bounded)


# --- queries whose cost is bounded by their answer --------------------------------------------------

MAX_BOUNDED_OFFSET = 10_000
_BOUNDED_TOKENS = 200  # a prologue of ~60 PREFIX lines: the engine parses it on any thread's stack


def one_pattern(tokens: list[Token]) -> bool:
    """Whether the query is ``[PREFIX|BASE …] SELECT [REDUCED] (* | ?v …) [WHERE] { s p o [.] } [LIMIT n]
    [OFFSET m]`` or ``ASK [WHERE] { s p o }``, with no variable twice in the pattern and an OFFSET of at most
    :data:`MAX_BOUNDED_OFFSET`.

    Such a query is one index scan that yields a solution at every step, so reading the capped answer
    (``max_rows`` + 1 solutions) costs a bounded number of steps on any graph: it cannot run away. Anything
    else may (a join or FILTER can scan without yielding, ORDER BY and DISTINCT read everything, a repeated
    variable filters a scan), and nothing may be assumed of it. The test is on tokens: a form it does not
    know is not bounded."""
    if len(tokens) > _BOUNDED_TOKENS:
        return False
    i = _after_prologue(tokens)
    word = _word(tokens, i)
    if word == "ASK":
        i += 1
    elif word == "SELECT":
        i += 1 + (_word(tokens, i + 1) == "REDUCED")
        if _text(tokens, i) == "*":
            i += 1
        else:
            start = i
            while i < len(tokens) and tokens[i][0] == "var":
                i += 1
            if i == start:
                return False
    else:
        return False
    i += _word(tokens, i) == "WHERE"
    end = _triple_pattern(tokens, i)
    if end is None:
        return False
    i = end
    seen: set[str] = set()
    while i < len(tokens) and word == "SELECT":
        modifier = _word(tokens, i)
        if modifier not in ("LIMIT", "OFFSET") or modifier in seen or i + 1 >= len(tokens):
            return False
        kind, text = tokens[i + 1][:2]
        if kind != "number" or not text.isdigit() or (modifier == "OFFSET" and int(text) > MAX_BOUNDED_OFFSET):
            return False
        seen.add(modifier)
        i += 2
    return i == len(tokens)


def _word(tokens: list[Token], i: int) -> str:
    return tokens[i][1].upper() if i < len(tokens) and tokens[i][0] == "word" else ""


def _text(tokens: list[Token], i: int) -> str:
    return tokens[i][1] if i < len(tokens) else ""


def _after_prologue(tokens: list[Token]) -> int:
    i = 0
    while True:
        word = _word(tokens, i)
        if word == "PREFIX" and _kinds(tokens, i + 1, ("pname", "iri")):
            i += 3
        elif word == "BASE" and _kinds(tokens, i + 1, ("iri",)):
            i += 2
        else:
            return i


def _kinds(tokens: list[Token], i: int, kinds: tuple[str, ...]) -> bool:
    return i + len(kinds) <= len(tokens) and all(tokens[i + k][0] == kind for k, kind in enumerate(kinds))


def _triple_pattern(tokens: list[Token], i: int) -> int | None:
    """The index after ``{ s p o [.] }`` starting at ``i``, or None."""
    if _text(tokens, i) != "{":
        return None
    terms, variables = 0, set()
    i += 1
    while terms < 3:
        if i >= len(tokens):
            return None
        kind, text = tokens[i][:2]
        if kind == "var":
            if text[1:] in variables:
                return None
            variables.add(text[1:])
            i += 1
        elif kind in ("iri", "pname") or (terms, kind, text) == (1, "word", "a") or (
                terms == 2 and (kind == "number" or (kind == "word" and text in ("true", "false")))):
            i += 1
        elif terms == 2 and kind == "string":
            i = _after_literal(tokens, i + 1)
            if i is None:
                return None
        else:
            return None
        terms += 1
    i += _text(tokens, i) == "."
    return i + 1 if _text(tokens, i) == "}" else None


def _after_literal(tokens: list[Token], i: int) -> int | None:
    """The index after a string's language tag or datatype (``@en``, ``^^xsd:int``), if any."""
    if _text(tokens, i) == "@" and i + 1 < len(tokens) and tokens[i + 1][0] == "word":
        i += 2
        while _text(tokens, i) == "-" and i + 1 < len(tokens) and tokens[i + 1][0] in ("word", "number"):
            i += 2  # a subtag: en-GB, es-419
        return i
    if _text(tokens, i) == "^" and _text(tokens, i + 1) == "^":
        return i + 3 if i + 2 < len(tokens) and tokens[i + 2][0] in ("iri", "pname") else None
    return i


def _measure(tokens: list[Token]) -> tuple[int, int]:
    """The deepest nesting and the number of tokens outside VALUES and DATA blocks (see DEFAULT_MAX_DEPTH)."""
    depth = deepest = counted = run = 0
    block_at: int | None = None  # the depth at which the open VALUES/DATA block started
    pending = False  # VALUES or DATA seen, its block's `{` not yet
    for kind, text, _prefix, _local in tokens:
        if kind == "other" and text in _UNARY:
            run += 1
        else:
            run = 0
        if kind == "other" and text in _OPEN:
            if pending and text == "{" and block_at is None:
                block_at, pending = depth, False
            depth += 1
        elif kind == "other" and text in _CLOSE:
            depth = max(0, depth - 1)
            if block_at is not None and depth == block_at and text == "}":
                block_at = None
                continue  # the block's closing brace is the block's
        elif kind == "word" and text.upper() in ("VALUES", "DATA") and block_at is None:
            pending = True
        deepest = max(deepest, depth + run)
        if block_at is None:
            counted += 1
    return deepest, counted
