"""OWL RL materialisation: reasonable's closure plus the property-chain rule it lacks."""

from __future__ import annotations

from rdflib import Graph, URIRef
from rdflib.namespace import OWL, RDF

from reekg.loaders.inference import materialise, property_chains

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
