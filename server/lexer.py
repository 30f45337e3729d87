"""The SPARQL gate: what a query asks for, found before pyoxigraph sees it (read by :mod:`reekg.sparql_text`,
which the read side shares), and the refusals.

It answers three questions cheaply (tens of microseconds for a typical query, against ~3.6 ms for rdflib's
parser): the query form (SELECT, ASK, CONSTRUCT, DESCRIBE, or an update keyword), every ``SERVICE``
target and every ``FROM`` / ``FROM NAMED`` / ``USING`` graph. pyoxigraph's ``Store.query`` performs
``SERVICE`` calls itself (see FIELD-NOTES.md), so this is the gate that keeps queries from fetching
anything.

The lexer errs on the side of refusal. Oxigraph's parser lets a keyword touch the token before or after it
(``trueSERVICE<http://…>``, ``SERVICE:x``, ``SERVICEex:x`` all call out), so any bare word or prefix name
that merely *contains* one of the outbound keywords is suspect; only the plain forms
(``SERVICE [SILENT] <iri>|pname``, ``FROM [NAMED] <iri>|pname``) can pass, and then only to allowed targets.
Strings, IRIs and comments are skipped exactly as the SPARQL 1.1 grammar reads them
(https://www.w3.org/TR/sparql11-query/#grammar). Prefixed-name local parts stop at ``.`` so that
``ex:o.SERVICE`` is seen as a keyword too.
"""

from __future__ import annotations

from functools import lru_cache

from reekg.errors import ReekgError
from reekg.sparql_text import QueryShape, analyse

# Limits of the size gate (issue 10, item 4). pyoxigraph's parser and evaluator recurse: a query nested 5,000
# groups deep overflowed a query worker's stack (and, on a 2 MiB HTTP thread, ~550 groups kill the server
# process). Depth counts open ``{ ( [`` plus a run of unary ``! ^ - +`` (``!!!!true``); tokens count every
# token outside ``VALUES`` and ``INSERT/DELETE DATA`` blocks, whose flat lists the engine reads without
# recursing, because a long flat chain (300 triple patterns, 650 path steps) builds a tree as deep as it is long.
DEFAULT_MAX_DEPTH = 200
DEFAULT_MAX_TOKENS = 10_000


class RefusedQuery(ReekgError, ValueError):
    """A query that would reach outside the store, or is not a query at all; the message names the clause."""

    status = 400


def check_size(shape: QueryShape, *, max_depth: int = DEFAULT_MAX_DEPTH, max_tokens: int = DEFAULT_MAX_TOKENS,
               what: str = "query") -> None:
    """Raise :class:`RefusedQuery` for a query the engine could not parse or run without exhausting its stack."""
    if shape.depth > max_depth:
        raise RefusedQuery(f"{what} nested {shape.depth} deep; the limit is {max_depth} (the query_max_depth "
                           "setting)")
    if shape.tokens > max_tokens:
        raise RefusedQuery(f"{what} has {shape.tokens} tokens outside VALUES and DATA blocks; the limit is "
                           f"{max_tokens} (the query_max_tokens setting): put long lists of values in a VALUES "
                           "block")


def analyse_cached(query: str, prefixes: dict[str, str]) -> QueryShape:
    """:func:`analyse`, remembered for short query texts asked again with the same predeclared prefixes (a
    client repeating a query, or the query page). Every caller gets the same shape, which is why it is frozen."""
    if len(query) > _CACHED_QUERY_CHARS:
        return analyse(query, prefixes)
    return _analyse(query, tuple(prefixes.items()))


_CACHED_QUERY_CHARS = 4096  # at most 512 such texts are kept: about 2 MB


@lru_cache(maxsize=512)
def _analyse(query: str, prefixes: tuple[tuple[str, str], ...]) -> QueryShape:
    return analyse(query, dict(prefixes))


def _allowed(iri: str | None, allow: tuple[str, ...]) -> bool:
    return iri is not None and any(iri.startswith(prefix) for prefix in allow)


def check(shape: QueryShape, *, store_graphs: frozenset[str], allow: tuple[str, ...],
          max_depth: int = DEFAULT_MAX_DEPTH, max_tokens: int = DEFAULT_MAX_TOKENS) -> None:
    """Raise :class:`RefusedQuery` unless the query is within the size limits (:func:`check_size`) and stays
    inside this store (or goes only where allowed)."""
    check_size(shape, max_depth=max_depth, max_tokens=max_tokens)
    if shape.is_update:
        raise RefusedQuery(f"{shape.form} is an update: updates are not accepted by the query operation "
                           "(send them as `update=` to the update endpoint)")
    for word in shape.suspicious:
        raise RefusedQuery(f"{word!r} reads as an outbound keyword (SERVICE, FROM or USING) run into another "
                           "token; separate keywords with spaces and do not start prefixes with them")
    for target in shape.services:
        if not _allowed(target, allow):
            shown = f"<{target}>" if target else "a variable or unresolved name"
            raise RefusedQuery(f"SERVICE {shown} is not allowed: this endpoint makes no outbound requests "
                               "unless the outbound_allow setting names the target")
    for clause, targets in (("FROM", shape.from_graphs), ("FROM NAMED", shape.from_named)):
        for target in targets:
            if target is None:
                raise RefusedQuery(f"{clause} needs an IRI or a declared prefixed name")
            if target not in store_graphs and not _allowed(target, allow):
                raise RefusedQuery(f"{clause} <{target}> is not a graph of this store (and outbound_allow "
                                   "does not name it)")


__all__ = ["DEFAULT_MAX_DEPTH", "DEFAULT_MAX_TOKENS", "QueryShape", "RefusedQuery", "analyse", "analyse_cached",
           "check", "check_size"]
