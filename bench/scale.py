"""Loading and validation at scale (issue 6, item 5): ``python -m bench.scale [--sizes 1e4,1e5,1e6]``.

At each size: ``reekg synth`` writes the synthetic network; ``reekg build --add … --validate none`` loads it
with the curated tables (mapping, OWL RL inference, store write); worker processes then time, against the built
on-disk store, focus-node validation of a 100-triple write, that write validated and published end to end on a
copy of the home (``INSERT DATA`` and its ``DELETE DATA``, split into checkpoint, apply, inference, validation
and publish: issue 13), full validation as ``reekg build --validate full``
runs it (SHACL-SPARQL in pyoxigraph, the rest in pySHACL: ``loaders/validation/sparql_constraints.py``) and,
where affordable, full validation in pySHACL alone (the reference), so the ratio shows. Every step runs in its own
process under ``/usr/bin/time -v`` for its peak RSS. Prints a markdown table with the machine, versions and date.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

PYTHON = sys.executable
REEKG = str(Path(sys.executable).with_name("reekg"))  # the console script beside this interpreter


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run a command under /usr/bin/time -v: (wall seconds, peak RSS in MiB, stdout)."""
    started = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *args], capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    return wall, int(rss.group(1)) / 1024 if rss else float("nan"), proc.stdout


def _write_100(ns):
    """About 100 triples a partner might write: a company, a mine, a plant, a link and a new group of shares."""
    from rdflib import Literal, URIRef
    from rdflib.namespace import RDF, RDFS, XSD

    r, e = ns.reekg, ns.entity
    derived = URIRef("http://www.w3.org/ns/prov#wasDerivedFrom")
    source = e("source", "synth-000000-survey")
    added = []

    def row(node, cls, *extra_classes):
        added.extend([(node, RDF.type, r[cls]), (node, derived, source),
                      (node, r.confidence, e("confidence", "verified"))])
        added.extend((node, RDF.type, r[c]) for c in extra_classes)  # what inference would add

    company, mine, plant, link = (e("company", "bench-co"), e("mine", "bench-mine"), e("facility", "bench-plant"),
                                  e("supply-link", "bench-link"))
    row(company, "Company")
    added.append((company, RDFS.label, Literal("Bench Co", lang="en")))
    for site, cls, stage in ((mine, "Mine", None), (plant, "Facility", "separation")):
        row(site, cls, "SupplySite")
        added.extend([(site, RDFS.label, Literal(f"bench {cls}", lang="en")), (site, r.locatedIn, e("country", "AU")),
                      (site, r.operatedBy, company), (site, r.producesElement, e("element", "Nd"))])
        if stage:
            added.append((site, r.atStage, e("stage", stage)))
    row(link, "SupplyLink")
    added.extend([(link, r.fromSite, mine), (link, r.toSite, plant), (mine, r.feeds, plant)])
    for country in ("AU", "US", "CN", "MM", "IN", "BR"):
        obs = e("observation", f"bench-{country.lower()}-2021")
        row(obs, "StatisticalObservation")
        added.extend([(obs, r.edition, source), (obs, r.refArea, e("country", country)),
                      (obs, r.refYear, Literal("2021", datatype=XSD.gYear)),
                      (obs, r.measuredQuantity, e("quantity", "capacity-share")),
                      (obs, r.atStage, e("stage", "separation")),
                      (obs, r.shareOfWorld, Literal("0.05", datatype=XSD.decimal)),
                      (obs, r.basis, Literal("rare-earth oxide equivalent"))])
    return added


def write_worker(home: str) -> None:
    """Time a validated write of :func:`_write_100` end to end (``INSERT DATA`` into a partner graph, then the
    ``DELETE DATA`` that takes it back) on a copy of ``home``, with the phases of each (issue 13)."""
    import shutil

    from reekg import settings as settings_registry
    from reekg.loaders import transact
    from reekg.loaders.build import load_shapes
    from reekg.loaders.namespaces import Namespaces

    ns = Namespaces()
    copy = Path(tempfile.mkdtemp(prefix="write-", dir=Path(home).parent)) / "home"
    shutil.copytree(home, copy, symlinks=True)
    try:
        settings = settings_registry.load({"home": str(copy)}, environ={})
        shapes = load_shapes(ns)
        from rdflib import Literal
        from rdflib.namespace import RDFS

        one = [(ns.entity("element", "Nd"), RDFS.comment, Literal("a bench note", lang="en"))]
        graph = ns.partner_graph("bench")
        out = {}
        # The process's first write (cold: it loads the shapes' and rules' indexes, as a server's first write
        # does), then the 100-triple and the 1-triple writes as a serving process makes them, each taken back.
        for name, triples in (("_first", one), ("", _write_100(ns)), ("_1", one)):
            body = " ".join(f"{s.n3()} {p.n3()} {o.n3()} ." for s, p, o in triples)
            for verb in ("INSERT", "DELETE"):
                started = time.perf_counter()
                result = transact.apply_update(settings, f"{verb} DATA {{ GRAPH <{graph}> {{ {body} }} }}",
                                               shapes=shapes)
                out[verb.lower() + name] = {"s": time.perf_counter() - started,
                                            "triples": result.added + result.removed,
                                            **{k: result.timings.get(k, 0.0) for k in WRITE_PHASES}}
        print(json.dumps(out))
    finally:
        shutil.rmtree(copy.parent, ignore_errors=True)


# The phases of a write (loaders/transact.py's timings), as the table names them.
WRITE_PHASES = {"checkpoint": "checkpoint", "apply": "apply", "infer": "inference", "validate": "validation",
                "publish": "publish"}


def _write_cell(write: dict) -> str:
    return f"{write['s']:.2f} ({' / '.join(f'{write[k]:.2f}' for k in WRITE_PHASES)})"


def worker(home: str, mode: str) -> None:
    """Time one validation of the current store in ``home``: ``incremental`` (a 100-triple write), ``full``
    (the build's full validation) or ``pyshacl`` (full validation in pySHACL alone); ``write`` times a whole
    validated write instead (:func:`write_worker`)."""
    if mode == "write":
        write_worker(home)
        return
    import pyoxigraph as ox
    from rdflib import Graph

    from reekg.loaders.build import load_shapes, prefixes_graph
    from reekg.loaders.namespaces import Namespaces
    from reekg.loaders.problems import Place
    from reekg.loaders.store import StoreHome
    from reekg.loaders.validation import Overlay, StoreIndex, schema_triples, validate, validate_focus
    from reekg.terms import from_oxigraph

    ns = Namespaces()
    shapes = load_shapes(ns)
    store = ox.Store.read_only(str(StoreHome(home).current()))
    locate = lambda focus, path, value=None: Place("(graph)", None, str(focus))  # noqa: E731
    out: dict[str, float | int | bool] = {}
    if mode == "incremental":
        base = StoreIndex(store)
        schema = schema_triples(base)
        added = _write_100(ns)
        started = time.perf_counter()
        result = validate_focus(Overlay(base, added), shapes, locate, ns, changes=added, schema=schema)
        out.update(incremental_s=time.perf_counter() - started, incremental_focus=len(result.focus),
                   incremental_subgraph=result.subgraph_triples, incremental_conforms=result.report.conforms,
                   write_triples=len(added))
    else:
        def union() -> Graph:  # as Assembled.union builds it
            graph = Graph()
            graph.addN((from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object), graph)
                       for q in store)
            out["triples"] = len(graph)
            return graph

        started = time.perf_counter()
        if mode == "full":
            report = validate(union, shapes, locate, store=store, namespaces=prefixes_graph(ns))
        else:
            report = validate(union(), shapes, locate, engine="pyshacl")
        out.update(s=time.perf_counter() - started, violations=len(report.violations),
                   problems=len(report.problems))
    print(json.dumps(out))


def _full(measured: dict, rss: dict, mode: str) -> str:
    if mode not in measured:
        return "not run"
    return f"{measured[mode]['s']:.1f} ({rss[mode]:.0f}; {measured[mode]['violations']} violations)"


def _machine() -> str:
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = ", ".join(f"{p} {version(p)}" for p in ("pyshacl", "rdflib", "pyoxigraph", "reasonable"))
    return (f"{dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC · {platform.node()} · {os.cpu_count()} cores · "
            f"{memory:.1f} GiB · Python {platform.python_version()} · {versions}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1e4,1e5", help="Comma-separated triple counts (default 1e4,1e5).")
    parser.add_argument("--full-max", type=float, default=1e6,
                        help="Run full validation (as the build runs it) only up to this size (default 1e6).")
    parser.add_argument("--pyshacl-max", type=float, default=1e5,
                        help="Run full validation in pySHACL alone, for the ratio, only up to this size "
                             "(default 1e5).")
    parser.add_argument("--workdir", help="Keep files here (default: a temporary folder).")
    parser.add_argument("--worker", nargs=2, metavar=("HOME", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker(args.worker[0], args.worker[1])
        return
    sizes = [int(float(s)) for s in args.sizes.split(",")]
    rows = []
    with tempfile.TemporaryDirectory(prefix="reekg-scale-") as scratch:
        root = Path(args.workdir or scratch)
        root.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            synth, home = root / f"synth{size}.nq", root / f"home{size}"
            wall_synth, rss_synth, _ = _run([REEKG, "synth", "--scale", str(size),
                                             "--output", str(synth)])
            triples = sum(1 for _ in synth.open(encoding="utf-8"))
            wall_build, rss_build, out = _run([REEKG, "--home", str(home), "build",
                                               "--drop-partner-graphs", "--add", str(synth), "--validate", "none",
                                               "--json"])
            manifest = json.loads(out)
            measured, rss = {}, {}
            for mode, limit in (("incremental", float("inf")), ("write", float("inf")), ("full", args.full_max),
                                ("pyshacl", min(args.full_max, args.pyshacl_max))):
                if size <= limit:
                    wall, rss[mode], out = _run([PYTHON, "-m", "bench.scale", "--worker", str(home), mode])
                    measured[mode] = {**json.loads(out), "wall": wall}
            rows.append((size, triples, manifest, wall_synth, rss_synth, wall_build, rss_build, measured, rss))
            print(f"… {size}: done", file=sys.stderr)
    print(f"Machine: {_machine()}\n")
    print("| target N | synth triples | quads in store | synth s (RSS MiB) | build --validate none s | build triples/s "
          "| build RSS MiB | assemble s | write s | full SHACL s (RSS MiB) | pySHACL alone s (RSS MiB) | ratio "
          "| incremental (100-triple write) s | focus nodes / subgraph triples | incremental RSS MiB "
          "| the process's first write, 1 triple, s | validated 100-triple write s (checkpoint / apply / inference "
          "/ validation / publish) | its delete s | validated 1-triple write s | its delete s |")
    print("| --- " * 20 + "|")
    for size, triples, m, ws, rs, wb, rb, v, rss in rows:
        t = m["timings_s"]
        ratio = f"{v['pyshacl']['s'] / v['full']['s']:.1f}×" if "full" in v and "pyshacl" in v else "—"
        inc = v["incremental"]
        print(f"| {size:.0e} | {triples} | {m['quads']} | {ws:.1f} ({rs:.0f}) | {wb:.1f} | {m['quads'] / wb:,.0f} "
              f"| {rb:.0f} | {t['assemble']:.1f} | {t.get('write', 0):.1f} | {_full(v, rss, 'full')} "
              f"| {_full(v, rss, 'pyshacl')} "
              f"| {ratio} | {inc['incremental_s']:.2f} | {inc['incremental_focus']} / {inc['incremental_subgraph']} "
              f"| {rss['incremental']:.0f} | {_write_cell(v['write']['insert_first'])} "
              f"| {_write_cell(v['write']['insert'])} "
              f"| {_write_cell(v['write']['delete'])} | {_write_cell(v['write']['insert_1'])} "
              f"| {_write_cell(v['write']['delete_1'])} |")


if __name__ == "__main__":
    main()
