"""The rows of a trace (trace.rq's rows) from two halves: the subsystem's components, materials and elements
(trace-materials.rq, per request, its ids bound) joined in Python with the build's supply network — where each
material is made, which sites produce each element, the upstream links of each site and what is known of each
site — read once per build (four flat queries every engine plans well). At 10^6 triples trace.rq took ~2.4 s a
request in pyoxigraph, most of it its upstream branch evaluated over every hasUpstream pair before the join;
the join here costs what the answer holds. tests/competency/test_trace_scale.py checks that the rows are
trace.rq's, row for row."""

from __future__ import annotations

import dataclasses
import sys
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from reekg.errors import BadParameter

from .core import Answers, Row
from .library import Query, QueryParameterError

NETWORK_QUERIES = ("trace-made-at", "trace-producers", "trace-upstream", "trace-sites")
_UPPER = ("subsystem", "robot", "element", "symbol", "component", "material", "gRobot", "gComponent", "gMaterial",
          "gElement")
_SITE = ("siteLabel", "siteKind", "country", "countryCode", "gCountry")


@dataclass(frozen=True)
class Network:
    """The build's supply network, keyed for the join: material → (site, graph); element → (site, graph);
    site → its upstream rows; site → the rows trace-sites.rq gives of it."""

    made_at: dict[str, list[tuple[str, str]]]
    producers: dict[str, list[tuple[str, str]]]
    upstream: dict[str, list[Row]]
    sites: dict[str, list[Row]]


def network(a: Answers) -> tuple[Network, list[Query]]:
    """The supply network of the build, once per build (strings interned: the same IRIs recur in every row)."""
    def read() -> tuple[Network, list[Query]]:
        results = {name: a.run(name) for name in NETWORK_QUERIES}
        pairs = {"trace-made-at": ("material", defaultdict(list)), "trace-producers": ("element", defaultdict(list))}
        for name, (key, found) in pairs.items():
            for r in results[name][0]:
                found[_i(r[key])].append((_i(r["site"]), _i(r["gSite"])))
        upstream: dict[str, list[Row]] = defaultdict(list)
        for r in results["trace-upstream"][0]:
            upstream[_i(r.pop("via"))].append({k: _i(v) for k, v in r.items()})
        sites: dict[str, list[Row]] = defaultdict(list)
        for r in results["trace-sites"][0]:
            sites[_i(r["site"])].append({k: _i(v) for k, v in r.items()})
        net = Network(dict(pairs["trace-made-at"][1]), dict(pairs["trace-producers"][1]), dict(upstream),
                      dict(sites))
        return net, [q for _, q in results.values()]

    return a.memo("supply-network", read)


def trace_rows(a: Answers, params: dict[str, Any], unverified: bool) -> tuple[list[Row], list[Query]]:
    """trace.rq's rows for ``params`` (subsystem, and robot and element when given; IRIs) in its order, and the
    queries that gave them. Unless ``unverified``, a row through an unverified component, material, content
    row, site or supply link is left out, as trace.rq leaves it."""
    upper, queries = _materials(a, params)
    net, network_queries = network(a)
    doubtful = a.ns.base + "id/confidence/unverified"
    rows = []
    for u in upper:
        if not unverified and doubtful in (u.get("componentConfidence"), u.get("materialConfidence"),
                                           u.get("contentConfidence")):
            continue
        base = {k: u.get(k) for k in _UPPER} | {"unverified": unverified}
        rows += _hops(net, base, doubtful if not unverified else None)
    rows.sort(key=_order)
    return rows, [*queries, *network_queries]


def _materials(a: Answers, params: dict[str, Any]) -> tuple[list[Row], list[Query]]:
    """trace-materials.rq's rows of the subsystem (bound by a VALUES block: pyoxigraph plans its joins from
    one, not from a substitution), those of the element when given, each once per graph that says the robot
    has the subsystem when a robot is given (trace-robot.rq). The element and the robot are kept here, not in
    the query: at 10^6 triples the element bound as well made it 36 ms, trace.rq's robot UNION 300 ms."""
    query = a.queries["trace-materials"]
    subsystem = params["subsystem"]
    try:
        query.bind(a.ns, subsystem=subsystem)  # check kinds before anything runs
    except QueryParameterError as exc:
        raise BadParameter(exc.name, str(exc).split(": ", 1)[-1]) from None
    bound = dataclasses.replace(query.with_values("subsystem", [subsystem]), parameters=())
    rows = [r for r in a.call(bound, {}) if not params.get("element") or r.get("element") == params["element"]]
    if not params.get("robot"):
        return rows, [query]
    graphs, robot_query = a.run("trace-robot", robot=params["robot"], subsystem=subsystem)
    return [{**r, "robot": params["robot"], "gRobot": g["gRobot"]} for g in graphs for r in rows], \
        [query, robot_query]


def _hops(net: Network, base: Row, doubtful: str | None) -> list[Row]:
    """The rows of one component-material-element: its magnet-making, produces and upstream hops, each with
    every row trace-sites.rq has of its site (those of an unverified site or link left out when ``doubtful``)."""
    material, element = base["material"], base["element"]
    made, produced = net.made_at.get(material, []), net.producers.get(element, [])
    hops = [{"hop": "magnet-making", "site": s, "gSite": g} for s, g in made]
    hops += [{"hop": "produces", "site": s, "gSite": g} for s, g in produced]
    for via, g in made + produced:
        hops += [{"hop": "upstream", "via": via, "gSite": g, **link} for link in net.upstream.get(via, [])
                 if doubtful is None or link.get("linkConfidence") != doubtful]
    rows = []
    for hop in hops:
        for site in net.sites.get(hop["site"], [{}]):
            if doubtful is None or site.get("siteConfidence") != doubtful:
                row = {**base, **{k: site.get(k) for k in _SITE}, **hop}
                row.pop("linkConfidence", None)
                rows.append(row)
    return rows


def _order(r: Row) -> tuple[Any, ...]:
    """trace.rq's ORDER BY (component, material, symbol, hop, site, fedSite; unbound first), then every other
    column, so that ties fall the same way on every engine."""
    keys = ("component", "material", "symbol", "hop", "site", "fedSite", "via", "link", "gSite", "gFeed",
            "country", "gCountry", "siteLabel", "gComponent", "gMaterial", "gElement", "gRobot")
    return tuple((r.get(k) is not None, str(r.get(k) or "")) for k in keys)


def _i(value: Any) -> Any:
    return sys.intern(value) if isinstance(value, str) else value
