"""The SHACL shapes that guard the graph, shipped as package data.

One ``*.shapes.ttl`` file per ontology module checks the data (``load_shapes``); ``ontology-lint.shapes.ttl``
checks the ontology itself (``load_lint_shapes``). Files are found with :mod:`importlib.resources`, so they
load the same from a checkout, an editable install or a wheel.
"""

from __future__ import annotations

from importlib import resources
from importlib.resources.abc import Traversable

from rdflib import Graph

LINT_FILE = "ontology-lint.shapes.ttl"
SHAPES_NAMESPACE = "https://w3id.org/reekg/shapes#"

__all__ = ["LINT_FILE", "SHAPES_NAMESPACE", "lint_shape_file", "load_lint_shapes", "load_shapes", "shape_files"]


def _all_files() -> list[Traversable]:
    root = resources.files(__name__)
    return sorted((f for f in root.iterdir() if f.name.endswith(".shapes.ttl")), key=lambda f: f.name)


def shape_files() -> list[Traversable]:
    """The data shapes files (one per ontology module), sorted by name; the lint file is not among them."""
    return [f for f in _all_files() if f.name != LINT_FILE]


def lint_shape_file() -> Traversable:
    """The shapes file that checks the ontology (labels and definitions in en and zh-Hant, header, naming)."""
    return resources.files(__name__).joinpath(LINT_FILE)


def _parse(files: list[Traversable]) -> Graph:
    graph = Graph()
    for file in files:
        graph.parse(data=file.read_text(encoding="utf-8"), format="turtle", publicID=SHAPES_NAMESPACE)
    graph.bind("rsh", SHAPES_NAMESPACE)
    return graph


def load_shapes() -> Graph:
    """All data shapes in one graph, ready for ``pyshacl.validate(..., advanced=True)``."""
    return _parse(shape_files())


def load_lint_shapes() -> Graph:
    """The ontology lint shapes in one graph, for validating the ontology files alone."""
    return _parse([lint_shape_file()])
