"""The text and algebra of a SHACL-SPARQL query, for running it in pyoxigraph as pySHACL would mean it.

* :func:`optionals_last`, :func:`not_exists_as_minus` and :func:`stars_apart`: rewrites that keep a query's
  solutions and let pyoxigraph 0.5 join instead of searching once per row; each docstring gives the law it rests
  on and what it saved. They read the query's WHERE group lexically (:func:`where_group`: strings, IRIs and
  comments skipped).
* :func:`batchable`: whether one query with ``$this`` free serves every focus node (checked on rdflib's algebra
  of the query, https://www.w3.org/TR/shacl/#pre-binding).
"""

from __future__ import annotations

import functools
import re

from rdflib.plugins.sparql.algebra import translateQuery
from rdflib.plugins.sparql.parser import parseQuery
from rdflib.plugins.sparql.parserutils import CompValue
from rdflib.term import Variable

# --- OPTIONAL after the required triples ----------------------------------------------------------

_KEYWORD = re.compile(r"(?<![\w:$?])(OPTIONAL|FILTER|BIND|VALUES|MINUS|GRAPH|SERVICE|UNION|SELECT)\b", re.I)
_VARIABLE = re.compile(r"[?$](\w+)")


def _skip(text: str, i: int) -> int:
    """The index after the string, IRI or comment starting at ``i`` (or ``i`` if none starts there)."""
    if text.startswith(('"""', "'''"), i):
        end = text.find(text[i:i + 3], i + 3)
        return len(text) if end < 0 else end + 3
    if text[i] in "\"'":
        j = i + 1
        while j < len(text) and text[j] != text[i]:
            j += 2 if text[j] == "\\" else 1
        return j + 1
    if text[i] == "<" and re.match(r"<[^<>\"{}|^`\\\s]*>", text[i:]):
        return i + re.match(r"<[^<>\"{}|^`\\\s]*>", text[i:]).end()
    if text[i] == "#":
        end = text.find("\n", i)
        return len(text) if end < 0 else end
    return i


def _close(text: str, i: int) -> int:
    """The index after the bracket that closes the one at ``i``."""
    depth = 0
    while i < len(text):
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        if text[i] in "{([":
            depth += 1
        elif text[i] in "})]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ValueError("unbalanced brackets")


def _segments(body: str) -> list[tuple[str, str]] | None:
    """The top level of a group as (kind, text): ``triples``, ``optional`` or ``filter``; None if it holds
    anything else (BIND, VALUES, UNION, a nested group, …), whose place in the group matters."""
    segments: list[tuple[str, str]] = []
    i = 0
    while i < len(body):
        j = _skip(body, i)
        if j != i or body[i].isspace():
            i = max(j, i + 1)
            continue
        keyword = _KEYWORD.match(body, i)
        if keyword:
            kind = keyword.group(1).upper()
            if kind not in ("OPTIONAL", "FILTER"):
                return None
            k = keyword.end()
            while body[k].isspace():
                k += 1
            if kind == "FILTER" and body[k] not in "({":
                k = re.compile(r"[^({]*").match(body, k).end()  # FILTER regex(…), FILTER NOT EXISTS {…}
            end = _close(body, k)
            segments.append(("optional" if kind == "OPTIONAL" else "filter", body[i:end]))
            i = end
            continue
        if body[i] == "{":
            return None
        start = i  # a triples block: up to a '.' that ends it, or the next keyword
        while i < len(body):
            j = _skip(body, i)
            if j != i:
                i = j
            elif body[i] in "([":
                i = _close(body, i)
            elif body[i] == "." and (i + 1 == len(body) or body[i + 1].isspace() or body[i + 1] in "{}"):
                i += 1
                break
            elif body[i] == "{" or _KEYWORD.match(body, i):
                break
            else:
                i += 1
        segments.append(("triples", body[start:i].strip().rstrip(".").strip()))
    return segments


def where_group(text: str) -> tuple[int, int, list[tuple[str, str]]] | None:
    """A query's WHERE group: where its brace opens, where it closes (after the brace) and its top level
    (:func:`_segments`); None if that cannot be read."""
    try:
        open_ = next(i for i in range(len(text)) if _skip(text, i) == i and text[i] == "{")
        close = _close(text, open_)
        segments = _segments(text[open_ + 1:close - 1])
    except (StopIteration, ValueError, IndexError):
        return None
    return None if segments is None else (open_, close, segments)


def _code(text: str):
    """The indices of ``text`` outside its strings, IRIs and comments."""
    i = 0
    while i < len(text):
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        yield i
        i += 1


def _variables(text: str) -> set[str]:
    return {match.group(1) for i in _code(text) if (match := _VARIABLE.match(text, i))}


def optionals_last(text: str) -> str:
    """The query with the OPTIONALs of its WHERE group moved after the group's triple patterns, where that
    gives the same solutions; else the query unchanged.

    ``(A OPTIONAL B) C`` equals ``(A C) OPTIONAL B`` when B and C share no variable that A does not bind
    (Pérez, Arenas, Gutierrez, "Semantics and complexity of SPARQL", 2009); FILTERs apply to the whole group
    wherever they stand. pyoxigraph 0.5 evaluates the first form as a loop over C for every row of A:
    rsh:ShareOfWorldSum at 10^5 triples took 41.7 s written as it is and 0.64 s reordered."""
    where = where_group(text)
    if where is None:
        return text
    open_, close, segments = where
    kinds = [kind for kind, _ in segments if kind != "filter"]
    if "optional" not in kinds or "triples" not in kinds[kinds.index("optional"):]:
        return text  # nothing to move
    for k, (kind, optional) in enumerate(segments):
        if kind != "optional":
            continue
        before = set().union(*(_variables(t) for kd, t in segments[:k] if kd == "triples"))
        after = set().union(*(_variables(t) for kd, t in segments[k + 1:] if kd == "triples"))
        if _variables(optional) & after - before:
            return text
    triples = "\n.\n".join(t for kind, t in segments if kind == "triples" and t)  # a line may end in a comment
    rest = "\n".join(t for kind, t in segments if kind != "triples")
    return f"{text[:open_ + 1]}\n{triples}\n.\n{rest}\n{text[close - 1:]}"


def _has_blank_node(text: str) -> bool:
    """Whether a triples block holds a blank node (``_:b`` or ``[ … ]``), outside strings and IRIs."""
    return any(text[i] == "[" or (text.startswith("_:", i) and (i == 0 or not (text[i - 1].isalnum() or
                                                                               text[i - 1] in ":_")))
               for i in _code(text))


_SUBJECT = re.compile(r"[?$](\w+)")


def stars_apart(text: str) -> str:
    """The query with each subject's triple patterns of its WHERE group (a *star*) in a sub-select of its own,
    ``{ SELECT * WHERE { star } }``, where two stars share two or more variables (a composite key); else the
    query unchanged. Only for a query run with ``?this`` free (a batch).

    ``{ SELECT * WHERE { P } }`` has the solutions of ``P`` (SPARQL 1.1 §18.2.1: the projection keeps every
    variable in scope), and a join is associative and commutative, so the group means the same. pyoxigraph 0.5
    orders the patterns of one BGP itself and joined two stars on one shared variable first: on a key whose
    every part has few values (a year) that join made hundreds of millions of rows. A sub-select is a barrier
    it does not reorder across, so each star is read once and the two are hash-joined on the whole key:
    rsh:ObservationUniqueKey at 10^6 triples took 9.5 s as written and 0.7 s apart, rsh:ShareOfWorldSum 10.7 s
    and 3.2 s. Stars joined by one variable (a chain) are left as they are: the engine's own order serves them.
    Not rewritten: blank nodes in the triples (a label must stay in one BGP), a triples block after an
    OPTIONAL (its place matters), or a pre-bound variable other than ``?this`` in the triples."""
    where = where_group(text)
    if where is None:
        return text
    open_, close, segments = where
    stars: dict[str, list[str]] = {}
    seen_optional = False
    for kind, segment in segments:
        if kind == "optional":
            seen_optional = True
        if kind != "triples" or not segment:
            continue
        subject = _SUBJECT.match(segment)
        if seen_optional or subject is None or _has_blank_node(segment):
            return text
        stars.setdefault(subject.group(1), []).append(segment)
    names = {subject: set().union(*(_variables(t) for t in blocks)) for subject, blocks in stars.items()}
    if any("currentShape" in found for found in names.values()):
        return text
    subjects = list(names)
    if not any(len(names[a] & names[b]) >= 2 for i, a in enumerate(subjects) for b in subjects[i + 1:]):
        return text
    apart = "\n".join("{ SELECT * WHERE {\n" + "\n.\n".join(blocks) + "\n} }" for blocks in stars.values())
    rest = "\n".join(t for kind, t in segments if kind != "triples")
    return f"{text[:open_ + 1]}\n{apart}\n{rest}\n{text[close - 1:]}"


# --- one query for all focus nodes ----------------------------------------------------------------

_THIS = Variable("this")


def _mentions(node) -> bool:
    """Whether ``?this`` occurs anywhere in an rdflib algebra node (patterns, expressions, EXISTS)."""
    if isinstance(node, Variable):
        return node == _THIS
    if isinstance(node, CompValue):
        return any(_mentions(v) for k, v in node.items() if not k.startswith("_"))
    if isinstance(node, (list, tuple, set, frozenset)):
        return any(_mentions(v) for v in node)
    return False


def _binds(node) -> bool | None:
    """Whether every solution of the pattern ``node`` binds ``?this``; None if a free ``?this`` there would
    not mean what a substituted one means (a pattern that mentions it without binding it, a LIMIT above it,
    a group that is not per ``?this``, a subquery that hides it)."""
    if not isinstance(node, CompValue) or not _mentions(node):
        return False
    rule = _BINDING_RULES.get(node.name)
    if rule is None:  # Slice, Minus, Graph, Values, Service, …
        return None
    return True if rule(node) else None  # it mentions ?this: it must bind it


def _sides(node) -> tuple[bool, bool] | None:
    """What the two operands of a binary operator bind; None if either is not per ``?this``."""
    left, right = _binds(node.p1), _binds(node.p2)
    return None if left is None or right is None else (left, right)


def _join(node) -> bool | None:
    sides = _sides(node)
    return None if sides is None else sides[0] or sides[1]


def _left_join(node) -> bool | None:
    """OPTIONAL: the required side must bind ``?this`` if the OPTIONAL's filter reads it."""
    sides = _sides(node)
    if sides is None or (_mentions(node.expr) and not sides[0]):
        return None
    return sides[0]


def _union(node) -> bool | None:
    sides = _sides(node)
    return None if sides is None else sides[0] and sides[1]


def _unary(node) -> bool | None:
    """Filter, Extend (BIND), OrderBy, Distinct, Reduced, ToMultiSet, AggregateJoin: what the operand binds,
    if the operator's expressions read ``?this`` only where the operand binds it."""
    if node.name == "Extend" and node.var == _THIS and not str(node.expr).startswith("__agg_"):
        return None  # BIND (… AS ?this); rdflib's own Extend projects a grouped ?this from its aggregate
    found = _binds(node.p)
    expressions = [node.get(k) for k in ("expr", "A") if node.get(k) is not None]
    if found is not True and _mentions(expressions):
        return None
    return found


def _group(node) -> bool | None:
    """GROUP BY: only a group per ``?this`` aggregates one focus node's rows."""
    return _binds(node.p) if any(e == _THIS for e in (node.expr or [])) else None


def _project(node) -> bool | None:
    """A (sub)query: ``?this`` must be projected, or it is another variable outside."""
    return _binds(node.p) if _THIS in node.PV else None


# How each algebra operator that may keep a free ?this meaningful binds it; any other operator does not.
_BINDING_RULES = {
    "BGP": lambda node: True, "Join": _join, "LeftJoin": _left_join, "Union": _union, "Group": _group,
    "Project": _project,
    **dict.fromkeys(("Filter", "Extend", "OrderBy", "Distinct", "Reduced", "ToMultiSet", "AggregateJoin"), _unary),
}


@functools.lru_cache(maxsize=1024)  # rdflib parses a query in ~5 ms; shapes repeat across builds and writes
def batchable(text: str, prebound: tuple[str, ...]) -> bool:
    """Whether the query gives, with ``?this`` free and its rows per ``?this`` value, what it gives with
    ``$this`` pre-bound to each focus node: every pattern that mentions ``?this`` binds it in every solution,
    so pre-binding and joining on it select the same rows (SPARQL 1.1 §18.5, evaluation is compositional)."""
    if set(prebound) - {"this", "currentShape"} or "this" not in prebound:
        return False
    try:
        query = translateQuery(parseQuery(text))
    except Exception:  # rdflib cannot read it: run it per focus node
        return False
    return _binds(query.algebra.p) is True


_NOT_EXISTS = re.compile(r"FILTER\s*(\(\s*)?NOT\s+EXISTS\s*\{", re.I)


def not_exists_as_minus(text: str) -> str:
    """The query with each top-level ``FILTER NOT EXISTS { triples }`` of its WHERE group that mentions
    ``?this`` written as ``MINUS { triples }`` at the end of the group, where ``?this`` is bound by the group's
    own triples; else the query unchanged. Only for a query run with ``?this`` free (a batch).

    For a pattern of triples X that shares ``?this`` with every row, "no solution of X compatible with the
    row" is what both forms test (SPARQL 1.1 §18.6: MINUS differs only for rows sharing no variable with X).
    pyoxigraph 0.5 searches X again for every row under NOT EXISTS and runs MINUS as one anti-join:
    rsh:SubsystemReachesElement at 10^6 triples took 23.9 s as NOT EXISTS and 0.07 s as MINUS."""
    where = where_group(text)
    if where is None:
        return text
    open_, close, segments = where
    if not any(kind == "triples" and "this" in _variables(t) for kind, t in segments):
        return text
    kept, minus = [], []
    for kind, segment in segments:
        match = _NOT_EXISTS.match(segment) if kind == "filter" else None
        if match:
            start = match.end() - 1
            end = _close(segment, start)
            inner = _segments(segment[start + 1:end - 1])
            rest = segment[end:].strip()
            if (inner and all(k == "triples" for k, _ in inner) and rest == (")" if match.group(1) else "")
                    and "this" in _variables(segment[start:end])):
                minus.append(f"MINUS {segment[start:end]}")
                continue
        kept.append((kind, segment))
    if not minus:
        return text
    body = "\n".join(t + ("\n." if kind == "triples" else "") for kind, t in kept)
    return f"{text[:open_ + 1]}\n{body}\n" + "\n".join(minus) + f"\n{text[close - 1:]}"
