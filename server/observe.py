"""What every answered request leaves behind, however it was answered (by Flask, the lean SPARQL front or the
answer cache's replay): its request id and one JSON line in the access log (``reekg.access``)."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from typing import Any

access_log = logging.getLogger("reekg.access")
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # fullmatch: `$` would pass a final newline


def request_id(incoming: str | None) -> str:
    """The client's ``X-Request-Id`` when it is a plain token, else a new one."""
    return incoming if incoming and _REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def log_access(request_id: str | None, method: str, path: str, status: int, seconds: float, **extra: Any) -> None:
    """One access-log line (only built when the log is on: it is on every request's path)."""
    if access_log.isEnabledFor(logging.INFO):
        access_log.info(json.dumps({
            "ts": round(time.time(), 3), "request_id": request_id, "method": method, "path": path,
            "status": status, "duration_ms": round(seconds * 1000, 2), **extra,
        }))
