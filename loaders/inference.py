"""OWL 2 RL materialisation in pure Python, so serving needs no Java.

``reasonable`` (a Rust OWL 2 RL reasoner) computes the closure; it does not implement the property-chain
rule prp-spo2 (https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules,
table 5), which our ``dependsOnElement`` and ``suppliedBy`` axioms need, so :func:`_apply_chains` adds it
and the two run to a fixpoint. Only new facts about our own instances are kept: the inferred named graph
holds what an analyst can query, not the reasoner's bookkeeping (``owl:Thing`` types, TBox echoes).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import reasonable
from rdflib import Graph, Literal, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, XSD
from rdflib.term import Node

Triple = tuple[Node, Node, Node]

_NOISE_OBJECTS = {OWL.Thing, OWL.NamedIndividual}
_MAX_ROUNDS = 10


def _plain(term: Node) -> Node:
    """RDF 1.1 makes "x" and "x"^^xsd:string one literal; rdflib does not, and reasonable returns the latter."""
    if isinstance(term, Literal) and term.datatype == XSD.string:
        return Literal(str(term))
    return term


def property_chains(ontology: Graph) -> list[tuple[URIRef, list[URIRef]]]:
    """Every ``p owl:propertyChainAxiom (p1 … pn)`` in the ontology, as (p, [p1 … pn])."""
    chains = []
    for prop, head in ontology.subject_objects(OWL.propertyChainAxiom):
        steps = [URIRef(s) for s in Collection(ontology, head)]
        if isinstance(prop, URIRef) and steps:
            chains.append((prop, steps))
    return chains


def _apply_chains(triples: set[Triple], chains: list[tuple[URIRef, list[URIRef]]]) -> set[Triple]:
    """prp-spo2 to a fixpoint: x p1 y1 … pn z ⇒ x p z for every chain, again over what it adds (a chain may
    use its own property, as hasComponent ∘ dependsOnElement ⊑ dependsOnElement does)."""
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


def materialise(asserted: Iterable[Triple], ontology: Graph, *, instance_prefix: str) -> set[Triple]:
    """Return the triples that OWL 2 RL (plus property chains) adds about IRIs under ``instance_prefix``.

    The reasoner is loaded once with plain triples (no rdflib Graph: building one cost more than reasoning)
    and told only what the chains add, so a later round is incremental; usually two rounds reach the fixpoint.
    """
    base = set(asserted)
    tbox = set(ontology)
    chains = property_chains(ontology)
    known = base | tbox
    reasoner = reasonable.PyReasoner()
    reasoner.from_graph(list(known))
    for _ in range(_MAX_ROUNDS):
        closure = known | {(s, p, _plain(o)) for s, p, o in reasoner.reason()}
        chained = _apply_chains(closure, chains)
        known = closure | chained
        if not chained:  # the reasoner's closure is complete, so nothing new can follow
            break
        reasoner.from_graph(list(chained))
    return {
        (s, p, o) for s, p, o in known - base - tbox
        if isinstance(s, URIRef) and str(s).startswith(instance_prefix)
        and not (p == RDF.type and o in _NOISE_OBJECTS)
        and not (p == OWL.sameAs and s == o)
    }
