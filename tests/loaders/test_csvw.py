"""The CSVW mapper: typed literals, IRIs from templates, lists, graphs per source, and errors by place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rdflib import Literal, URIRef
from rdflib.namespace import RDF, RDFS, XSD

from reekg.errors import LoadError
from reekg.loaders.csvw import map_tables
from reekg.loaders.namespaces import Namespaces

ID = "https://w3id.org/reekg/id/"
R = "https://w3id.org/reekg/ontology#"

METADATA = {
    "@context": "http://www.w3.org/ns/csvw",
    "tables": [{
        "url": "mines.csv",
        "reekg:graphColumn": "source",
        "tableSchema": {
            "aboutUrl": "id:mine/{id}",
            "primaryKey": "id",
            "columns": [
                {"name": "id", "required": True, "datatype": {"base": "string", "format": "[a-z0-9-]+"}},
                {"name": "name", "lang": "en", "propertyUrl": "rdfs:label"},
                {"name": "country", "propertyUrl": "reekg:locatedIn", "valueUrl": "id:country/{country}"},
                {"name": "elements", "separator": " ", "propertyUrl": "reekg:producesElement",
                 "valueUrl": "id:element/{elements}"},
                {"name": "share", "datatype": {"base": "decimal", "minimum": 0, "maximum": 1},
                 "propertyUrl": "reekg:shareOfWorld"},
                {"name": "opened", "datatype": "date", "propertyUrl": "reekg:effectiveFrom"},
                {"name": "source", "separator": " ", "required": True, "propertyUrl": "prov:wasDerivedFrom",
                 "valueUrl": "id:source/{source}"},
                {"name": "type", "virtual": True, "propertyUrl": "rdf:type", "valueUrl": "reekg:Mine"},
            ],
        },
    }],
}

GOOD = (
    "id,name,country,elements,share,opened,source\n"
    "mountain-pass,Mountain Pass,US,Nd Pr,0.115,2024-01-31,usgs-mcs-2025 seed-article\n"
    "bayan-obo,Bayan Obo,CN,,,,usgs-mcs-2025\n"
)


def write(folder: Path, csv_text: str, metadata: dict = METADATA) -> Path:
    (folder / "tables.csv-metadata.json").write_text(json.dumps(metadata))
    (folder / "mines.csv").write_text(csv_text)
    return folder / "tables.csv-metadata.json"


def test_rows_become_typed_triples_in_the_graph_of_their_first_source(tmp_path):
    mapped = map_tables(write(tmp_path, GOOD), Namespaces())
    quads = set(mapped.quads)
    mine = URIRef(ID + "mine/mountain-pass")
    graph = URIRef("https://w3id.org/reekg/graph/source/usgs-mcs-2025")
    assert (mine, RDF.type, URIRef(R + "Mine"), graph) in quads
    assert (mine, RDFS.label, Literal("Mountain Pass", lang="en"), graph) in quads
    assert (mine, URIRef(R + "locatedIn"), URIRef(ID + "country/US"), graph) in quads
    assert {o for s, p, o, g in quads if s == mine and p == URIRef(R + "producesElement")} == {
        URIRef(ID + "element/Nd"), URIRef(ID + "element/Pr")}
    assert (mine, URIRef(R + "shareOfWorld"), Literal("0.115", datatype=XSD.decimal), graph) in quads
    assert (mine, URIRef(R + "effectiveFrom"), Literal("2024-01-31", datatype=XSD.date), graph) in quads
    sources = {o for s, p, o, g in quads if s == mine and str(p).endswith("wasDerivedFrom")}
    assert sources == {URIRef(ID + "source/usgs-mcs-2025"), URIRef(ID + "source/seed-article")}


def test_empty_cells_make_no_triples(tmp_path):
    mapped = map_tables(write(tmp_path, GOOD), Namespaces())
    bayan = URIRef(ID + "mine/bayan-obo")
    predicates = {p for s, p, o, g in mapped.quads if s == bayan}
    assert URIRef(R + "producesElement") not in predicates
    assert URIRef(R + "shareOfWorld") not in predicates


def test_origins_point_at_file_line_and_column(tmp_path):
    mapped = map_tables(write(tmp_path, GOOD), Namespaces())
    place = mapped.origins[(URIRef(ID + "mine/bayan-obo"), URIRef(R + "locatedIn"))]
    assert (place.line, place.field) == (3, "country")
    assert place.file.endswith("mines.csv")


def test_another_base_rebases_every_minted_iri(tmp_path):
    mapped = map_tables(write(tmp_path, GOOD), Namespaces("http://localhost:8080/"))
    iris = {str(t) for q in mapped.quads for t in q if isinstance(t, URIRef)}
    assert "http://localhost:8080/id/mine/mountain-pass" in iris
    assert "http://localhost:8080/ontology#Mine" in iris
    assert not any(i.startswith("https://w3id.org/reekg/") for i in iris)


def test_template_values_are_percent_encoded(tmp_path):
    csv_text = "id,name,country,elements,share,opened,source\nx,X,C N,,,,s\n"
    mapped = map_tables(write(tmp_path, csv_text), Namespaces())
    assert (URIRef(ID + "mine/x"), URIRef(R + "locatedIn"), URIRef(ID + "country/C%20N")) in {
        q[:3] for q in mapped.quads}


@pytest.mark.parametrize(("row", "field", "fragment"), [
    ("bad id,X,US,,,,s", "id", "does not match the pattern"),
    ("x,X,US,,1.5,,s", "share", "above the maximum 1"),
    ("x,X,US,,abc,,s", "share", "not a valid xsd:decimal"),
    ("x,X,US,,,2025-13-01,s", "opened", "month must be in 1..12"),
    ("x,X,US,,,5 May 2025,s", "opened", "YYYY-MM-DD"),
    ("x,X,US,,,,", "source", "a value is required"),
])
def test_bad_cells_are_reported_at_file_line_field(tmp_path, row, field, fragment):
    csv_text = "id,name,country,elements,share,opened,source\n" + GOOD.splitlines()[1] + "\n" + row + "\n"
    with pytest.raises(LoadError) as caught:
        map_tables(write(tmp_path, csv_text), Namespaces())
    [problem] = caught.value.problems
    assert str(problem.place) == f"mines.csv:3:{field}" or str(problem.place).endswith(f"mines.csv:3:{field}")
    assert fragment in problem.message


def test_duplicate_ids_and_wrong_headers_are_refused(tmp_path):
    with pytest.raises(LoadError, match="duplicate id 'mountain-pass'"):
        map_tables(write(tmp_path, GOOD + GOOD.splitlines()[1] + "\n"), Namespaces())
    with pytest.raises(LoadError, match="header does not match"):
        map_tables(write(tmp_path, GOOD.replace("country", "nation")), Namespaces())


def test_every_problem_is_reported_not_only_the_first(tmp_path):
    csv_text = "id,name,country,elements,share,opened,source\nx,X,US,,2,,s\ny,Y,US,,,1999-02-30,s\n"
    with pytest.raises(LoadError) as caught:
        map_tables(write(tmp_path, csv_text), Namespaces())
    assert [p.place.line for p in caught.value.problems] == [2, 3]


PARTS = {
    "@context": "http://www.w3.org/ns/csvw",
    "tables": [{
        "url": "mines.csv",
        "tableSchema": {
            "aboutUrl": "id:mine/{id}",
            "columns": [
                {"name": "id", "required": True},
                {"name": "owner", "propertyUrl": "reekg:operatedBy", "valueUrl": "id:company/{owner}"},
                {"name": "owner_name", "aboutUrl": "id:company/{owner}", "propertyUrl": "rdfs:label", "lang": "en"},
                {"name": "note", "suppressOutput": True, "propertyUrl": "rdfs:comment"},
                {"name": "plain"},
                {"name": "kind", "virtual": True, "propertyUrl": "rdf:type", "valueUrl": "reekg:{id}"},
            ],
        },
    }],
}


def test_a_row_maps_column_subjects_and_skips_suppressed_and_unmapped_columns(tmp_path):
    csv_text = "id,owner,owner_name,note,plain\nm1,acme,Acme,hidden,ignored\nm2,,Nobody,,\n"
    mapped = map_tables(write(tmp_path, csv_text, PARTS), Namespaces())
    ontology = Namespaces().ontology_graph
    m1, m2, acme = URIRef(ID + "mine/m1"), URIRef(ID + "mine/m2"), URIRef(ID + "company/acme")
    assert set(mapped.quads) == {
        (m1, URIRef(R + "operatedBy"), acme, ontology),
        (acme, RDFS.label, Literal("Acme", lang="en"), ontology),  # the column's own subject
        (m1, RDF.type, URIRef(R + "m1"), ontology),  # a virtual column's template reads the row's cells
        (m2, RDF.type, URIRef(R + "m2"), ontology),  # m2 has no owner: no subject for its owner_name
    }
    assert {s: (p.line, p.field) for s, p in mapped.subjects.items()} == {m1: (2, None), m2: (3, None)}
    assert {o: (p.line, p.field) for o, p in mapped.referrers.items()} == {acme: (2, "owner")}  # not virtual ones
    assert mapped.origins[(acme, RDFS.label)].field == "owner_name"


def test_a_row_without_a_source_is_refused_when_the_table_places_rows_by_source(tmp_path):
    metadata = json.loads(json.dumps(METADATA))
    source = next(c for c in metadata["tables"][0]["tableSchema"]["columns"] if c["name"] == "source")
    source["required"] = False
    with pytest.raises(LoadError) as refused:
        map_tables(write(tmp_path, "id,name,country,elements,share,opened,source\nx,X,US,,,,\n", metadata),
                   Namespaces())
    [problem] = refused.value.problems
    assert (problem.place.line, problem.place.field) == (2, "source")
    assert "a source is required to place the row's triples" in problem.message
