"""A write's SHACL results in plain words, and where each was found (for the 422 report of :mod:`.transact`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pyoxigraph as ox
from rdflib import BNode, Literal, URIRef
from rdflib.namespace import SH
from rdflib.term import Node

from reekg.terms import to_oxigraph

from .problems import Place
from .validation import ValidationReport


def result_entries(report: ValidationReport) -> list[dict[str, Any]]:
    """The SHACL results in plain words: focus, path, value, message, severity, shape."""
    graph, entries = report.graph, []

    def shown(node: Node | None) -> str | None:
        if node is None:
            return None
        if isinstance(node, Literal):
            return str(node)
        return node.n3(graph.namespace_manager) if isinstance(node, URIRef) else str(node)

    for result in graph.subjects(SH.resultSeverity, None):
        severity = graph.value(result, SH.resultSeverity)
        message = graph.value(result, SH.resultMessage)
        shape = graph.value(result, SH.sourceShape)
        entries.append({
            "focus": shown(graph.value(result, SH.focusNode)),
            "path": shown(graph.value(result, SH.resultPath)),
            "value": shown(graph.value(result, SH.value)),
            "message": str(message) if message is not None else f"fails {shown(shape)}",
            "severity": str(severity).rsplit("#", 1)[-1] if severity is not None else "Violation",
            "shape": shown(shape),
        })
    entries.sort(key=lambda e: (e["severity"] != "Violation", e["focus"] or "", e["path"] or "", e["message"]))
    return entries


def locator(store: ox.Store) -> Callable[[Node, Node | None, Node | None], Place]:
    """Place a SHACL result in the graph that describes its focus node (looked up when a result needs it)."""

    def locate(focus: Node, path: Node | None, value: Node | None = None) -> Place:
        graph = "(graph)"
        if isinstance(focus, (URIRef, BNode)):
            for q in store.quads_for_pattern(to_oxigraph(focus), None, None, None):
                if isinstance(q.graph_name, ox.NamedNode):
                    graph = q.graph_name.value
                    break
        return Place(graph, None, str(path) if path is not None else str(focus))

    return locate
