"""Helpers of the linked-data tests: a GET that does not follow redirects, and the hostile partner file."""

from __future__ import annotations

import http.client
import urllib.parse
from dataclasses import dataclass

from serverkit import InProcess, Server

# A partner file whose labels and links are hostile: the pages must show them as text, never run them.
PARTNER = """\
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
<https://w3id.org/reekg/id/element/Nd> rdfs:label "<script>alert(1)</script>" ;
    rdfs:seeAlso <javascript:alert(1)> .
<https://w3id.org/reekg/id/partner-note/hostile> rdfs:label "<img src=x onerror=alert(3)>"@en ;
    rdfs:seeAlso <https://w3id.org/reekg/id/element/Nd> , <JavaScript:alert(4)> .
"""


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


def fetch(server: Server, path: str, accept: str | None = None) -> Reply:
    """One GET that does not follow redirects (urllib would hide the 303)."""
    if isinstance(server, InProcess):
        answer = server.get(path, headers={"Accept": accept} if accept else {})
        return Reply(answer.status, answer.headers, answer.body)
    url = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("GET", path, headers={"Accept": accept} if accept else {})
        response = connection.getresponse()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        connection.close()
