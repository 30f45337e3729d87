"""Releases of the graph: dumps, their checksums and the VoID/DCAT description (the diff of two releases is
:mod:`.diff`).

A release is one build written out as files, named ``{date}-{hash12}`` after the build's date (UTC) and the
first 12 hex digits of its content hash (``content_sha256`` of build.json), so the same graph always gets
the same name and a name never changes meaning. Under ``out/{release}/``::

    reekg-{release}.ttl      Turtle, every graph merged (distinct triples)
    reekg-{release}.nt.gz    N-Triples, merged, sorted, gzip
    reekg-{release}.nq.gz    N-Quads, one named graph per source (and the ontology, inferred, partner graphs)
    reekg-{release}.jsonld   JSON-LD, merged, with the context of ``{base}context.jsonld`` embedded
                             (:mod:`.jsonld_context`, made from the release's ontology graph)
    void.ttl                 VoID + DCAT-AP description of this release (:mod:`.dcat`; locators under the base)
    release.json             name, build id, counts, and each file's size, media type and SHA-256
    SHA256SUMS               ``sha256sum -c`` format, for every file above

The folder is written beside its final place and renamed into it, so a half-written release is never seen.
On a remote store (``store = sparql``) the served quads are read back from it (:func:`export_remote`) and must
hash to the build's content hash, so the release is the one the embedded store would write for the same build.
Blank nodes: the build names them canonically (``rdflib.compare.to_canonical_graph``), the store keeps those
labels and the N-Triples/N-Quads dumps write them as they are, so two releases compare line by line.
Nothing here imports Flask (loaders never do).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyoxigraph as ox
from rdflib import Graph

from reekg import formats
from reekg.terms import from_oxigraph

from .dcat import describe
from .jsonld_context import jsonld_context
from .namespaces import Namespaces
from .remote_store import RemoteStore, served_quads
from .store import MANIFEST, StoreHome, content_hash

DCTERMS_TITLE = "http://purl.org/dc/terms/title"
RELEASE_JSON = "release.json"
SUMS = "SHA256SUMS"


@dataclass(frozen=True)
class DumpFormat:
    format: str  # a graph format's name in reekg.formats
    compressed: bool
    title: str

    @property
    def key(self) -> str:
        """The file suffix after the release name (``ttl``, ``nt.gz``, …)."""
        suffix = formats.by_name(self.format, "graph").suffix
        return f"{suffix}.gz" if self.compressed else f"{suffix}"

    @property
    def media_type(self) -> str:
        return formats.by_name(self.format, "graph").media_type


DUMP_FORMATS = (
    DumpFormat("turtle", False, "Turtle, all graphs merged"),
    DumpFormat("n-triples", True, "N-Triples (gzip), all graphs merged"),
    DumpFormat("n-quads", True, "N-Quads (gzip), one named graph per source"),
    DumpFormat("json-ld", False, "JSON-LD, all graphs merged"),
)


def release_name(manifest: dict[str, Any]) -> str:
    """``{date}-{hash12}`` from a build manifest: the build's UTC date and its content hash."""
    date = str(manifest.get("built_at", ""))[:10] or dt.datetime.now(dt.UTC).strftime("%Y-%m-%d")
    return f"{date}-{manifest['content_sha256'][:12]}"


def dump_file(release: str, fmt: DumpFormat) -> str:
    return f"reekg-{release}.{fmt.key}"


# --- reading ---------------------------------------------------------------------------------------

def nquad_line(quad: ox.Quad) -> str:
    graph = quad.graph_name
    if isinstance(graph, ox.DefaultGraph):
        return f"{quad.subject} {quad.predicate} {quad.object} .\n"
    return f"{quad.subject} {quad.predicate} {quad.object} {graph} .\n"


def ntriple_line(quad: ox.Quad | ox.Triple) -> str:
    return f"{quad.subject} {quad.predicate} {quad.object} .\n"


def store_quads(store_path: Path) -> list[ox.Quad]:
    store = ox.Store.read_only(str(store_path))
    try:
        return list(store)
    finally:
        del store


# --- writing a release -----------------------------------------------------------------------------

@dataclass
class Release:
    name: str
    path: Path
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def files(self) -> list[dict[str, Any]]:
        return self.info.get("files", [])


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gzip(text_lines: Iterable[str], path: Path) -> None:
    # mtime=0 and no file name in the header: the same graph always gives the same bytes
    with path.open("wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as out:
        for line in text_lines:
            out.write(line.encode("utf-8"))


def _jsonld(triples: list[ox.Triple], ns: Namespaces, ontology: list[ox.Quad]) -> bytes:
    """Compact JSON-LD with the published context (made from the release's ``ontology`` graph) embedded: a dump
    must stand on its own, offline. Blank nodes keep the build's labels (rdflib's N-Triples parser would mint
    random ones), so the same build always gives the same bytes."""
    graph = Graph()
    graph.addN((from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object), graph)
               for t in triples)
    context = jsonld_context(ns, ontology)["@context"]
    return graph.serialize(format="json-ld", context=context, indent=1).encode("utf-8")


def export_store(store_path: Path, out_dir: Path, *, base: str | None = None, contact: str = "") -> Release:
    """Write the build at ``store_path`` as a release under ``out_dir`` (or return it if already there);
    ``contact`` is the ``contact_url`` setting its void.ttl names."""
    manifest = json.loads((store_path / MANIFEST).read_text(encoding="utf-8"))
    if "content_sha256" not in manifest:
        raise ValueError(f"{store_path} has no content hash in its {MANIFEST}; rebuild it with `reekg build`")
    return export_quads(manifest, lambda: store_quads(store_path), out_dir, base=base, contact=contact)


def export_remote(remote: RemoteStore, out_dir: Path, *, base: str, attempts: int = 3,
                  contact: str = "") -> Release:
    """Write the build a remote SPARQL store serves (``store = sparql``) as a release under ``out_dir``.

    The quads are read back graph by graph (:func:`.remote.served_quads`, with the build's blank node labels)
    and must hash to the content hash the meta graph names, so the release is the same, file for file, as the
    embedded store's of the same build; a build published while they are read is read again. Raises
    RemoteError when the remote store fails, ValueError when its graphs do not match the build."""
    for _ in range(attempts):
        meta = remote.meta(base)
        if meta is None:
            raise FileNotFoundError(f"nothing has been published to the remote store at {remote.describe()} yet: "
                                    "run `reekg build` with store = sparql")
        manifest = {**meta.get("manifest", {}), "build_id": meta["build_id"]}
        if meta.get("content_sha256"):
            manifest["content_sha256"] = meta["content_sha256"]
        if "content_sha256" not in manifest:
            raise ValueError(f"the build {meta['build_id']} on the remote store names no content hash; "
                             "publish it again with `reekg build`")
        graphs = frozenset(meta["graphs"])
        read = lambda graphs=graphs: served_quads(remote, base, select=graphs.__contains__)[0]  # noqa: E731
        try:
            return export_quads(manifest, read, out_dir, base=base, check_hash=True, contact=contact)
        except _HashMismatch as exc:
            now = remote.meta(base)
            if (now or {}).get("build_id") == meta["build_id"]:
                raise ValueError(f"the graphs the remote store serves do not hash to its build "
                                 f"{meta['build_id']} ({exc}): the engine changed some terms") from None
    raise ValueError(f"the remote store published {attempts} builds while they were read; try again")


def export_served(settings: dict[str, Any], out_dir: Path | None = None) -> Release:
    """Export the build served now, from the store the ``store`` setting names (to ``home/dumps`` unless told
    otherwise). A remote store's failure is a RemoteError."""
    target = Path(out_dir) if out_dir else dumps_dir(settings["home"])
    contact = settings.get("contact_url", "")
    if settings.get("store", "embedded") == "sparql":
        return export_remote(RemoteStore.from_settings(settings), target, base=settings["base_iri"], contact=contact)
    return export_current(settings["home"], target, base=settings["base_iri"], contact=contact)


class _HashMismatch(ValueError):
    pass


def export_quads(manifest: dict[str, Any], read_quads: Callable[[], list[ox.Quad]], out_dir: Path, *,
                 base: str | None = None, check_hash: bool = False, contact: str = "") -> Release:
    """Write a release of the build ``manifest`` describes; ``read_quads`` is called only when the release is
    not there yet. With ``check_hash``, the quads must hash to the manifest's ``content_sha256``."""
    ns = Namespaces(base or manifest.get("base_iri") or Namespaces().base)
    name = release_name(manifest)
    out_dir = Path(out_dir)
    final = out_dir / name
    if (final / SUMS).exists():
        return load_release(final)
    out_dir.mkdir(parents=True, exist_ok=True)
    with _lock(out_dir):
        if (final / SUMS).exists():
            return load_release(final)
        started = time.perf_counter()
        staging = out_dir / f".{name}.{os.getpid()}.partial"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
        quads = read_quads()
        if check_hash and content_hash(quads) != manifest["content_sha256"]:
            shutil.rmtree(staging)
            raise _HashMismatch(f"{content_hash(quads)[:12]} instead of {manifest['content_sha256'][:12]}")
        info = _write_dumps(staging, name, manifest, quads, ns)
        void = describe(info, ns, locator=ns.base, contact=contact)
        (staging / "void.ttl").write_text(void.serialize(format="turtle"), encoding="utf-8")
        info["export_seconds"] = round(time.perf_counter() - started, 3)
        (staging / RELEASE_JSON).write_text(json.dumps(info, indent=2, ensure_ascii=False), encoding="utf-8")
        listed = [f["name"] for f in info["files"]] + ["void.ttl", RELEASE_JSON]
        sums = "".join(f"{_sha256(staging / n)}  {n}\n" for n in listed)
        (staging / SUMS).write_text(sums, encoding="utf-8")  # written last: its presence marks a release
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
        return load_release(final)


def _write_dumps(staging: Path, name: str, manifest: dict[str, Any], quads: list[ox.Quad],
                 ns: Namespaces) -> dict[str, Any]:
    """Write the dump files of release ``name`` into ``staging``; what release.json says of them."""
    quad_lines = sorted({nquad_line(q) for q in quads})
    triple_set = {ox.Triple(q.subject, q.predicate, q.object) for q in quads}
    triple_lines = sorted(ntriple_line(t) for t in triple_set)
    triples = sorted(triple_set, key=ntriple_line)
    per_graph = Counter(q.graph_name.value for q in quads if isinstance(q.graph_name, ox.NamedNode))
    ontology_graph = ox.NamedNode(str(ns.ontology_graph))

    files = {fmt.key: staging / dump_file(name, fmt) for fmt in DUMP_FORMATS}
    files["ttl"].write_bytes(ox.serialize(triples, format=ox.RdfFormat.TURTLE, prefixes=ns.prefixes()) or b"")
    _gzip(triple_lines, files["nt.gz"])
    _gzip(quad_lines, files["nq.gz"])
    files["jsonld"].write_bytes(_jsonld(triples, ns, [q for q in quads if q.graph_name == ontology_graph]))

    info: dict[str, Any] = {
        "release": name,
        "build_id": manifest.get("build_id"),
        "built_at": manifest.get("built_at"),
        "content_sha256": manifest["content_sha256"],
        "base_iri": ns.base,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "quads": len(quad_lines),
        "triples": len(triple_lines),
        "graphs": dict(sorted(per_graph.items())),
        "languages": sorted({t.object.language for t in triple_set
                             if isinstance(t.object, ox.Literal) and t.object.language}),
        "source_titles": _source_titles(triple_set, ns),
        "files": [],
    }
    for fmt in DUMP_FORMATS:
        path = files[fmt.key]
        info["files"].append({"name": path.name, "format": fmt.key, "media_type": fmt.media_type,
                              "compressed": fmt.compressed, "title": fmt.title,
                              "bytes": path.stat().st_size, "sha256": _sha256(path)})
    return info


def _source_titles(triples: set[ox.Triple], ns: Namespaces) -> dict[str, str]:
    """Each source's dcterms:title (data/sources.csv), by source id: the titles of the dataset's parts."""
    prefix, found = str(ns.entity("source", "")), {}
    for t in triples:
        if (t.predicate.value == DCTERMS_TITLE and isinstance(t.object, ox.Literal)
                and t.subject.value.startswith(prefix)):
            found.setdefault(t.subject.value[len(prefix):], set()).add(t.object.value)
    return {source: min(titles) for source, titles in sorted(found.items())}  # min: one title, the same each time


def export_current(home: str | Path, out_dir: Path | None = None, *, base: str | None = None,
                   contact: str = "") -> Release:
    """Export the current build under ``home`` (to ``home/dumps`` unless told otherwise)."""
    store_home = StoreHome(home)
    path = store_home.current()
    if path is None:
        raise FileNotFoundError(f"no store has been built under {store_home.home} yet: run `reekg build`")
    return export_store(path, Path(out_dir) if out_dir else dumps_dir(home), base=base, contact=contact)


def dumps_dir(home: str | Path) -> Path:
    return StoreHome(home).home / "dumps"


@contextmanager
def _lock(folder: Path) -> Iterator[None]:
    with (folder / ".export.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_release(path: Path) -> Release:
    path = Path(path)
    info = json.loads((path / RELEASE_JSON).read_text(encoding="utf-8"))
    return Release(info["release"], path, info)


def list_releases(out_dir: Path) -> list[Release]:
    """Every complete release under ``out_dir``, oldest first (by build time, then name)."""
    out_dir = Path(out_dir)
    if not out_dir.is_dir():
        return []
    found = [load_release(p) for p in out_dir.iterdir()
             if p.is_dir() and not p.name.startswith(".") and (p / SUMS).exists() and (p / RELEASE_JSON).exists()]
    return sorted(found, key=lambda r: (str(r.info.get("built_at", "")), r.name))


def verify(release: Release) -> list[str]:
    """Files whose SHA-256 does not match SHA256SUMS (empty when the release is intact)."""
    bad = []
    for line in (release.path / SUMS).read_text(encoding="utf-8").splitlines():
        digest, _, name = line.partition("  ")
        target = release.path / name
        if not target.exists() or _sha256(target) != digest:
            bad.append(name)
    return bad
