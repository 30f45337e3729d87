"""One fact, one row (issue 11): a fact with several sources is ONE resource that cites each of them, so adding a
source to a row adds one prov:wasDerivedFrom and changes no count or total in the graph."""

from __future__ import annotations

import csv
from decimal import Decimal
from pathlib import Path

import pytest

from reekg.loaders.build import assemble
from reekg.loaders.namespaces import Namespaces

NS = Namespaces()
ID = NS.base + "id/"
PREFIXES = "PREFIX reekg: <https://w3id.org/reekg/ontology#>\nPREFIX prov: <http://www.w3.org/ns/prov#>\n"

# (table, row, class, a figure whose class total a double count would move, IRI kind)
FACTS = [
    ("element_contents.csv", "sintered-ndfeb--NdPr", "ElementContent", "reekg:massFractionMin", "element-content"),
    ("magnet_mass_estimates.csv", "tesla-optimus-seed", "MagnetMassEstimate", "reekg:massMaxKg",
     "magnet-mass-estimate"),
    ("observations.csv", "benchmark-2023-cn-heavy-separation-share", "StatisticalObservation", "reekg:shareOfWorld",
     "observation"),
]


def add_source(table: Path, row_id: str, source: str) -> None:
    with table.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        fields, rows = reader.fieldnames, list(reader)
    row = next(r for r in rows if r["id"] == row_id)
    assert source not in row["source"].split()
    row["source"] = f"{row['source']} {source}"
    with table.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def measure(store, cls: str, total: str, subject: str) -> tuple:
    """(resources of the class, the class's total of one figure, the naive join total over sources, sources of
    the row): the first two must not move; the third shows what a query that joins sources would sum."""
    def one(query):
        (row,) = list(store.query(PREFIXES + query, use_default_graph_as_union=True))
        return row[0]

    count = one(f"SELECT (COUNT(DISTINCT ?x) AS ?n) WHERE {{ ?x a reekg:{cls} }}")
    figure = one(f"SELECT (SUM(?v) AS ?t) WHERE {{ ?x a reekg:{cls} ; {total} ?v }}")
    sources = one(f"SELECT (COUNT(?s) AS ?n) WHERE {{ <{subject}> prov:wasDerivedFrom ?s }}")
    triples = one(f"SELECT (COUNT(*) AS ?n) WHERE {{ <{subject}> ?p ?o FILTER(?p != prov:wasDerivedFrom) }}")
    return int(count.value), Decimal(figure.value), int(sources.value), int(triples.value)


@pytest.mark.parametrize(("table", "row_id", "cls", "total", "kind"), FACTS, ids=[f[1] for f in FACTS])
def test_a_second_source_changes_no_count_or_total(tables, table, row_id, cls, total, kind):
    subject = f"{ID}{kind}/{row_id}"
    before = measure(assemble(NS, tables).store, cls, total, subject)
    add_source(tables / table, row_id, "reekg-source-search-2026-12-02")
    after = measure(assemble(NS, tables).store, cls, total, subject)
    count, figure, sources, triples = before
    assert after == (count, figure, sources + 1, triples)


def test_the_curated_ndpr_row_is_one_resource_with_both_sources(tables):
    store = assemble(NS, tables).store
    rows = list(store.query(PREFIXES + f"""SELECT ?s WHERE {{
        <{ID}element-content/sintered-ndfeb--NdPr> prov:wasDerivedFrom ?s }}""", use_default_graph_as_union=True))
    assert sorted(r[0].value.rsplit("/", 1)[1] for r in rows) == ["couragemagnet-ndfeb-composition", "seed-article"]
