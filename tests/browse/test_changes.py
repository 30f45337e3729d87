"""What changed since the last release (issue 14, item 3), in process: a copy of the curated home, released,
then changed by a validated write; the pages count and list the statements each robot's answers read, compare
with ?since (a permalink) and say "nothing to compare with" rather than an empty "no change"."""

from __future__ import annotations

import shutil

import pyoxigraph as ox
import pytest

from reekg import settings as settings_registry
from reekg.loaders.releases import export_current
from reekg.loaders.store import StoreHome
from reekg.loaders.transact import apply_update
from reekg.server.app import create_app

ID = "https://w3id.org/reekg/id/"
OPTIMUS = ID + "robot/tesla-optimus"
COMMENT = "a statement added after the release"
UPDATE = ("INSERT DATA { <https://w3id.org/reekg/id/robot/tesla-optimus> "
          "<http://www.w3.org/2000/01/rdf-schema#comment> "
          '"a statement added after the release"@en }')


def _client(home):
    store = ox.Store.read_only(str(StoreHome(home).current()))
    return create_app({"home": str(home)}, store=store).test_client()


@pytest.fixture(scope="module")
def changed_home(curated_home, tmp_path_factory):
    """The curated home released as it is, then a validated write: one comment on Optimus, none on any other
    robot's resources."""
    home = tmp_path_factory.mktemp("changes") / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    release = export_current(home)
    settings = settings_registry.load({"home": str(home)}, environ={})
    apply_update(settings, UPDATE)
    return home, release


def test_the_summary_counts_each_robots_changed_statements(changed_home):
    home, release = changed_home
    body = _client(home).get("/changes.json").get_json()
    assert body["ok"] is True and body["since"]["release"] == release.name
    assert body["since"]["build"] == release.info["build_id"] != body["served"]
    assert body["added"] >= 1 and body["removed"] >= 0
    robots = {r["id"]: r for r in body["robots"]}
    assert robots["tesla-optimus"]["added"] == 1 and robots["tesla-optimus"]["removed"] == 0
    others = [r for i, r in robots.items() if i != "tesla-optimus"]
    assert others and all(r["added"] == 0 and r["removed"] == 0 for r in others)
    assert robots["tesla-optimus"]["href"] == f"/changes/robot/tesla-optimus?since={release.name}"


def test_a_robots_page_lists_the_statement_with_its_subject_and_permalink(changed_home):
    home, release = changed_home
    client = _client(home)
    body = client.get("/changes/robot/tesla-optimus.json").get_json()
    (group,) = [g for g in body["groups"] if g["subject"]["value"] == OPTIMUS]
    assert group["hop"] == "robot" and group["removed"] == []
    (added,) = group["added"]
    assert added["predicate"]["prefixed"] == "rdfs:comment"
    assert added["object"] == {"type": "literal", "value": COMMENT, "language": "en",
                               "datatype": "http://www.w3.org/1999/02/22-rdf-syntax-ns#langString"}
    page = client.get("/changes/robot/tesla-optimus")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "What changed for" in html and COMMENT in html
    assert f'href="/changes/robot/tesla-optimus?since={release.name}"' in html  # the permalink


def test_since_names_a_release_and_the_pages_check_their_parameters(changed_home):
    home, release = changed_home
    client = _client(home)
    same = client.get(f"/changes/robot/tesla-optimus.json?since={release.name}").get_json()
    assert same["since"]["release"] == release.name and same["added"] == 1
    bad = client.get("/changes.json?since=no-such-release")
    assert bad.status_code == 400 and "since" in bad.get_json()["error"] and release.name in bad.get_json()["error"]
    assert client.get("/changes.json?since=a%0A").status_code == 400
    assert client.get("/changes.json?page=2").status_code == 400
    missing = client.get("/changes/robot/no-such-robot.json")
    assert missing.status_code == 404 and "tesla-optimus" in missing.get_json()["error"]


def test_with_no_earlier_release_the_page_says_there_is_nothing_to_compare(client):
    body = client.get("/changes.json").get_json()  # the session's curated home: never released
    assert body["since"] is None and "nothing to compare" in body["note"]
    assert all(r["added"] == 0 and r["removed"] == 0 for r in body["robots"])
    html = client.get("/changes/robot/tesla-optimus").get_data(as_text=True)
    assert "Nothing to compare with" in html and "This is not" in html


def test_a_release_of_the_served_build_is_not_what_it_is_compared_with(curated_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(curated_home, home, symlinks=True)
    export_current(home)  # a release of the very build served: comparing with it would always say "no change"
    body = _client(home).get("/changes.json").get_json()
    assert body["since"] is None and body["note"]
