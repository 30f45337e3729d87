"""`reekg build` and `reekg validate` on the curated tables, and on broken copies of them."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pyoxigraph as ox
import pytest
from click.testing import CliRunner

from reekg.cli import main
from reekg.loaders.store import content_hash


def edit_cell(table: Path, row_id: str, column: str, value: str) -> int:
    """Set one cell of a copied table; return the file line of that row."""
    with table.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    key = fields[0]
    index = next(i for i, row in enumerate(rows) if row[key] == row_id)
    rows[index][column] = value
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return index + 2


def test_build_reports_what_it_loaded_and_where_the_store_lives_and_is_deterministic(curated_build, runner,
                                                                                    tmp_path):
    result = runner.invoke(main, ["--home", str(tmp_path), "build"])
    assert result.exit_code == 0, result.output
    assert "SHACL: conforms" in result.output
    assert f"store: {tmp_path}" in result.output
    assert "graph/source/usgs-mcs-2025" in result.output   # triples per source
    assert "RareEarthElement" in result.output             # instances per class
    manifest = json.loads((tmp_path / "current" / "build.json").read_text())
    assert manifest["instances_per_class"]["RareEarthElement"] == 17
    assert manifest["inferred"] > 0
    # the same tables in another home give the session build's content, quad for quad
    assert manifest["content_sha256"] == curated_build.manifest["content_sha256"]


BAD_CELLS = [
    # (table, row id, column, bad value, expected message fragment)
    ("observations.csv", None, "year", "20x4", "YYYY"),
    ("measures.csv", "mofcom-2025-18", "announced_on", "2025-04-31", "day is out of range"),
    ("observations.csv", None, "share_of_world", "1.2", "above the maximum 1"),
    ("mines.csv", "mountain-pass-mine", "country", "XX", ""),
]


@pytest.mark.parametrize(("table", "row_id", "column", "value", "fragment"), BAD_CELLS)
def test_bad_input_fails_naming_file_line_field_and_keeps_the_store(
        runner, tmp_path, tables, curated_home, table, row_id, column, value, fragment):
    home = tmp_path / "home"
    shutil.copytree(curated_home, home, symlinks=True)  # a home with a good build of these tables, not rebuilt
    assert (home / "current").resolve().is_relative_to(home)
    before = (home / "current").resolve()
    if row_id is None:
        with (tables / table).open(newline="", encoding="utf-8") as handle:
            row_id = next(csv.DictReader(handle))["id"]
    line = edit_cell(tables / table, row_id, column, value)
    result = runner.invoke(main, ["--home", str(home), "--data-dir", str(tables), "build"])
    assert result.exit_code == 1
    assert f"{table}:{line}:{column}" in result.output
    assert fragment in result.output
    assert (home / "current").resolve() == before


def test_validate_names_the_place_and_exits_1(runner, tables):
    line = edit_cell(tables / "mines.csv", "mountain-pass-mine", "country", "XX")
    result = runner.invoke(main, ["validate", str(tables)])
    assert result.exit_code == 1
    assert f"mines.csv:{line}:country" in result.output


def test_validate_accepts_the_curated_tables(runner, tables):
    result = runner.invoke(main, ["validate", str(tables)])
    assert result.exit_code == 0, result.output
    assert "SHACL: conforms" in result.output


def test_a_turtle_syntax_error_in_a_partner_file_names_its_line(runner, tmp_path):
    partner = tmp_path / "partner.ttl"
    partner.write_text("@prefix ex: <http://example.org/> .\nex:a ex:b ex:c .\nex:a ex:b .\n")
    result = runner.invoke(main, ["--home", str(tmp_path / "home"), "build", "--add", str(partner)])
    assert result.exit_code == 1
    assert f"{partner}:3" in result.output
    assert not (tmp_path / "home" / "current").exists()


def test_partner_rdf_is_validated_with_the_tables(runner, tmp_path):
    partner = tmp_path / "partner.ttl"
    partner.write_text(
        "@prefix reekg: <https://w3id.org/reekg/ontology#> .\n"
        "<https://w3id.org/reekg/id/mine/partner-mine> a reekg:Mine ;\n"
        "  reekg:locatedIn <https://w3id.org/reekg/id/country/ZZ> .\n")
    result = runner.invoke(main, ["validate", str(partner)])
    assert result.exit_code == 1
    assert "partner-mine" in result.output


PARTNER_BODIES = {
    ".nt": '<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> "partner" .\n',
    ".nq": '<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> "partner" '
           '<http://example.org/g> .\n',
    ".jsonld": '{"@id": "https://w3id.org/reekg/id/element/Nd",'
               ' "http://www.w3.org/2000/01/rdf-schema#comment": "partner"}',
    ".rdf": '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
            ' xmlns:rdfs="http://www.w3.org/2000/01/rdf-schema#">'
            '<rdf:Description rdf:about="https://w3id.org/reekg/id/element/Nd">'
            '<rdfs:comment>partner</rdfs:comment></rdf:Description></rdf:RDF>',
}


@pytest.fixture(scope="module")
def partner_graphs(tmp_path_factory) -> str:
    """One build with a partner file in every format (partner-nt.nt, partner-nq.nq, …): the graphs that hold
    the partner's comment, as `reekg query` prints them."""
    work = tmp_path_factory.mktemp("partners")
    adds = []
    for suffix, body in PARTNER_BODIES.items():
        partner = work / f"partner-{suffix[1:]}{suffix}"
        partner.write_text(body)
        adds += ["--add", str(partner)]
    runner, home = CliRunner(), work / "home"
    result = runner.invoke(main, ["--home", str(home), "build", *adds])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--home", str(home), "query", "--format", "csv",
                                  "SELECT ?g WHERE { GRAPH ?g { element:Nd rdfs:comment 'partner' } }"])
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("suffix", list(PARTNER_BODIES))
def test_partner_files_in_every_format_load(partner_graphs, suffix):
    """Each file's triples land in the partner graph named after the file (the .nq's own graph name too)."""
    assert f"graph/partner/partner-{suffix[1:]}\n" in partner_graphs.replace("\r\n", "\n")


def test_a_rebuild_keeps_partner_graphs_unless_told_to_drop_them(runner, tmp_path):
    partner = tmp_path / "partner.ttl"
    partner.write_text('<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> '
                       '"from a partner" .\n')
    home = str(tmp_path / "home")
    ask = ["--home", home, "query", "--format", "csv",
           "SELECT ?c WHERE { GRAPH ?g { element:Nd rdfs:comment ?c } FILTER(STRENDS(STR(?g), '/partner')) }"]
    assert runner.invoke(main, ["--home", home, "build", "--add", str(partner)]).exit_code == 0
    assert runner.invoke(main, ["--home", home, "build"]).exit_code == 0          # no --add this time
    assert "from a partner" in runner.invoke(main, ask).output
    partner.write_text('<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> '
                       '"second version" .\n')
    assert runner.invoke(main, ["--home", home, "build", "--add", str(partner)]).exit_code == 0
    output = runner.invoke(main, ask).output
    assert "second version" in output and "from a partner" not in output        # re-added file replaces
    assert runner.invoke(main, ["--home", home, "build", "--drop-partner-graphs"]).exit_code == 0
    assert "second version" not in runner.invoke(main, ask).output



@pytest.mark.parametrize(("fmt", "fragment"), [("ttl", "element:Nd"), ("nt", "<https://w3id.org/reekg/id/element/Nd>")])
def test_query_prints_construct_results_as_rdf(runner, curated_home, fmt, fragment):
    result = runner.invoke(main, ["--home", str(curated_home), "query", "--format", fmt,
                                  "CONSTRUCT { ?e rdfs:label ?l } WHERE { ?e reekg:symbol 'Nd' ; rdfs:label ?l }"])
    assert result.exit_code == 0, result.output
    assert fragment in result.output and "釹" in result.output


def test_the_manifest_hash_is_the_hash_of_the_quads_the_store_serves(curated_build):
    store = ox.Store.read_only(str(curated_build.store_path))
    quads = list(store)
    assert curated_build.manifest["quads"] == len(quads)
    assert content_hash(quads) == curated_build.manifest["content_sha256"]
    assert content_hash(reversed(quads)) == content_hash(quads)  # order-free: a remote store's order will do
    assert content_hash(quads[1:]) != content_hash(quads)


def test_blank_nodes_of_a_partner_file_get_the_same_names_in_every_build(runner, tmp_path):
    partner = tmp_path / "partner.ttl"
    partner.write_text('<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#seeAlso> '
                       '[ <http://www.w3.org/2000/01/rdf-schema#comment> "a note" ] .\n')
    hashes = set()
    for run in ("a", "b"):
        result = runner.invoke(main, ["--home", str(tmp_path / run), "build", "--json", "--add", str(partner)])
        assert result.exit_code == 0, result.output
        hashes.add(json.loads(result.output)["content_sha256"])
    assert len(hashes) == 1


def test_a_syntax_error_deep_in_a_large_partner_file_leaves_no_half_built_store(runner, tmp_path, curated_home):
    partner = tmp_path / "big.nt"
    good = '<https://w3id.org/reekg/id/element/Nd> <http://www.w3.org/2000/01/rdf-schema#comment> "n{}" .\n'
    lines = [good.format(i) for i in range(250_000)]  # more than one batch reaches the store before the error
    lines.append("<https://w3id.org/reekg/id/element/Nd> <oops .\n")
    partner.write_text("".join(lines))
    home = tmp_path / "home"
    shutil.copytree(curated_home, home, symlinks=True)  # a home with one good build, not rebuilt here
    before = (home / "current").resolve()
    assert [p.name for p in (home / "stores").iterdir()] == [before.name]
    result = runner.invoke(main, ["--home", str(home), "build", "--add", str(partner)])
    assert result.exit_code == 1
    assert f"{partner}:250001" in result.output
    assert (home / "current").resolve() == before
    assert not any((home / ".building").iterdir())   # the scratch store is gone
    assert [p.name for p in (home / "stores").iterdir()] == [before.name]
