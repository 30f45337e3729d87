"""Fixtures of the entity-browser tests (the curated `app` and `client` come from tests/conftest.py): an app
over a small store of our own whose sites we choose (with and without a sourced position)."""

from __future__ import annotations

import pyoxigraph as ox
import pytest
from browsekit import BROWSER  # noqa: F401 (the tests import it from here too)

from reekg.server.app import create_app

SMALL = """
@prefix reekg: <https://w3id.org/reekg/ontology#> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix schema: <https://schema.org/> .
@prefix prov: <http://www.w3.org/ns/prov#> .
@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .
@prefix id: <https://w3id.org/reekg/id/> .
<https://w3id.org/reekg/id/mine/placed-mine> a reekg:Mine, reekg:SupplySite ;
  rdfs:label "Placed Mine"@en, "有位礦"@zh-Hant ;
  reekg:locatedIn <https://w3id.org/reekg/id/country/AU> ;
  reekg:confidence <https://w3id.org/reekg/id/confidence/verified> ;
  reekg:hasStatusObservation <https://w3id.org/reekg/id/site-status-observation/placed-old>,
                             <https://w3id.org/reekg/id/site-status-observation/placed-new> ;
  reekg:hasCoordinates <https://w3id.org/reekg/id/coordinates/placed-mine> .
<https://w3id.org/reekg/id/site-status-observation/placed-old> a reekg:SiteStatusObservation ;
  reekg:reportedStatus <https://w3id.org/reekg/id/site-status/development> ; reekg:asOfEnd "2020-12-31"^^xsd:date .
<https://w3id.org/reekg/id/site-status-observation/placed-new> a reekg:SiteStatusObservation ;
  reekg:reportedStatus <https://w3id.org/reekg/id/site-status/operating> ; reekg:asOfEnd "2025-06-30"^^xsd:date .
<https://w3id.org/reekg/id/coordinates/placed-mine> a reekg:SiteCoordinates ;
  schema:latitude "-28.5"^^xsd:decimal ; schema:longitude "122.25"^^xsd:decimal ;
  reekg:coordinatePrecision "the pit's centre, as the operator's map shows it" ;
  prov:wasDerivedFrom <https://w3id.org/reekg/id/source/operator-map> ;
  reekg:confidence <https://w3id.org/reekg/id/confidence/secondary> .
<https://w3id.org/reekg/id/mine/unplaced-mine> a reekg:Mine, reekg:SupplySite ; rdfs:label "Unplaced Mine"@en ;
  reekg:locatedIn <https://w3id.org/reekg/id/country/GL> .
<https://w3id.org/reekg/id/facility/some-plant> a reekg:Facility, reekg:SupplySite ; rdfs:label "Some Plant"@en ;
  reekg:atStage <https://w3id.org/reekg/id/stage/separation>, <https://w3id.org/reekg/id/stage/magnet-making> ;
  reekg:locatedIn <https://w3id.org/reekg/id/country/AU> .
<https://w3id.org/reekg/id/country/AU> a reekg:Country ; rdfs:label "Australia"@en .
<https://w3id.org/reekg/id/country/GL> a reekg:Country ; rdfs:label "Greenland"@en .
<https://w3id.org/reekg/id/site-status/operating> rdfs:label "operating"@en .
<https://w3id.org/reekg/id/stage/separation> rdfs:label "separation"@en .
"""


@pytest.fixture(scope="session")
def small_app(tmp_path_factory):
    store = ox.Store()
    store.load(SMALL.encode("utf-8"), format=ox.RdfFormat.TURTLE,
               to_graph=ox.NamedNode("https://w3id.org/reekg/graph/source/test"))
    return create_app({"home": str(tmp_path_factory.mktemp("small-home"))}, store=store)


@pytest.fixture
def small(small_app):
    return small_app.test_client()
