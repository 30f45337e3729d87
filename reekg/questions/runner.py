"""The one runner of answers, for the service and the CLI alike: a saved query and its parameter values as a
:class:`~reekg.read.jobs.Job` on a query backend (the worker pool, the store in this process or a remote
store: anything with ``execute(job, timeout) -> Reply``), parameters bound as typed terms, never formatted into
the text. A failed or cut reply raises: an answer computed from part of a result would be silently wrong.

The terms go in the text (:func:`reekg.read.virtuoso.substitute_terms`: each bound variable's token replaced by
the N-Triples term pyoxigraph writes) rather than as pyoxigraph ``substitutions``, which are applied only when
the query runs: its optimiser then plans the joins as if the parameter were unbound (dependents.rq at 10^6
triples: 600 ms with substitutions, 14 ms with the terms in the text). Where a parameter cannot be written in
(``BIND … AS ?p``, ``VALUES ?p``, ``BOUND(?p)``) it is sent as a substitution."""

from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from reekg.errors import AnswerTooLarge, ServiceFailure
from reekg.loaders.namespaces import Namespaces
from reekg.read.jobs import Job, Reply
from reekg.read.virtuoso import NotSubstitutable, substitute_terms
from reekg.terms import encode_term

from .library import Query

# A per-build index (a memo: dependencies, shares, statuses, the trace's supply network) is read whole, past
# answer_max_rows, which bounds what one request's own queries may return: an index's size is the graph's (at
# 10^7 triples the supply network's upstream links are more than 200,000 rows).
INDEX_MAX_ROWS = 20_000_000
_READING_INDEX: contextvars.ContextVar[bool] = contextvars.ContextVar("reekg_reading_index", default=False)


@contextlib.contextmanager
def reading_index() -> Iterator[None]:
    """Queries run inside are read whole (up to :data:`INDEX_MAX_ROWS`): they build a per-build index."""
    token = _READING_INDEX.set(True)
    try:
        yield
    finally:
        _READING_INDEX.reset(token)


class QueryBackend(Protocol):
    def execute(self, job: Job, timeout: float) -> Reply: ...


@dataclass(frozen=True)
class BackendRunner:
    """A runner (:data:`reekg.questions.core.Runner`) over ``backend``: at most ``max_rows`` rows a query
    (:data:`INDEX_MAX_ROWS` inside :func:`reading_index`) and ``timeout`` seconds, prefixes and base IRI from
    ``ns``."""

    backend: QueryBackend
    ns: Namespaces
    max_rows: int
    timeout: float

    def __call__(self, query: Query, params: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
        bindings = {v.value: t for v, t in query.bind(self.ns, **params).items()}
        try:
            text, substitutions = substitute_terms(query.text, bindings), {}
        except NotSubstitutable:
            text, substitutions = query.text, bindings
        max_rows = max(self.max_rows, INDEX_MAX_ROWS) if _READING_INDEX.get() else self.max_rows
        job = Job(query=text, result_format="json", max_rows=max_rows, prefixes=self.ns.prefixes(),
                  base_iri=self.ns.base, substitutions=tuple((v, encode_term(t)) for v, t in substitutions.items()))
        reply = self.backend.execute(job, self.timeout)
        if not reply.ok:
            raise ServiceFailure(f"query {query.name} failed ({reply.error}): {reply.message}")
        if reply.truncated:
            raise AnswerTooLarge(query.name, max_rows)
        return json.loads(reply.body)["results"]["bindings"], reply.build_id
