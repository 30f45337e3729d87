"""The ontology diagram: the classes as boxes and the object properties as arrows from their domain to their
range (the subclass axioms as hollow arrows), laid out in layers, drawn as SVG from the served ontology graph.

No external service and no Graphviz: a small layered layout (Sugiyama et al., 1981, simplified) in four steps.
1. Cycles are broken for the layering only: a depth-first walk in a fixed order turns round each edge that
   closes a cycle (``SupplySite → SiteStatusObservation → SupplySite``); the drawing keeps each arrow's way.
2. Layers by longest path: a class sits one layer below every class that points to it, so the chain robot →
   subsystem → component → material → element reads downwards; then each class moves down to just above the
   nearest class it points to.
3. Order within a layer by the barycentre of each class's neighbours, sweeping down and up a few times.
4. Boxes packed left to right, each layer centred; edges are cubic curves; an edge's label is moved up or
   down until it overlaps no box and no label already placed.
The same input gives the same picture (every choice is sorted). The template ``ld/_diagram.svg`` writes it,
so every label from the graph is escaped there. Properties named by several (domain, range) pairs are drawn
once per pair; those of one pair share an arrow and a label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rdflib import BNode, Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS

BOX_HEIGHT, LAYER_GAP, BOX_GAP, MARGIN = 32, 96, 28, 24
CHAR_WIDTH, LABEL_CHAR_WIDTH, LABEL_HEIGHT = 7.0, 5.6, 13
SWEEPS = 6


@dataclass
class Box:
    key: str
    label: str
    anchor: str | None  # the term's section on the page (ours), None for an external class
    width: float = 0.0
    layer: int = 0
    x: float = 0.0
    y: float = 0.0

    @property
    def external(self) -> bool:
        return self.anchor is None

    @property
    def centre(self) -> float:
        return self.x + self.width / 2


@dataclass
class Arrow:
    source: str
    target: str
    kind: str  # "property" or "subclass"
    names: list[str] = field(default_factory=list)
    path: str = ""
    label_x: float = 0.0
    label_y: float = 0.0


def _members(graph: Graph, node: Any) -> list[URIRef]:
    """A class IRI, or the members of an owl:unionOf class expression."""
    if isinstance(node, URIRef):
        return [node]
    union = graph.value(node, OWL.unionOf) if isinstance(node, BNode) else None
    return [m for m in Collection(graph, union) if isinstance(m, URIRef)] if union is not None else []


def read(graph: Graph, terms_ns: str, label_of: Any, short: Any) -> tuple[dict[str, Box], list[Arrow]]:
    """The boxes (our classes, labelled by ``label_of``, and the external classes our axioms name, by
    ``short``: ``prefix:name``) and the arrows of the diagram."""
    ours = sorted(str(c) for c in graph.subjects(RDF.type, OWL.Class)
                  if isinstance(c, URIRef) and str(c).startswith(terms_ns))
    boxes = {c: Box(c, label_of(URIRef(c)) or c[len(terms_ns):], c[len(terms_ns):]) for c in ours}
    arrows = _property_arrows(graph, terms_ns)
    for c in ours:
        arrows += [Arrow(c, str(p), "subclass") for p in sorted(graph.objects(URIRef(c), RDFS.subClassOf), key=str)
                   if isinstance(p, URIRef)]
    for arrow in arrows:
        for end in (arrow.source, arrow.target):
            boxes.setdefault(end, Box(end, short(end), None))
    return boxes, arrows


def _property_arrows(graph: Graph, terms_ns: str) -> list[Arrow]:
    """One arrow per (domain, range) pair of our object properties, naming the properties of that pair."""
    pairs: dict[tuple[str, str], list[str]] = {}
    for prop in sorted(p for p in graph.subjects(RDF.type, OWL.ObjectProperty) if str(p).startswith(terms_ns)):
        # no domain (or range) declared means any thing: the arrow starts (or ends) at owl:Thing
        domains = [m for d in graph.objects(prop, RDFS.domain) for m in _members(graph, d)] or [OWL.Thing]
        ranges = [m for r in graph.objects(prop, RDFS.range) for m in _members(graph, r)] or [OWL.Thing]
        for d in domains:
            for r in ranges:
                pairs.setdefault((str(d), str(r)), []).append(str(prop)[len(terms_ns):])
    return [Arrow(d, r, "property", sorted(names)) for (d, r), names in sorted(pairs.items())]


def _acyclic(keys: list[str], arrows: list[Arrow]) -> list[tuple[str, str]]:
    """The arrows' (from, to) pairs for layering, each that closes a cycle turned round (self-loops dropped)."""
    out: dict[str, list[str]] = {k: [] for k in keys}
    for a in arrows:
        if a.source != a.target and a.target not in out[a.source]:
            out[a.source].append(a.target)
    state: dict[str, int] = {}  # 1 on the walk's path, 2 done
    kept: list[tuple[str, str]] = []
    for start in keys:
        if start in state:
            continue
        stack = [(start, iter(sorted(out[start])))]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                kept.append((child, node))  # a back edge: turned round
            else:
                kept.append((node, child))
                if child not in state:
                    state[child] = 1
                    stack.append((child, iter(sorted(out[child]))))
    return kept


def _layer(boxes: dict[str, Box], edges: list[tuple[str, str]]) -> None:
    """Longest-path layers over the acyclic edges (a class one layer below each class that points to it)."""
    incoming: dict[str, list[str]] = {k: [] for k in boxes}
    for u, v in edges:
        incoming[v].append(u)
    done: dict[str, int] = {}

    def depth(key: str) -> int:
        stack = [key]
        while stack:
            node = stack[-1]
            waiting = [u for u in incoming[node] if u not in done]
            if waiting:
                stack.extend(waiting)
                continue
            stack.pop()
            done[node] = max((done[u] + 1 for u in incoming[node]), default=0)
        return done[key]

    for key in sorted(boxes):
        boxes[key].layer = depth(key)
    # then each class moves down to just above its nearest successor (bottom up), so a class that nothing
    # points to sits beside what it points to instead of in one crowded top row
    outgoing: dict[str, list[str]] = {k: [] for k in boxes}
    for u, v in edges:
        outgoing[u].append(v)
    for key in sorted(boxes, key=lambda k: (-boxes[k].layer, k)):
        if outgoing[key]:
            boxes[key].layer = min(boxes[v].layer for v in outgoing[key]) - 1


def _order(boxes: dict[str, Box], edges: list[tuple[str, str]]) -> list[list[str]]:
    """The boxes of each layer, left to right, by the barycentre of their neighbours' positions."""
    rows: list[list[str]] = [[] for _ in range(max(b.layer for b in boxes.values()) + 1)]
    for key in sorted(boxes, key=lambda k: (boxes[k].external, boxes[k].label.lower())):
        rows[boxes[key].layer].append(key)
    neighbours: dict[str, set[str]] = {k: set() for k in boxes}
    for u, v in edges:
        neighbours[u].add(v)
        neighbours[v].add(u)
    for sweep in range(SWEEPS):
        order = range(1, len(rows)) if sweep % 2 == 0 else range(len(rows) - 2, -1, -1)
        for index in order:
            position = {k: i / max(len(r), 1) for r in rows for i, k in enumerate(r)}
            current = {k: i / max(len(rows[index]), 1) for i, k in enumerate(rows[index])}

            def barycentre(key: str, current: dict[str, float] = current, position: dict = position) -> float:
                near = [position[n] for n in neighbours[key] if boxes[n].layer != boxes[key].layer]
                return sum(near) / len(near) if near else current[key]

            rows[index].sort(key=lambda k: (barycentre(k), current[k]))
    return rows


def _place(boxes: dict[str, Box], rows: list[list[str]]) -> tuple[float, float]:
    """x and y of every box; the drawing's width and height."""
    for box in boxes.values():
        box.width = max(80.0, CHAR_WIDTH * len(box.label) + 20)
    widths = [sum(boxes[k].width for k in row) + BOX_GAP * (len(row) - 1) for row in rows]
    width = max(widths) + 2 * MARGIN
    for index, row in enumerate(rows):
        x = (width - widths[index]) / 2
        for key in row:
            boxes[key].x, boxes[key].y = x, MARGIN + index * (BOX_HEIGHT + LAYER_GAP)
            x += boxes[key].width + BOX_GAP
    return width, MARGIN * 2 + len(rows) * BOX_HEIGHT + (len(rows) - 1) * LAYER_GAP


def _route(arrow: Arrow, boxes: dict[str, Box]) -> tuple[float, float]:
    """The arrow's curve (``arrow.path``) and the midpoint of the curve, where its label goes."""
    a, b = boxes[arrow.source], boxes[arrow.target]
    if a.key == b.key:  # a property from a class to itself: a loop on its right side
        x, y = a.x + a.width, a.y + BOX_HEIGHT / 2
        arrow.path = f"M{x:.1f},{y - 8:.1f} C{x + 40:.1f},{y - 30:.1f} {x + 40:.1f},{y + 30:.1f} {x:.1f},{y + 8:.1f}"
        return x + 32, y
    if a.layer == b.layer:  # side by side: an arc above the row
        x1, x2, y = a.centre, b.centre, a.y
        arrow.path = f"M{x1:.1f},{y:.1f} C{x1:.1f},{y - 40:.1f} {x2:.1f},{y - 40:.1f} {x2:.1f},{y:.1f}"
        return (x1 + x2) / 2, y - 30
    down = b.layer > a.layer
    x1, y1 = a.centre, a.y + (BOX_HEIGHT if down else 0)
    x2, y2 = b.centre, b.y + (0 if down else BOX_HEIGHT)
    bend = (y2 - y1) / 2
    arrow.path = f"M{x1:.1f},{y1:.1f} C{x1:.1f},{y1 + bend:.1f} {x2:.1f},{y2 - bend:.1f} {x2:.1f},{y2:.1f}"
    return (x1 + x2) / 2, (y1 + y2) / 2


def _overlaps(box: tuple[float, float, float, float], others: list[tuple[float, float, float, float]]) -> bool:
    x, y, w, h = box
    return any(x < ox + ow and ox < x + w and y < oy + oh and oy < y + h for ox, oy, ow, oh in others)


def _label(arrows: list[Arrow], boxes: dict[str, Box]) -> None:
    """Route every arrow and put its label where it overlaps no box and no other label, if it can."""
    taken = [(b.x, b.y, b.width, BOX_HEIGHT) for b in boxes.values()]
    for arrow in arrows:
        x, y = _route(arrow, boxes)
        if not arrow.names:
            continue
        width = LABEL_CHAR_WIDTH * len(", ".join(arrow.names)) + 4
        for offset in (0, 14, -14, 28, -28, 42, -42, 56, -56):
            candidate = (x - width / 2, y + offset - LABEL_HEIGHT / 2, width, LABEL_HEIGHT)
            if not _overlaps(candidate, taken):
                break
        taken.append(candidate)
        arrow.label_x, arrow.label_y = x, candidate[1] + LABEL_HEIGHT - 3


def layout(graph: Graph, terms_ns: str, label_of: Any, short: Any = str) -> dict[str, Any]:
    """What ``ld/_diagram.svg`` draws: the boxes, the arrows and the drawing's size."""
    boxes, arrows = read(graph, terms_ns, label_of, short)
    if not boxes:
        return {"boxes": [], "arrows": [], "width": 0, "height": 0}
    edges = _acyclic(sorted(boxes), arrows)
    _layer(boxes, edges)
    rows = _order(boxes, edges)
    width, height = _place(boxes, rows)
    _label(arrows, boxes)
    return {"boxes": sorted(boxes.values(), key=lambda b: (b.layer, b.x)), "arrows": arrows,
            "width": round(width), "height": round(height), "box_height": BOX_HEIGHT}
