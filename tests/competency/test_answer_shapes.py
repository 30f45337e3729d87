"""Issue 13: the analyst routes' faster query shapes and per-build memos give the answers they gave before.

The saved queries that were rewritten for speed (substitutes.rq: the control status of a still-used element in
one sub-select; in-force.rq: the robot's elements through an EXISTS) are checked against what the answers
compute another way; the memos kept per build are checked to follow a new build.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.questions.core import Answers
from reekg.questions.library import library
from reekg.questions.runner import BackendRunner
from reekg.questions.statuses import site_statuses
from reekg.read.embedded import InProcessBackend

NS = Namespaces()
DAYS = ("2025-03-01", "2025-06-01", "2025-12-01", "2026-11-10", "2026-11-11", "2026-12-01")
ELEMENTS = ("Dy", "Tb", "Nd", "Er", "Ho", "La")
ROBOTS = ("tesla-optimus", "generic-humanoid", "unitree-g1", "generic-industrial-arm")
NOT_COVERED = "no export control in the graph covers it"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"


@pytest.fixture(scope="module")
def store(curated_home) -> ox.Store:
    return StoreHome(curated_home).open()


@pytest.fixture(scope="module")
def answers(store) -> Answers:
    return Answers(BackendRunner(InProcessBackend(store, "curated"), NS, max_rows=100_000, timeout=60), NS)


def run(store: ox.Store, name: str, **params) -> list:
    return list(library()[name].run(store, NS, **params))


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("symbol", ELEMENTS)
def test_substitutes_query_statuses_agree_with_the_in_force_verdicts(answers, store, symbol, day):
    """The saved query's "symbol=status" per still-used element and its avoidsControls are the verdicts the
    answer draws from in-force.rq: yes / unknown / no, not-controlled where no measure covers the element."""
    rows = {r["substitution"].value: r for r in run(store, "substitutes", element=str(NS.entity("element", symbol)),
                                                    on=day, unverified="true")}
    options = answers.ask("substitutes", symbol, on=day, unverified=True)["data"]
    assert len(options) == len(rows)
    for option in options:
        row = rows[str(NS.entity("substitution", option["substitution"]))]
        cell = row["stillUses"].value if row["stillUses"] else ""
        said = dict(token.split("=", 1) for token in cell.split())
        expected = {s: ("not-controlled" if v["basis"] == NOT_COVERED else v["inForce"])
                    for s, v in option["stillUsesControls"].items()}
        assert said == expected, option["substitution"]
        assert row["avoidsControls"].value == option["avoidsControlsStatus"], option["substitution"]


@pytest.mark.parametrize("day", ("2025-06-01", "2026-11-11"))
@pytest.mark.parametrize("robot", ROBOTS)
def test_in_force_for_a_robot_is_every_measure_row_of_the_elements_it_depends_on(store, robot, day):
    iri = str(NS.entity("robot", robot))

    def key(r) -> tuple:
        return tuple(None if r[v] is None else r[v].value for v in ("element", "measure", "statement", "inForce"))

    everything = run(store, "in-force", on=day)
    uses = {r["e"].value for r in store.query(
        f"SELECT ?e WHERE {{ <{iri}> <{NS.reekg}dependsOnElement> ?e }}", use_default_graph_as_union=True)}
    assert uses, f"{robot} depends on no element in the curated graph"
    mine = run(store, "in-force", robot=iri, on=day)
    assert mine, f"no control covers {robot}'s elements"
    assert sorted(map(key, mine)) == sorted(key(r) for r in everything if r["element"].value in uses)
    assert {r["robot"].value for r in mine} == {iri}


def test_a_memo_follows_the_build_the_backend_serves(curated_home):
    """A memo read before any query of an answer (the scenario reads the stage shares first) is the new build's
    as soon as the backend serves a new build, not the one it was computed on."""
    store = ox.Store()
    store.bulk_load(StoreHome(curated_home).open().dump(format=ox.RdfFormat.N_QUADS), format=ox.RdfFormat.N_QUADS)
    backend = InProcessBackend(store, "first")
    a = Answers(BackendRunner(backend, NS, max_rows=100_000, timeout=60), NS)
    a.start()
    before = site_statuses(a)[0]
    site, observation = NS.entity("facility", "memo-test-plant"), NS.entity("site-status-observation", "memo-test")
    graph = ox.NamedNode(str(NS.source_graph("memo-test")))
    for p, o in ((RDF_TYPE, f"{NS.reekg}SiteStatusObservation"), (f"{NS.reekg}ofSite", str(site)),
                 (f"{NS.reekg}reportedStatus", str(NS.entity("site-status", "operating")))):
        store.add(ox.Quad(ox.NamedNode(str(observation)), ox.NamedNode(p), ox.NamedNode(o), graph))
    assert str(site) not in site_statuses(a)[0], "within one build the memo is kept"
    backend.build_id = "second"
    a.start()
    after = site_statuses(a)[0]
    assert str(site) in after and set(after) - set(before) == {str(site)}
