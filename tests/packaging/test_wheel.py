"""The wheel carries every subpackage and data file: install it in a fresh virtualenv and run reekg there."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh virtualenv (outside the checkout) with only the built wheel and its dependencies."""
    work = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(work / "dist"), str(ROOT)],
                   check=True, capture_output=True, text=True, timeout=300)
    [wheel] = (work / "dist").glob("reekg-*.whl")
    env_dir = work / "venv"
    venv.create(env_dir, with_pip=True)
    subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=600)
    return env_dir


def test_the_installed_cli_builds_the_curated_graph_from_outside_the_checkout(installed, tmp_path):
    home = tmp_path / "home"
    result = subprocess.run([str(installed / "bin" / "reekg"), "--home", str(home), "build"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "SHACL: conforms" in result.stdout
    assert (home / "current" / "build.json").exists()


def test_the_installed_package_imports_every_subpackage_from_site_packages(installed, tmp_path):
    code = ("import reekg.ontology, reekg.shapes, reekg.loaders.build, reekg.server, reekg.data;"
            "from importlib.resources import files;"
            "from reekg.questions.library import library;"
            "web = files('reekg.server');"
            "assert all((web / f).is_file() for f in ('templates/pages/base.html', 'templates/ld/entity.html',"
            " 'templates/ui/query.html', 'static/vendor/echarts/VERSION', 'static/vendor/yasgui/LICENSE',"
            " 'static/vendor/swagger_ui/swagger-ui-bundle.js', 'static/vendor/swagger_ui/NOTICE', 'static/api_docs.js',"
            " 'templates/browse/index.html', 'static/browse/favicon.svg', 'static/browse/suggest.js',"
            " 'static/vendor/world_atlas/countries-110m.geo.json', 'static/vendor/world_atlas/LICENSE'));"
            "assert len(library()) >= 10;"
            "from reekg.server.browse import queries; assert {'entities', 'suggest', 'sites'} <= set(queries());"
            # the app imports every blueprint module (the ld package among them) from the installed wheel
            "import pyoxigraph, reekg.loaders.releases, reekg.loaders.diff; from reekg.server.app import create_app;"
            "app = create_app({}, store=pyoxigraph.Store());"
            "assert {'ld', 'api', 'pages', 'browse', 'sparql'} <= set(app.blueprints), sorted(app.blueprints);"
            "rules = {r.rule for r in app.url_map.iter_rules()};"
            "assert {'/id/<kind>/<ident>', '/ontology', '/dumps/', '/catalog', '/map'} <= rules, sorted(rules);"
            "assert app.test_client().get('/healthz').status_code == 200;"
            "print(reekg.loaders.build.default_data_dir())")
    result = subprocess.run([str(installed / "bin" / "python"), "-c", code], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "site-packages" in result.stdout and str(ROOT) not in result.stdout
