"""The line of a partner file that states a fact, so a SHACL result on it reads ``file:line: message``.

A build's :data:`.core.Locator` places a result on a CSV row by the cell each triple came from
(:mod:`reekg.loaders.csvw`) and on a partner file (Turtle, N-Triples, TriG, N-Quads) by :func:`line_of`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from rdflib import Literal, URIRef
from rdflib.term import Node

_RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"
_INDEXED_BYTES = 16 * 1024 * 1024  # larger files are placed by file only: an index of them would cost too much
_PREFIX_LINE = re.compile(r"^\s*(?:@prefix|PREFIX)\s+([A-Za-z][\w.-]*)?:\s*<([^>\s]*)>", re.IGNORECASE)
_LINE_TOKEN = re.compile(r"""
    (?P<comment>\#.*)
  | <(?P<iri>[^<>"\s]*)>
  | "(?P<dq>(?:[^"\\]|\\.)*)"
  | '(?P<sq>(?:[^'\\]|\\.)*)'
  | (?<![\w:.-])(?P<pname>(?:[A-Za-z][\w.-]*)?:(?:[\w:%-]|\.(?=[\w:%-]))*)
  | (?<![\w:."'-])(?P<a>a)(?![\w:-])
  | (?<![\w:."'-])(?P<number>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|true|false)(?![\w:-])
""", re.VERBOSE)


@lru_cache(maxsize=4)
def _term_lines(path: str, mtime_ns: int, size: int) -> dict[tuple[str, str], list[int]]:
    """Every IRI (prefixed names expanded) and literal form of a Turtle / N-Triples file → its line numbers.
    A light lexer, not a parser: good enough to point at the line a fact is on, never used to read data."""
    index: dict[tuple[str, str], list[int]] = {}
    prefixes: dict[str, str] = {}
    with open(path, encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            declared = _PREFIX_LINE.match(line)
            if declared:
                prefixes[declared.group(1) or ""] = declared.group(2)
                continue
            for match in _LINE_TOKEN.finditer(line):
                if match["comment"] is not None:
                    break
                if match["iri"] is not None:
                    key = ("iri", match["iri"])
                elif match["pname"] is not None:
                    prefix, _, local = match["pname"].partition(":")
                    if prefix not in prefixes:
                        continue
                    key = ("iri", prefixes[prefix] + re.sub(r"\\(.)", r"\1", local))
                elif match["a"] is not None:
                    key = ("iri", _RDF_TYPE)
                else:
                    text = match["dq"] if match["dq"] is not None else match["sq"]
                    key = ("literal", text if text is not None else match["number"])
                lines = index.setdefault(key, [])
                if not lines or lines[-1] != number:
                    lines.append(number)
    return index


def _key(term: Node | None) -> tuple[str, str] | None:
    if isinstance(term, URIRef):
        return ("iri", str(term))
    if isinstance(term, Literal):
        return ("literal", str(term).replace("\\", "\\\\").replace('"', '\\"'))
    return None  # a blank node has no name in the file to look for


def line_of(path: str | Path, subject: Node, predicate: Node | None = None, value: Node | None = None) -> int | None:
    """The line of a Turtle or N-Triples file that states ``subject predicate value`` (as far as a light lexer
    can tell): the value's line in the subject's statement, else the predicate's, else the subject's first line.
    None when the file cannot be read or indexed, or does not name the subject."""
    path = Path(path)
    if path.suffix.lower() not in (".ttl", ".nt", ".trig", ".nq"):
        return None
    try:
        info = path.stat()
    except OSError:
        return None
    if info.st_size > _INDEXED_BYTES:
        return None
    index = _term_lines(str(path), info.st_mtime_ns, info.st_size)
    subject_key = _key(subject)
    subject_lines = index.get(subject_key, []) if subject_key else []
    if not subject_lines:
        return None
    first = subject_lines[0]
    for term in (value, predicate):
        key = _key(term)
        if key is None:
            continue
        later = [n for n in index.get(key, []) if n >= first]
        if later:
            on_subject_line = [n for n in later if n in subject_lines]
            return on_subject_line[0] if on_subject_line else later[0]
    return first
