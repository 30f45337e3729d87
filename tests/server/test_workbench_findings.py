"""The findings of issue 14 that no other HTTP or browser test covered (docs/workbench.md maps every finding to
its test): CORS as the README documents it for browser clients, and what a mine's page says of its position now
that sourced coordinates exist, a 405 as a page. In process, over the session's curated build."""

from __future__ import annotations

import re
from pathlib import Path

import pyoxigraph as ox
import pytest

from reekg import settings as settings_registry
from reekg.server.app import create_app

README = Path(__file__).resolve().parents[2] / "README.md"
ORIGIN = "https://dashboard.example.org"
BROWSER = {"Accept": "text/html"}


def _readme_cors_section() -> str:
    text = README.read_text(encoding="utf-8")
    match = re.search(r"^### CORS for browser clients.*?(?=^#)", text, flags=re.M | re.S)
    assert match, "the README has no section on CORS for browser clients"
    return match.group(0)


def test_the_readme_documents_cors_with_the_setting_the_app_reads():
    section = _readme_cors_section()
    (setting,) = [s for s in settings_registry.REGISTRY if s.name == "cors_origins"]
    assert setting.default == "" and "`cors_origins`" in section and "REEKG_CORS_ORIGINS" in section
    assert "off unless" in section


@pytest.fixture(scope="module")
def cors_client(curated_build):
    store = ox.Store.read_only(str(curated_build.store_path))
    app = create_app({"home": str(curated_build.store_path.parent.parent), "cors_origins": ORIGIN}, store=store)
    return app.test_client()


# The routes the README names as reachable from another origin once it is listed.
README_ROUTES = ["/sparql?query=ASK%7B%7D", "/api/v1/dependents?element=Dy", "/doc/element/index.json",
                 "/browse/suggest?q=dys"]


@pytest.mark.parametrize("url", README_ROUTES)
def test_each_route_the_readme_names_answers_a_listed_origin_and_not_by_default(cors_client, client, url):
    assert url.split("?")[0].replace("element", "{kind}") in _readme_cors_section() or url.startswith("/api/v1/")
    listed = cors_client.get(url, headers={"Origin": ORIGIN})
    assert listed.status_code == 200
    assert listed.headers["Access-Control-Allow-Origin"] == ORIGIN and "Origin" in listed.headers["Vary"]
    assert "X-Request-Id" in listed.headers["Access-Control-Expose-Headers"]
    default = client.get(url, headers={"Origin": ORIGIN})
    assert default.status_code == 200 and "Access-Control-Allow-Origin" not in default.headers


def test_a_method_not_allowed_is_a_page_for_a_browser(client):
    answer = client.post("/", headers=BROWSER)
    assert answer.status_code == 405 and answer.mimetype == "text/html"
    assert "GET" in answer.headers["Allow"] and '<nav aria-label="Site">' in answer.get_data(as_text=True)


def test_a_mine_with_sourced_coordinates_says_where_it_is_and_links_the_map(client):
    # the map places these (tests/browse/test_suggest_and_map.py::test_curated_map_places_the_four_sourced_sites)
    mines = [site for site in client.get("/map.json").get_json()["placed"] if site["kind"] == "mine"]
    assert any(site["id"] == "bayan-obo" for site in mines)
    for site in mines:
        page = client.get(site["doc"], headers=BROWSER).get_data(as_text=True)
        where = page.split('id="where"', 1)[1].split("</section>", 1)[0]
        assert "not coordinates" not in where, site["id"]
        assert str(site["latitude"]) in where and 'href="/map' in where, site["id"]


def test_a_site_no_source_places_says_so_instead_of_a_position(client):
    unplaced = client.get("/map.json").get_json()["unplaced"]
    assert unplaced, "the curated graph has sites without a sourced position"
    site = unplaced[0]
    where = client.get(site["doc"], headers=BROWSER).get_data(as_text=True).split('id="where"', 1)[1]
    where = where.split("</section>", 1)[0]
    assert "No source gives this site's position" in where and "Position:" not in where
