"""Parameters as terms on an engine without pyoxigraph's ``substitutions``, and Virtuoso's answers made good
(see :mod:`.remote`, which forwards queries to a remote store through these rewrites).

* :func:`substitute_terms` writes each bound variable's N-Triples term in place of its tokens (the outer
  projection keeps ``(term AS ?p)``); where that cannot be done :func:`bind_values` puts a ``VALUES`` block at
  the start of every group instead (Virtuoso 7.2's compiler fails on many of those: SP031).
* :func:`keep_computed_iris` and :func:`keep_computed_booleans` reword what Virtuoso 7.2 answers wrongly;
  :func:`fix_virtuoso_terms` mends its SPARQL JSON results.

Positions come from the tokens of :mod:`reekg.sparql_text` (strings, IRIs and comments are never touched); the
terms are written by pyoxigraph, never text from a request.
"""

from __future__ import annotations

import functools
from typing import Any

import pyoxigraph as ox

from reekg import sparql_text
from reekg.terms import values_rows

XSD_STRING = "http://www.w3.org/2001/XMLSchema#string"
XSD_BOOLEAN = "http://www.w3.org/2001/XMLSchema#boolean"


def bind_values(query: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """``query`` with a ``VALUES`` block of ``bindings`` at the start of every group graph pattern.

    pyoxigraph's ``substitutions`` replace a variable everywhere, nested groups included: a FILTER inside a
    UNION branch or an OPTIONAL sees the value. A VALUES block only binds the group it stands in (a FILTER in a
    UNION branch of that group would see the variable unbound), so one goes into every group: each ``WHERE``
    group, each sub-select's, each ``{`` of UNION, OPTIONAL, GRAPH, MINUS and EXISTS. Not into a CONSTRUCT
    template, a VALUES data block, or a group that holds a sub-select (the grammar allows nothing beside it).
    The positions come from the lexer's tokens (strings, IRIs and comments are skipped); the values are
    N-Triples terms written by pyoxigraph, never text from a request.
    """
    if not bindings:
        return query
    names = sorted(bindings)
    block = " " + values_rows(names, [[bindings[n] for n in names]]) + " "
    tokens = [(m.lastgroup, m.group(0), m.end()) for m in sparql_text.TOKEN.finditer(query)
              if m.lastgroup not in ("ws", "comment")]
    positions = []
    skip_next_brace = False
    for index, (kind, text, end) in enumerate(tokens):
        word = text.upper() if kind == "word" else ""
        if word in ("VALUES", "CONSTRUCT"):
            # the next "{" is a data block or a template; CONSTRUCT WHERE { } (the short form) is left alone
            skip_next_brace = True
            continue
        if kind != "other" or text != "{":
            continue
        if skip_next_brace:
            skip_next_brace = False
            continue
        following = tokens[index + 1] if index + 1 < len(tokens) else None
        if following is not None and following[0] == "word" and following[1].upper() == "SELECT":
            continue
        positions.append(end)
    out, last = [], 0
    for position in positions:
        out.append(query[last:position])
        out.append(block)
        last = position
    out.append(query[last:])
    return "".join(out)


class NotSubstitutable(ValueError):
    """A query where a parameter cannot be replaced by its term (BIND … AS ?param, VALUES ?param, BOUND)."""


_CLAUSE_ENDS = {"WHERE", "FROM", "GROUP", "HAVING", "ORDER", "LIMIT", "OFFSET", "VALUES"}


def substitute_terms(query: str, bindings: dict[str, ox.NamedNode | ox.Literal]) -> str:
    """``query`` with every occurrence of a bound variable replaced by its N-Triples term (what pyoxigraph's
    ``substitutions`` do: the value holds everywhere, nested groups included), for engines whose compilers
    fail on many VALUES blocks (Virtuoso 7.2: SP031 ``sparp_tree_full_clone_int``).

    Found by the lexer's tokens (strings, IRIs and comments are never touched); the terms are written by
    pyoxigraph, never text from a request. The outermost projection keeps the column as ``(term AS ?p)``; a
    sub-select's projection drops it (the value is a constant; projecting it there would put ``?p`` in scope
    of the outer ``AS``); GROUP BY and ORDER BY drop it (a constant key changes no group and no order) unless
    it is the only key, then ``(term)``. ``… AS ?p``, ``VALUES ?p`` and ``BOUND(?p)`` raise
    :class:`NotSubstitutable` (the caller then falls back to :func:`bind_values`).
    """
    if not bindings:
        return query
    return _Substitution(query, bindings).text()


@functools.lru_cache(maxsize=256)
def _tokens(query: str) -> tuple[tuple[str, str, int, int], ...]:
    """The tokens of ``query`` but whitespace and comments (the runner substitutes the same saved texts again
    and again: lexing trace.rq took ~1 ms a request)."""
    return tuple((m.lastgroup or "", m.group(0), m.start(), m.end()) for m in sparql_text.TOKEN.finditer(query)
                 if m.lastgroup not in ("ws", "comment"))


def _paren(token: tuple[str, str, int, int]) -> int:
    """How a token changes the parenthesis depth."""
    return {"(": 1, ")": -1}.get(token[1], 0) if token[0] == "other" else 0


class _Substitution:
    """One pass of :func:`substitute_terms` over a query's tokens: ``edits`` maps a token's index to its
    replacement text."""

    def __init__(self, query: str, bindings: dict[str, ox.NamedNode | ox.Literal]):
        self.query = query
        self.bindings = bindings
        self.tokens = _tokens(query)
        self.edits: dict[int, str] = {}

    def bound(self, i: int) -> bool:
        return 0 <= i < len(self.tokens) and self.tokens[i][0] == "var" and self.tokens[i][1][1:] in self.bindings

    def term(self, i: int) -> str:
        return str(self.bindings[self.tokens[i][1][1:]])

    def word(self, i: int) -> str:
        kind, text = self.tokens[i][0], self.tokens[i][1]
        return text.upper() if kind == "word" else ""

    def text(self) -> str:
        depth, i = 0, 0
        while i < len(self.tokens):
            kind, text = self.tokens[i][0], self.tokens[i][1]
            word = self.word(i)
            self._refuse(i, word)
            if kind == "other" and text in "{}":
                depth += 1 if text == "{" else -1
            elif word == "SELECT":
                i = self._projection(i + 1, outer=depth == 0)
                continue
            elif word in ("GROUP", "ORDER") and i + 1 < len(self.tokens) and self.word(i + 1) == "BY":
                i = self._keys(i + 2)
                continue
            elif self.bound(i):
                self.edits[i] = self.term(i)
            i += 1
        return self._applied()

    def _refuse(self, i: int, word: str) -> None:
        """Raise NotSubstitutable where a bound variable is assigned or tested, not read."""
        if word == "VALUES":
            j = i + 1
            while j < len(self.tokens) and self.tokens[j][1] != "{":
                if self.bound(j):
                    raise NotSubstitutable(f"VALUES binds {self.tokens[j][1]}")
                j += 1
        elif word == "BOUND" and self.bound(i + 2):
            raise NotSubstitutable(f"BOUND({self.tokens[i + 2][1]})")
        elif word == "AS" and self.bound(i + 1):
            raise NotSubstitutable(f"a value is assigned to {self.tokens[i + 1][1]}")

    def _projection(self, j: int, *, outer: bool) -> int:
        """A SELECT's projection, up to WHERE or ``{``: the index after it."""
        paren = 0
        while j < len(self.tokens) and not (paren == 0 and (self.tokens[j][1] == "{" or self.word(j) == "WHERE")):
            paren += _paren(self.tokens[j])
            if self.bound(j) and paren == 0:
                self.edits[j] = f"({self.term(j)} AS {self.tokens[j][1]})" if outer else ""
            elif self.bound(j) and self.word(j - 1) != "AS":
                self.edits[j] = self.term(j)
            j += 1
        return j

    def _keys(self, j: int) -> int:
        """The keys of a GROUP BY or ORDER BY, up to the next clause: the index after them."""
        paren, keys, constant = 0, 0, []
        while j < len(self.tokens):
            kind, text = self.tokens[j][0], self.tokens[j][1]
            if paren == 0 and (text in ("{", "}") or (kind == "word" and text.upper() in _CLAUSE_ENDS)):
                break
            if paren == 0 and self.bound(j):
                constant.append(j)
            elif paren == 0 and (kind in ("var", "word") or text == "(") and text.upper() not in ("ASC", "DESC"):
                keys += 1
            elif paren > 0 and self.bound(j):
                self.edits[j] = self.term(j)
            paren += _paren(self.tokens[j])
            j += 1
        for n, index in enumerate(constant):
            self.edits[index] = f"({self.term(index)})" if keys == 0 and n == 0 else ""
        return j

    def _applied(self) -> str:
        out, last = [], 0
        for index in sorted(self.edits):
            _, _, start, end = self.tokens[index]
            out.append(self.query[last:start])
            out.append(self.edits[index])
            last = end
        out.append(self.query[last:])
        return "".join(out)


def _yields_iri(tokens: list[tuple[str, str, int, int]]) -> bool:
    """Whether an expression's value can be an IRI constant: the constant itself, or a branch of IF/COALESCE."""
    if len(tokens) == 1:
        return tokens[0][0] in ("iri", "pname")
    if len(tokens) < 3 or tokens[0][0] != "word" or tokens[0][1].upper() not in ("IF", "COALESCE") \
            or tokens[1][1] != "(" or tokens[-1][1] != ")":
        return False
    args, paren, start = [], 0, 2
    for k in range(1, len(tokens) - 1):
        kind, text = tokens[k][0], tokens[k][1]
        paren += {"(": 1, ")": -1}.get(text, 0) if kind == "other" else 0
        if paren == 1 and kind == "other" and text == ",":
            args.append(tokens[start:k])
            start = k + 1
    args.append(tokens[start:len(tokens) - 1])
    branches = args[1:] if tokens[0][1].upper() == "IF" else args
    return any(_yields_iri(branch) for branch in branches)


def keep_computed_iris(query: str) -> str:
    """``BIND(IF(…) AS ?v)`` / ``BIND(COALESCE(…) AS ?v)`` whose expression names an IRI, rewritten as
    ``BIND(IF(isIRI(e), IRI(e), e) AS ?v)`` — the same value on every engine.

    Engine deviation (Virtuoso 7.2.5): in a query with ORDER BY, an IRI chosen by IF or COALESCE in a BIND
    comes back as a plain literal of the IRI's text; passed through ``IRI()`` it stays an IRI. Named by
    ``test_virtuoso_keeps_iris_chosen_by_if_under_order_by``.
    """
    tokens = [(m.lastgroup, m.group(0), m.start(), m.end()) for m in sparql_text.TOKEN.finditer(query)
              if m.lastgroup not in ("ws", "comment")]
    edits: list[tuple[int, int, str]] = []
    for i, (kind, text, _, _) in enumerate(tokens):
        if not (kind == "word" and text.upper() == "BIND" and i + 2 < len(tokens) and tokens[i + 1][1] == "("
                and tokens[i + 2][0] == "word" and tokens[i + 2][1].upper() in ("IF", "COALESCE")):
            continue
        paren, j = 0, i + 1
        while j < len(tokens):
            paren += {"(": 1, ")": -1}.get(tokens[j][1], 0) if tokens[j][0] == "other" else 0
            if paren == 1 and tokens[j][0] == "word" and tokens[j][1].upper() == "AS":
                break
            j += 1
        if j >= len(tokens) or not _yields_iri(tokens[i + 2:j]):
            continue
        start, end = tokens[i + 2][2], tokens[j - 1][3]
        expression = query[start:end]
        edits.append((start, end, f"IF(isIRI({expression}), IRI({expression}), {expression})"))
    out, last = [], 0
    for start, end, text in edits:
        out.append(query[last:start])
        out.append(text)
        last = end
    out.append(query[last:])
    return "".join(out)


_BOOLEAN_FUNCTIONS = {"BOUND", "ISIRI", "ISURI", "ISBLANK", "ISLITERAL", "ISNUMERIC", "SAMETERM", "LANGMATCHES",
                      "REGEX", "CONTAINS", "STRSTARTS", "STRENDS", "EXISTS"}
_BOOLEAN_OPERATORS = {"=", "!", "<", ">", "&", "|"}  # = != < > <= >= ! && || (the lexer gives single characters)
_OPENING, _CLOSING = {"(", "{", "["}, {")", "}", "]"}


def _yields_boolean(tokens: list[tuple[str, str, int, int]]) -> bool:
    """Whether an expression is an xsd:boolean by its form: a comparison or logical operator (or IN, NOT IN,
    EXISTS) outside every bracket — they bind loosest, so they make the value —, ``true``/``false``, or one
    call of a boolean function that spans the whole expression."""
    if not tokens:
        return False
    if _has_top_level_operator(tokens):
        return True
    first = tokens[0]
    if len(tokens) == 1:
        return first[0] == "word" and first[1].lower() in ("true", "false")
    if first[0] != "word" or first[1].upper() not in _BOOLEAN_FUNCTIONS or tokens[1][1] != "(":
        return False
    depth = 0
    for k in range(1, len(tokens)):
        kind, text = tokens[k][0], tokens[k][1]
        depth += (kind == "other" and text in _OPENING) - (kind == "other" and text in _CLOSING)
        if depth == 0:
            return k == len(tokens) - 1  # the call's closing parenthesis ends the expression
    return False


def _has_top_level_operator(tokens: list[tuple[str, str, int, int]]) -> bool:
    """A comparison or logical operator, IN, NOT or EXISTS outside every bracket."""
    depth = 0
    for kind, text, _, _ in tokens:
        if kind == "other" and text in _OPENING:
            depth += 1
        elif kind == "other" and text in _CLOSING:
            depth -= 1
        elif depth == 0 and ((kind == "other" and text in _BOOLEAN_OPERATORS)
                             or (kind == "word" and text.upper() in ("IN", "NOT", "EXISTS"))):
            return True
    return False


def keep_computed_booleans(query: str) -> str:
    """Every ``(expression AS ?v)`` — projection, BIND, GROUP BY — whose expression is a comparison, a logical
    operation or a boolean function, cast as ``xsd:boolean(expression)``: the same value on every engine.

    Engine deviation (Virtuoso 7.2.5): such a value comes back typed ``xsd:integer`` (``1``/``0``); an explicit
    cast comes back as an xsd:boolean. Named by ``test_virtuoso_types_computed_booleans_as_booleans``.
    """
    tokens = [(m.lastgroup, m.group(0), m.start(), m.end()) for m in sparql_text.TOKEN.finditer(query)
              if m.lastgroup not in ("ws", "comment")]
    edits: list[tuple[int, int]] = []
    for i, (kind, text, _, _) in enumerate(tokens):
        if not (kind == "word" and text.upper() == "AS" and i + 1 < len(tokens) and tokens[i + 1][0] == "var"):
            continue
        depth, j = 0, i - 1
        while j >= 0:
            t_kind, t_text = tokens[j][0], tokens[j][1]
            if t_kind == "other" and t_text in _CLOSING:
                depth += 1
            elif t_kind == "other" and t_text in _OPENING:
                if depth == 0:
                    break
                depth -= 1
            j -= 1
        if j < 0 or tokens[j][1] != "(":
            continue
        expression = tokens[j + 1:i]
        if _yields_boolean(expression):
            edits.append((expression[0][2], expression[-1][3]))
    out, last = [], 0
    for start, end in edits:
        out.append(query[last:start])
        out.append(f"<{XSD_BOOLEAN}>({query[start:end]})")
        last = end
    out.append(query[last:])
    return "".join(out)


def _json_term(term: ox.NamedNode | ox.Literal) -> dict[str, str]:
    if isinstance(term, ox.NamedNode):
        return {"type": "uri", "value": term.value}
    out = {"type": "literal", "value": term.value}
    if term.language:
        out["xml:lang"] = term.language
    elif term.datatype.value != XSD_STRING:
        out["datatype"] = term.datatype.value
    return out


def fix_virtuoso_terms(answer: dict[str, Any], bindings: dict[str, ox.NamedNode | ox.Literal]) -> dict[str, Any]:
    """Engine deviations in SPARQL JSON results, made good:

    * Virtuoso writes blank nodes as ``nodeID://b10003``, not a valid label: keep the id.
    * Virtuoso writes xsd:boolean values as ``"1"``/``"0"`` (valid lexical forms, not canonical): write the
      canonical ``true``/``false``, as the embedded store does.
    * A parameter column is the bound term itself (the query projects ``(term AS ?p)``); Virtuoso types a
      projected boolean constant as an integer, so the bound term is written back as it was given.
    """
    columns = [name for name in answer.get("head", {}).get("vars", []) if name in bindings]
    for row in answer.get("results", {}).get("bindings", []):
        for term in row.values():
            if term.get("type") == "bnode" and not term["value"].replace("_", "").isalnum():
                term["value"] = "".join(c for c in term["value"].split("://")[-1] if c.isalnum()) or "b"
            elif term.get("datatype") == XSD_BOOLEAN and term.get("value") in ("0", "1"):
                term["value"] = "true" if term["value"] == "1" else "false"
        for name in columns:
            if name in row:
                row[name] = _json_term(bindings[name])
    return answer
