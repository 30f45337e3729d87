"""One declaration per analyst question: :class:`Question` names its id, summary, parameters, route, saved
queries, the function that answers it and how the CLI shows it (:class:`Show`). A question's module declares
it with :func:`register`; the API routes and their CSV tables, the OpenAPI document, the API docs page, the
CLI commands and the pages' parameter checks are all derived from the registry (:func:`reekg.questions.questions`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .params import Param

Result = dict[str, Any]
# The question list as a CSV table has ``format`` too (json or csv), as the .csv suffix does.
FORMAT = Param("format", "choice", help="csv for a table of the answer's list (as the .csv suffix does)",
               choices=("json", "csv"))


@dataclass(frozen=True)
class Show:
    """How ``reekg <question>`` prints an answer for people (``--json`` prints it whole)."""

    columns: tuple[str, ...] | Callable[[Result], tuple[str, ...]]  # the table's columns (fixed or per answer)
    rows: Callable[[Result], list[dict[str, Any]]] | None = None  # the table's rows; the data by default
    lines: Callable[[Result], Iterable[str]] | None = None  # lines after the table (gaps, shares used, …)
    footer: bool = True  # "(n rows; k source(s) cited; --json for all)"
    help: str = ""  # the command's help; the question's summary by default
    params: tuple[Param, ...] = ()  # options only the command has (what the route takes in its body)
    options: tuple[Any, ...] = ()  # click options of a custom kind (the scenario's --restrict)
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None  # the command's values → the answer's


@dataclass(frozen=True)
class Question:
    """One analyst question, declared once."""

    name: str  # the id: API operationId, CLI command, first part of the answer cache's key
    summary: str
    answer: Callable[..., Result]  # answer(answers, [path value,] **values)
    params: tuple[Param, ...] = ()
    queries: tuple[str, ...] = ()  # the saved queries (reekg/questions/sparql/*.rq) behind the answer
    # the route under /api/v1
    path: str = ""  # a Flask rule; "/<name>" by default
    method: str = "GET"
    lists: bool = True  # a CSV table too (the .csv suffix, ?format=csv, Accept: text/csv)
    path_param: Param | None = None
    body: dict[str, Any] | None = None  # the JSON Schema of a request body (with an "example")
    response: dict[str, Any] | None = None  # the JSON Schema of the answer's data (reekg.questions.schemas)
    table: Callable[[Result], list[dict[str, Any]]] | None = None  # the CSV rows; the data by default
    cli: Show | None = None  # no command when None
    order: int = 100  # where it stands in the API docs, the OpenAPI document and the query page

    def __post_init__(self) -> None:
        if not self.path:
            object.__setattr__(self, "path", "/" + self.name)

    def query_params(self) -> tuple[Param, ...]:
        """The query-string parameters, with ``format`` (json or csv) on routes that answer lists."""
        return self.params + ((FORMAT,) if self.lists and self.method == "GET" else ())

    def body_schema(self) -> dict[str, Any] | None:
        """The JSON Schema the body is checked against, as the OpenAPI document publishes it."""
        return None if self.body is None else {k: v for k, v in self.body.items() if k != "example"}

    def ask(self, answers: Any, values: dict[str, Any], ident: str | None = None) -> Result:
        """The answer to ``values`` (and the path's ``ident``) over ``answers``, on the build served now (an
        answer may read a per-build memo before any query: :meth:`Answers.start`)."""
        answers.start()
        return self.answer(answers, *([ident] if self.path_param else []), **values)

    def key(self, values: dict[str, Any], ident: str | None = None) -> tuple:
        """The answer cache's key: the API and the pages share one cache."""
        if self.body is not None:
            return (self.name, json.dumps(values, sort_keys=True))
        return (self.name, ident, tuple(sorted(values.items())))

    def rows(self, result: Result) -> list[dict[str, Any]]:
        """The list a CSV answer holds: the data itself, or the main list of an object answer."""
        if self.table is not None:
            return self.table(result)
        data = result["data"]
        return data if isinstance(data, list) else [data]


_REGISTRY: dict[str, Question] = {}


def register(*declared: Question) -> None:
    """Add questions to the registry (a question module calls this when it is imported)."""
    for q in declared:
        if q.name in _REGISTRY and _REGISTRY[q.name] is not q:
            raise ValueError(f"two questions are called {q.name!r}")
        _REGISTRY[q.name] = q


def registered() -> list[Question]:
    return sorted(_REGISTRY.values(), key=lambda q: (q.order, q.name))
