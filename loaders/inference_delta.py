"""The inferred graph after a small write, without recomputing it (issue 13): DRed for what the write removed,
semi-naive evaluation for what it added.

The rules are those the full run evaluates, declared once in :func:`~.inference.derivation_rules` as Datalog
rules (a head and a body of triple patterns); here each is evaluated with one premise bound to a set of facts (a
``VALUES`` block of N-Triples terms) and the others read from the store:

1. *over-delete* (DRed, Gupta, Mumick and Subrahmanian 1993): every inferred fact with a derivation that uses a
   removed fact, transitively; the other premises read the graph before the write (the store, plus the removed
   asserted facts put back in a scratch graph for the time of this step);
2. delete those from the inferred graph, and the facts the write now asserts (the inferred graph never holds an
   asserted fact);
3. *re-derive*: the over-deleted facts that still follow in one step from what is left;
4. *insert*: from the new asserted facts and the re-derived ones, new conclusions round by round (semi-naive),
   until none is new.

This equals :func:`~.inference.infer_into` run from scratch (``tests/loaders/test_inference_delta.py`` checks it
on random deltas over the curated graph) when every property fact the property rules read or write has an
instance IRI (under ``instance_prefix``) as subject and an instance IRI or a literal as object
(:func:`instances_only`). The full reasoner keeps only facts about instances but reasons over all, so without that
condition a fact it drops (about a blank node, say) could support one it keeps, and the store would not hold the
premise a delta step needs. Types of other nodes are dropped alike, but they only ever lead to more such types.
:func:`infer_change` answers None when the condition, or a delta it can bind (no blank nodes, at most
:data:`MAX_DELTA` facts), does not hold: the caller then reasons from scratch.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import pyoxigraph as ox

from .inference import Pattern, Rule, Rules, derivation_rules, rule_predicates, triple_pattern

# Above this many changed premise facts a write reasons from scratch (the VALUES blocks would be huge).
MAX_DELTA = 20_000
_REMOVED = ox.NamedNode("urn:reekg:inference-removed")

def rule_properties(rules: Rules) -> set[str]:
    """The properties the property rules (sub-property, inverse, transitive, chain) read or write."""
    props = {p for pair in rules.sub_properties | rules.inverses for p in pair} | set(rules.transitive)
    for prop, steps in rules.chains:
        props |= {prop, *steps}
    return props


# --- binding patterns to facts ----------------------------------------------------------------------------

def _bind(pattern: Pattern, facts: Iterable[ox.Triple]) -> str | None:
    """A VALUES block binding ``pattern``'s variables to the facts that match its constants (None: none do)."""
    positions = [i for i, term in enumerate(pattern) if term.startswith("?")]
    rows = set()
    for fact in facts:
        terms = (fact.subject, fact.predicate, fact.object)
        if all(str(terms[i]) == pattern[i] for i in range(3) if i not in positions):
            rows.add("(" + " ".join(str(terms[i]) for i in positions) + ")")
    if not rows:
        return None
    return f"VALUES ({' '.join(pattern[i] for i in positions)}) {{ {' '.join(sorted(rows))} }}"


def _query(rule: Rule, values: str, premises: Iterable[Pattern], tail: str) -> str:
    """``tail`` is a condition on the head, with ``{head}`` where its triple pattern goes."""
    body = " ".join(triple_pattern(p) for p in premises)
    condition = tail.replace("{head}", " ".join(rule.head))
    return f"{rule.select()} WHERE {{ {values} {rule.axioms} {body} {rule.filters} {condition} }}"


def _run(store: ox.Store, query: str) -> set[ox.Triple]:
    return {ox.Triple(row[0], row[1], row[2]) for row in store.query(query, use_default_graph_as_union=True)}


def _consequences(store: ox.Store, rules: list[Rule], facts: set[ox.Triple], tail: str) -> set[ox.Triple]:
    """The heads of every rule with one premise among ``facts`` and the others in the store, where ``tail`` holds."""
    found: set[ox.Triple] = set()
    for rule in rules:
        for i, premise in enumerate(rule.body):
            values = _bind(premise, facts)
            if values is not None:
                found |= _run(store, _query(rule, values, rule.body[:i] + rule.body[i + 1:], tail))
    return found


def _derivable(store: ox.Store, rules: list[Rule], candidates: set[ox.Triple]) -> set[ox.Triple]:
    """The ``candidates`` that follow in one step from the store."""
    found: set[ox.Triple] = set()
    for rule in rules:
        values = _bind(rule.head, candidates)
        if values is not None:
            found |= _run(store, _query(rule, values, rule.body, ""))
    return found & candidates


# --- the change ----------------------------------------------------------------------------------------------

@dataclass
class InferenceChange:
    """The quads the write added to and removed from the inferred graph (already applied to the store)."""

    added: set[ox.Quad]
    removed: set[ox.Quad]


def _is_instance(term: ox.NamedNode | ox.BlankNode | ox.Literal, prefix: str) -> bool:
    return isinstance(term, ox.NamedNode) and term.value.startswith(prefix)


def instances_only(store: ox.Store, rules: Rules, *, instance_prefix: str, graph: ox.NamedNode) -> bool:
    """Whether every asserted fact of a property rule's properties links an instance to an instance or a
    literal (the condition under which :func:`infer_change` is exact; see the module docstring)."""
    props = " ".join(f"<{p}>" for p in sorted(rule_properties(rules)))
    if not props:
        return True
    prefix = ox.Literal(instance_prefix)
    return not store.query(
        f"ASK {{ VALUES ?p {{ {props} }} GRAPH ?g {{ ?x ?p ?y }} FILTER(?g != {graph}) "
        f"FILTER(!STRSTARTS(STR(?x), {prefix}) || (!isLiteral(?y) && !STRSTARTS(STR(?y), {prefix}))) }}")


def delta_keeps_instances_only(added: Iterable[ox.Triple], rules: Rules, *, instance_prefix: str) -> bool:
    """Whether asserting ``added`` keeps :func:`instances_only` true."""
    props = rule_properties(rules)
    return all(_is_instance(t.subject, instance_prefix)
               and (isinstance(t.object, ox.Literal) or _is_instance(t.object, instance_prefix))
               for t in added if t.predicate.value in props)


def _asserted(store: ox.Store, fact: ox.Triple, graph: ox.NamedNode) -> bool:
    return any(q.graph_name != graph
               for q in store.quads_for_pattern(fact.subject, fact.predicate, fact.object, None))


def infer_change(store: ox.Store, rules: Rules, *, instance_prefix: str, graph: ox.NamedNode,
                 added: set[ox.Triple], removed: set[ox.Triple]) -> InferenceChange | None:
    """Bring ``graph`` up to date in ``store`` after a write that asserted ``added`` and retracted ``removed``
    (triples no longer asserted in any other graph; the store already holds the write). None, with nothing
    changed, when the delta cannot be reasoned incrementally (see the module docstring)."""
    read = rule_predicates(rules)
    added = {t for t in added if t.predicate.value in read}
    removed = {t for t in removed if t.predicate.value in read}
    facts = added | removed
    if len(facts) > MAX_DELTA or any(isinstance(t.subject, ox.BlankNode) or isinstance(t.object, ox.BlankNode)
                                     for t in facts):
        return None
    if not delta_keeps_instances_only(added, rules, instance_prefix=instance_prefix):
        return None
    compiled = derivation_rules(rules)
    change = InferenceChange(set(), set())
    overdeleted = _overdelete(store, compiled, removed, graph)
    now_asserted = {t for t in added if _in_graph(store, t, graph)}
    for fact in overdeleted | now_asserted:
        quad = ox.Quad(fact.subject, fact.predicate, fact.object, graph)
        if quad in store:
            store.remove(quad)
            change.removed.add(quad)
    rederived = {t for t in _derivable(store, compiled, overdeleted) if not _asserted(store, t, graph)}
    _insert(store, compiled, rederived, added, graph, instance_prefix, change)
    both = change.added & change.removed  # removed, then derived again: no change
    change.added -= both
    change.removed -= both
    return change


def _in_graph(store: ox.Store, fact: ox.Triple, graph: ox.NamedNode) -> bool:
    return ox.Quad(fact.subject, fact.predicate, fact.object, graph) in store


def _overdelete(store: ox.Store, rules: list[Rule], removed: set[ox.Triple],
                graph: ox.NamedNode) -> set[ox.Triple]:
    """Step 1: the removed facts and every inferred fact with a derivation through one of them."""
    if not removed:
        return set()
    store.extend(ox.Quad(t.subject, t.predicate, t.object, _REMOVED) for t in removed)  # the graph before
    try:
        overdeleted, frontier = set(removed), set(removed)
        while frontier:
            frontier = _consequences(store, rules, frontier, f"GRAPH {graph} {{{{head}}}}") - overdeleted
            overdeleted |= frontier
    finally:
        store.remove_graph(_REMOVED)
    return overdeleted


def _insert(store: ox.Store, rules: list[Rule], rederived: set[ox.Triple], added: set[ox.Triple],
            graph: ox.NamedNode, instance_prefix: str, change: InferenceChange) -> None:
    """Steps 3 and 4: the re-derived facts back in, then every new conclusion of them and of the added facts,
    round by round (semi-naive), kept when about an instance."""
    delta, new = set(added), rederived
    while new or delta:
        kept = {ox.Quad(t.subject, t.predicate, t.object, graph) for t in new
                if _is_instance(t.subject, instance_prefix)}
        store.extend(kept)
        change.added |= kept
        delta |= {q.triple for q in kept}
        if not delta:
            return
        new, delta = _consequences(store, rules, delta, "FILTER NOT EXISTS { {head} }"), set()


def asserted_delta(store: ox.Store, added: Iterable[ox.Quad], removed: Iterable[ox.Quad],
                   graph: ox.NamedNode) -> tuple[set[ox.Triple], set[ox.Triple]]:
    """The triples a write newly asserts and those no graph but ``graph`` asserts any more, from the quads it
    added and removed (``store`` holds the write: a triple may stay asserted in another graph)."""
    gained: dict[ox.Triple, set] = {}
    lost: dict[ox.Triple, set] = {}
    for quads, into in ((added, gained), (removed, lost)):
        for q in quads:
            if q.graph_name != graph:
                into.setdefault(q.triple, set()).add(q.graph_name)
    new, gone = set(), set()
    for fact in gained.keys() | lost.keys():
        now = {q.graph_name for q in store.quads_for_pattern(fact.subject, fact.predicate, fact.object, None)
               if q.graph_name != graph}
        before = (now - gained.get(fact, set())) | lost.get(fact, set())
        if now and not before:
            new.add(fact)
        elif before and not now:
            gone.add(fact)
    return new, gone
