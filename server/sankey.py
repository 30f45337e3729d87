"""The trace answer as a Sankey diagram (the trace page, server/pages.py): nodes in columns from the countries
and mines on the left to the subsystem on the right, links weighted by published country shares where a source
gives them, and each column's header.

Pure data: no Flask here; the page passes the function that makes an entity's link.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

# Columns of the Sankey diagram, left to right: raw ore to the subsystem.
COLUMNS = ("country", "mine", "plant", "element", "maker", "component", "subsystem")
COLUMN_LABELS = {"country": "country", "mine": "mine", "plant": "separation / processing plant",
                 "element": "element", "maker": "magnet maker", "component": "component",
                 "subsystem": "subsystem"}
# A thin but visible width for a link whose weight is zero (a mine in a country with no reported output).
MIN_WEIGHT = 0.002
Link = Callable[[str, str], "str | None"]


def _weights(paths: list[dict[str, Any]], shares: dict[str, Any]) -> list[tuple[float, str]]:
    """One weight per path, and its basis ("share" or "paths").

    Each site is put at a stage: mines at mining, magnet makers at magnet making, other plants at
    separation when they separate, else at their own first stage. Where a source publishes country shares of
    that stage, a country's paths at that stage share its share equally (so a country's links sum to its
    share of world output), and the rest of the world's paths share what is left. Stages without published
    shares weigh every path equally, one world in all, so columns stay comparable.
    """
    stage_of = [_stage_of(p) for p in paths]
    by_stage_country: Counter[tuple[str, str]] = Counter()
    by_stage: Counter[str] = Counter()
    for path, stage in zip(paths, stage_of, strict=True):
        by_stage_country[(stage, path.get("country") or "")] += 1
        by_stage[stage] += 1
    weights = []
    for path, stage in zip(paths, stage_of, strict=True):
        summary = shares.get(stage)
        country = path.get("country") or ""
        if summary:
            published = {s["country"]: s["share"] for s in summary["shares"]}
            if country in published:
                weights.append((published[country] / by_stage_country[(stage, country)], "share"))
                continue
            others = sum(n for (st, c), n in by_stage_country.items() if st == stage and c not in published)
            rest = max(0.0, 1.0 - sum(published.values()))
            weights.append((rest / others if others else 0.0, "share"))
        else:
            weights.append((1.0 / by_stage[stage], "paths"))
    return weights


def _stage_of(path: dict[str, Any]) -> str:
    """The stage whose country shares size a path: its site's stage, steps between folded into the nearest
    stage with published shares (concentration with mining, cracking with separation, metal and alloy
    making and recycling with magnet making)."""
    if path["hop"] == "magnet-making":
        return "magnet-making"
    if path["siteKind"] == "mine":
        return "mining"
    stages = path.get("stages") or []
    for stage in ("separation", "cracking", "magnet-making", "metal-alloy", "recycling", "mining", "concentration"):
        if stage in stages:
            return _FOLDED.get(stage, stage)
    return "separation"


_FOLDED = {"cracking": "separation", "metal-alloy": "magnet-making", "recycling": "magnet-making",
           "concentration": "mining"}


# The kinds whose labels the trace diagram looks up (the rest come with the answer's rows).
SANKEY_KINDS = ("subsystem", "component", "country", "mine", "facility")


def sankey(answer: dict[str, Any], catalog: dict[str, dict[str, Any]], doc_url: Link) -> dict[str, Any]:
    """The trace answer as Sankey nodes and links (see the trace page for how to read it).

    Nodes are keyed by column and id (a company's plant and its magnet works are separate nodes, so the
    diagram stays acyclic); each link carries its weight, the number of paths through it and the sources of
    the hop it draws (the first one is where a click goes).
    """
    paths = answer["data"]
    diagram = _Diagram(catalog, paths, doc_url)
    subsystem = answer["subsystem"]
    sink = diagram.node("subsystem", subsystem, diagram.label_of("subsystem", subsystem), "subsystem")
    for path, (weight, basis) in zip(paths, _weights(paths, answer.get("shares") or {}), strict=True):
        diagram.draw(path, sink, weight, basis)
    return diagram.drawn()


class _Diagram:
    """The nodes and links of a trace's Sankey diagram, filled path by path."""

    def __init__(self, catalog: dict[str, dict[str, Any]], paths: list[dict[str, Any]], doc_url: Link):
        self.catalog, self.paths, self.doc_url = catalog, paths, doc_url
        self.nodes: dict[str, dict[str, Any]] = {}
        self.links: dict[tuple[str, str], dict[str, Any]] = {}
        self.site_info = {p["site"]: (p.get("siteLabel"), p.get("country")) for p in paths}
        self.made = {(p["component"], p["material"]) for p in paths if p["hop"] == "magnet-making"}

    def label_of(self, kind: str, ident: str | None) -> str | None:
        return (self.catalog.get(kind, {}).get(ident or "") or {}).get("labelEn")

    def node(self, column: str, ident: str, label: str | None, kind: str, country: str | None = None) -> str:
        key = f"{column}:{ident}"
        if key not in self.nodes:
            shown = label or ident
            if country and column in ("mine", "plant", "maker"):
                shown = f"{shown} ({country})"
            self.nodes[key] = {"name": key, "label": shown, "column": column, "depth": COLUMNS.index(column),
                               "href": self.doc_url(kind, ident)}
        return key

    def link(self, source: str, target: str, weight: float, basis: str, cited: str | None, hop: str) -> None:
        entry = self.links.setdefault((source, target), {"source": source, "target": target, "weight": 0.0,
                                                          "paths": 0, "basis": basis, "hop": hop,
                                                          "sources": Counter()})
        entry["weight"] += weight
        entry["paths"] += 1
        if basis == "share":
            entry["basis"] = "share"
        if cited:
            entry["sources"][cited] += 1

    def draw(self, path: dict[str, Any], sink: str, weight: float, basis: str) -> None:
        """The links of one path: site to element to component to subsystem (or through a magnet maker)."""
        cited = path.get("hopSources") or {}
        site, kind, country = path["site"], path["siteKind"], path.get("country")
        element = self.node("element", path["element"], path["element"], "element")
        component = self.node("component", path["component"], self.label_of("component", path["component"]),
                              "component")
        if path["hop"] == "magnet-making":
            maker = self.node("maker", site, path.get("siteLabel"), kind, country)
            self.link(element, maker, weight, basis, cited.get("site"), "material made at")
            self.link(maker, component, weight, basis, cited.get("material"), "component uses material")
            self.link(component, sink, weight, basis, cited.get("component"), "subsystem has component")
            return
        column = "mine" if kind == "mine" else "plant"
        here = self.node(column, site, path.get("siteLabel"), kind, country)
        if column == "mine" and country:
            origin = self.node("country", country, self.label_of("country", country) or country, "country")
            self.link(origin, here, weight, basis, cited.get("country"), "located in")
        if path["hop"] == "upstream" and path.get("fedSite"):
            self._feed(path, here, weight, basis, cited.get("feed"))
            return
        self.link(here, element, weight, basis, cited.get("site"), "produces")
        if (path["component"], path["material"]) not in self.made:
            self.link(element, component, weight, basis, cited.get("element"), "material contains element")
            self.link(component, sink, weight, basis, cited.get("component"), "subsystem has component")

    def _feed(self, path: dict[str, Any], here: str, weight: float, basis: str, cited: str | None) -> None:
        """An upstream site's link to the site it supplies."""
        fed = path["fedSite"]
        fed_kind = "mine" if fed in self.catalog.get("mine", {}) else "facility"
        fed_column = "maker" if f"maker:{fed}" in self.nodes or _makes_magnets(self.paths, fed) else "plant"
        fed_label, fed_country = self.site_info.get(fed, (self.label_of(fed_kind, fed), None))
        target = self.node(fed_column, fed, fed_label or self.label_of(fed_kind, fed), fed_kind, fed_country)
        if target != here:
            self.link(here, target, weight, basis, cited, "supplies")

    def drawn(self) -> dict[str, Any]:
        """The diagram: nodes in columns, the links minus any that would close a cycle."""
        out_links = []
        for entry in _acyclic(list(self.links.values())):
            sources = [s for s, _ in entry["sources"].most_common()]
            out_links.append({
                "source": entry["source"], "target": entry["target"],
                "value": round(max(entry["weight"], MIN_WEIGHT), 6), "weight": round(entry["weight"], 6),
                "paths": entry["paths"], "basis": entry["basis"], "hop": entry["hop"], "sources": sources,
                "href": self.doc_url("source", sources[0]) if sources else None,
                "sourceLabel": self.nodes[entry["source"]]["label"],
                "targetLabel": self.nodes[entry["target"]]["label"],
            })
        used = {x for link_ in out_links for x in (link_["source"], link_["target"])}
        depth = _depths(self.nodes, out_links)
        for key, entry in self.nodes.items():
            entry["depth"] = depth[key]
        ordered = sorted((n for n in self.nodes.values() if n["name"] in used), key=lambda n: (n["depth"], n["label"]))
        return {"nodes": ordered, "links": out_links, "columns": [COLUMN_LABELS[c] for c in COLUMNS],
                "headers": headers(ordered)}


def headers(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One header per drawn column (depth): the kinds of the nodes it holds, left to right (a plant fed by a
    plant sits one column further, so a column can hold two kinds)."""
    kinds: dict[int, list[str]] = defaultdict(list)
    for node in nodes:
        label = COLUMN_LABELS[node["column"]]
        if label not in kinds[node["depth"]]:
            kinds[node["depth"]].append(label)
    return [{"depth": depth, "label": " / ".join(kinds[depth])} for depth in sorted(kinds)]


def _depths(nodes: dict[str, dict[str, Any]], links: list[dict[str, Any]]) -> dict[str, int]:
    """Each node's column: at least its kind's column, and right of everything that feeds it (a cracking
    plant that feeds a separation plant sits one column left of it)."""
    incoming: dict[str, list[str]] = defaultdict(list)
    for entry in links:
        incoming[entry["target"]].append(entry["source"])
    depth: dict[str, int] = {}

    def place(key: str) -> int:
        if key not in depth:
            depth[key] = COLUMNS.index(nodes[key]["column"])  # a floor, and a guard while recursing
            depth[key] = max([depth[key], *(place(source) + 1 for source in incoming[key])])
        return depth[key]

    for key in sorted(nodes, key=lambda k: COLUMNS.index(nodes[k]["column"])):
        place(key)
    return depth


def _makes_magnets(paths: list[dict[str, Any]], site: str) -> bool:
    return any(p["hop"] == "magnet-making" and p["site"] == site for p in paths)


def _acyclic(links: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The links minus any that would close a cycle (a Sankey diagram must be acyclic); the paths table still
    lists every path."""
    out: dict[str, set[str]] = defaultdict(set)
    kept = []

    def reaches(start: str, goal: str) -> bool:
        seen, stack = set(), [start]
        while stack:
            here = stack.pop()
            if here == goal:
                return True
            if here not in seen:
                seen.add(here)
                stack.extend(out[here])
        return False

    for entry in links:
        if entry["source"] == entry["target"] or reaches(entry["target"], entry["source"]):
            continue
        out[entry["source"]].add(entry["target"])
        kept.append(entry)
    return kept
