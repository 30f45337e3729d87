"""Prometheus metrics in the text exposition format, written by hand (no extra dependency).

Counters and the histogram live in the serving process; with several gunicorn workers each worker keeps
its own (scrape them per worker, or run one worker with threads, the default).
https://prometheus.io/docs/instrumenting/exposition_formats/
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _labels(pairs: tuple[tuple[str, str], ...]) -> str:
    if not pairs:
        return ""
    inner = ",".join(f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
                     for k, v in pairs)
    return "{" + inner + "}"


class Metrics:
    """Thread-safe counters and one latency histogram per route."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[tuple[str, str], ...], int] = defaultdict(int)
        self.rejections: dict[str, int] = defaultdict(int)
        self.timeouts = 0
        self.truncated = 0
        self.cache_hits = 0
        self._hist: dict[str, list[int]] = {}
        self._hist_sum: dict[str, float] = defaultdict(float)
        self._hist_count: dict[str, int] = defaultdict(int)
        self.gauges: dict[str, Callable[[], float]] = {}

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        with self._lock:
            self.requests[(("route", route), ("method", method), ("status", str(status)))] += 1
            counts = self._hist.setdefault(route, [0] * (len(BUCKETS) + 1))
            counts[bisect_left(BUCKETS, seconds)] += 1
            self._hist_sum[route] += seconds
            self._hist_count[route] += 1

    def reject(self, reason: str) -> None:
        with self._lock:
            self.rejections[reason] += 1
            if reason == "timeout":
                self.timeouts += 1

    def count_cache_hit(self) -> None:
        with self._lock:
            self.cache_hits += 1

    def count_truncated(self) -> None:
        with self._lock:
            self.truncated += 1

    def render(self) -> str:
        out: list[str] = []
        with self._lock:
            out += ["# HELP reekg_http_requests_total HTTP requests answered, by route, method and status.",
                    "# TYPE reekg_http_requests_total counter"]
            out += [f"reekg_http_requests_total{_labels(k)} {v}" for k, v in sorted(self.requests.items())]
            out += ["# HELP reekg_http_request_duration_seconds Time to answer a request, by route.",
                    "# TYPE reekg_http_request_duration_seconds histogram"]
            for route, counts in sorted(self._hist.items()):
                running = 0
                for bound, count in zip((*BUCKETS, float("inf")), counts, strict=True):
                    running += count
                    le = "+Inf" if bound == float("inf") else repr(bound)
                    out.append(f"reekg_http_request_duration_seconds_bucket"
                               f"{_labels((('route', route), ('le', le)))} {running}")
                out.append(f"reekg_http_request_duration_seconds_sum{_labels((('route', route),))} "
                           f"{self._hist_sum[route]:.6f}")
                out.append(f"reekg_http_request_duration_seconds_count{_labels((('route', route),))} "
                           f"{self._hist_count[route]}")
            out += ["# HELP reekg_query_timeouts_total Queries stopped at their time limit.",
                    "# TYPE reekg_query_timeouts_total counter", f"reekg_query_timeouts_total {self.timeouts}"]
            out += ["# HELP reekg_query_rejections_total Queries refused or failed, by reason.",
                    "# TYPE reekg_query_rejections_total counter"]
            out += [f"reekg_query_rejections_total{_labels((('reason', r),))} {n}"
                    for r, n in sorted(self.rejections.items())]
            out += ["# HELP reekg_query_truncated_total Answers cut at the row cap.",
                    "# TYPE reekg_query_truncated_total counter", f"reekg_query_truncated_total {self.truncated}"]
            out += ["# HELP reekg_answer_cache_hits_total Answers replayed from the per-build answer cache.",
                    "# TYPE reekg_answer_cache_hits_total counter", f"reekg_answer_cache_hits_total {self.cache_hits}"]
        for name, read in sorted(self.gauges.items()):
            out += [f"# TYPE {name} gauge", f"{name} {read()}"]
        return "\n".join(out) + "\n"
