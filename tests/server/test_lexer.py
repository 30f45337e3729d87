"""What the SPARQL gate reads from a query (server/lexer.py): its form and every outbound reference.

A table that pins :func:`lexer.analyse` field by field on the hostile cases of test_server_safety.py and
writekit.py (which send them through a real server) and on the edges of the token stream, so a change to
how the lexer walks tokens shows up here in milliseconds. Depth and token counts are pinned in
test_server_hostile.py.
"""

from __future__ import annotations

import re
from dataclasses import asdict

import pytest

from reekg.server import lexer

U = "http://127.0.0.1:1/sparql"
B = "http://127.0.0.1:1/"
FIELDS = ("form", "services", "from_graphs", "from_named", "suspicious", "loads", "withs", "update_suspicious")

CASES = [
    (f"SELECT * WHERE {{ SERVICE <{U}> {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "services": [U]}),
    (f"SELECT * WHERE {{ SERVICE SILENT <{U}> {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "services": [U]}),
    (f"select * where {{ service <{U}> {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "services": [U]}),
    (f"SELECT * WHERE {{ VALUES ?x {{ <{U}> }} SERVICE ?x {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "services": [None]}),
    (f"PREFIX : <{B}> SELECT * WHERE {{ SERVICE:sparql {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "suspicious": ["SERVICE:sparql"]}),
    (f"PREFIX t: <{B}> SELECT * WHERE {{ SERVICEt:sparql {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "suspicious": ["SERVICEt:sparql"]}),
    (f"PREFIX t: <{B}> SELECT * WHERE {{ SERVICE t:sparql {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "services": [U]}),
    (f"SELECT * WHERE {{ ?s ?p trueSERVICE<{U}> {{ ?a ?b ?c }} }}", None,
     {"form": "SELECT", "suspicious": ["trueSERVICE"]}),
    (f"PREFIX ex: <http://example.org/> SELECT * WHERE {{ ?s ?p ex:o.SERVICE<{U}> {{ }} }}", None,
     {"form": "SELECT", "services": [U]}),
    (f"SELECT * WHERE {{ ?s ?p ?o FILTER(?o)SERVICE<{U}> {{ }} }}", None,
     {"form": "SELECT", "services": [U]}),
    ("SELECT * WHERE { SERVICE <http:\\u002F\\u002F127.0.0.1:1\\u002Fsparql> { ?s ?p ?o } }", None,
     {"form": "SELECT", "services": [None]}),
    (f"SELECT * FROM <{U}> WHERE {{ ?s ?p ?o }}", None,
     {"form": "SELECT", "from_graphs": [U]}),
    (f"SELECT * FROM NAMED <{U}> WHERE {{ GRAPH ?g {{ ?s ?p ?o }} }}", None,
     {"form": "SELECT", "from_named": [U]}),
    (f"SELECT * FROM<{U}> WHERE {{ ?s ?p ?o }}", None,
     {"form": "SELECT", "from_graphs": [U]}),
    ("BASE <http://example.org/a/> SELECT * FROM <g> FROM NAMED <../h> WHERE { ?s ?p ?o }", None,
     {"form": "SELECT", "from_graphs": ["http://example.org/a/g"], "from_named": ["http://example.org/h"]}),
    ("SELECT * FROM <sparql> WHERE { ?s ?p ?o }", None,
     {"form": "SELECT", "from_graphs": ["sparql"]}),
    ("PREFIX g: <http://example.org/g/> SELECT * FROM g:one FROM NAMED g:two WHERE { ?s ?p ?o }", None,
     {"form": "SELECT", "from_graphs": ["http://example.org/g/one"], "from_named": ["http://example.org/g/two"]}),
    ("SELECT * FROM undeclared:x WHERE { ?s ?p ?o }", None,
     {"form": "SELECT", "from_graphs": [None]}),
    ("PREFIX fromage: <http://example.org/> SELECT * WHERE { ?s fromage:p ?o }", None,
     {"form": "SELECT", "suspicious": ["fromage:p"]}),
    ("SELECT ?from WHERE { ?s ?p ?from }", None,
     {"form": "SELECT"}),
    (f'SELECT * WHERE {{ ?s ?p ?x FILTER(?x != "SERVICE <{B}>" && ?x != \'\'\'FROM <x>\'\'\') }}'
     f" # SERVICE <{B}>\n", None,
     {"form": "SELECT"}),
    (f"LOAD <{U}>", None,
     {"form": "LOAD", "loads": [U]}),
    (f"LOAD SILENT <{U}> INTO GRAPH <http://example.org/g>", None,
     {"form": "LOAD", "loads": [U]}),
    (f"LOAD<{U}>", None,
     {"form": "LOAD", "loads": [U]}),
    (f"PREFIX t: <{B}> LOAD t:sparql", None,
     {"form": "LOAD", "loads": [U]}),
    (f"DELETE {{ ?s ?p ?o }} USING <{U}> WHERE {{ ?s ?p ?o }}", None,
     {"form": "DELETE", "from_graphs": [U]}),
    (f"INSERT {{ GRAPH <http://example.org/g> {{ ?s ?p ?o }} }} USING NAMED <{U}> WHERE {{ ?s ?p ?o }}", None,
     {"form": "INSERT", "from_named": [U]}),
    (f"WITH <{U}> INSERT {{ ?s ?p ?o }} WHERE {{ ?s ?p ?o }}", None,
     {"form": "WITH", "withs": [U]}),
    ("PREFIX withdrawn: <http://example.org/> INSERT DATA { withdrawn:a withdrawn:b 1 }", None,
     {"form": "INSERT", "update_suspicious": ["withdrawn:a", "withdrawn:b"]}),
    ("INSERT DATA { <s> <p> 'reload' }", None,
     {"form": "INSERT"}),
    ("DESCRIBE <http://example.org/x>", None,
     {"form": "DESCRIBE"}),
    ("ASK { ?s ?p ?o }", None,
     {"form": "ASK"}),
    ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", None,
     {"form": "CONSTRUCT"}),
    ("PREFIX ex: <http://example.org/> SELECT * { ?s ex:a\\.b ?o }", None,
     {"form": "SELECT"}),
    ("PREFIX ex: <http://example.org/> SELECT * { ?s ex:%41b ?o }", None,
     {"form": "SELECT"}),
    ("PREFIX : <http://example.org/> SELECT * { ?s :p ?o }", None,
     {"form": "SELECT"}),
    ("PREFIX", None,
     {}),
    ("PREFIX ex:", None,
     {}),
    ("BASE", None,
     {}),
    ("SELECT * WHERE { SERVICE", None,
     {"form": "SELECT", "services": [None]}),
    ("SELECT * WHERE { SERVICE SILENT", None,
     {"form": "SELECT", "services": [None]}),
    ("SELECT * FROM NAMED", None,
     {"form": "SELECT", "from_named": [None]}),
    ("WITH", None,
     {"form": "WITH", "withs": [None]}),
    ("", None,
     {}),
    ("garbage { ( [", None,
     {}),
    ("CLEAR ALL", None,
     {"form": "CLEAR"}),
    ("DROP GRAPH <http://example.org/g>", None,
     {"form": "DROP"}),
    ("SELECT * WHERE { ?s ?p ?o } LIMIT 1 SELECT", None,
     {"form": "SELECT"}),
    ("SELECT * FROM ex:g WHERE { ?s ?p ?o }", {"ex": "http://example.org/"},
     {"form": "SELECT", "from_graphs": ["http://example.org/g"]}),
    ("PREFIX ex: <http://other.example/> SELECT * FROM ex:g WHERE { ?s ?p ?o }", {"ex": "http://example.org/"},
     {"form": "SELECT", "from_graphs": ["http://other.example/g"]}),
    ("PREFIX ex: undeclared:x SELECT * FROM ex:g WHERE { ?s ?p ?o }", {"ex": "http://example.org/"},
     {"form": "SELECT", "from_graphs": ["http://example.org/g"]}),
    ("PREFIX ex: <http://e.example/> SELECT * FROM ex:a\\.b WHERE { ?s ?p ?o }", None,
     {"form": "SELECT", "from_graphs": ["http://e.example/a.b"]}),
    ("PREFIX ex: <http://e.example/> BASE <http://b.example/x/> SELECT * FROM <y> FROM ex:z WHERE { }", None,
     {"form": "SELECT", "from_graphs": ["http://b.example/x/y", "http://e.example/z"]}),
]


@pytest.mark.parametrize(("query", "prefixes", "expected"), CASES)
def test_the_lexer_reads_form_and_outbound_references(query, prefixes, expected):
    shape = asdict(lexer.analyse(query, prefixes))
    assert {name: list(shape[name]) if isinstance(shape[name], tuple) else shape[name]
            for name in FIELDS if shape[name] not in ((), None)} == expected


def test_check_refuses_what_the_shape_names():
    allowed = lexer.analyse(f"SELECT * WHERE {{ SERVICE <{U}> {{ ?s ?p ?o }} }}")
    lexer.check(allowed, store_graphs=frozenset(), allow=(B,))
    with pytest.raises(lexer.RefusedQuery, match=re.escape(f"SERVICE <{U}> is not allowed")):
        lexer.check(allowed, store_graphs=frozenset(), allow=())
    glued = lexer.analyse(f"PREFIX t: <{B}> SELECT * WHERE {{ SERVICEt:sparql {{ ?s ?p ?o }} }}")
    with pytest.raises(lexer.RefusedQuery, match="'SERVICEt:sparql' reads as an outbound keyword"):
        lexer.check(glued, store_graphs=frozenset(), allow=(B,))
    with pytest.raises(lexer.RefusedQuery, match="FROM NAMED needs an IRI"):
        lexer.check(lexer.analyse("SELECT * FROM NAMED undeclared:g { }"), store_graphs=frozenset(), allow=())
    with pytest.raises(lexer.RefusedQuery, match="LOAD is an update"):
        lexer.check(lexer.analyse(f"LOAD <{U}>"), store_graphs=frozenset(), allow=(B,))
    lexer.check(lexer.analyse(f"SELECT * FROM <{U}> {{ }}"), store_graphs=frozenset({U}), allow=())
