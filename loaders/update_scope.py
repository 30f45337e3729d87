"""Which graphs a SPARQL 1.1 update can change, read from its tokens before it runs (issue 13).

A write diffs only those graphs before and after the update, instead of every quad of the store. An update
changes a graph only where it names it: a ``GRAPH``, ``WITH``, ``INTO``, ``TO`` or ``ADD``/``MOVE``/``COPY``
operand is an IRI or a prefixed name (https://www.w3.org/TR/sparql11-update/#graphUpdate), or the default
graph. So every IRI and prefixed name in the text (predicates and objects too: a harmless over-estimate, empty
graphs cost nothing to read) plus the default graph bound what it changes, unless:

* a ``GRAPH`` is followed by a variable (``INSERT { GRAPH ?g { … } }`` writes wherever ``?g`` is bound);
* ``CLEAR``/``DROP`` (``SILENT``) ``ALL`` or ``NAMED``;
* an IRI is relative, or a prefix is not declared (the engine resolves those, not this reading).

Then :func:`update_graphs` answers None: the update may change any graph and the write compares all of them
(the full path; correct, and as slow as every write was before). ``INSERT DATA``/``DELETE DATA`` never need it.
"""

from __future__ import annotations

import re

from reekg.sparql_text import TOKEN

_UCHAR = re.compile(r"\\u([0-9A-Fa-f]{4})|\\U([0-9A-Fa-f]{8})")
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
# A prefixed name's whole local part (PN_LOCAL may hold dots inside, where reekg.sparql_text's tokens stop).
_LOCAL = re.compile(r"(?:[\w:\-\u00B7.]|%[0-9A-Fa-f]{2}|\\[_~.\-!$&'()*+,;=/?#@%])*")


def _iri(text: str) -> str | None:
    iri = _UCHAR.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), text[1:-1])
    return iri if _ABSOLUTE.match(iri) else None


def _tokens(update: str) -> list[re.Match[str]]:
    return [m for m in TOKEN.finditer(update) if m.lastgroup not in ("ws", "comment")]


def _word(tokens: list[re.Match[str]], i: int) -> str | None:
    if 0 <= i < len(tokens) and tokens[i].lastgroup == "word":
        return tokens[i].group(0).upper()
    return None


def _unbounded(tokens: list[re.Match[str]], i: int) -> bool:
    """Whether token ``i`` makes the update able to change any graph."""
    word = _word(tokens, i)
    if word == "GRAPH":
        return i + 1 < len(tokens) and tokens[i + 1].lastgroup == "var"
    if word in ("ALL", "NAMED"):
        before = i - 1 if _word(tokens, i - 1) != "SILENT" else i - 2
        return _word(tokens, before) in ("CLEAR", "DROP")
    return False


def update_graphs(update: str, prefixes: dict[str, str]) -> frozenset[str] | None:
    """Every named graph ``update`` can change (the default graph aside, which it may always change), or None
    when it may change any graph (see the module docstring). ``prefixes``: those declared for it beforehand."""
    tokens = _tokens(update)
    declared, graphs = dict(prefixes), set()
    i = 0
    while i < len(tokens):
        token, kind = tokens[i], tokens[i].lastgroup
        if _unbounded(tokens, i):
            return None
        if _word(tokens, i) == "PREFIX" and i + 2 < len(tokens) and tokens[i + 1].lastgroup == "pname":
            iri = _iri(tokens[i + 2].group(0)) if tokens[i + 2].lastgroup == "iri" else None
            if iri is None:
                return None
            declared[tokens[i + 1].group("prefix") or ""] = iri
            i += 3
            continue
        if kind == "iri":
            iri = _iri(token.group(0))
            if iri is None:
                return None
            graphs.add(iri)
        elif kind == "pname":
            prefix = token.group("prefix") or ""
            if prefix not in declared:
                return None
            whole = _LOCAL.match(update, token.start("local")).group(0).rstrip(".")
            for local in (token.group("local") or "", whole):
                graphs.add(declared[prefix] + re.sub(r"\\(.)", r"\1", local))
        i += 1
    return frozenset(graphs)
