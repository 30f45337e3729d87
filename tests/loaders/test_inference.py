"""OWL RL materialisation by the store reasoner, checked against reasonable's closure (plus prp-spo2)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import OWL, RDF, XSD
from rdflib.term import Node

from reekg.loaders.build import assemble
from reekg.loaders.inference import UnsupportedAxiom, compile_rules, materialise, property_chains
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.synth import write_synth
from reekg.terms import from_oxigraph, to_oxigraph

TBOX = """
@prefix : <http://example.org/o#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
:dependsOn owl:propertyChainAxiom ( :hasPart :dependsOn ) .
:contains rdfs:subPropertyOf :dependsOn .
:feeds owl:inverseOf :fedBy .
:hasUpstream a owl:TransitiveProperty .
:fedBy rdfs:subPropertyOf :hasUpstream .
:Robot rdfs:subClassOf :Machine .
"""
ONT = "http://example.org/o#"
INST = "http://example.org/id/"
Triple = tuple[Node, Node, Node]
_NOISE_OBJECTS = {OWL.Thing, OWL.NamedIndividual}


def t(s, p, o):
    return URIRef(INST + s), URIRef(ONT + p), URIRef(INST + o)


def ontology() -> Graph:
    return Graph().parse(data=TBOX, format="turtle")


def test_property_chains_are_read_from_the_ontology():
    assert property_chains(ontology()) == [
        (URIRef(ONT + "dependsOn"), [URIRef(ONT + "hasPart"), URIRef(ONT + "dependsOn")])]


def test_chain_over_a_subproperty_reaches_the_top_of_a_part_tree():
    asserted = {t("robot", "hasPart", "arm"), t("arm", "hasPart", "motor"), t("motor", "contains", "Nd"),
                (URIRef(INST + "robot"), RDF.type, URIRef(ONT + "Robot"))}
    inferred = materialise(asserted, ontology(), instance_prefix=INST)
    assert t("motor", "dependsOn", "Nd") in inferred          # subproperty (reasonable)
    assert t("arm", "dependsOn", "Nd") in inferred            # chain, one step (ours)
    assert t("robot", "dependsOn", "Nd") in inferred          # chain over a chain: needs the fixpoint
    assert (URIRef(INST + "robot"), RDF.type, URIRef(ONT + "Machine")) in inferred


def test_inverse_and_transitive_supply_relations():
    asserted = {t("mine", "feeds", "separator"), t("separator", "feeds", "magnet-plant")}
    inferred = materialise(asserted, ontology(), instance_prefix=INST)
    assert t("magnet-plant", "hasUpstream", "mine") in inferred


def test_only_new_facts_about_our_instances_are_kept():
    asserted = {t("robot", "hasPart", "arm")}
    inferred = materialise(asserted, ontology(), instance_prefix=INST)
    assert not inferred & asserted
    assert all(str(s).startswith(INST) for s, _, _ in inferred)
    assert not any(o == OWL.Thing for _, _, o in inferred)


def test_the_rules_read_every_supported_axiom_and_drop_what_adds_no_fact():
    tbox = """
    @prefix : <http://example.org/o#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
    @prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
    :Robot rdfs:subClassOf :Machine , owl:Thing , :Robot , [ a owl:Class ] .
    :Arm owl:equivalentClass :Limb .
    :contains rdfs:subPropertyOf :dependsOn , :contains .
    :holds owl:equivalentProperty :keeps .
    :feeds rdfs:domain :Site , owl:Thing ; rdfs:range :Site , xsd:string , rdfs:Literal , owl:NamedIndividual .
    :mass rdfs:range xsd:decimal .
    :feeds owl:inverseOf :fedBy .
    :near a owl:SymmetricProperty .
    :hasUpstream a owl:TransitiveProperty .
    :dependsOn owl:propertyChainAxiom ( :hasPart :dependsOn ) .
    """
    rules = compile_rules(Graph().parse(data=tbox, format="turtle"))
    o = lambda *names: tuple(ONT + n for n in names)  # noqa: E731
    # no owl:Thing or owl:NamedIndividual targets, no reflexive pairs, no datatype ranges, no blank nodes
    assert rules.sub_classes == {o("Robot", "Machine"), o("Arm", "Limb"), o("Limb", "Arm")}
    assert rules.sub_properties == {o("contains", "dependsOn"), o("holds", "keeps"), o("keeps", "holds")}
    assert rules.domains == {o("feeds", "Site")}
    assert rules.ranges == {o("feeds", "Site")}
    assert rules.inverses == {o("feeds", "fedBy"), o("fedBy", "feeds"), o("near", "near")}
    assert rules.transitive == {ONT + "hasUpstream"}
    assert rules.chains == [(ONT + "dependsOn", [ONT + "hasPart", ONT + "dependsOn"])]


def test_an_owl_construct_the_store_reasoner_does_not_run_is_refused():
    restriction = TBOX + "[] <http://www.w3.org/2002/07/owl#onProperty> :dependsOn .\n"
    with pytest.raises(UnsupportedAxiom, match="owl:onProperty"):
        compile_rules(Graph().parse(data=restriction, format="turtle"))


def test_the_fixpoint_follows_a_chain_over_a_transitive_closure_over_an_inverse():
    # fedBy is the inverse of feeds, a subproperty of the transitive hasUpstream: three rounds deep
    tbox = TBOX + ":Plant rdfs:subClassOf :Site . :hasUpstream rdfs:domain :Plant .\n"
    asserted = {t("a", "feeds", "b"), t("b", "feeds", "c"), t("c", "feeds", "d")}
    inferred = materialise(asserted, Graph().parse(data=tbox, format="turtle"), instance_prefix=INST)
    assert t("d", "hasUpstream", "a") in inferred
    assert (URIRef(INST + "d"), RDF.type, URIRef(ONT + "Site")) in inferred


@pytest.fixture(scope="module")
def curated_and_synth(tmp_path_factory):
    path = tmp_path_factory.mktemp("synth") / "synth.nq"
    write_synth(path, 10_000, seed=3)
    ns = Namespaces()
    assembled = assemble(ns, extra_rdf=[path])
    skip = {str(ns.ontology_graph), str(ns.inferred_graph)}
    asserted = {(from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
                for q in assembled.store if q.graph_name.value not in skip}
    inferred = {(from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
                for q in assembled.store.quads_for_pattern(None, None, None, to_oxigraph(ns.inferred_graph))}
    return ns, assembled.ontology, asserted, inferred


def test_the_store_reasoner_agrees_with_reasonable_on_the_curated_graph_and_a_synthetic_network(curated_and_synth):
    ns, ontology, asserted, inferred = curated_and_synth
    reference = reference_closure(asserted, ontology, instance_prefix=str(ns.id))
    assert len(reference) > 3000
    assert inferred == reference


# --- the reference: reasonable's OWL 2 RL closure plus prp-spo2 (the test extra installs reasonable) ---------

def _plain(term: Node) -> Node:
    """RDF 1.1 makes "x" and "x"^^xsd:string one literal; rdflib does not, and reasonable returns the latter."""
    if isinstance(term, Literal) and term.datatype == XSD.string:
        return Literal(str(term))
    return term


def _apply_chains(triples: set[Triple], chains: list[tuple[URIRef, list[URIRef]]]) -> set[Triple]:
    """prp-spo2 to a fixpoint: x p1 y1 … pn z ⇒ x p z for every chain, again over what it adds."""
    by_predicate: dict[Node, dict[Node, set[Node]]] = defaultdict(lambda: defaultdict(set))
    for s, p, o in triples:
        by_predicate[p][s].add(o)
    added: set[Triple] = set()
    while True:
        new: set[Triple] = set()
        for prop, steps in chains:
            frontier = {(s, o) for s, objects in by_predicate[steps[0]].items() for o in objects}
            for step in steps[1:]:
                index = by_predicate[step]
                frontier = {(s, z) for s, y in frontier for z in index.get(y, ())}
                if not frontier:
                    break
            new.update((s, prop, z) for s, z in frontier if z not in by_predicate[prop].get(s, ()))
        if not new:
            return added
        for s, p, o in new:
            by_predicate[p][s].add(o)
        added |= new


def reference_closure(asserted: Iterable[Triple], ontology: Graph, *,
                      instance_prefix: str) -> set[Triple]:
    """What :func:`materialise` must return, computed by ``reasonable`` (a complete OWL 2 RL reasoner) plus
    prp-spo2, which it lacks. Slow and memory-hungry at scale: the tests' oracle, not the build's path."""
    import reasonable

    base = set(asserted)
    tbox = set(ontology)
    chains = property_chains(ontology)
    known = base | tbox
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(list(known))
    for _ in range(10):
        closure = known | {(s, p, _plain(o)) for s, p, o in reasoner.reason()}
        chained = _apply_chains(closure, chains)
        known = closure | chained
        if not chained:
            break
        reasoner.from_graph(list(chained))
    return {
        (s, p, o) for s, p, o in known - base - tbox
        if isinstance(s, URIRef) and str(s).startswith(instance_prefix)
        and not (p == RDF.type and o in _NOISE_OBJECTS)
        and not (p == OWL.sameAs and s == o)
    }
