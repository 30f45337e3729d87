"""The one registry of settings: name, type, default and help text.

Values come from the defaults here, then ``REEKG_*`` environment variables, then an explicit mapping
(CLI flags or a test's config). An unknown setting or a value of the wrong type stops start-up with a
message that names it. The README's settings table is checked against this registry by a test.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_BASE_IRI = "https://w3id.org/reekg/"


def _default_home() -> str:
    xdg = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(xdg) / "reekg")


@dataclass(frozen=True)
class Setting:
    name: str
    type: type
    default: Any
    help: str

    @property
    def env(self) -> str:
        return "REEKG_" + self.name.upper()


REGISTRY: tuple[Setting, ...] = (
    Setting("base_iri", str, DEFAULT_BASE_IRI, "Base of every IRI the graph mints; must end with '/'."),
    Setting("contact_url", str, "",
            "Where partners reach the publisher: the dataset description's contact point (dcat:contactPoint), a "
            "URL such as an issue tracker or a mailto: address; empty = the base IRI, the project's home."),
    Setting("home", str, _default_home(), "Folder that holds the built stores ('current' points to the live one)."),
    Setting("data_dir", str, "", "Folder of curated tables to build from; empty means the tables shipped with reekg."),
    # The SPARQL service (server/, issue 3).
    Setting("host", str, "127.0.0.1", "Address `reekg serve` binds to; loopback unless told otherwise."),
    Setting("port", int, 8000, "TCP port `reekg serve` listens on."),
    Setting("http_server", str, "granian",
            "HTTP server of `reekg serve`: 'granian' (Rust, WSGI interface) or 'gunicorn' (gthread workers)."),
    Setting("workers", int, 1, "HTTP worker processes; caps and metrics are per worker process."),
    Setting("threads", int, 8, "Threads per HTTP worker process that run the app."),
    Setting("query_workers", int, 2,
            "Query worker processes per HTTP worker; each is killed at its time limit."),
    Setting("query_memory_mb", int, 256,
            "A served store up to this size on disk is copied into each query worker's memory; a larger one is "
            "read on disk, one copy shared by every worker (memory stays flat as workers are added). 0 = on disk."),
    Setting("query_inline", bool, True,
            "Answer a query of one triple pattern (no FILTER, join, ORDER BY or DISTINCT; its cost is bounded by "
            "its capped answer) in the HTTP process, on the store opened as the query workers open it, without "
            "the hand-off to a worker; off = every query goes to a worker."),
    Setting("query_timeout", float, 10.0, "Time limit of one query in seconds; a client may only lower it."),
    Setting("max_rows", int, 10000, "Most rows (or triples) one answer carries; a longer one is cut and says so."),
    Setting("answer_max_rows", int, 200_000,
            "Most rows one query behind an analyst answer (/api/v1, pages, CLI) may return; past it the answer "
            "fails (503) naming the query rather than being computed from a cut result. A per-build index (the "
            "dependencies, shares, statuses and supply network answers share) is read whole."),
    Setting("max_request_bytes", int, 1_000_000, "Largest request body or query string accepted (413/414 past it)."),
    Setting("max_concurrent_queries", int, 4,
            "Queries one HTTP worker runs or queues at once; past it 503 with Retry-After."),
    # Hostile and runaway queries (issue 10, item 4).
    Setting("query_max_depth", int, 200,
            "Deepest nesting of brackets and unary operators a query or update may have (400 past it): deeper "
            "ones would exhaust the engine's stack."),
    Setting("query_max_tokens", int, 10000,
            "Most tokens a query or update may have outside VALUES and INSERT/DELETE DATA blocks (400 past it)."),
    Setting("long_query_seconds", float, 0.5,
            "A query running longer than this is long: it runs at a lower CPU priority, short queries get "
            "extra workers while it runs, and past query_extra_workers the oldest long one is stopped (503)."),
    Setting("query_extra_workers", int, 2,
            "Query workers an HTTP worker may start beyond query_workers while long queries hold workers."),
    Setting("query_fairness", bool, True,
            "Keep short queries answered while long ones run (see long_query_seconds); off = first come, first "
            "served on query_workers (the pool before issue 10, for benchmarks)."),
    Setting("cors_origins", str, "", "Space-separated origins allowed by CORS ('*' for any); empty = no CORS."),
    Setting("outbound_allow", str, "",
            "Space-separated IRIs or IRI prefixes that SERVICE and FROM may name; empty = no outbound access."),
    Setting("update_token", str, "", "Bearer token that enables writes; empty = the service is read-only."),
    Setting("write_validation", str, "incremental",
            "How a write is validated: 'incremental' (the focus nodes it touches) or 'full' (every node)."),
    Setting("answer_cache_mb", int, 64,
            "Memory for replaying read answers of the same build without re-running them; 0 turns it off."),
    # The store backend (issue 6): the embedded pyoxigraph store, or a remote SPARQL 1.1 store.
    Setting("store", str, "embedded",
            "Where the graph lives: 'embedded' (pyoxigraph stores under home) or 'sparql' (a remote SPARQL 1.1 "
            "store at the remote_* URLs; `reekg build` publishes to it)."),
    Setting("remote_query_url", str, "", "Query endpoint of the remote store (store = sparql)."),
    Setting("remote_update_url", str, "", "Update endpoint of the remote store; empty = the query endpoint."),
    Setting("remote_store_url", str, "",
            "Graph Store endpoint of the remote store, used to load in batches; empty = INSERT DATA on the "
            "update endpoint (no blank nodes on Virtuoso)."),
    Setting("remote_user", str, "", "User name for the remote store (HTTP Basic); empty = no credentials."),
    Setting("remote_password", str, "", "Password for the remote store."),
    Setting("remote_timeout", float, 30.0,
            "Seconds to wait for one request to the remote store when loading (queries use query_timeout)."),
    # The analyst answers (reekg.questions, issue 4).
    Setting("concentration_threshold", float, 0.5,
            "Share of a stage's world output above which one country is flagged as a concentration risk."),
    Setting("warm_up", bool, True,
            "When a new build is served (at start-up, after a write), one background thread per HTTP worker reads "
            "the build's indexes the analyst routes share (supply network, site statuses, shares, dependencies, "
            "controls today), so the build's first request finds them ready; off = that request reads them (always "
            "off with max_concurrent_queries = 1: its queries would take the requests' one)."),
)

_BY_NAME = {s.name: s for s in REGISTRY}


class SettingsError(ValueError):
    """A setting that does not exist or cannot be read as its type."""


def _coerce(setting: Setting, value: Any, origin: str) -> Any:
    if isinstance(value, setting.type) and not (setting.type is int and isinstance(value, bool)):
        return value
    if not isinstance(value, str):
        raise SettingsError(f"{origin}: expected {setting.type.__name__}, got {type(value).__name__}")
    try:
        if setting.type is bool:
            lowered = value.strip().lower()
            if lowered in {"1", "true", "yes", "on"}:
                return True
            if lowered in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(value)
        return setting.type(value)
    except ValueError:
        raise SettingsError(f"{origin}: {value!r} is not a valid {setting.type.__name__}") from None


def load(overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Resolve every setting: default, then environment, then ``overrides`` (None values are ignored)."""
    environ = os.environ if environ is None else environ
    values = {s.name: s.default for s in REGISTRY}
    for key, raw in environ.items():
        if not key.startswith("REEKG_"):
            continue
        name = key[len("REEKG_"):].lower()
        if name not in _BY_NAME:
            raise SettingsError(f"environment variable {key} is not a reekg setting")
        values[name] = _coerce(_BY_NAME[name], raw, key)
    for name, raw in (overrides or {}).items():
        if raw is None:
            continue
        if name not in _BY_NAME:
            raise SettingsError(f"unknown setting {name!r}")
        values[name] = _coerce(_BY_NAME[name], raw, f"setting {name}")
    if values["http_server"] not in ("granian", "gunicorn"):
        raise SettingsError(f"http_server must be 'granian' or 'gunicorn', not {values['http_server']!r}")
    if values["write_validation"] not in ("incremental", "full"):
        raise SettingsError(f"write_validation must be 'incremental' or 'full', not {values['write_validation']!r}")
    if values["store"] not in ("embedded", "sparql"):
        raise SettingsError(f"store must be 'embedded' or 'sparql', not {values['store']!r}")
    if values["store"] == "sparql" and not values["remote_query_url"]:
        raise SettingsError("store = sparql needs remote_query_url (REEKG_REMOTE_QUERY_URL)")
    if not values["base_iri"].endswith("/"):
        raise SettingsError(f"base_iri must end with '/': {values['base_iri']!r}")
    return values
