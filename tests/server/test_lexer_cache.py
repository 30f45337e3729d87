"""The SPARQL gate's cache of query shapes (server/lexer.analyse_cached) hands one shape to every caller that
asks again, so no caller may be able to change it for the next."""

from __future__ import annotations

import dataclasses

import pytest

from reekg.server import lexer

QUERY = ("PREFIX ex: <http://example.org/> SELECT * FROM ex:g FROM NAMED ex:n WHERE { SERVICE ex:s { ?s ?p ?o } "
         "SERVICEex:t { } }")


def test_a_cached_shape_is_shared_and_cannot_be_changed():
    first = lexer.analyse_cached(QUERY, {})
    assert lexer.analyse_cached(QUERY, {}) is first  # the cache answers with the same object
    with pytest.raises(dataclasses.FrozenInstanceError):
        first.form = "ASK"  # type: ignore[misc]
    for name in ("services", "from_graphs", "from_named", "suspicious", "loads", "withs", "update_suspicious"):
        value = getattr(first, name)
        assert isinstance(value, tuple), name
        with pytest.raises(AttributeError):
            value.append("http://elsewhere.example/")  # type: ignore[attr-defined]
    again = lexer.analyse_cached(QUERY, {})
    assert again == lexer.analyse(QUERY)
    assert again.services == ("http://example.org/s",)
    assert again.from_graphs == ("http://example.org/g",) and again.from_named == ("http://example.org/n",)
    assert again.suspicious == ("SERVICEex:t",)


def test_a_changed_copy_of_a_cached_shape_leaves_the_cache_alone():
    first = lexer.analyse_cached(QUERY, {})
    widened = dataclasses.replace(first, services=(*first.services, "http://elsewhere.example/"))
    assert widened.services[-1] == "http://elsewhere.example/"
    assert lexer.analyse_cached(QUERY, {}).services == ("http://example.org/s",)
