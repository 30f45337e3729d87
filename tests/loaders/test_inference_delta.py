"""Incremental inference (loaders/inference_delta.py) equals reasoning from scratch: random small writes over the
curated graph (facts retracted, facts recombined from the graph's own instances asserted), property-based."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reekg.loaders.build import load_ontology
from reekg.loaders.inference import compile_rules, infer_into, rule_predicates
from reekg.loaders.inference_delta import (
    asserted_delta,
    delta_keeps_instances_only,
    infer_change,
    instances_only,
    rule_properties,
)
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome

NS = Namespaces()
INFERRED = ox.NamedNode(str(NS.inferred_graph))
ONTOLOGY = ox.NamedNode(str(NS.ontology_graph))
PARTNER = ox.NamedNode(str(NS.partner_graph("delta")))
PREFIX = str(NS.id)
TYPE = ox.NamedNode("http://www.w3.org/1999/02/22-rdf-syntax-ns#type")


@pytest.fixture(scope="module")
def curated(curated_home):
    return facts_of(curated_home)


def facts_of(home):
    """The curated build's quads, rules, premise facts, instances, property-rule facts and classes."""
    quads = list(ox.Store.read_only(str(StoreHome(home).current())))
    rules = compile_rules(load_ontology(NS))
    read = rule_predicates(rules)
    premises = sorted((q for q in quads if q.graph_name not in (INFERRED, ONTOLOGY)
                       and q.predicate.value in read), key=str)
    instances = sorted({q.subject for q in premises if q.subject.value.startswith(PREFIX)}, key=str)
    property_facts = [q for q in premises if q.predicate.value in rule_properties(rules)]
    classes = sorted({q.object for q in premises if q.predicate == TYPE}, key=str)
    return quads, rules, premises, instances, property_facts, classes


def _store(quads) -> ox.Store:
    store = ox.Store()
    store.bulk_extend(quads)
    return store


def _inferred(store: ox.Store) -> set[ox.Quad]:
    return set(store.quads_for_pattern(None, None, None, INFERRED))


@st.composite
def writes(draw, curated):
    """Indices only (pyoxigraph terms are not what hypothesis replays): facts retracted, and facts asserted."""
    _, _, premises, instances, property_facts, classes = curated

    def pick(items):
        return items[draw(st.integers(0, len(items) - 1))]

    removed = {pick(premises) for _ in range(draw(st.integers(0, 6)))}
    removed |= {pick(property_facts) for _ in range(draw(st.integers(0, 4)))}
    added = set()
    for _ in range(draw(st.integers(0, 6))):  # a property fact between two instances that have that property
        fact, other = pick(property_facts), pick(property_facts)
        obj = other.object if draw(st.booleans()) else pick(instances)
        if isinstance(obj, ox.Literal):
            obj = fact.object
        added.add(ox.Quad(fact.subject, fact.predicate, obj, PARTNER))
    for _ in range(draw(st.integers(0, 3))):
        added.add(ox.Quad(pick(instances), TYPE, pick(classes), PARTNER))
    return removed, added


def test_the_curated_graph_reasons_about_instances_only(curated):
    quads, rules, *_ = curated
    assert instances_only(_store(quads), rules, instance_prefix=PREFIX, graph=INFERRED)


def test_a_blank_node_or_an_outside_iri_in_a_property_rule_means_reasoning_from_scratch(curated):
    quads, rules, _, _, property_facts, _ = curated
    fact = property_facts[0]
    outside = ox.Triple(ox.NamedNode("http://example.org/x"), fact.predicate, fact.object)
    assert not delta_keeps_instances_only({outside}, rules, instance_prefix=PREFIX)
    blank = ox.Triple(fact.subject, fact.predicate, ox.BlankNode())
    assert infer_change(_store(quads), rules, instance_prefix=PREFIX, graph=INFERRED, added={blank},
                        removed=set()) is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_a_small_write_reasoned_incrementally_equals_reasoning_from_scratch(curated, data):
    check_write(curated, *data.draw(writes(curated)))


def check_write(curated, removed, added):
    quads, rules, *_ = curated
    removed -= added
    added = {q for q in added if q not in set(quads)}
    incremental = _store(quads)
    before = _inferred(incremental)
    for q in removed:
        incremental.remove(q)
    incremental.extend(added)
    new, gone = asserted_delta(incremental, added, removed, INFERRED)
    change = infer_change(incremental, rules, instance_prefix=PREFIX, graph=INFERRED, added=new, removed=gone)
    assert change is not None

    scratch = _store(q for q in incremental.quads_for_pattern(None, None, None, None) if q.graph_name != INFERRED)
    infer_into(scratch, rules, instance_prefix=PREFIX, graph=INFERRED)
    expected = _inferred(scratch)
    assert _inferred(incremental) == expected
    assert (change.added, change.removed) == (expected - before, before - expected)
