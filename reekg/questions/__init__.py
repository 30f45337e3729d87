"""The analyst questions in one place: the SPARQL library (``sparql/*.rq``, :mod:`.library`), the parameters a
question declares (:mod:`.params`), what every answer stands on (:mod:`.core`, :mod:`.controls`,
:mod:`.statuses`, :mod:`.shares`), the one runner (:mod:`.runner`) and one module per question, which declares
it (:class:`~.declare.Question`) and answers it.

Adding a question touches two files: its ``.rq`` and its module here, which calls :func:`~.declare.register`.
Every module of this package is imported by :func:`questions`, so nothing else lists the question.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from .declare import Question, Show, register, registered

__all__ = ["Question", "Show", "question", "questions", "register"]


@cache
def questions() -> tuple[Question, ...]:
    """Every declared question, in the order they are published (the API docs, OpenAPI, the query page)."""
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    return tuple(registered())


def question(name: str) -> Question:
    """The question called ``name``; KeyError when there is none."""
    found = {q.name: q for q in questions()}
    return found[name]
