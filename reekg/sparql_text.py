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

    def shape(self, depth: int, tokens: int) -> QueryShape:
        return QueryShape(self.form, tuple(self.services), tuple(self.from_graphs), tuple(self.from_named),
                          tuple(self.suspicious), tuple(self.loads), tuple(self.withs),
                          tuple(self.update_suspicious), depth, tokens)


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
    return found.shape(*_measure(tokens))


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
