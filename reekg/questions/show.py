"""The CLI side of the questions: a click command per declared question, generated from its parameters
(a required id or text → an argument, anything else → an option: booleans as flags, choices as
``click.Choice``, bounded integers as ``click.IntRange``), and the tables and lines it prints (:class:`Show`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import click

from .declare import Question, Result, Show
from .params import Param

# json is --json on every command (the whole answer)
JSON_OPTION = click.Option(["--json", "as_json"], is_flag=True, help="Print the whole answer as JSON.")


def table_lines(headers: list[str], rows: list[list[Any]]) -> list[str]:
    """A plain text table: the headers, a rule, a line per row; columns as wide as their widest cell."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(str(c))) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)),
             "  ".join("-" * w for w in widths)]
    return lines + ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in rows]


def gap_lines(result: Result) -> list[str]:
    return [f"gap: {gap['message']}" for gap in result.get("gaps") or []]


def range_text(pair: dict[str, Any]) -> str:
    """A {min, max} as ``12``, ``3–4`` or ``unknown``."""
    low, high = pair.get("min"), pair.get("max")
    if low is None and high is None:
        return "unknown"
    shown = ["?" if x is None else f"{x:g}" for x in (low, high)]
    return shown[0] if low == high else f"{shown[0]}–{shown[1]}"


def emit(result: Result, show: Show) -> None:
    """Print ``result`` for people as ``show`` says."""
    rows = show.rows(result) if show.rows else result["data"]
    columns = list(show.columns(result) if callable(show.columns) else show.columns)
    for line in table_lines(columns, [["" if r.get(c) is None else r.get(c) for c in columns] for r in rows]):
        click.echo(line)
    if show.footer:
        sources = result.get("sources") or []
        click.echo(f"({len(rows)} row{'s' if len(rows) != 1 else ''}; {len(sources)} source(s) cited; "
                   "--json for all)")
    for line in show.lines(result) if show.lines else ():
        click.echo(line)


def _click_param(param: Param, *, argument: bool) -> click.Parameter:
    if argument:
        return click.Argument([param.name])
    flag = "--" + param.name.replace("_", "-")
    help_text = param.help[:1].upper() + param.help[1:] + "." if param.help else None
    if param.kind == "boolean":
        return click.Option([flag, param.name], is_flag=True, help=help_text)
    kind: Any = None
    if param.kind == "choice":
        kind = click.Choice(list(param.choices))
    elif param.kind == "integer":
        kind = click.IntRange(param.minimum, param.maximum)
    return click.Option([flag, param.name], type=kind, required=param.required, help=help_text)


def _positional(param: Param) -> bool:
    return param.required and param.kind in ("id", "text")


def command(question: Question, answers_of: Callable[[click.Context], Any]) -> click.Command:
    """The ``reekg`` subcommand of ``question``: its parameters checked as the API checks them, answered over
    ``answers_of(ctx)``, printed as its :class:`Show` says (``--json``: the whole answer)."""
    show = question.cli
    assert show is not None
    declared = [*question.params, *show.params]
    ordered = sorted(declared, key=lambda p: not _positional(p))  # arguments first, as click lists them
    params = [_click_param(p, argument=_positional(p)) for p in ordered]
    params += [*show.options, JSON_OPTION]
    by_name = {p.name: p for p in declared}

    def run(**values: Any) -> None:
        as_json = values.pop("as_json")
        given = {name: _checked(by_name.get(name), raw) for name, raw in values.items() if raw is not None}
        if show.convert:
            given = show.convert(given)
        result = question.answer(answers_of(click.get_current_context()), **given)
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        else:
            emit(result, show)

    return click.Command(question.name, callback=run, params=params, help=show.help or question.summary + ".")


def _checked(param: Param | None, raw: Any) -> Any:
    """A text value checked by its declaration (as the API checks it); flags and numbers come typed."""
    if param is not None and isinstance(raw, str) and param.kind in ("id", "text", "date"):
        return param.parse(raw)
    return raw


def commands(answers_of: Callable[[click.Context], Any]) -> Iterable[click.Command]:
    """A command for every registered question that has a CLI view."""
    from . import questions

    return [command(q, answers_of) for q in questions() if q.cli is not None]
