"""The one root of every error a user of reekg may see, and the one builder of the JSON error body.

Each error carries the HTTP status it answers with (a bad parameter 400, not found 404, a conflict 409, data that
breaks a shape 422, a store that is down 503, our own fault 500), a plain ``message`` and ``errors``, the details
(a parameter, a JSON pointer, a ``file:line``), so the service maps every one to a response in one place
(:func:`reekg.server.error_responses.register`) and the CLI prints every one as ``error: message`` (:mod:`reekg.cli`).
Nothing here imports Flask: the loaders raise these errors too, and they never import Flask.

The classes live beside the code that raises them and all derive from :class:`ReekgError`::

    ReekgError (500)
    ├── ServiceError (500, reekg.errors) — BadRequest 400, NotFound 404, ValidationFailed 422, Busy 503, …
    ├── AnswerError (400, reekg.errors) — BadParameter 400, UnknownId 404
    ├── QueryParameterError (400, reekg.questions.library)
    ├── RefusedQuery (400, reekg.server.lexer)
    ├── LoadError (422, reekg.errors) — WriteInvalid 422, HomeUnavailable 503
    ├── WriteError (400, reekg.errors) — WriteSyntaxError 400, WriteRefused 400, GraphNotFound 404, …
    ├── StoreUnavailable (503, reekg.errors) — WriteConflict 409 (a ServiceError too)
    └── RemoteError (503, reekg.errors)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reekg.loaders.problems import Problem
    from reekg.loaders.validation import ValidationReport


class ReekgError(Exception):
    """An error a user may see: ``status`` is its HTTP status, ``message`` one plain sentence, ``errors`` the
    details (strings, or objects naming a ``parameter``), ``headers`` any the response must carry."""

    status = 500

    def __init__(self, message: str, *, errors: list[Any] | None = None, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.errors = list(errors) if errors is not None else [message]
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        """This error's JSON body."""
        return error_body(self.status, self.message, self.errors)


def error_body(status: int, message: str, errors: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    """The project's JSON error shape, ``{"ok": false, "status", "error", "errors"}`` (plus ``extra``, e.g. the
    SHACL report of a 422); ``errors`` defaults to the message alone."""
    return {"ok": False, "status": status, "error": message,
            "errors": list(errors) if errors is not None else [message], **extra}


def details(exc: ReekgError) -> list[Any]:
    """The details of ``exc`` beyond its message (nothing when ``errors`` only repeats it)."""
    return [] if exc.errors == [exc.message] else exc.errors


# --- errors of a question asked wrongly (reekg.questions, the API, the pages, the CLI) ------------------------

class AnswerError(ReekgError):
    """A question asked wrongly; ``status`` is its HTTP status, ``errors`` the details."""

    status = 400

    def __init__(self, message: str, errors: list[Any] | None = None):
        super().__init__(message, errors=errors)


class BadParameter(AnswerError):
    status = 400

    def __init__(self, name: str, message: str):
        super().__init__(f"parameter {name!r}: {message}", [{"parameter": name, "message": message}])
        self.parameter = name


class UnknownId(AnswerError):
    """An id that names nothing in the graph; ``suggestions`` are the closest ids that do."""

    status = 404

    def __init__(self, kind: str, ident: str, suggestions: list[dict[str, str]]):
        shown = ident if len(ident) <= 80 else ident[:77] + "..."
        super().__init__(f"no {kind} with id {shown!r}", [{"parameter": kind, "closest": suggestions}])
        self.suggestions = suggestions


# --- errors of the service: the protocol, limits, writes, backends ---------------------------------------

class ServiceError(ReekgError):
    """An error of the service itself (the protocol, limits, writes); ``status`` is its HTTP status."""

    status = 500
    metric = "error"  # the `reason` label of reekg_query_rejections_total


class BadRequest(ServiceError):
    status = 400
    metric = "bad_request"


class QueryError(BadRequest):
    """The query does not parse, or cannot be evaluated as written."""

    metric = "syntax"


class Refused(BadRequest):
    """A request this endpoint will not run: an update on the query operation, SERVICE, a foreign FROM."""

    metric = "refused"


class Unauthorized(ServiceError):
    """A write without credentials (RFC 6750: the answer names the Bearer scheme)."""

    status = 401
    metric = "unauthorized"

    def __init__(self, message: str):
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="reekg"'})


class Forbidden(ServiceError):
    """A wrong token, or writes turned off."""

    status = 403
    metric = "forbidden"


class NotFound(ServiceError):
    status = 404
    metric = "not_found"


class ValidationFailed(ServiceError):
    """A write that would break a SHACL shape; ``results`` are the report in plain words (focus, path,
    message, severity) and ``report_turtle`` the SHACL validation report graph."""

    status = 422
    metric = "invalid"

    def __init__(self, message: str, results: list[dict], report_turtle: str):
        super().__init__(message, errors=results)
        self.results = results
        self.report_turtle = report_turtle


class NotAcceptable(ServiceError):
    status = 406
    metric = "not_acceptable"


class PayloadTooLarge(ServiceError):
    status = 413
    metric = "too_large"


class UriTooLong(ServiceError):
    status = 414
    metric = "too_large"


class UnsupportedMediaType(ServiceError):
    status = 415
    metric = "unsupported_media_type"


class Busy(ServiceError):
    """Past the concurrency cap: try again shortly."""

    status = 503
    metric = "busy"

    def __init__(self, message: str, retry_after: int = 1):
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class QueryTimeout(ServiceError):
    """The query ran past its time limit and its worker was stopped."""

    status = 503
    metric = "timeout"

    def __init__(self, limit: float):
        super().__init__(f"query stopped: it ran past its time limit of {limit:g} s")
        self.limit = limit


class AnswerTooLarge(ServiceError):
    """A query behind an analyst answer returned more rows than ``answer_max_rows``: the answer is not computed
    from a cut result, and the limit is the service's, not a fault (raise it, or ask a narrower question)."""

    status = 503
    metric = "answer_too_large"

    def __init__(self, query: str, limit: int):
        super().__init__(f"query {query} returned more than answer_max_rows={limit} rows: the answer is not "
                         "computed from a cut result (ask a narrower question, or raise answer_max_rows)")


class NotReady(ServiceError):
    status = 503
    metric = "not_ready"

    def __init__(self, message: str):
        super().__init__(message, headers={"Retry-After": "5"})


class RemoteUnavailable(NotReady):
    """The remote store is down, too slow or failing: 503 with the cause (and Retry-After)."""

    metric = "remote"


class ServiceFailure(ServiceError):
    """Our fault, not the client's (a worker died, …)."""

    status = 500
    metric = "failure"


# --- errors of a validated write (reekg.loaders.transact) --------------------------------------------------

class WriteError(ReekgError):
    """Base of the write errors: a client's request that cannot be applied (nothing was written)."""

    status = 400


class WriteSyntaxError(WriteError):
    """The update or the RDF body does not parse; the message holds the parser's position."""


class UnsupportedFormat(WriteError):
    """An RDF body of a media type we cannot read."""

    status = 415


class WriteRefused(WriteError):
    """A write this service never accepts: a reserved graph, source provenance, a graph outside our names."""


class GraphNotFound(WriteError):
    """A Graph Store request names a graph that holds no triples."""

    status = 404


class StoreUnavailable(ReekgError):
    """The store that holds the served graph cannot be read or written (a remote store that is down, slow or
    failing); nothing was changed. The message names the cause in the engine's words."""

    status = 503


class WriteConflict(StoreUnavailable, ServiceError):
    """The served graph changed while the write was being checked (another writer published): not applied, the
    client may retry. One class for the loaders and the service (its 409 and its rejection metric)."""

    status = 409
    metric = "conflict"


# --- errors of loading: builds, the store home, the remote store -------------------------------------------

class LoadError(ReekgError):
    """Input that cannot be turned into a valid graph; carries every problem found, not just the first (as
    ``errors``, each ``file:line:field: message``). ``str()`` is the summary and a line per problem."""

    status = 422

    def __init__(self, problems: list[Problem], summary: str = "input rejected"):
        self.problems = problems
        super().__init__(summary, errors=[str(p) for p in problems] or None)

    def __str__(self) -> str:
        return self.message + "\n" + "\n".join(f"  {p}" for p in self.problems)


class HomeUnavailable(LoadError):
    """The home cannot be used as it is: not a folder, not writable, or none of its stores opens. The message
    is one line that names the cause; nothing was changed."""

    status = 503

    def __init__(self, message: str):
        super().__init__([], message)

    def __str__(self) -> str:
        return self.message


class WriteInvalid(LoadError):
    """The write would leave the graph violating a SHACL shape; ``report`` holds the full report."""

    status = 422

    def __init__(self, report: ValidationReport, results: list[dict[str, Any]]):
        self.report = report
        self.results = results
        super().__init__(report.violations, "the write was refused: " + report.summary())


class RemoteError(ReekgError):
    """The remote store is down, slow or answered with an error; ``kind`` says which, ``engine_status`` is the
    HTTP status the engine answered (``status``, as for every ReekgError, is ours: 503)."""

    status = 503

    def __init__(self, kind: str, message: str, *, engine_status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.engine_status = engine_status

    @property
    def transient(self) -> bool:
        return self.kind in ("unavailable", "timeout") or (self.engine_status or 0) in (502, 503, 504)
