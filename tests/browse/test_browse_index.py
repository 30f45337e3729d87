"""The entity browser's index pages over the curated graph (issue 14, item 1), in process: every kind the
graph holds has a page, paged, sorted and filtered by its facets, and the same list as CSV and JSON at a stable
URL. Before issue 14, ``/doc/element/`` answered a JSON 404."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser

import pytest
from browsekit import BROWSER

EXPECTED_KINDS = {"element", "country", "mine", "facility", "company", "material", "component", "subsystem",
                  "robot", "function", "measure", "source"}


class Links(HTMLParser):
    def __init__(self, text: str):
        super().__init__()
        self.links: list[dict[str, str]] = []
        self.rows = 0
        self.selects: dict[str, list[str]] = {}
        self._select: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attributes = {k: v or "" for k, v in attrs}
        if tag == "a":
            self.links.append(attributes)
        if tag == "select":
            self._select = attributes["name"]
            self.selects[self._select] = []
        if tag == "option" and self._select:
            self.selects[self._select].append(attributes.get("value", ""))


def index_json(client, kind: str, **params) -> dict:
    response = client.get(f"/doc/{kind}/index.json", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_the_kinds_page_lists_every_kind_the_graph_holds(client):
    response = client.get("/doc/")
    assert response.status_code == 200
    hrefs = {a.get("href") for a in Links(response.get_data(as_text=True)).links}
    for kind in EXPECTED_KINDS:
        assert f"/doc/{kind}/" in hrefs and f"/doc/{kind}/index.csv" in hrefs


@pytest.mark.parametrize("kind", sorted(EXPECTED_KINDS))
def test_every_kind_has_an_index_page(client, kind):
    response = client.get(f"/doc/{kind}/", headers={"Accept": BROWSER})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "text/html"
    assert "Content-Security-Policy" in response.headers
    body = index_json(client, kind)
    assert body["ok"] is True and body["total"] == len(body["items"]) > 0
    page = response.get_data(as_text=True)
    first = body["items"][0]
    assert f'href="/doc/{kind}/' in page and first["id"] in page


def test_element_index_was_a_404_and_is_now_a_page_with_chinese_labels(client):
    response = client.get("/doc/element/", headers={"Accept": BROWSER})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "neodymium" in page and "釹" in page and "钕" in page
    assert 'href="/doc/element/Nd"' in page


def test_a_kind_without_a_slash_redirects_to_its_index(client):
    response = client.get("/doc/element")
    assert response.status_code in (301, 308) and response.headers["Location"].endswith("/doc/element/")


def test_pages_hold_fifty_and_link_to_each_other(client):
    body = index_json(client, "source")
    total = body["total"]
    assert total > 100  # 300-odd sources: at least three pages
    first = client.get("/doc/source/").get_data(as_text=True)
    links = {a.get("rel"): a.get("href") for a in Links(first).links if a.get("rel")}
    assert links["next"] == "/doc/source/?page=2" and "prev" not in links
    last_page = -(-total // 50)
    assert links["last"] == f"/doc/source/?page={last_page}"
    assert len(re.findall(r'<tr><th scope="row">', first)) == 50
    last = client.get(f"/doc/source/?page={last_page}").get_data(as_text=True)
    assert len(re.findall(r'<tr><th scope="row">', last)) == total - 50 * (last_page - 1)
    last_links = {a.get("rel"): a.get("href") for a in Links(last).links if a.get("rel")}
    assert "next" not in last_links and last_links["first"] == "/doc/source/"


def test_pages_partition_the_list(client):
    whole = [e["id"] for e in index_json(client, "source", sort="id")["items"]]
    paged = []
    for page in range(1, -(-len(whole) // 40) + 1):
        paged += [e["id"] for e in index_json(client, "source", sort="id", page=page, size=40)["items"]]
    assert paged == whole and len(set(whole)) == len(whole)


def test_empty_form_fields_are_absent(client):
    """The form's "any" choice submits country= and the like: the same list as without them."""
    plain = index_json(client, "facility", country="US")
    assert index_json(client, "facility", country="US", stage="", status="", confidence="", page="")["items"] \
        == plain["items"]


def test_sorting_by_label_and_id_both_ways(client):
    by_id = [e["id"] for e in index_json(client, "element", sort="id")["items"]]
    assert by_id == sorted(by_id, key=str.casefold)
    assert [e["id"] for e in index_json(client, "element", sort="-id")["items"]] == by_id[::-1]
    labels = [e["label"] for e in index_json(client, "element", sort="label")["items"]]
    assert labels == sorted(labels, key=str.casefold)
    assert [e["label"] for e in index_json(client, "element", sort="-label")["items"]] == labels[::-1]
    page = client.get("/doc/element/?sort=-id").get_data(as_text=True)
    assert page.index('href="/doc/element/Y"') < page.index('href="/doc/element/B"')


def test_facets_filter_by_country_stage_status_and_confidence(client):
    whole = index_json(client, "facility")
    assert set(whole["facets"]) == {"country", "stage", "status", "confidence"}
    us = index_json(client, "facility", country="US")
    assert us["count"] == whole["facets"]["country"]["US"] > 0
    assert all("US" in e["country"] for e in us["items"])
    magnets = index_json(client, "facility", stage="magnet-making", country="US")
    assert magnets["items"] and all("magnet-making" in e["stage"] and "US" in e["country"]
                                    for e in magnets["items"])
    assert {e["id"] for e in magnets["items"]} < {e["id"] for e in us["items"]}
    either = index_json(client, "facility", country=["US", "JP"])
    assert either["count"] == whole["facets"]["country"]["US"] + whole["facets"]["country"]["JP"]
    operating = index_json(client, "mine", status="operating")
    assert operating["items"] and all(e["status"] == ["operating"] for e in operating["items"])
    verified = index_json(client, "facility", confidence="verified")
    assert verified["items"] and all("verified" in e["confidence"] for e in verified["items"])


def test_a_site_status_is_its_newest_observation(client):
    """Eneabba: under construction as of 2025 (docs/model.md); one status per site, never several."""
    mines_and_plants = index_json(client, "facility")["items"] + index_json(client, "mine")["items"]
    assert all(len(e["status"]) <= 1 for e in mines_and_plants)
    eneabba = next(e for e in mines_and_plants if e["id"] == "eneabba-refinery")
    assert eneabba["status"] == ["under-construction"]


def test_the_page_offers_the_facets_with_counts_and_keeps_the_filters(client):
    page = client.get("/doc/facility/?country=US&sort=-label").get_data(as_text=True)
    selects = Links(page).selects
    assert {"country", "stage", "status", "confidence", "sort"} <= set(selects)
    assert "US" in selects["country"] and "magnet-making" in selects["stage"]
    assert re.search(r'<option value="US" selected>United States[^<]*\(\d+\)</option>', page)
    downloads = {a["href"] for a in Links(page).links if "index." in a.get("href", "")}
    assert downloads == {"/doc/facility/index.csv?country=US&sort=-label",
                         "/doc/facility/index.json?country=US&sort=-label"}


def test_csv_download_is_the_same_list_as_the_json(client):
    response = client.get("/doc/facility/index.csv", query_string={"country": "US", "sort": "id"})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="facility.csv"' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    items = index_json(client, "facility", country="US", sort="id")["items"]
    assert [r["id"] for r in rows] == [e["id"] for e in items]
    assert rows[0]["doc"] == f"/doc/facility/{rows[0]['id']}" and rows[0]["country"] == "US"
    assert set(rows[0]) == {"kind", "id", "iri", "doc", "label", "labelZhHant", "labelZhHans", "country",
                            "stage", "status", "confidence"}


def test_csv_keeps_chinese_labels(client):
    rows = list(csv.DictReader(io.StringIO(client.get("/doc/element/index.csv").get_data(as_text=True))))
    nd = next(r for r in rows if r["id"] == "Nd")
    assert (nd["label"], nd["labelZhHant"], nd["labelZhHans"]) == ("neodymium", "釹", "钕")


BAD = [
    ("/doc/element/", {"country": "CN"}, "country"),  # elements have no country facet
    ("/doc/facility/", {"country": "CN\n"}, "country"),  # `$` would pass it
    ("/doc/facility/", {"country": "ZZ"}, "country"),  # no facility is there
    ("/doc/facility/", {"stage": "x\" } ; DROP ALL"}, "stage"),
    ("/doc/facility/", {"sort": "label\n"}, "sort"),
    ("/doc/facility/", {"sort": ["id", "label"]}, "sort"),
    ("/doc/facility/", {"page": "0"}, "page"),
    ("/doc/facility/", {"page": "²"}, "page"),
    ("/doc/facility/", {"page": "99"}, "page"),  # past the last page
    ("/doc/facility/", {"size": "501"}, "size"),
    ("/doc/facility/", {"size": "1\n"}, "size"),
    ("/doc/facility/", {"colour": "red"}, "colour"),
    ("/doc/facility/index.json", {"status": "ok\n"}, "status"),
    ("/doc/facility/index.csv", {"confidence": "sure"}, "confidence"),
]


@pytest.mark.parametrize("path, params, parameter", BAD)
def test_bad_values_answer_400_naming_the_parameter(client, path, params, parameter):
    response = client.get(path, query_string=params)
    assert response.status_code == 400 and response.mimetype == "application/json"
    body = response.get_json()
    assert body["ok"] is False and body["status"] == 400
    assert body["errors"][0]["parameter"] == parameter and parameter in body["error"]


def test_a_bad_value_from_a_browser_is_a_page_naming_the_parameter(client):
    response = client.get("/doc/facility/?country=ZZ", headers={"Accept": BROWSER})
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<code>country</code>" in page and 'aria-label="Site"' in page


@pytest.mark.parametrize("path", ["/doc/nope/", "/doc/nope/index.json", "/doc/Element/", "/doc/mine%0A/",
                                  "/doc/element/index.xml"])
def test_unknown_kinds_and_formats_are_404(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.get_json()["ok"] is False


def test_entity_pages_still_answer_beside_the_index(client):
    """/doc/{kind}/index.csv is the list; /doc/{kind}/{id} is still the entity's page."""
    assert client.get("/doc/element/Nd", headers={"Accept": BROWSER}).status_code == 200
    assert client.get("/doc/element/index.csv").mimetype == "text/csv"
