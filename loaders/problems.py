"""Where a loader found a problem: ``Place`` (file, line, field) and ``Problem`` (a place and a message), the
parts of a ``file:line:field: message`` line. The error that carries them is :class:`reekg.errors.LoadError`."""

from __future__ import annotations

from dataclasses import dataclass


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
