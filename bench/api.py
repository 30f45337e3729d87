"""``python -m bench.api``: latency of every analyst route through HTTP on the curated graph (issue 4).

Starts ``reekg serve`` twice on the same build — with the answer caches (the default) and without them
(``answer_cache_mb=0``, so every request runs its queries) — and times each route: 3 warm-up requests, then
``--count`` timed ones on one keep-alive connection. Prints a markdown table; the target is a median under
20 ms for every route.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import statistics
import tempfile
import time
from pathlib import Path

from reekg import settings as settings_registry
from reekg.loaders.build import build

from . import engines

SCENARIO = json.dumps({"restrictions": [{"country": "CN", "elements": ["Dy", "Tb"], "stages": ["separation"]}],
                       "on": "2025-06-01"})
ROUTES = [
    ("GET", "/api/v1/dependents?element=Dy", None),
    ("GET", "/api/v1/trace?subsystem=joint-actuation", None),
    ("GET", "/api/v1/exposure?robot=tesla-optimus&units=5000&on=2025-06-01", None),
    ("GET", "/api/v1/substitutes?element=Dy&function=magnet&on=2025-06-01", None),
    ("POST", "/api/v1/scenario", SCENARIO),
    ("GET", "/api/v1/search?q=%E9%87%B9", None),
    ("GET", "/api/v1/elements/Nd", None),
    ("GET", "/api/v1/functions/phosphor", None),
    ("GET", "/api/v1/subsystems/joint-actuation", None),
    ("GET", "/api/v1/robots/tesla-optimus", None),
    ("GET", "/api/v1/countries/CN", None),
]


def timings(port: int, method: str, path: str, body: str | None, count: int, *, warmup: int = 3,
            timeout: float = 60) -> list[float]:
    """Milliseconds of ``count`` requests on one keep-alive connection, after ``warmup`` untimed ones."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Content-Type": "application/json"} if body else {}
    out = []
    try:
        for i in range(warmup + count):
            started = time.perf_counter()
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{method} {path}: {response.status}")
            if i >= warmup:
                out.append((time.perf_counter() - started) * 1000)
    finally:
        connection.close()
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.api", description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="reekg-bench-api-") as tmp:
        work = Path(tmp)
        built = build(settings_registry.load({"home": str(work / "home")}, environ={}))
        columns = {}
        for label, settings in (("cached", {}), ("uncached", {"answer_cache_mb": "0"})):
            with engines.reekg(work / "home", work, settings) as engine:
                columns[label] = {f"{m} {p.split('?')[0]}": timings(engine.target.port, m, p, b, args.count)
                                  for m, p, b in ROUTES}
    print("## reekg analyst API latency through HTTP\n")
    print(f"- date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {engines_machine()}")
    print(f"- data: the curated graph, {built.manifest['quads']} quads; {args.count} timed requests a route "
          "after 3 warm-up, one keep-alive connection\n")
    print("| route | median (cached) | p95 (cached) | median (uncached) | p95 (uncached) | under 20 ms uncached |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for route in columns["cached"]:
        warm, cold = columns["cached"][route], columns["uncached"][route]
        p95 = lambda xs: sorted(xs)[max(0, int(len(xs) * 0.95) - 1)]  # noqa: E731
        print(f"| `{route}` | {statistics.median(warm):.2f} ms | {p95(warm):.2f} ms | "
              f"{statistics.median(cold):.2f} ms | {p95(cold):.2f} ms | "
              f"{'yes' if statistics.median(cold) < 20 else 'no'} |")
    return 0


def engines_machine() -> str:
    import os

    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"machine: {os.cpu_count()} CPUs, {memory:.1f} GiB; load average {os.getloadavg()[0]:.2f}"


if __name__ == "__main__":
    raise SystemExit(main())
