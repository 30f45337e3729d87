"""The WSGI entry point that `reekg serve` hands to granian: the app built from the ``REEKG_*`` environment,
in each worker process (never before the fork: the query worker pool belongs to the process that uses it)."""

from __future__ import annotations

from flask import Flask

from .app import configure_logging, create_app


def create() -> Flask:
    configure_logging()
    return create_app()
