"""OWL 2 RL materialisation of the instance data, run inside the store (Oxigraph), so serving needs no Java.

The ontology uses a small part of OWL 2 RL: class and property hierarchies, domains and ranges, inverse and
transitive properties, and property chains (https://www.w3.org/TR/owl2-profiles/#Reasoning_in_OWL_2_RL_and_RDF_Graphs_using_Rules,
rules cax-sco, cax-eqc, prp-dom, prp-rng, prp-spo1, prp-eqp, prp-inv, prp-symp, prp-trp and prp-spo2).
:func:`compile_rules` reads those axioms from the ontology and refuses any other OWL construct that could add
facts (a restriction, a functional property, …), so a richer ontology fails loudly instead of being
under-reasoned. :func:`infer_into` then runs the rules as SPARQL queries over the store to a fixpoint — in
Rust, over the store's indexes, without turning a million triples into Python objects (the reason: with
``reasonable``, the general OWL RL reasoner this replaced, a 10^6-triple load spent most of its time and
memory converting terms to and from Python).

The tests check that the rules give the same facts as ``reasonable`` (a complete OWL 2 RL reasoner) plus the
chain rule it lacks, on the curated graph and a synthetic network.

Only new facts about our own instances are kept: the inferred named graph holds what an analyst can query,
not the reasoner's bookkeeping (``owl:Thing`` types, TBox echoes).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import pyoxigraph as ox
from rdflib import Graph, URIRef
from rdflib.collection import Collection
from rdflib.namespace import OWL, RDF, RDFS, XSD
from rdflib.term import Node

from reekg.terms import from_oxigraph, to_oxigraph

Triple = tuple[Node, Node, Node]

_NOISE_OBJECTS = {OWL.Thing, OWL.NamedIndividual}
_MAX_ROUNDS = 50
_TYPE = ox.NamedNode(str(RDF.type))

# OWL terms that would add facts through rules infer_into does not run (sameAs, restrictions, keys, …).
_UNSUPPORTED = {
    OWL.sameAs, OWL.onProperty, OWL.hasKey, OWL.intersectionOf, OWL.unionOf, OWL.oneOf, OWL.hasValue,
    OWL.someValuesFrom, OWL.allValuesFrom, OWL.maxCardinality, OWL.maxQualifiedCardinality,
    OWL.FunctionalProperty, OWL.InverseFunctionalProperty,
}


class UnsupportedAxiom(ValueError):
    """The ontology uses an OWL construct the store reasoner does not implement."""


@dataclass
class Rules:
    """The ontology's rules, as pairs of IRIs: (sub, super) classes and properties, (property, class) domains
    and ranges, inverse pairs, transitive properties and chains (property, [step, …])."""

    sub_classes: set[tuple[str, str]] = field(default_factory=set)
    sub_properties: set[tuple[str, str]] = field(default_factory=set)
    domains: set[tuple[str, str]] = field(default_factory=set)
    ranges: set[tuple[str, str]] = field(default_factory=set)
    inverses: set[tuple[str, str]] = field(default_factory=set)
    transitive: set[str] = field(default_factory=set)
    chains: list[tuple[str, list[str]]] = field(default_factory=list)


def property_chains(ontology: Graph) -> list[tuple[URIRef, list[URIRef]]]:
    """Every ``p owl:propertyChainAxiom (p1 … pn)`` in the ontology, as (p, [p1 … pn])."""
    chains = []
    for prop, head in ontology.subject_objects(OWL.propertyChainAxiom):
        steps = [URIRef(s) for s in Collection(ontology, head)]
        if isinstance(prop, URIRef) and steps:
            chains.append((prop, steps))
    return chains


# Axioms between two IRIs, as (the axiom's predicate, the Rules field it adds to, whether it holds both ways).
_PAIR_AXIOMS = (
    (RDFS.subClassOf, "sub_classes", False),
    (OWL.equivalentClass, "sub_classes", True),
    (RDFS.subPropertyOf, "sub_properties", False),
    (OWL.equivalentProperty, "sub_properties", True),
    (RDFS.domain, "domains", False),
    (RDFS.range, "ranges", False),
    (OWL.inverseOf, "inverses", True),
)


def _refuse_unsupported(ontology: Graph) -> None:
    for term in _UNSUPPORTED:
        if (None, term, None) in ontology or (None, RDF.type, term) in ontology:
            raise UnsupportedAxiom(f"the ontology uses owl:{term.split('#')[-1]}, which reekg's store reasoner "
                                   "does not implement (see reekg/loaders/inference.py)")


def _iri_pairs(ontology: Graph, predicate: URIRef) -> set[tuple[str, str]]:
    return {(str(a), str(b)) for a, b in ontology.subject_objects(predicate)
            if isinstance(a, URIRef) and isinstance(b, URIRef)}


def _iris_typed(ontology: Graph, cls: URIRef) -> set[str]:
    return {str(p) for p in ontology.subjects(RDF.type, cls) if isinstance(p, URIRef)}


def _adds_facts(cls: str) -> bool:
    """Whether a class conclusion is worth a triple: not owl:Thing or owl:NamedIndividual, which every instance
    would get and no query asks for."""
    return URIRef(cls) not in _NOISE_OBJECTS


def _is_datatype(cls: str) -> bool:
    return cls.startswith(str(XSD)) or URIRef(cls) == RDFS.Literal


def compile_rules(ontology: Graph) -> Rules:
    """The rules of ``ontology``; raises UnsupportedAxiom for an OWL construct they cannot express."""
    _refuse_unsupported(ontology)
    rules = Rules()
    for predicate, name, both_ways in _PAIR_AXIOMS:
        pairs = _iri_pairs(ontology, predicate)
        getattr(rules, name).update(pairs | ({(b, a) for a, b in pairs} if both_ways else set()))
    rules.inverses |= {(p, p) for p in _iris_typed(ontology, OWL.SymmetricProperty)}
    rules.transitive = _iris_typed(ontology, OWL.TransitiveProperty)
    rules.chains = [(str(p), [str(s) for s in steps]) for p, steps in property_chains(ontology)]
    _drop_idle(rules)
    return rules


def _drop_idle(rules: Rules) -> None:
    """Leave out, from the start, rules that add no fact worth keeping: reflexive pairs, uninteresting types
    (:func:`_adds_facts`) and datatype ranges (a literal gets no type)."""
    rules.sub_classes = {(a, b) for a, b in rules.sub_classes if a != b and _adds_facts(b)}
    rules.sub_properties = {(a, b) for a, b in rules.sub_properties if a != b}
    rules.domains = {(p, c) for p, c in rules.domains if _adds_facts(c)}
    rules.ranges = {(p, c) for p, c in rules.ranges if _adds_facts(c) and not _is_datatype(c)}


def _values(pairs: Iterable[tuple[str, str]]) -> str:
    return " ".join(f"(<{a}> <{b}>)" for a, b in sorted(pairs))


Pattern = tuple[str, str, str]  # SPARQL terms: a ?variable or an <iri>
_A = f"<{_TYPE.value}>"


def triple_pattern(pattern: Pattern) -> str:
    return " ".join(pattern) + " ."


@dataclass(frozen=True)
class Rule:
    """One rule, declared once for both evaluations: ``head`` follows from ``body`` (every pattern, in the union
    of the store's graphs) where ``axioms`` (a VALUES block of the ontology's pairs, or empty) and ``filters``
    hold. :func:`infer_into` runs :meth:`full_query`; :mod:`.inference_delta` binds one premise at a time.
    ``closure``: the full run reads the last premise as the path ``p+``, so prp-trp closes in one round."""

    name: str
    head: Pattern
    body: tuple[Pattern, ...]
    axioms: str = ""
    filters: str = ""
    closure: bool = False

    def select(self) -> str:
        s, p, o = self.head
        return f"SELECT DISTINCT ({s} AS ?hs) ({p} AS ?hp) ({o} AS ?ho)"

    def full_query(self, delta: ox.NamedNode | None) -> str:
        """The rule's facts not yet in the store. With ``delta``, a one-premise rule reads its premise from that
        graph only: after the first round it only needs what the last round added (semi-naive evaluation);
        rules with several premises read the whole graph every round (few, selective properties)."""
        body = [triple_pattern(p) for p in self.body]
        if self.closure:
            s, p, o = self.body[-1]
            body[-1] = f"{s} {p}+ {o} ."
        if delta is not None and len(body) == 1:
            body = [f"GRAPH {delta} {{ {body[0]} }}"]
        return (f"{self.select()} WHERE {{ {self.axioms} {' '.join(body)} {self.filters} "
                f"FILTER NOT EXISTS {{ {' '.join(self.head)} }} }}")


_NOT_LITERAL = "FILTER(!isLiteral(?y))"
# The rules over pairs of the ontology's IRIs: (name, the Rules field, the VALUES variables, head, premise, filters).
_PAIR_RULES = (
    ("cax-sco", "sub_classes", "?c ?d", ("?s", _A, "?d"), ("?s", _A, "?c"), ""),
    ("prp-dom", "domains", "?q ?c", ("?s", _A, "?c"), ("?s", "?q", "?y"), ""),
    ("prp-rng", "ranges", "?q ?c", ("?y", _A, "?c"), ("?x", "?q", "?y"), _NOT_LITERAL),
    ("prp-spo1", "sub_properties", "?sub ?sup", ("?s", "?sup", "?o"), ("?s", "?sub", "?o"), ""),
    ("prp-inv", "inverses", "?q ?inv", ("?y", "?inv", "?x"), ("?x", "?q", "?y"), _NOT_LITERAL),
)


def derivation_rules(rules: Rules) -> list[Rule]:
    """The ontology's rules as heads and bodies: the one statement of them that both evaluations read."""
    out = [Rule(name, head, (premise,), f"VALUES ({names}) {{ {_values(getattr(rules, field))} }}", filters)
           for name, field, names, head, premise, filters in _PAIR_RULES if getattr(rules, field)]
    for prop in sorted(rules.transitive):
        p = f"<{prop}>"
        out.append(Rule(f"prp-trp {p}", ("?s", p, "?o"), (("?s", p, "?m"), ("?m", p, "?o")), closure=True))
    for prop, steps in rules.chains:
        body = tuple((f"?v{i}", f"<{step}>", f"?v{i + 1}") for i, step in enumerate(steps))
        out.append(Rule(f"prp-spo2 <{prop}>", ("?v0", f"<{prop}>", f"?v{len(steps)}"), body))
    return out


_DELTA = ox.NamedNode("urn:reekg:inference-delta")
_ASSERTED = ox.NamedNode("urn:reekg:inference-premises")


def rule_predicates(rules: Rules) -> set[str]:
    """Every property a rule reads or writes (``rdf:type`` included)."""
    props = {_TYPE.value, *rules.transitive}
    for pairs in (rules.domains, rules.ranges):
        props |= {p for p, _ in pairs}
    for pairs in (rules.sub_properties, rules.inverses):
        props |= {p for pair in pairs for p in pair}
    for prop, steps in rules.chains:
        props |= {prop, *steps}
    return props


def infer_into(store: ox.Store, rules: Rules, *, instance_prefix: str, graph: ox.NamedNode) -> int:
    """Add to ``graph`` in ``store`` every fact the rules derive from all graphs of ``store``, keeping only
    facts about IRIs under ``instance_prefix``. Returns the number of triples in ``graph``.

    The rules run in memory over a copy of the triples they read and write (every premise and conclusion
    predicate, so the closure is the same), to a fixpoint: each round sees the facts of the last. The first
    round reads everything; later rounds read, for one-premise rules, only the facts the round before added
    (semi-naive evaluation). Reasoning over an on-disk store directly was 2–3× slower (index reads through
    RocksDB), and copying only these predicates keeps memory below that of an in-memory copy of the store.
    """
    work = ox.Store()
    for prop in sorted(rule_predicates(rules)):
        work.bulk_extend(ox.Quad(q.subject, q.predicate, q.object, _ASSERTED)
                         for q in store.quads_for_pattern(None, ox.NamedNode(prop), None, None)
                         if q.graph_name != graph)
    compiled = derivation_rules(rules)
    delta = None
    for _ in range(_MAX_ROUNDS):
        found: list[ox.Quad] = []
        for rule in compiled:
            new = [ox.Quad(s, p, o, graph)
                   for s, p, o in work.query(rule.full_query(delta), use_default_graph_as_union=True)]
            work.extend(new)  # seen by the next rule already: fewer duplicates
            found.extend(new)
        if not found:
            break
        work.remove_graph(_DELTA)
        work.bulk_extend(ox.Quad(q.subject, q.predicate, q.object, _DELTA) for q in found)
        delta = _DELTA
    else:  # pragma: no cover - a fixpoint over finite data always comes; this guards a bug in the rules
        raise RuntimeError(f"inference did not reach a fixpoint in {_MAX_ROUNDS} rounds")
    inferred = [q for q in work.quads_for_pattern(None, None, None, graph)
                if isinstance(q.subject, ox.NamedNode) and q.subject.value.startswith(instance_prefix)]
    store.bulk_extend(inferred)
    return len(inferred)


def materialise(asserted: Iterable[Triple], ontology: Graph, *, instance_prefix: str) -> set[Triple]:
    """The triples the ontology's rules add about IRIs under ``instance_prefix`` to ``asserted`` (rdflib
    terms in and out; the store reasoner in between)."""
    store = ox.Store()
    asserted_graph, inferred_graph = ox.NamedNode("urn:reekg:asserted"), ox.NamedNode("urn:reekg:inferred")
    tbox_graph = ox.NamedNode("urn:reekg:tbox")
    store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), asserted_graph) for s, p, o in asserted)
    store.extend(ox.Quad(to_oxigraph(s), to_oxigraph(p), to_oxigraph(o), tbox_graph) for s, p, o in ontology)
    infer_into(store, compile_rules(ontology), instance_prefix=instance_prefix, graph=inferred_graph)
    return {(from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
            for q in store.quads_for_pattern(None, None, None, inferred_graph)}
