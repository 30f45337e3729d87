"""SHACL Core compiled to SPARQL (loaders/validation/core_sparql.py) reports what pySHACL reports, on the corners
where the two could differ: subclasses, literals for sh:class, ill-typed literals, regex ends, blank nodes,
every kind of target, deactivated shapes and shapes without a message."""

from __future__ import annotations

from rdflib import Graph
from rdflib.namespace import SH

from reekg.loaders.validation import validate
from reekg.loaders.validation.core_sparql import compile_core
from tests.loaders.test_shacl_sparql import nowhere, results

PREFIXES = """
@prefix sh: <http://www.w3.org/ns/shacl#> . @prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> . @prefix ex: <urn:ex:> .
"""

SHAPES = PREFIXES + """
ex:ThingShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:nodeKind sh:IRI ; sh:pattern "^urn:ex:t[0-9]+$" ;
    sh:message "a thing" ; sh:property ex:Thing-kind , ex:Thing-size , ex:Thing-code , ex:Thing-colour .
ex:Thing-kind sh:path ex:kind ; sh:class ex:Kind ; sh:minCount 1 ; sh:maxCount 1 ; sh:message "one kind" .
ex:Thing-size sh:path ex:size ; sh:datatype xsd:decimal ; sh:maxCount 2 ; sh:severity sh:Warning ;
    sh:message "size"@en , "size (fr)"@fr .
ex:Thing-code sh:path ex:code ; sh:datatype xsd:string ; sh:pattern "^[A-Z]{2}$" ; sh:message "code" .
ex:Thing-colour sh:path ex:colour ; sh:in ( "red" ex:blue ) ; sh:message "colour" .
ex:NodeShape a sh:NodeShape ; sh:targetNode ex:t1 , ex:absent ; sh:property ex:Node-kind .
ex:Node-kind sh:path ex:kind ; sh:minCount 1 ; sh:message "a target node has a kind" .
ex:SubjectsShape a sh:NodeShape ; sh:targetSubjectsOf ex:size ; sh:property ex:Subjects-code .
ex:Subjects-code sh:path ex:code ; sh:minCount 1 ; sh:message "sized things have a code" .
ex:ObjectsShape a sh:NodeShape ; sh:targetObjectsOf ex:kind ; sh:class ex:Kind ; sh:message "kinds are Kinds" .
ex:OffShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:deactivated true ;
    sh:property [ sh:path ex:kind ; sh:maxCount 0 ; sh:message "off" ] .
ex:SilentShape a sh:NodeShape ; sh:targetClass ex:Thing ; sh:property [ sh:path ex:code ; sh:maxCount 0 ] .
"""

DATA = PREFIXES + """
ex:SubKind rdfs:subClassOf ex:Kind .
ex:t1 a ex:Thing ; ex:kind ex:k1 ; ex:size "1.5"^^xsd:decimal ; ex:code "AB" ; ex:colour "red" .
ex:t2 a ex:Thing ; ex:kind ex:k2 , ex:k3 ; ex:size "big"^^xsd:decimal , 3 , "2.0"^^xsd:decimal ;
    ex:code "AB\\n" , "ab"@en , _:b ; ex:colour "Red" , ex:blue , ex:green .
ex:t3 a ex:Thing ; ex:kind "literal kind" .
ex:x9 a ex:Thing ; ex:kind [ a ex:Kind ] .
ex:k1 a ex:SubKind . ex:k2 a ex:Kind .
"""


def test_compiled_core_gives_the_same_report_as_pyshacl_on_its_corners():
    shapes, data = Graph().parse(data=SHAPES, format="turtle"), Graph().parse(data=DATA, format="turtle")
    reference = validate(data, shapes, nowhere, engine="pyshacl")
    hybrid = validate(data, shapes, nowhere)
    assert results(hybrid) == results(reference)
    assert hybrid.problems == reference.problems
    assert len(reference.problems) >= 15  # every corner above fires in the reference


def test_what_is_compiled_and_what_stays_with_pyshacl():
    shapes = Graph().parse(data=SHAPES, format="turtle")
    core, checks = compile_core(shapes)
    compiled = {(str(c.shape).rsplit(":", 1)[-1], str(c.component).rsplit("#", 1)[-1]) for c in checks}
    assert ("Thing-kind", "ClassConstraintComponent") in compiled
    assert ("Thing-size", "DatatypeConstraintComponent") in compiled
    assert ("ThingShape", "PatternConstraintComponent") in compiled
    assert ("ObjectsShape", "ClassConstraintComponent") in compiled
    assert not any(s.startswith(("Off", "Silent")) for s, _ in compiled)
    # the deactivated and the message-less shapes keep their constraints for pySHACL
    assert len(list(core.triples((None, SH.maxCount, None)))) == 2
    assert not list(core.triples((None, SH["class"], None)))
