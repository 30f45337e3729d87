"""``reekg serve``: the service under granian (default) or gunicorn, or Flask's reloader with ``--dev``.

granian, a Rust HTTP server with a WSGI interface, is the default: in ``python -m bench`` replayed answers
of a small lookup reached 10,310 requests/s on this 2-core machine where gunicorn reached 2,801; gunicorn
(gthread) stays available with ``http_server = gunicorn``. Flask and the servers are imported inside the
command so that ``reekg --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import click


@click.command()
@click.option("--host", help="Address to bind [REEKG_HOST, default 127.0.0.1].")
@click.option("--port", type=int, help="Port to listen on [REEKG_PORT].")
@click.option("--workers", type=int, help="HTTP worker processes [REEKG_WORKERS].")
@click.option("--threads", type=int, help="Threads per HTTP worker [REEKG_THREADS].")
@click.option("--query-workers", type=int, help="Query worker processes per HTTP worker [REEKG_QUERY_WORKERS].")
@click.option("--query-timeout", type=float, help="Query time limit in seconds [REEKG_QUERY_TIMEOUT].")
@click.option("--max-rows", type=int, help="Row cap of one answer [REEKG_MAX_ROWS].")
@click.option("--dev", is_flag=True, help="Flask's development server with the reloader (never in production).")
@click.pass_context
def serve(ctx: click.Context, dev: bool, **flags: Any) -> None:
    """Serve the graph over the SPARQL 1.1 Protocol at /sparql (builds the store first if there is none)."""
    from reekg import settings as settings_registry
    from reekg.loaders.store import StoreHome

    try:  # the group's --home/--base-iri/--data-dir (reekg.cli), then this command's flags
        settings = settings_registry.load({**ctx.obj.get("overrides", {}), **flags})
    except settings_registry.SettingsError as exc:
        raise click.UsageError(str(exc)) from None
    if settings["store"] == "embedded":
        StoreHome(settings["home"]).check()  # a HomeUnavailable ends the command as `error: …` (reekg.cli)
        failure = _prepare_in_child(settings)
        if failure:
            click.echo(f"error: {failure}", err=True)
            sys.exit(1)

    from .app import configure_logging, create_app

    configure_logging()
    overrides = dict(settings)
    if dev:
        app = create_app(overrides)
        app.run(host=settings["host"], port=settings["port"], debug=True, use_reloader=True, threaded=True)
        return
    if settings["http_server"] == "gunicorn":
        _gunicorn_application()(overrides).run()
        return
    _serve_with_granian(settings)


def _prepare_in_child(settings: dict[str, Any]) -> str | None:
    """Run :func:`prepare_store` in a fresh ("spawn") process and return its error, if any.

    The HTTP server forks its workers from this process, and pyoxigraph/RocksDB state does not survive a fork:
    a worker forked after this process had built (or merely opened) a store hung for ever in RocksDB on its
    first write (issue 10, item 1). So this process never opens a store; the child does, and exits."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as child:
        return child.submit(prepare_store, settings).result()


def prepare_store(settings: dict[str, Any]) -> str | None:
    """Say which store will be served (and why, when it is a fallback or none can be), or build the first one
    on a home that has none. Returns a build's error message (LoadError) or None. Runs in a child process."""
    from reekg.errors import LoadError
    from reekg.loaders.store import StoreHome

    serving = StoreHome(settings["home"]).serving()
    if serving.path is not None:
        if serving.fallback:
            click.echo(f"warning: {serving.fallback}: serving the newest intact store, {serving.build_id}",
                       err=True)
        return None
    if serving.problem:  # stores exist but none opens: never rebuild over them (their partner graphs)
        click.echo(f"warning: {serving.problem}; every route answers 503 until a store is restored or built",
                   err=True)
        return None
    from reekg.loaders.build import build

    click.echo(f"no store under {settings['home']}: building it first", err=True)
    try:
        result = build(settings)
    except LoadError as exc:
        return str(exc).strip()
    click.echo(f"built {result.build_id}", err=True)
    return None


def _serve_with_granian(settings: dict[str, Any]) -> None:
    """granian's workers import reekg.server.wsgi and build the app from the environment, so every
    resolved setting (flags included) is handed over as its REEKG_* variable."""
    from granian import Granian
    from granian.constants import Interfaces

    from reekg.settings import REGISTRY

    for setting in REGISTRY:
        os.environ[setting.env] = str(settings[setting.name])
    # `threads` bounds the requests in Python at once. granian's backpressure counts open connections, not
    # requests: set to `threads`, the ninth keep-alive client of a default server was never read at all (32
    # benchmark clients hung), so it keeps granian's own default (the backlog, 1024, per worker).
    Granian(
        "reekg.server.wsgi:create", factory=True, interface=Interfaces.WSGI,
        address=settings["host"], port=settings["port"], workers=settings["workers"],
        blocking_threads=settings["threads"],
        websockets=False, log_access=False, respawn_failed_workers=True,  # reekg writes its own access log
    ).serve()


def _gunicorn_application() -> type:
    from gunicorn.app.base import BaseApplication

    class ReekgGunicorn(BaseApplication):
        """gunicorn run from Python: the app is created in each worker after the fork (never before:
        the query worker pool and its threads must belong to the process that uses them)."""

        def __init__(self, settings: dict[str, Any]):
            self.settings = settings
            super().__init__()

        def load_config(self) -> None:
            s = self.settings
            options = {
                "bind": f"{s['host']}:{s['port']}",
                "workers": s["workers"],
                "threads": s["threads"],
                "worker_class": "gthread",
                "timeout": int(max(30, s["query_timeout"] * 3)),
                "graceful_timeout": 10,
                "keepalive": 5,
                "accesslog": None,  # reekg writes its own JSON access log
                "limit_request_line": 0,  # the app enforces max_request_bytes itself (414)
                "proc_name": "reekg-serve",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            from .app import configure_logging, create_app

            configure_logging()
            return create_app(self.settings)

    return ReekgGunicorn

