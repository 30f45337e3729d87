"""``python -m bench``: build the curated graph, serve it three ways, measure, print a markdown table.

Engines run one at a time (never side by side) on loopback ports, on the same N-Quads. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pyoxigraph as ox

from reekg import settings as settings_registry
from reekg.loaders.build import build
from reekg.loaders.namespaces import Namespaces
from reekg.loaders.store import StoreHome
from reekg.questions.library import parse

from . import engines
from .client import Latency, Throughput, latency, throughput

HERE = Path(__file__).resolve().parent
TRACE_RQ = HERE.parent / "reekg" / "questions" / "sparql" / "trace.rq"
# Values for the trace query's parameters (the rest keep their defaults or stay unbound if optional).
TRACE_VALUES = {"subsystem": "subsystem/joint-actuation"}
LOOKUP = ("SELECT ?l WHERE { <https://w3id.org/reekg/id/element/Nd> "
          "<http://www.w3.org/2000/01/rdf-schema#label> ?l }")
# reekg serve as benchmarked: its defaults, except a concurrency cap that admits the 8 clients (the default
# cap of 4 queries per HTTP worker would answer half of them 503, which measures the cap, not the service).
REEKG_SETTINGS = {"max_concurrent_queries": "16"}


@dataclass
class Result:
    engine: str
    notes: list[str]
    trace_rows: int
    lookup_rows: int
    trace: Latency
    lookup: Latency  # one client
    lookups: dict[int, Throughput]  # by number of clients


def trace_query(ns: Namespaces, unverified: bool = False, **values: str) -> tuple[str, str]:
    """The traceability query as every engine gets it: explicit PREFIX lines (the peers do not predeclare
    reekg's prefixes) and the parameters bound by a VALUES block at the top of the WHERE group, built from
    N-Triples terms (as for a remote store, STYLE.md), so FILTERs see them as pyoxigraph's substitutions do."""
    prologue = "".join(f"PREFIX {p}: <{iri}>\n" for p, iri in ns.prefixes().items())
    if not TRACE_RQ.exists():
        return "bench/trace_fallback.rq (5 hops)", (HERE / "trace_fallback.rq").read_text(encoding="utf-8")
    query = parse("trace", TRACE_RQ.read_text(encoding="utf-8"))
    values = {name: ns.base + "id/" + value for name, value in (values or TRACE_VALUES).items()}
    bindings = query.bind(ns, **values, unverified="true" if unverified else "false")
    names = " ".join(str(v) for v in bindings)
    terms = " ".join(str(t) for t in bindings.values())
    block = f"VALUES ({names}) {{ ({terms}) }}\n"
    text, found = re.subn(r"\bWHERE\s*\{", lambda m: m.group(0) + "\n  " + block, query.text, count=1)
    if not found:
        raise RuntimeError("reekg/questions/sparql/trace.rq has no WHERE {")
    bound = ", ".join(f"{v}={t}" for v, t in zip(names.split(), terms.split(), strict=True))
    return f"reekg/questions/sparql/trace.rq ({bound})", prologue + text


def rows(engine: engines.Engine, query: str) -> int:
    from .client import Connection

    conn = Connection(engine.target.host, engine.target.port)
    try:
        status, body = conn.request(engine.target.get(query))
    finally:
        conn.close()
    if status != 200:
        raise RuntimeError(f"{engine.name}: HTTP {status}: {body[:500]!r}")
    return len(json.loads(body)["results"]["bindings"])


def measure(engine: engines.Engine, trace: str, args: argparse.Namespace) -> Result:
    print(f"  {engine.name}: checking answers", file=sys.stderr)
    trace_rows, lookup_rows = rows(engine, trace), rows(engine, LOOKUP)
    print(f"  {engine.name}: trace latency", file=sys.stderr)
    trace_latency = latency(engine.target, trace, warmup=args.trace_warmup, count=args.trace_count,
                            max_seconds=args.trace_seconds)
    print(f"  {engine.name}: lookup latency, one client", file=sys.stderr)
    lookup_latency = latency(engine.target, LOOKUP, warmup=args.trace_warmup * 10, count=args.trace_count * 10,
                             max_seconds=args.trace_seconds / 3)
    lookups = {}
    for clients in args.clients:
        print(f"  {engine.name}: lookups, {clients} clients", file=sys.stderr)
        lookups[clients] = throughput(engine.target, LOOKUP, clients=clients, warmup=args.warmup_seconds,
                                      seconds=args.seconds, server_cpu=engine.cpu_seconds)
    return Result(engine.name, engine.notes, trace_rows, lookup_rows, trace_latency, lookup_latency, lookups)


def machine() -> str:
    mem = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal:"))
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    return f"{os.cpu_count()} CPUs ({model}), {int(mem) / 1024**2:.1f} GiB memory, {platform.platform()}"


def versions() -> str:
    oxigraph_cli = subprocess.run([str(engines.BIN / "oxigraph"), "--version"], capture_output=True,
                                  text=True).stdout.strip()
    packages = ["pyoxigraph", "rdflib", "rdflib-endpoint", "flask", "gunicorn", "uvicorn"]
    return ", ".join([f"python {platform.python_version()}", oxigraph_cli.replace("oxigraph ", "oxigraph (CLI) ")]
                     + [f"{p} {version(p)}" for p in packages])


def report(results: list[Result], *, trace_source: str, quads: int, args: argparse.Namespace,
           build_seconds: float | None) -> str:
    out = _how(trace_source, quads, args, build_seconds) + _tables(results) + _targets(results)
    out += ["", "Client cost (the load generator shares the machine with the server):", ""]
    for r in results:
        for clients, t in r.lookups.items():
            out.append(f"- {r.engine}, {clients} clients: clients used {100 * t.client_share:.0f}% of the machine's "
                       f"CPU, {t.client_cpu_per_request_ms:.3f} ms CPU a request → alone on every core they could "
                       f"drive about {t.client_ceiling:,.0f} lookups/s")
    if len({r.trace_rows for r in results}) > 1:
        out += ["", "**The engines disagree on the trace query's row count** (see the table): compare their "
                "answers before trusting the latency ratio."]
    return "\n".join(out)


def _how(trace_source: str, quads: int, args: argparse.Namespace, build_seconds: float | None) -> list[str]:
    clients = " and ".join(str(n) for n in args.clients)
    return [
        "## reekg benchmarks",
        "",
        f"- date: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}; load average {args.load_before:.2f} before the run, "
        f"{os.getloadavg()[0]:.2f} after (other work on the machine skews every number)",
        f"- versions: {versions()}",
        f"- data: the curated graph, {quads} quads ("
        + (f"built in {build_seconds:.0f} s" if build_seconds is not None else "store reused from --work")
        + "), the same N-Quads in every engine",
        f"- trace query: {trace_source}; one client, one keep-alive connection, {args.trace_warmup} warm-up "
        f"requests, then up to {args.trace_count} or {args.trace_seconds:g} s (sent as a form POST: its URL "
        "would pass the 8 KiB request head `oxigraph serve` accepts)",
        f"- lookup: `{LOOKUP}`; latency from one client on one keep-alive connection; throughput from {clients} "
        f"client processes, one keep-alive connection each, {args.warmup_seconds:g} s warm-up then "
        f"{args.seconds:g} s counted; answers as SPARQL JSON",
    ]


def _tables(results: list[Result]) -> list[str]:
    out = ["", "| engine | lookup rows | trace rows | trace median | trace p95 | trace n | lookup median "
           "| lookup p95 | notes |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for r in results:
        out.append(f"| {r.engine} | {r.lookup_rows} | {r.trace_rows} | {r.trace.median:.2f} ms | "
                   f"{r.trace.p95:.2f} ms | {len(r.trace.samples_ms)} | {r.lookup.median:.3f} ms | "
                   f"{r.lookup.p95:.3f} ms | {'; '.join(r.notes)} |")
    out += ["", "| engine | clients | lookups/s | non-200 | server CPU | server CPU/lookup |",
            "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in results:
        for clients, t in r.lookups.items():
            out.append(f"| {r.engine} | {clients} | {t.per_second:,.0f} | {t.errors} | {100 * t.server_share:.0f}% "
                       f"| {t.server_cpu_per_request_ms:.2f} ms |")
    return out


def _met(ok: bool) -> str:
    return "yes" if ok else "no"


def _targets(results: list[Result]) -> list[str]:
    """Ratios to the peers (issue 3's trace and lookups; issue 13's lookups at each client count and latency)."""
    by = {r.engine: r for r in results}
    oxi, rdfl = by.get("oxigraph serve"), by.get("rdflib-endpoint")
    out = ["", "| target | measured | met |", "| --- | ---: | --- |"]
    for reekg in (r for r in results if r.engine.startswith("reekg")):
        who = reekg.engine.removeprefix("reekg serve").strip() or "reekg"
        if oxi:
            ratio = reekg.trace.median / oxi.trace.median
            out.append(f"| trace median, {who} / oxigraph serve ≤ 1.5× | {ratio:.2f}× | {_met(ratio <= 1.5)} |")
            for clients, t in reekg.lookups.items():
                if clients in oxi.lookups:
                    ratio = t.per_second / oxi.lookups[clients].per_second
                    out.append(f"| lookups/s at {clients} clients, {who} / oxigraph serve ≥ 0.3× | {ratio:.2f}× | "
                               f"{_met(ratio >= 0.3)} |")
            ratio = reekg.lookup.median / oxi.lookup.median
            out.append(f"| lookup median (one client), {who} / oxigraph serve ≤ 2× | {ratio:.2f}× | "
                       f"{_met(ratio <= 2)} |")
        if rdfl:
            first = next(iter(reekg.lookups))
            ratio = reekg.lookups[first].per_second / rdfl.lookups[first].per_second
            out.append(f"| lookups/s, {who} / rdflib-endpoint ≥ 5× | {ratio:.1f}× | {_met(ratio >= 5)} |")
    return out


def _counts(text: str) -> list[int]:
    return [int(n) for n in text.split(",") if n.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--clients", type=_counts, default=[8, 32],
                        help="comma-separated client counts of the throughput runs (default 8,32)")
    parser.add_argument("--seconds", type=float, default=10.0, help="counted seconds of the throughput run")
    parser.add_argument("--warmup-seconds", type=float, default=2.0)
    parser.add_argument("--trace-warmup", type=int, default=20)
    parser.add_argument("--trace-count", type=int, default=200)
    parser.add_argument("--trace-seconds", type=float, default=30.0)
    parser.add_argument("--quick", action="store_true", help="a short run to check that everything works")
    parser.add_argument("--engines", default="reekg,oxigraph,rdflib", help="comma-separated subset")
    parser.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                        help="a reekg setting for the benchmarked server (repeatable)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=VALUE[,NAME=VALUE]",
                        help="also measure reekg with these settings on top (repeatable; one row each)")
    parser.add_argument("--work", help="keep the work folder here (default: a temporary folder, removed)")
    args = parser.parse_args(argv)
    if args.quick:
        args.seconds, args.warmup_seconds, args.trace_warmup, args.trace_count = 3.0, 1.0, 5, 30
    args.load_before = os.getloadavg()[0]
    reekg_settings = dict(REEKG_SETTINGS)
    for item in args.set:
        name, _, value = item.partition("=")
        reekg_settings[name] = value

    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="reekg-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        home = work / "home"
        started = time.perf_counter()
        build_seconds = None  # None: a store kept from an earlier run (--work) was reused
        if StoreHome(home).current() is None:
            print(f"building the curated graph into {home}", file=sys.stderr)
            build(settings_registry.load({"home": str(home)}, environ={}))
            build_seconds = time.perf_counter() - started
        nquads = work / "graph.nq"
        store = ox.Store.read_only(str(StoreHome(home).current()))
        store.dump(str(nquads), format=ox.RdfFormat.N_QUADS)
        quads = len(store)
        del store
        source, trace = trace_query(Namespaces())
        chosen = args.engines.split(",")
        variants = [dict(reekg_settings, **dict(kv.split("=", 1) for kv in v.split(",") if kv))
                    for v in args.variant]
        starts = {"reekg": [lambda: engines.reekg(home, work, reekg_settings)]
                  + [lambda v=v: engines.reekg(home, work, v, label=True) for v in variants],
                  "oxigraph": [lambda: engines.oxigraph(nquads, work)],
                  "rdflib": [lambda: engines.rdflib_endpoint(nquads, work)]}
        results = []
        for key in chosen:
            for start in starts[key]:
                print(f"starting {key}", file=sys.stderr)
                with start() as engine:
                    results.append(measure(engine, trace, args))
        print(report(results, trace_source=source, quads=quads, args=args, build_seconds=build_seconds))
        return 0
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
