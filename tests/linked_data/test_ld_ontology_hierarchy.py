"""The ontology page shows the class and object-property hierarchies (issue 14, item 4), read from the served
ontology graph: subclasses nested under their superclass, external superclasses named beside, English labels."""

from __future__ import annotations

import re

from rdflib import OWL, RDF, RDFS, URIRef

from reekg.ontology import TERMS_NAMESPACE, load_ontology


def _section(html: str, ident: str) -> str:
    start = html.index(f'id="{ident}"')
    return html[start:html.index("</section>", start)]


def test_the_class_hierarchy_nests_each_subclass_under_its_superclass(client):
    html = client.get("/ontology.html").get_data(as_text=True)
    tree = _section(html, "class-hierarchy")
    graph = load_ontology()
    pairs = [(s, o) for s, o in graph.subject_objects(RDFS.subClassOf)
             if isinstance(o, URIRef) and str(s).startswith(TERMS_NAMESPACE) and str(o).startswith(TERMS_NAMESPACE)]
    assert pairs  # the ontology has subclass axioms among its own classes
    for sub, sup in pairs:
        # the subclass's link comes inside the list item of its superclass (nested <ul>)
        sup_at = tree.index(f'href="#{str(sup)[len(TERMS_NAMESPACE):]}"')
        item = tree[sup_at:]
        depth, end = 0, len(item)
        for m in re.finditer(r"<(/?)li\b", item):
            depth += -1 if m.group(1) else 1
            if depth < 0:
                end = m.start()
                break
        assert f'href="#{str(sub)[len(TERMS_NAMESPACE):]}"' in item[:end], (sub, sup)
    ours = {s for s in graph.subjects(RDF.type, OWL.Class) if str(s).startswith(TERMS_NAMESPACE)}
    for cls in ours:  # every class of ours is in the tree
        assert f'href="#{str(cls)[len(TERMS_NAMESPACE):]}"' in tree, cls
    assert "schema:Organization" in tree  # an external superclass, named beside Company
    element = URIRef(TERMS_NAMESPACE + "RareEarthElement")
    english = next(str(v) for v in graph.objects(element, RDFS.label) if v.language == "en")
    assert f'title="{element}">{english}</a>' in tree  # shown by its English label, not the Chinese one


def test_the_property_hierarchy_and_contents_link_each_other(client):
    html = client.get("/ontology.html").get_data(as_text=True)
    assert 'href="#class-hierarchy"' in html and 'href="#property-hierarchy"' in html
    tree = _section(html, "property-hierarchy")
    assert 'href="#hasComponent"' in tree
