"""Suggestions as one types (issue 14, item 2) and the map of sites (item 3), in process."""

from __future__ import annotations

import itertools
import json
import re

import pytest
from browsekit import BROWSER


def suggest(client, text: str) -> list[dict]:
    response = client.get("/browse/suggest", query_string={"q": text})
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["ok"] is True and body["q"] == text.strip()
    return body["suggestions"]


@pytest.mark.parametrize("text, kind, ident", [
    ("釹", "element", "Nd"),  # zh-Hant label
    ("钕", "element", "Nd"),  # zh-Hans label
    ("dys", "element", "Dy"),  # an English label's start
    ("DYS", "element", "Dy"),  # case-insensitive
    ("Nd", "element", "Nd"),  # symbol and id
    ("mount-weld", "mine", "mount-weld"),  # an id only
    ("Mount Weld", "mine", "mount-weld"),
    (" dys ", "element", "Dy"),
])
def test_the_best_suggestion_comes_first(client, text, kind, ident):
    first = suggest(client, text)[0]
    assert (first["kind"], first["id"]) == (kind, ident)
    assert first["doc"] == f"/doc/{kind}/{ident}"
    assert first["iri"] == f"https://w3id.org/reekg/id/{kind}/{ident}"


def test_suggestions_carry_labels_in_three_languages(client):
    nd = suggest(client, "釹")[0]
    assert (nd["label"], nd["labelZhHant"], nd["labelZhHans"]) == ("neodymium", "釹", "钕")


def test_at_most_ten_distinct_suggestions(client):
    many = suggest(client, "e")
    assert len(many) == 10 and len({s["iri"] for s in many}) == 10


def test_no_match_is_an_empty_list(client):
    assert suggest(client, "zzqx-no-such-thing") == []


def test_hostile_text_is_only_text(client):
    assert suggest(client, 'x" } ; DROP ALL ; #') == []
    assert suggest(client, "<http://evil.example/>") == []


@pytest.mark.parametrize("params, parameter", [({}, "q"), ({"q": ""}, "q"), ({"q": "   "}, "q"),
                                               ({"q": "a" * 101}, "q"), ({"q": "Dy\x00"}, "q"),
                                               ({"q": ["a", "b"]}, "q"), ({"q": "dy", "limit": "5"}, "limit")])
def test_bad_suggest_parameters_are_400_naming_them(client, params, parameter):
    response = client.get("/browse/suggest", query_string=params, headers={"Accept": BROWSER})
    assert response.status_code == 400 and response.mimetype == "application/json"  # a JSON route stays JSON
    assert response.get_json()["errors"][0]["parameter"] == parameter


def test_index_pages_load_the_suggest_script_and_keep_a_plain_form(client):
    page = client.get("/doc/element/").get_data(as_text=True)
    assert re.search(r'<script src="/assets/[0-9a-f]{16}/browse/suggest.js" defer '
                     r'data-suggest-url="/browse/suggest"></script>', page)
    assert re.search(r'<form class="search" method="get" action="/search" role="search">', page)


# --- the map ---------------------------------------------------------------------------------------------

def map_json(client) -> dict:
    response = client.get("/map.json")
    assert response.status_code == 200
    return response.get_json()


def test_small_store_sites_with_and_without_a_position(small):
    body = map_json(small)
    assert [p["id"] for p in body["placed"]] == ["placed-mine"]
    placed = body["placed"][0]
    assert (placed["latitude"], placed["longitude"]) == (-28.5, 122.25)
    assert placed["precision"] == "the pit's centre, as the operator's map shows it"
    assert placed["doc"] == "/doc/mine/placed-mine" and placed["source"] == "operator-map"
    assert placed["status"] == "operating"  # the newer of its two observations (2025 over 2020)
    assert placed["stages"] == ["mining"] and placed["country"] == ["Australia"]
    assert {u["id"] for u in body["unplaced"]} == {"unplaced-mine", "some-plant"}
    plant = next(u for u in body["unplaced"] if u["id"] == "some-plant")
    assert plant["stages"] == ["magnet-making", "separation"] and plant["status"] == "unknown"


def test_small_store_map_page_lists_unplaced_sites_instead_of_guessing(small):
    page = small.get("/map", headers={"Accept": BROWSER}).get_data(as_text=True)
    aside = page[page.index('<aside class="unplaced"'):page.index("</aside>")]
    assert "Unplaced Mine" in aside and "Some Plant" in aside and "Placed Mine" not in aside
    assert aside.count("no source gives this site's position") == 2
    table = page[page.index('<table class="sites">'):page.index("</table>")]
    assert 'href="/doc/mine/placed-mine"' in table and "-28.5" in table and "122.25" in table
    assert "the pit&#39;s centre" in table and "Unplaced" not in table
    data = json.loads(re.search(r'<script type="application/json" id="map-data">(.*?)</script>', page, re.S)[1])
    assert [p["id"] for p in data["points"]] == ["placed-mine"]
    assert re.fullmatch(r"/assets/[0-9a-f]{16}/vendor/world_atlas/countries-110m.geo.json", data["outline"])


def test_curated_map_places_the_four_sourced_sites(client):
    body = map_json(client)
    placed = {p["id"]: p for p in body["placed"]}
    assert {"mountain-pass-mine", "mount-weld", "bayan-obo", "kvanefjeld"} <= set(placed)
    assert placed["bayan-obo"]["latitude"] == pytest.approx(41.78278)
    assert "district" in placed["bayan-obo"]["precision"].lower()
    assert "licence-area" in placed["kvanefjeld"]["precision"]
    assert placed["mount-weld"]["longitude"] > 0 > placed["mount-weld"]["latitude"]
    assert placed["kvanefjeld"]["longitude"] < 0
    unplaced = {u["id"] for u in body["unplaced"]}
    assert unplaced and not unplaced & set(placed)
    assert "mountain-pass-processing" in unplaced  # the plant has no position of its own


def test_points_are_coloured_by_stage_and_shaped_by_status(small):
    point = map_json(small)["placed"][0]
    assert point["colour"] == "#0b5cad" and point["shape"] == "circle"  # mining, operating


def test_the_world_outline_is_a_vendored_geojson_with_its_licence(client):
    page = client.get("/map").get_data(as_text=True)
    outline = re.search(r'"outline": "([^"]+)"', page)[1]
    response = client.get(outline)
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert "immutable" in response.headers["Cache-Control"]
    geo = response.get_json()
    assert geo["type"] == "FeatureCollection" and len(geo["features"]) > 150
    assert "Australia" in {f["properties"]["name"] for f in geo["features"]}

    def rings(geometry):
        polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
        return [ring for polygon in polygons for ring in polygon]

    # a ring that jumps across the antimeridian is drawn as a line across the whole map (Fiji, Chukotka)
    for feature in geo["features"]:
        for ring in rings(feature["geometry"]):
            assert all(abs(a[0] - b[0]) < 180 for a, b in itertools.pairwise(ring)), feature["properties"]["name"]
    licence = re.search(r'href="(/assets/[0-9a-f]{16}/vendor/world_atlas/LICENSE)"', page)[1]
    text = client.get(licence).get_data(as_text=True)
    assert "ISC" in text and "public domain" in text
