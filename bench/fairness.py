"""``python -m bench.fairness``: are short queries answered while runaway ones run? (issue 10, item 4)

Builds the curated graph, then runs the same mixed load twice against ``reekg serve`` on loopback: with the
query pool of before (``query_fairness=false``: first come, first served on ``query_workers``) and with the fair
pool (the default). The load: ``--clients`` clients (32) for ``--seconds`` (30) each, each on its own keep-alive
connection sending one query after another; ``--slow`` of them (2) send a runaway query (a COUNT over a
three-way cross product, stopped at the 10 s time limit), the others cheap lookups. The answer cache is off so
that every request runs its query, and the concurrency cap admits every HTTP thread's request (16), so that
what is measured is the pool, not the cap. Prints a markdown table: the 503 rate of the cheap clients and the
p50/p99 latency of their queries. Target (issue 10): < 1 % 503 outside the slow clients and p99 < 10x p50.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from reekg import settings as settings_registry
from reekg.loaders.build import build

from . import engines

# Cheap queries that still need a query worker (a FILTER, a join): a query of one triple pattern is answered in
# the HTTP process (query_inline) and would not test the pool's fairness at all.
CHEAP = [
    'SELECT ?l WHERE { element:Nd rdfs:label ?l FILTER (LANG(?l) = "en") }',
    'SELECT ?s WHERE { ?s reekg:symbol ?symbol FILTER (?symbol = "Dy") }',
    "SELECT ?p ?o WHERE { element:Tb ?p ?o FILTER (isLiteral(?o)) } LIMIT 20",
    "ASK { element:Nd a reekg:ChemicalElement ; reekg:symbol ?symbol }",
]
SLOW = "SELECT (COUNT(*) AS ?n) { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
SETTINGS = {"answer_cache_mb": "0", "max_concurrent_queries": "16"}
MODES = {"before (query_fairness=false)": {"query_fairness": "false"}, "after (fair pool, defaults)": {}}


@dataclass
class Tally:
    cheap: list[tuple[int, float]] = field(default_factory=list)  # (status, seconds)
    slow: list[tuple[int, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(port: int, queries: list[str], until: float, into: list[tuple[int, float]], lock: threading.Lock) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    i = 0
    try:
        while time.monotonic() < until:
            path = "/sparql?" + urllib.parse.urlencode({"query": queries[i % len(queries)]})
            i += 1
            started = time.perf_counter()
            try:
                connection.request("GET", path, headers={"Accept": "application/sparql-results+json"})
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status = 0
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                into.append((status, time.perf_counter() - started))
    finally:
        connection.close()


def mixed_load(port: int, clients: int, slow: int, seconds: float) -> Tally:
    tally = Tally()
    until = time.monotonic() + seconds
    threads = []
    for n in range(clients):
        is_slow = n < slow
        target = tally.slow if is_slow else tally.cheap
        queries = [SLOW] if is_slow else CHEAP[n % len(CHEAP):] + CHEAP[:n % len(CHEAP)]
        threads.append(threading.Thread(target=_client, args=(port, queries, until, target, tally.lock), daemon=True))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds + 90)
    return tally


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.fairness", description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--slow", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--only", choices=["before", "after"], help="run one of the two pools")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="reekg-bench-fairness-") as tmp:
        work = Path(tmp)
        built = build(settings_registry.load({"home": str(work / "home")}, environ={}))
        for label, mode in MODES.items():
            if args.only and not label.startswith(args.only):
                continue
            with engines.reekg(work / "home", work, {**SETTINGS, **mode}) as engine:
                tally = mixed_load(engine.target.port, args.clients, args.slow, args.seconds)
                status = json.loads(_get(engine.target.port, "/readyz"))["backend"]
            rows.append((label, tally, status))
    print("## Short queries under runaway ones (`python -m bench.fairness`)\n")
    memory = engines_machine()
    print(f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {memory}")
    print(f"- data: the curated graph, {built.manifest['quads']} quads; {args.clients} clients for "
          f"{args.seconds:g} s, {args.slow} of them sending `{SLOW}` (10 s limit), the rest cheap lookups; "
          f"reekg serve defaults except {', '.join(f'{k}={v}' for k, v in SETTINGS.items())}\n")
    print("| pool | cheap requests | cheap 503 | 503 rate outside the slow clients | cheap p50 | cheap p99 | "
          "p99 / p50 | slow requests (503) | long queries stopped |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for label, tally, status in rows:
        cheap = [s for _, s in tally.cheap if _ == 200]
        busy = sum(1 for code, _ in tally.cheap if code == 503)
        other = sum(1 for code, _ in tally.cheap if code not in (200, 503))
        p50, p99 = _percentile(cheap, 0.5) * 1000, _percentile(cheap, 0.99) * 1000
        rate = busy / len(tally.cheap) if tally.cheap else float("nan")
        slow_busy = sum(1 for code, _ in tally.slow if code == 503)
        shown_other = f" (+{other} other)" if other else ""
        print(f"| {label} | {len(tally.cheap)} | {busy}{shown_other} | {rate:.2%} | {p50:.1f} ms | {p99:.1f} ms | "
              f"{p99 / p50:.1f}x | {len(tally.slow)} ({slow_busy}) | {status.get('stopped_long_queries', '—')} |")
    return 0


def _get(port: int, path: str) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", path)
        return connection.getresponse().read().decode()
    finally:
        connection.close()


def engines_machine() -> str:
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"machine: {os.cpu_count()} CPUs, {memory:.1f} GiB; load average {os.getloadavg()[0]:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
