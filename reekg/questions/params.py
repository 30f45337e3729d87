"""Request parameters and bodies, declared once: each declaration is both the handler's check and the schema
the OpenAPI document publishes, so the two cannot drift (issue 10, item 3).

A :class:`Param` names its kind (an id, free text, a whole number, a date, a boolean or one of a few words);
:meth:`Param.schema` is its JSON Schema and :meth:`Param.parse` checks a query-string value against the same
rules, answering :class:`~reekg.questions.core.BadParameter` (400, naming the parameter) for anything else. A JSON body
is checked by :func:`json_body`: nesting and size before :func:`json.loads` can recurse, then the body schema
the OpenAPI document declares, each failure named by its JSON pointer.

Patterns are written as ECMA-262 regular expressions, as JSON Schema and OpenAPI define them: there ``$``
is the end of the text, while Python's ``$`` also matches before a final newline (``"Dy\\n"`` passes
``^[A-Za-z]+$``). :func:`matches` applies them with the ECMA meaning, here and in the body's validation.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from reekg.errors import BadParameter

# An id of ours (an element symbol, an ISO code, a slug), as every id parameter's schema publishes it
ID_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"

MAX_UNITS = 10**9  # the largest fleet an exposure answer computes (reekg.questions.exposure)
MAX_TEXT = 200  # the longest search text (reekg.questions.search)
MAX_JSON_DEPTH = 16  # arrays and objects inside each other; the scenario body needs 4
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DIGITS = re.compile(r"[0-9]+")  # ASCII digits only: str.isdigit() is true for "²", which int() refuses


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    # an ECMA pattern in Python: an unescaped final `$` is the end of the text (`\Z`), not "before a final
    # newline"; the patterns declared here use no other construct whose meaning differs
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


def matches(pattern: str, text: str) -> bool:
    """Whether ``text`` matches the JSON Schema ``pattern`` (ECMA-262 semantics: unanchored search, ``$`` at
    the very end)."""
    return _compiled(pattern).search(text) is not None


ID_SCHEMA = {"type": "string", "pattern": f"^{ID_PATTERN}$"}


@dataclass(frozen=True)
class Param:
    """One query-string or path parameter: its JSON Schema and the check of a value follow from ``kind``."""

    name: str
    kind: str = "id"  # id | text | integer | date | boolean | choice
    required: bool = False
    help: str = ""
    example: Any = None
    choices: tuple[str, ...] = ()  # the words of a choice
    minimum: int = 0  # the bounds of an integer (ASCII digits: never negative)
    maximum: int = MAX_UNITS

    def schema(self) -> dict[str, Any]:
        if self.kind == "id":
            return dict(ID_SCHEMA)
        if self.kind == "text":  # at least one character that is not white space
            return {"type": "string", "minLength": 1, "maxLength": MAX_TEXT, "pattern": r"\S"}
        if self.kind == "integer":
            return {"type": "integer", "minimum": self.minimum, "maximum": self.maximum}
        if self.kind == "date":
            return {"type": "string", "format": "date"}
        if self.kind == "boolean":
            return {"type": "boolean"}
        if self.kind == "choice":
            return {"type": "string", "enum": list(self.choices)}
        raise ValueError(f"unknown parameter kind {self.kind!r}")

    def parse(self, raw: str) -> Any:
        """The typed value of ``raw``, or a 400 naming this parameter."""
        shown = repr(raw[:40]) + ("..." if len(raw) > 40 else "")
        if self.kind == "integer":
            # leading zeros are allowed (the schema's integer is a value); past 10 digits int() is not asked
            if (not _DIGITS.fullmatch(raw) or len(raw.lstrip("0")) > 10
                    or not self.minimum <= int(raw) <= self.maximum):
                bounds = f"from {self.minimum:,} to {self.maximum:,}"
                raise BadParameter(self.name, f"{shown} is not a whole number {bounds}")
            return int(raw)
        if self.kind == "boolean":
            if raw not in ("true", "false"):
                raise BadParameter(self.name, f"{shown} is not true or false")
            return raw == "true"
        if self.kind == "date":
            return check_date(self.name, raw)
        if self.kind == "choice":
            if raw not in self.choices:
                raise BadParameter(self.name, f"{shown} is not one of {list(self.choices)}")
            return raw
        schema = self.schema()
        if len(raw) > schema.get("maxLength", MAX_TEXT):
            raise BadParameter(self.name, f"is longer than {schema.get('maxLength', MAX_TEXT)} characters")
        if not matches(schema["pattern"], raw):
            what = ("is not an id (letters, digits, '.', '_' or '-', at most 100)" if self.kind == "id"
                    else "has no character other than white space")
            raise BadParameter(self.name, f"{shown} {what}")
        return raw


# Parameters several questions take, declared once.
UNVERIFIED = Param("unverified", "boolean", help="also follow facts the curators marked unverified", example=False)
CONTROLS_ON = Param("on", "date", help="the day to judge export controls on (YYYY-MM-DD); today when absent",
                    example="2025-06-01")
STATUS_ON = Param("on", "date", help="the day to judge site statuses on (YYYY-MM-DD); today when absent",
                  example="2025-06-01")


def check_date(name: str, raw: str) -> str:
    """``raw`` if it is a calendar date as YYYY-MM-DD (ASCII digits), else a 400 naming ``name``."""
    try:
        if _DATE.fullmatch(raw):
            return dt.date.fromisoformat(raw).isoformat()
    except ValueError:
        pass
    raise BadParameter(name, f"{raw[:40]!r} is not a date as YYYY-MM-DD")


def query_params(params: tuple[Param, ...], args: Any, *, where: str, also: Mapping[str, Param] | None = None,
                 empty_is_absent: bool = False) -> dict[str, Any]:
    """The parameters ``params`` (and ``also``) of a query string ``args`` (a werkzeug MultiDict), typed.

    An unknown or repeated parameter, a missing required one and a malformed value are a 400 naming it.
    An empty value is a 400 too (the schema of every parameter refuses it), unless ``empty_is_absent``
    (HTML forms send empty fields).
    """
    known = {p.name: p for p in params} | dict(also or {})
    for name in args:
        if name not in known:
            raise BadParameter(name, f"is not a parameter of {where}; known: {sorted(known)}")
        if len(args.getlist(name)) > 1:
            raise BadParameter(name, "is given more than once")
    values: dict[str, Any] = {}
    for param in known.values():
        raw = args.get(param.name)
        if raw is None or (raw == "" and empty_is_absent):
            if param.required:
                raise BadParameter(param.name, "is required")
            continue
        if raw == "":
            raise BadParameter(param.name, "is empty: give a value or leave the parameter out")
        values[param.name] = param.parse(raw)
    return values


# --- JSON bodies -------------------------------------------------------------------------------------------

# a string (closed or not: an unclosed one runs to the end, so the scan stays linear) or a bracket
_TOKEN = re.compile(rb'"(?:[^"\\]|\\.)*"?|[\[\]{}]', re.DOTALL)


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in ``raw`` (JSON text, not parsed: strings are skipped), in one
    pass without recursion."""
    depth = deepest = 0
    for match in _TOKEN.finditer(raw):
        token = match.group()
        if token in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token in (b"]", b"}"):
            depth -= 1
    return deepest


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # json.loads accepts NaN and Infinity; RFC 8259 does not


def _pattern(validator: Any, pattern: str, instance: Any, schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not matches(pattern, instance):
        yield ValidationError(f"does not match {pattern}")


# JSON Schema 2020-12 with ECMA pattern semantics; formats (date) are checked
_Validator = validators.extend(Draft202012Validator, {"pattern": _pattern})


def json_body(raw: bytes, schema: dict[str, Any], example: Any = None) -> Any:
    """The JSON value of ``raw``, checked against ``schema`` (:func:`check_body`); a 400 names the first
    failing field by its JSON pointer (``/restrictions/0/country``)."""
    hint = f"; send a JSON object such as {json.dumps(example)}" if example is not None else ""
    if json_depth(raw) > MAX_JSON_DEPTH:
        raise BadParameter("body", f"nests arrays and objects more than {MAX_JSON_DEPTH} deep{hint}")
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadParameter("body", f"is not JSON ({str(exc)[:120]}){hint}") from None
    return check_body(body, schema)


def check_body(body: Any, schema: dict[str, Any]) -> Any:
    """``body`` if it is valid against ``schema``, else a 400 naming the first failing field by its JSON
    pointer and listing every failure (at most 10) in ``errors``."""
    failures = sorted(_Validator(schema, format_checker=FormatChecker()).iter_errors(body),
                      key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if failures:
        details = [_detail(e) for e in failures[:10]]
        error = BadParameter(details[0]["parameter"], details[0]["message"])
        error.errors = details
        raise error
    return body


def _detail(error: ValidationError) -> dict[str, str]:
    """A schema failure in plain words, named by its JSON pointer (RFC 6901)."""
    path = [str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path]
    keyword, expected = error.validator, error.validator_value
    if keyword == "required":
        missing = next((k for k in expected if k not in error.instance), "")
        path.append(missing)
        message = "is required"
    elif keyword == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        path.append(str(extra[0]) if extra else "")
        message = f"is not a field here; known: {sorted(error.schema.get('properties', {}))}"
    elif keyword == "type":
        message = f"must be of type {expected}"
    elif keyword == "pattern":
        message = ("is not an id (letters, digits, '.', '_' or '-', at most 100)" if expected == ID_SCHEMA["pattern"]
                   else f"does not match {expected}")
    elif keyword == "enum":
        message = f"must be one of {expected}"
    elif keyword == "format":
        message = "is not a date as YYYY-MM-DD" if expected == "date" else f"is not a {expected}"
    elif keyword in ("minItems", "maxItems"):
        message = f"must have {'at least' if keyword == 'minItems' else 'at most'} {expected} items"
    else:
        message = error.message[:200]
    return {"parameter": "/" + "/".join(path), "message": message}
