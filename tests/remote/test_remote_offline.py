"""The remote-store path without an engine: parameters written into a query as terms (the Virtuoso adapter's
VALUES blocks and substitutions, hostile values staying values), an engine that is down (503 and exit 1 naming
the cause), the store setting checked, and the embedded backend untouched by the remote path."""

from __future__ import annotations

import json
import os

import pyoxigraph as ox
import pytest

from reekg.cli import main
from reekg.errors import LoadError, RemoteError
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.remote_store import RemoteStore
from reekg.loaders.store import StoreHome
from reekg.read.embedded import InProcessBackend
from reekg.read.jobs import Job
from reekg.read.virtuoso import NotSubstitutable, bind_values, substitute_terms
from reekg.server.app import create_app

NS = Namespaces()
BASE = NS.base
XSD = "http://www.w3.org/2001/XMLSchema#"


def test_values_go_into_every_group_and_never_into_strings():
    text = ('SELECT ?x WHERE { # WHERE { in a comment\n ?x ?p "WHERE { in a string" . '
            '{ SELECT ?x WHERE { ?x ?q <urn:x:WHERE> } } '
            '{ ?x ?r ?y } UNION { FILTER(sameTerm(?x, ?x)) } VALUES ?y { 1 } }')
    bound = bind_values(text, {"x": ox.Literal('a" } ; DROP ALL ; #')})
    # the WHERE group, the sub-select's group, both UNION branches; not the group holding the sub-select,
    # not the VALUES data block
    assert bound.count("VALUES (?x)") == 4
    assert '"WHERE { in a string"' in bound and "# WHERE { in a comment" in bound
    assert '"a\\" } ; DROP ALL ; #"' in bound  # one N-Triples literal, quote escaped
    assert ox.Store().query(bound) is not None  # still one valid query


def test_parameters_become_terms_in_place_of_their_variables():
    text = ('SELECT ?x ?n (COUNT(?y) AS ?c) WHERE { # ?x in a comment\n ?x ?p "?x in a string" . '
            '{ SELECT ?x ?y WHERE { ?y ?q ?x } GROUP BY ?x ?y } '
            '{ ?x ?r ?y } UNION { FILTER(sameTerm(?x, ?x) && ?n > 1) } } GROUP BY ?x ?n ORDER BY DESC(?x) ?n')
    iri, number = ox.NamedNode("urn:x:a"), ox.Literal("2", datatype=ox.NamedNode(XSD + "integer"))
    bound = substitute_terms(text, {"x": iri, "n": number})
    assert "(<urn:x:a> AS ?x)" in bound and '("2"^^<http://www.w3.org/2001/XMLSchema#integer> AS ?n)' in bound
    assert '"?x in a string"' in bound and "# ?x in a comment" in bound
    assert "SELECT  ?y WHERE" in bound  # a sub-select does not project the constant
    assert "GROUP BY  ?y" in bound and "GROUP BY  (<urn:x:a>)" not in bound
    assert "ORDER BY DESC(<urn:x:a>)" in bound
    store = ox.Store()
    store.add(ox.Quad(ox.NamedNode("urn:x:s"), ox.NamedNode("urn:x:q"), iri))
    store.add(ox.Quad(iri, ox.NamedNode("urn:x:r"), ox.NamedNode("urn:x:s")))
    substituted = [[str(v) for v in row] for row in store.query(bound)]
    reference = [[str(v) for v in row] for row in store.query(text, substitutions={ox.Variable("x"): iri,
                                                                                   ox.Variable("n"): number})]
    assert substituted == reference
    # the only key of a GROUP BY stays as (term); BIND … AS, VALUES and BOUND of a parameter fall back
    assert "GROUP BY (<urn:x:a>)" in substitute_terms("SELECT ?x WHERE { ?s ?p ?x } GROUP BY ?x", {"x": iri})
    for refused in ("SELECT ?x WHERE { BIND(1 AS ?x) }", "SELECT ?x WHERE { VALUES ?x { 1 } }",
                    "SELECT ?x WHERE { FILTER(BOUND(?x)) }"):
        with pytest.raises(NotSubstitutable):
            substitute_terms(refused, {"x": iri})
    hostile = ox.Literal('a" } ; DROP ALL ; #')
    assert substitute_terms("ASK { ?s ?p ?x }", {"x": hostile}) == 'ASK { ?s ?p "a\\" } ; DROP ALL ; #" }'


def test_an_engine_that_is_down_is_a_503_naming_the_cause(tmp_path):
    from serverkit import free_port

    dead = f"http://127.0.0.1:{free_port()}/sparql"
    app = create_app({"home": str(tmp_path), "store": "sparql", "remote_query_url": dead})
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and "remote SPARQL store is unavailable" in ready.json["error"]
    answer = client.get("/sparql", query_string={"query": "ASK {}"})
    assert answer.status_code == 503 and "cannot reach the remote store" in answer.text
    assert answer.headers["Retry-After"]
    api = client.get("/api/v1/dependents", query_string={"element": "Dy"})
    assert api.status_code == 503 and api.json["ok"] is False


def test_the_cli_build_against_an_engine_that_is_down_exits_1_with_the_cause(runner, tmp_path):
    from serverkit import free_port

    dead = f"http://127.0.0.1:{free_port()}/sparql"
    env = {"REEKG_STORE": "sparql", "REEKG_REMOTE_QUERY_URL": dead, "REEKG_REMOTE_TIMEOUT": "2"}
    result = runner.invoke(main, ["--home", str(tmp_path), "build"], env=env)
    assert result.exit_code == 1 and "cannot reach the remote store" in result.output


def test_the_store_setting_is_checked(runner):
    result = runner.invoke(main, ["settings"], env={"REEKG_STORE": "cassandra"})
    assert result.exit_code != 0 and "store must be 'embedded' or 'sparql'" in result.output
    assert not os.environ.get("REEKG_STORE")


def test_inline_backend_is_untouched_by_the_remote_path(curated_home):
    backend = InProcessBackend(StoreHome(curated_home).open())
    reply = backend.execute(Job(query="ASK { ?s a reekg:Mine }", prefixes=NS.prefixes()), 10)
    assert reply.ok and json.loads(reply.body)["boolean"] is True
    with pytest.raises(RemoteError):
        RemoteStore("http://127.0.0.1:9/sparql", timeout=1).meta(BASE)
    with pytest.raises(LoadError):
        from reekg import settings as settings_registry
        from reekg.loaders.build import build

        build(settings_registry.load({"store": "sparql", "remote_query_url": "http://127.0.0.1:9/sparql",
                                      "remote_timeout": "1", "home": str(curated_home)}, environ={}))
