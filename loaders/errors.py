"""Load errors that name their place: ``file:line:field: message``."""

from __future__ import annotations

from dataclasses import dataclass

from reekg.errors import ReekgError


@dataclass(frozen=True, order=True)
class Place:
    """Where a fact came from: a file, and where known its line and field (CSV column or RDF predicate)."""

    file: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        parts = [self.file]
        if self.line is not None:
            parts.append(str(self.line))
        if self.field:
            parts.append(self.field)
        return ":".join(parts)


@dataclass(frozen=True)
class Problem:
    place: Place
    message: str
    severity: str = "Violation"

    def __str__(self) -> str:
        return f"{self.place}: {self.message}"


class LoadError(ReekgError):
    """Input that cannot be turned into a valid graph; carries every problem found, not just the first (as
    ``errors``, each ``file:line:field: message``). ``str()`` is the summary and a line per problem."""

    status = 422

    def __init__(self, problems: list[Problem], summary: str = "input rejected"):
        self.problems = problems
        super().__init__(summary, errors=[str(p) for p in problems] or None)

    def __str__(self) -> str:
        return self.message + "\n" + "\n".join(f"  {p}" for p in self.problems)
