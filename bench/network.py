"""``python -m bench.network``: serving a synthetic supply network at 10^4, 10^5 and 10^6 triples (issue 6).

At each size, on the same data (``reekg synth`` + the curated tables, built with ``reekg build --add``, then
exported as N-Quads for the peers), one engine at a time on a loopback port:

* **reekg serve** with its defaults (the per-build answer cache on) and with ``answer_cache_mb=0`` (every
  request runs its queries): latency (median, p95) of the analyst routes trace, dependents, exposure,
  substitutes and scenario through HTTP;
* every engine — reekg, ``oxigraph serve`` (on disk), Virtuoso 7.2 (bulk-loaded with ``ld_dir``),
  rdflib-endpoint — the traceability query (``reekg/questions/sparql/trace.rq`` on a synthetic subsystem, the same
  text everywhere) through ``/sparql``, and the throughput of a small lookup with 8 and 32 client processes;
* rdflib's own SPARQL engine in process (no HTTP) on the same query, for the 20× target;
* the resident memory of each server's whole process tree after its runs.

Prints a markdown table with the machine, versions, date, and the ratios the issue's targets name.
``--sizes 1e4,1e5`` for a shorter run; ``--quick`` to check the harness; ``--work DIR`` keeps the builds.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import pyoxigraph as ox

from reekg import settings as settings_registry
from reekg.loaders.build import build
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.loaders.synth import write_synth

from . import engines
from .__main__ import machine, rows, trace_query
from .api import timings
from .client import Target, latency, throughput

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "remote"))
import engines as test_engines

LOOKUP = ("SELECT ?l WHERE { <https://w3id.org/reekg/id/element/Nd> "
          "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")
SUBSYSTEM = "synth-000001-actuation"  # in every synthetic network from 10^4 up
# The trace follows unverified evidence too: the synthetic confidences are random, and this subsystem's verified
# paths to Dy are none at 10^6 (an empty answer measures nothing); with it, 2,116 paths at 10^6.
ROBOT = "synth-000001-robot0"
SCENARIO = json.dumps({"restrictions": [{"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]}],
                       "on": "2025-06-01"})
UNCACHED = {"answer_cache_mb": "0"}  # every request runs its queries (the comparisons use this)
ROUTES = [
    ("trace", "GET", f"/api/v1/trace?subsystem={SUBSYSTEM}&element=Dy&unverified=true", None),
    ("dependents", "GET", "/api/v1/dependents?element=Tb", None),
    ("exposure", "GET", f"/api/v1/exposure?robot={ROBOT}&units=5000&on=2025-06-01", None),
    ("substitutes", "GET", "/api/v1/substitutes?element=Dy&function=magnet&on=2025-06-01", None),
    ("scenario", "POST", "/api/v1/scenario", SCENARIO),
]
# Admit 32 clients (measure the service, not the concurrency cap); let a long answer finish and arrive whole.
REEKG_SETTINGS = {"max_concurrent_queries": "64", "query_timeout": "120", "max_rows": "1000000"}


@dataclass
class EngineRun:
    name: str
    trace_rows: int = 0
    trace_median: float = float("nan")
    trace_p95: float = float("nan")
    per_second: dict[int, float] = field(default_factory=dict)
    errors: dict[int, int] = field(default_factory=dict)
    rss_mib: float = float("nan")
    startup_s: float = float("nan")
    notes: str = ""


@dataclass
class SizeRun:
    target: int
    quads: int
    engines: list[EngineRun] = field(default_factory=list)
    routes: dict[str, dict[str, tuple[float, float]]] = field(default_factory=dict)  # variant → route → (med, p95)
    first: dict[str, float] = field(default_factory=dict)  # route → ms of the build's first request (uncached)
    rdflib_trace: tuple[float, float, int] | None = None


@contextlib.contextmanager
def virtuoso(nquads: Path, work: Path) -> Iterator[engines.Engine]:
    """Virtuoso on a temporary database, the N-Quads bulk-loaded with ``ld_dir`` (FIELD-NOTES.md)."""
    folder = work / "virtuoso"
    shutil.rmtree(folder, ignore_errors=True)
    engine = test_engines.Engine("virtuoso", folder).start()
    try:
        data = folder / "load"
        data.mkdir()
        shutil.copy(nquads, data / "graph.nq")
        engine.isql(f"ld_dir('{data}', 'graph.nq', 'urn:reekg:bench-default'); rdf_loader_run(); checkpoint;",
                    timeout=1800)
        yield engines.Engine("Virtuoso 7.2", Target("127.0.0.1", engine.http_port, "/sparql"), engine.process,
                             engine.log, ["ld_dir bulk load; default graph = every graph"])
    finally:
        engine.stop()


def _fresh(folder: Path) -> Path:
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder


def run_engine(make, trace: str, args, *, reekg_home: Path | None = None) -> EngineRun:
    started = time.perf_counter()
    with make() as engine:
        run = EngineRun(engine.name, startup_s=time.perf_counter() - started, notes="; ".join(engine.notes))
        print(f"  {engine.name}: ready in {run.startup_s:.1f} s", file=sys.stderr)
        if engine.name.startswith("reekg"):  # measure the steady state: not beside the warm-up of the build
            warm = _warm_up_seconds(engine.target.port, 1800)
            if warm == warm:  # not NaN: the warm-up ran
                run.notes = "; ".join(filter(None, [run.notes, f"measured after its warm-up ({warm:.1f} s)"]))
        try:
            run.trace_rows = rows(engine, trace)
            lat = latency(engine.target, trace, warmup=args.trace_warmup, count=args.trace_count,
                          max_seconds=args.trace_seconds)
            run.trace_median, run.trace_p95 = lat.median, lat.p95
        except (TimeoutError, RuntimeError) as error:  # one engine past its limit is a row, not a lost run
            run.notes = "; ".join(filter(None, [run.notes, f"trace not answered: {str(error)[:120] or 'timed out'}"]))
            print(f"  {engine.name}: trace not answered ({error!r:.200})", file=sys.stderr)
        for clients in args.clients:
            result = throughput(engine.target, LOOKUP, clients=clients, warmup=args.warmup_seconds,
                                seconds=args.seconds, server_cpu=engine.cpu_seconds)
            run.per_second[clients], run.errors[clients] = result.per_second, result.errors
        run.rss_mib = engines.tree_rss_mib(engine.process.pid)
    return run


def route_latencies(home: Path, work: Path, settings: dict[str, str], count: int, timeout: float,
                    first: dict[str, float] | None = None) -> dict[str, tuple[float, float]]:
    """Each route's (median, p95) in ms after 3 warm-up requests; with ``first``, the first request of the
    server's build is timed into it (it reads the build's indexes: minutes at 10^7 triples)."""
    out = {}
    with engines.reekg(home, work, {**settings, "query_timeout": str(timeout)}, label=True) as engine:
        if first is not None:  # the build's indexes are read by the warm-up: time it, then each first request
            first["warm-up"] = _warm_up_seconds(engine.target.port, timeout)
        for name, method, path, body in ROUTES:
            try:
                if first is not None:
                    first[name] = timings(engine.target.port, method, path, body, 1, warmup=0, timeout=timeout)[0]
                samples = timings(engine.target.port, method, path, body, count, timeout=timeout)
            except (TimeoutError, RuntimeError) as error:  # past the limit at this size: say so in the table
                print(f"  {name}: not answered ({error!r:.200})", file=sys.stderr)
                samples = [float("nan")]
            out[name] = (statistics.median(samples), sorted(samples)[max(0, int(len(samples) * 0.95) - 1)])
    return out


def _warm_up_seconds(port: int, timeout: float) -> float:
    """Seconds from the server's readiness until ``/readyz`` says its warm-up has read the served build's
    indexes (NaN when the warm-up is off or did not finish within ``timeout``)."""
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=30) as response:
            ready = json.loads(response.read())
        warm = ready.get("warm_up", {})
        if not warm.get("enabled"):
            return float("nan")
        if warm.get("warm") == ready.get("build_id"):
            return time.perf_counter() - started
        time.sleep(0.2)
    return float("nan")


def rdflib_engine(nquads: Path, trace: str, count: int) -> tuple[float, float, int]:
    """rdflib's SPARQL engine in process on a Dataset(default_union=True): (median ms, p95 ms, rows)."""
    from rdflib import Dataset

    dataset = Dataset(default_union=True)
    dataset.parse(str(nquads), format="nquads")
    samples, n = [], 0
    deadline = time.monotonic() + 120
    for i in range(count + 1):
        started = time.perf_counter()
        n = len(list(dataset.query(trace)))
        if i:  # the first run parses the query
            samples.append((time.perf_counter() - started) * 1000)
        if time.monotonic() > deadline and len(samples) >= 3:
            break
    return statistics.median(samples), sorted(samples)[max(0, int(len(samples) * 0.95) - 1)], n


def measure_size(size: int, work: Path, args) -> SizeRun:
    ns = Namespaces()
    home, nquads, synth = work / f"home-{size}", work / f"graph-{size}.nq", work / f"synth-{size}.nq"
    if StoreHome(home).current() is None:  # (the build is timed by bench.scale, in its own process)
        write_synth(synth, size, seed=0)
        build(settings_registry.load({"home": str(home)}, environ={}), extra_rdf=[synth], validation="none",
              keep_partner_graphs=False)
    store = ox.Store.read_only(str(StoreHome(home).current()))
    quads = len(store)
    if not nquads.exists():
        store.dump(str(nquads), format=ox.RdfFormat.N_QUADS)
    del store
    out = SizeRun(size, quads)
    _, trace = trace_query(ns, subsystem=f"subsystem/{SUBSYSTEM}", element="element/Dy", unverified=True)
    makers = {
        "reekg": lambda: engines.reekg(home, work, REEKG_SETTINGS),
        "reekg-uncached": lambda: engines.reekg(home, work, {**REEKG_SETTINGS, **UNCACHED}, label=True),
        "oxigraph": lambda: engines.oxigraph(nquads, _fresh(work / f"oxigraph-{size}")),
        "virtuoso": lambda: virtuoso(nquads, work),
        "rdflib-endpoint": lambda: engines.rdflib_endpoint(nquads, work),
    }
    for key in [k for k in args.engines if k in makers]:
        if key == "rdflib-endpoint" and size > args.rdflib_max:
            continue
        if key == "virtuoso" and test_engines.missing("virtuoso"):
            print(f"  skipping Virtuoso: {test_engines.missing('virtuoso')}", file=sys.stderr)
            continue
        print(f"{size:.0e}: {key}", file=sys.stderr)
        out.engines.append(run_engine(makers[key], trace, args))
    print(f"{size:.0e}: analyst routes", file=sys.stderr)
    for label, extra in (("cached", {}), ("uncached", UNCACHED)):
        out.routes[label] = route_latencies(home, work, {**REEKG_SETTINGS, **extra}, args.route_count,
                                            args.route_timeout, out.first if extra else None)
    if "rdflib" in args.engines and size <= args.rdflib_max:
        print(f"{size:.0e}: rdflib engine in process", file=sys.stderr)
        out.rdflib_trace = rdflib_engine(nquads, trace, args.rdflib_count)
    return out


def _ms(value: float) -> str:
    return f"{value:,.1f} ms" if value >= 10 else f"{value:.2f} ms"


def report(runs: list[SizeRun], args, load_before: float) -> str:
    """The markdown report: how it was measured, the engines side by side, the analyst routes, the targets."""
    out = _header(args, load_before) + _engine_rows(runs, args.clients) + _route_rows(runs, args)
    out += _target_rows(runs)
    rows_seen = {(run.target, e.trace_rows) for run in runs for e in run.engines}
    if len({n for _, n in rows_seen}) > len(runs):
        out += ["", "Note: the engines' trace row counts differ at some size (see the table)."]
    return "\n".join(out)


def _header(args, load_before: float) -> list[str]:
    oxigraph_cli = subprocess.run([str(engines.BIN / "oxigraph"), "--version"], capture_output=True,
                                  text=True).stdout.strip()
    packages = ", ".join(f"{p} {version(p)}" for p in ("pyoxigraph", "rdflib", "rdflib-endpoint", "granian"))
    clients = args.clients
    return [
        "## reekg at scale: serving a synthetic supply network",
        "",
        f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after",
        f"- versions: {oxigraph_cli}, {packages}, Virtuoso open source 7.2 (Debian)",
        "- data: `reekg synth --scale N` (seed 0) + the curated tables, `reekg build --validate none`; the "
        "peers load the N-Quads export of that store",
        f"- trace: `reekg/questions/sparql/trace.rq` on `subsystem/{SUBSYSTEM}`, `element/Dy` and "
        "`unverified=true`, the same text on every engine (reekg with query_timeout=120, max_rows=1000000 so "
        "that nothing is cut); one "
        f"keep-alive client, {args.trace_warmup} warm-up then up to {args.trace_count} or {args.trace_seconds:g} s",
        f"- lookups: `{LOOKUP}` from {' and '.join(map(str, clients))} client processes, {args.seconds:g} s counted "
        "(the clients share the 2 cores with the server)",
        "",
    ]


def _engine_rows(runs: list[SizeRun], clients: list[int]) -> list[str]:
    out = ["| N | quads | engine | trace rows | trace median | trace p95 | "
           + " | ".join(f"lookups/s ({c} clients)" for c in clients) + " | server RSS | ready in |",
           "| ---: | ---: | --- | ---: | ---: | ---: | " + "---: | " * len(clients) + "---: | ---: |"]
    for run in runs:
        for e in run.engines:
            rates = " | ".join(f"{e.per_second[c]:,.0f}" + (f" ({e.errors[c]} errors)" if e.errors[c] else "")
                               for c in clients)
            out.append(f"| {run.target:.0e} | {run.quads:,} | {e.name} | {e.trace_rows} | {_ms(e.trace_median)} | "
                       f"{_ms(e.trace_p95)} | {rates} | {e.rss_mib:,.0f} MiB | {e.startup_s:.0f} s |")
        if run.rdflib_trace:
            med, p95, n = run.rdflib_trace
            out.append(f"| {run.target:.0e} | {run.quads:,} | rdflib engine (in process, no HTTP) | {n} | "
                       f"{_ms(med)} | {_ms(p95)} | " + "– | " * len(clients) + "– | – |")
    notes = [f"- {run.target:.0e}, {e.name}: {e.notes}" for run in runs for e in run.engines
             if e.notes and e.notes not in e.name]
    return out + (["", "Engine notes:", "", *notes] if notes else [])


def _route_rows(runs: list[SizeRun], args) -> list[str]:
    out = ["", "Analyst routes through HTTP on `reekg serve` (median / p95; 3 warm-up then "
           f"{args.route_count} requests on one keep-alive connection):", "",
           "| N | " + " | ".join(name for name, *_ in ROUTES) + " |",
           "| ---: | " + "---: | " * len(ROUTES)]
    for run in runs:
        for label in ("cached", "uncached"):
            cells = " | ".join(f"{_ms(run.routes[label][n][0])} / {_ms(run.routes[label][n][1])}"
                               for n, *_ in ROUTES)
            out.append(f"| {run.target:.0e} {label} | {cells} |")
        if run.first:  # the uncached server's first request of each route, once the warm-up has read the indexes
            cells = " | ".join(_ms(run.first.get(n, float("nan"))) for n, *_ in ROUTES)
            out.append(f"| {run.target:.0e} first request of the build, after its warm-up "
                       f"({run.first.get('warm-up', float('nan')):.1f} s from ready) | {cells} |")
    return out


def _target_rows(runs: list[SizeRun]) -> list[str]:
    """Issue 13's targets, at each size measured (uncached rows: the per-build answer cache is off)."""
    out = ["", "Targets (issue 13):", "", "| N | target | measured | met |", "| ---: | --- | ---: | --- |"]
    for run in runs:
        out += [f"| {run.target:.0e} | {row}" for row in _size_targets(run)]
    by_size = {run.target: run for run in runs}
    if 10**6 in by_size and 10**7 in by_size:  # at 10^7, under 5x the 10^6 medians
        small, large = by_size[10**6].routes["uncached"], by_size[10**7].routes["uncached"]
        for name, *_ in ROUTES:
            ratio = large[name][0] / small[name][0]
            out.append(f"| 1e+07 | {name} < 5× its 10^6 median | {ratio:.1f}× | {_met(ratio < 5)} |")
    return out


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _size_targets(run: SizeRun) -> list[str]:
    by = {e.name: e for e in run.engines}
    reekg = next((e for e in run.engines if "answer_cache_mb=0" in e.name), None)
    oxi, virtuoso_run = by.get("oxigraph serve"), by.get("Virtuoso 7.2")
    out = []
    for name, *_ in ROUTES:
        limit = 500 if name == "scenario" else 100
        med = run.routes["uncached"][name][0]
        out.append(f"{name} median < {limit} ms (uncached) | {_ms(med)} | {_met(med < limit)} |")
    if reekg and virtuoso_run:
        ratio = reekg.trace_median / virtuoso_run.trace_median
        out.append(f"trace.rq median ≤ 1× Virtuoso's | {ratio:.2f}× | {_met(ratio <= 1)} |")
    if reekg and oxi:
        for clients, rate in reekg.per_second.items():
            ratio = rate / oxi.per_second[clients] if oxi.per_second.get(clients) else float("nan")
            out.append(f"lookups, {clients} clients ≥ 0.3× oxigraph serve | {ratio:.2f}× | {_met(ratio >= 0.3)} |")
    if reekg:
        out.append(f"server RSS < 1 GiB (two query workers) | {reekg.rss_mib:,.0f} MiB | "
                   f"{_met(reekg.rss_mib < 1024)} |")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.network", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1e4,1e5,1e6")
    parser.add_argument("--engines", default="reekg,reekg-uncached,oxigraph,virtuoso,rdflib-endpoint,rdflib")
    parser.add_argument("--clients", default="8,32")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--trace-warmup", type=int, default=10)
    parser.add_argument("--trace-count", type=int, default=100)
    parser.add_argument("--trace-seconds", type=float, default=20.0)
    parser.add_argument("--route-count", type=int, default=20)
    parser.add_argument("--route-timeout", type=float, default=900.0,
                        help="seconds a route request may take (the first of a build reads its indexes)")
    parser.add_argument("--rdflib-count", type=int, default=5)
    parser.add_argument("--rdflib-max", type=float, default=1e5,
                        help="largest size at which rdflib (endpoint and engine) run (default 1e5: at 1e6 its "
                             "load alone takes minutes)")
    parser.add_argument("--quick", action="store_true", help="a short run to check the harness")
    parser.add_argument("--work", help="keep builds and exports here (reused by a later run)")
    args = parser.parse_args(argv)
    args.engines = args.engines.split(",")
    args.clients = [int(c) for c in args.clients.split(",")]
    if args.quick:
        args.seconds, args.warmup_seconds, args.trace_warmup, args.trace_count = 2.0, 0.5, 3, 10
        args.route_count, args.rdflib_count = 5, 2
    load_before = os.getloadavg()[0]
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="reekg-bench-network-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        runs = [measure_size(int(float(s)), work, args) for s in args.sizes.split(",")]
        print(report(runs, args, load_before))
        return 0
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
