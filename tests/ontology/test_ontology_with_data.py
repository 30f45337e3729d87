"""The ontology together with the curated data: HermiT and the CLI's QC agree it is consistent."""

from __future__ import annotations

import re

from rdflib import URIRef

from reekg.cli import main
from reekg.ontology.hermit import check_consistency

R = "https://w3id.org/reekg/ontology#"
ID = "https://w3id.org/reekg/id/"


def test_ontology_plus_curated_data_is_consistent_and_has_no_unsatisfiable_class(curated_dataset):
    report = check_consistency(curated_dataset)
    assert report.consistent, report.message
    assert report.unsatisfiable == ()


def test_hermit_on_the_data_finds_the_contradiction_a_bad_row_would_bring(curated_dataset):
    broken = curated_dataset.__class__()
    for triple in curated_dataset:
        broken.add(triple)
    # Neodymium typed as a material too: ChemicalElement and Material are disjoint.
    broken.add((URIRef(ID + "element/Nd"), URIRef("http://www.w3.org/1999/02/22-rdf-syntax-ns#type"),
                URIRef(R + "Material")))
    assert not check_consistency(broken).consistent


def test_check_ontology_command_passes_on_the_curated_data(runner):
    result = runner.invoke(main, ["check-ontology"])
    assert result.exit_code == 0, result.output
    assert "consistent; 0 unsatisfiable" in result.output
    assert re.search(r"QC: [1-9]\d* queries, 0 with rows", result.output)
