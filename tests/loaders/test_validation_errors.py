"""A partner file with a wrong-datatype literal is reported as `file:line: message` with exit 1, never a
traceback (issue 10, item 5): `reekg validate`, `reekg build --add` (full and incremental validation), and the
line finder and ordering underneath."""

from __future__ import annotations

from pathlib import Path

import pytest
from rdflib import Graph, Literal, URIRef
from rdflib.namespace import SH, XSD

from reekg.cli import main
from reekg.loaders.problems import Place
from reekg.loaders.validation import line_of, report_from_results

BASE = "https://w3id.org/reekg/"
ND = URIRef(BASE + "id/element/Nd")
ATOMIC_NUMBER = URIRef(BASE + "ontology#atomicNumber")
BAD = """\
@prefix el: <https://w3id.org/reekg/id/element/> .
@prefix reekg: <https://w3id.org/reekg/ontology#> .

el:Nd reekg:atomicNumber "sixty" .
"""


@pytest.fixture
def bad_file(tmp_path) -> Path:
    path = tmp_path / "bad.ttl"
    path.write_text(BAD, encoding="utf-8")
    return path


def _problem_lines(output: str, path: Path) -> list[str]:
    return [line.strip() for line in output.splitlines() if f"{path}:" in line]


def test_validate_reports_the_partner_file_line_and_exits_1(runner, tmp_path, bad_file):
    result = runner.invoke(main, ["--home", str(tmp_path / "home"), "validate", str(bad_file)])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, TypeError) and "Traceback" not in result.output
    lines = _problem_lines(result.output, bad_file)
    assert lines and all(line.split(": ", 1)[1].startswith(f"{bad_file}:4:") for line in lines), result.output
    assert any('value "sixty"' in line for line in lines)


@pytest.mark.parametrize("validation", ["full", "incremental"])
def test_build_add_reports_the_partner_file_line_and_exits_1(runner, tmp_path, bad_file, validation):
    home = tmp_path / "home"
    result = runner.invoke(main, ["--home", str(home), "build", "--add", str(bad_file), "--validate", validation])
    assert result.exit_code == 1, result.output
    assert not isinstance(result.exception, TypeError) and "Traceback" not in result.output
    lines = _problem_lines(result.output, bad_file)
    assert lines and all(line.startswith(f"{bad_file}:4:reekg:atomicNumber: ") for line in lines), result.output
    assert not (home / "current").exists()  # nothing was published


def test_line_of_finds_the_statement_in_turtle(tmp_path):
    path = tmp_path / "p.ttl"
    path.write_text("""\
@prefix el: <https://w3id.org/reekg/id/element/> .
PREFIX reekg: <https://w3id.org/reekg/ontology#>
# el:Nd reekg:atomicNumber "sixty" (a comment, line 3)
<https://w3id.org/reekg/id/element/Dy> reekg:related el:Nd .
el:Nd a reekg:ChemicalElement ;
    reekg:symbol "Nd" ;
    reekg:atomicNumber "sixty" .
el:Tb reekg:atomicNumber 65 .
""", encoding="utf-8")
    assert line_of(path, ND, ATOMIC_NUMBER, Literal("sixty")) == 7
    assert line_of(path, ND, URIRef(BASE + "ontology#symbol")) == 6
    assert line_of(path, URIRef(BASE + "id/element/Tb"), ATOMIC_NUMBER, Literal(65)) == 8
    assert line_of(path, URIRef(BASE + "id/element/Dy")) == 4
    assert line_of(path, URIRef(BASE + "id/element/Ho")) is None
    assert line_of(tmp_path / "missing.ttl", ND) is None


def test_line_of_in_ntriples_prefers_the_line_with_subject_and_value(tmp_path):
    path = tmp_path / "p.nt"
    path.write_text(f'<{BASE}id/element/Dy> <{ATOMIC_NUMBER}> "sixty" .\n'
                    f'<{ND}> <{BASE}ontology#symbol> "Nd" .\n'
                    f'<{ND}> <{ATOMIC_NUMBER}> "sixty" .\n', encoding="utf-8")
    assert line_of(path, ND, ATOMIC_NUMBER, Literal("sixty")) == 3


def test_problems_with_and_without_a_line_are_ordered():
    """The crash of loaders/validation/core.py (once validation.py:141): a Place with a line next to one without."""
    results = Graph()
    places = {}
    for index, place in enumerate([Place("a.ttl", 4, "x"), Place("a.ttl", None, "y"), Place("a.ttl", 2, None),
                                   Place("a.ttl", None, None)]):
        result, focus = URIRef(f"urn:result:{index}"), URIRef(f"urn:focus:{index}")
        results.add((result, SH.resultSeverity, SH.Violation))
        results.add((result, SH.focusNode, focus))
        results.add((result, SH.value, Literal(index, datatype=XSD.integer)))
        places[focus] = place
    report = report_from_results(False, results, Graph(), Graph(), lambda focus, path, value: places[focus])
    assert [str(p.place) for p in report.problems] == ["a.ttl", "a.ttl:y", "a.ttl:2", "a.ttl:4:x"]
