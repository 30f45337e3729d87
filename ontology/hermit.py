"""Consistency checks with HermiT (an OWL 2 DL reasoner) through owlready2.

owlready2's bundled Pellet does not run on Java 17, so this uses ``sync_reasoner_hermit``. Each call starts a
JVM (about half a second), so batch what you check into one graph. The graph goes to HermiT as N-Triples in a
fresh owlready2 :class:`~owlready2.World`, never the default world, so calls do not leak into each other.
"""

from __future__ import annotations

import os
import tempfile
import time
from dataclasses import dataclass

import owlready2
from rdflib import Graph, URIRef

__all__ = ["ConsistencyReport", "ReasonerError", "check_consistency"]

# owlready2 writes what HermiT infers into this ontology (its spelling).
_INFERENCES_ONTOLOGY = "http://inferrences/"
_OWL_NOTHING = "http://www.w3.org/2002/07/owl#Nothing"


class ReasonerError(RuntimeError):
    """HermiT could not run or could not read the input (not the same as an inconsistent ontology)."""


@dataclass(frozen=True)
class ConsistencyReport:
    """What HermiT found.

    ``consistent``: whether the whole graph (TBox and any individuals) has a model. ``unsatisfiable``: IRIs of
    named classes that can have no instance, sorted. ``message``: the reasoner's output when inconsistent.
    ``inferred``: with ``infer_property_values=True``, the object-property assertions HermiT added, as
    (subject, property, object) IRIs. ``seconds``: wall time of the reasoner call.
    """

    consistent: bool
    unsatisfiable: tuple[str, ...] = ()
    message: str | None = None
    inferred: frozenset[tuple[str, str, str]] = frozenset()
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Consistent and without unsatisfiable classes."""
        return self.consistent and not self.unsatisfiable


def check_consistency(graph: Graph, *, infer_property_values: bool = False) -> ConsistencyReport:
    """Run HermiT on ``graph`` and report consistency and unsatisfiable classes.

    Datatypes outside the OWL 2 datatype map (``xsd:gYear``, ``xsd:date``, both used by the model) are
    passed over rather than rejected (HermiT's ``--ignoreUnsupportedDatatypes``); SHACL checks their values.
    Raises :class:`ReasonerError` if Java or HermiT fails for another reason.
    """
    world = owlready2.World()
    try:
        with tempfile.TemporaryDirectory(prefix="reekg-hermit-") as folder:
            path = os.path.join(folder, "input.nt")
            graph.serialize(destination=path, format="nt", encoding="utf-8")
            with open(path, "rb") as handle:  # owlready2 closes it after parsing
                world.get_ontology("https://w3id.org/reekg/ontology").load(fileobj=handle, format="ntriples")
        started = time.perf_counter()
        try:
            owlready2.sync_reasoner_hermit(
                world, infer_property_values=infer_property_values, debug=0, ignore_unsupported_datatypes=True,
            )
        except owlready2.OwlReadyInconsistentOntologyError as error:
            # owlready2 raises this inside its handler for HermiT's exit status; the output is on the cause.
            output = (getattr(error.__context__, "output", b"") or b"").decode("utf-8", errors="replace")
            lines = [line.strip() for line in output.splitlines() if line.strip() and not line.startswith("\tat ")]
            message = "\n".join(lines) or "HermiT: inconsistent ontology"
            return ConsistencyReport(False, message=message, seconds=time.perf_counter() - started)
        except owlready2.OwlReadyJavaError as error:
            raise ReasonerError(str(error)) from error
        seconds = time.perf_counter() - started
        unsatisfiable = tuple(sorted({cls.iri for cls in world.inconsistent_classes()} - {_OWL_NOTHING}))
        inferred = _inferred_property_values(world) if infer_property_values else frozenset()
        return ConsistencyReport(True, unsatisfiable, None, inferred, seconds)
    finally:
        world.close()


def _inferred_property_values(world: owlready2.World) -> frozenset[tuple[str, str, str]]:
    """Object-property assertions between named individuals that HermiT added."""
    inferences = world.get_ontology(_INFERENCES_ONTOLOGY)
    rdf = world.as_rdflib_graph()
    found = set()
    for s, p, o in rdf.get_context(URIRef(inferences.base_iri)).triples((None, None, None)):
        if isinstance(s, URIRef) and isinstance(o, URIRef) and isinstance(world[str(p)],
                                                                          owlready2.ObjectPropertyClass):
            found.add((str(s), str(p), str(o)))
    return frozenset(found)
