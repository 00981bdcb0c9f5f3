"""Prometheus metrics of the scoring server, correct across worker processes.

With several workers the server points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory *before* this module is imported (prometheus_client picks its value store at
import time); ``/metrics`` then aggregates every worker's files.
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_LABELS = ("model", "version")
_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REQUESTS = Counter(
    "modelpack_requests_total", "HTTP requests by route and status.", (*_LABELS, "route", "status")
)
ERRORS = Counter(
    "modelpack_request_errors_total",
    "Requests answered with an error, by route, status and error code.",
    (*_LABELS, "route", "status", "error_code"),
)
REQUEST_LATENCY = Histogram(
    "modelpack_request_duration_seconds",
    "Time from request start to response, by route.",
    (*_LABELS, "route"),
    buckets=_LATENCY_BUCKETS,
)
INFERENCE_LATENCY = Histogram(
    "modelpack_inference_duration_seconds",
    "Time of one model call (one batch).",
    _LABELS,
    buckets=_LATENCY_BUCKETS,
)
BATCH_ROWS = Histogram(
    "modelpack_batch_rows",
    "Rows per model call.",
    _LABELS,
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096),
)
QUEUE_DEPTH = Gauge(
    "modelpack_queue_depth", "Requests waiting for the model.", _LABELS, multiprocess_mode="livesum"
)
IN_FLIGHT = Gauge(
    "modelpack_in_flight_requests",
    "Requests being served.",
    _LABELS,
    multiprocess_mode="livesum",
)
LOAD_SECONDS = Gauge(
    "modelpack_model_load_seconds",
    "Seconds the served model took to load.",
    _LABELS,
    multiprocess_mode="livemax",
)


class ModelMetrics:
    """The metrics of one served model version, with label children cached.

    >>> m = ModelMetrics("iris", "3")
    >>> m.request("/invocations", 200, 0.002)
    """

    def __init__(self, name: str, version: str) -> None:
        self.labels = (name, version)
        self._requests: dict[tuple[str, int], Any] = {}
        self._latency: dict[str, Any] = {}
        self._inference = INFERENCE_LATENCY.labels(*self.labels)
        self._rows = BATCH_ROWS.labels(*self.labels)
        self._depth = QUEUE_DEPTH.labels(*self.labels)
        self.in_flight = IN_FLIGHT.labels(*self.labels)

    def request(self, route: str, status: int, seconds: float, error_code: str = "") -> None:
        """Count one answered request."""
        key = (route, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = REQUESTS.labels(*self.labels, route, str(status))
        counter.inc()
        latency = self._latency.get(route)
        if latency is None:
            latency = self._latency[route] = REQUEST_LATENCY.labels(*self.labels, route)
        latency.observe(seconds)
        if status >= 400:
            ERRORS.labels(*self.labels, route, str(status), error_code or "UNKNOWN").inc()

    def batch(self, rows: int, seconds: float) -> None:
        """Record one model call of ``rows`` rows."""
        self._rows.observe(rows)
        self._inference.observe(seconds)

    def queue_depth(self, depth: int) -> None:
        """Set the number of requests waiting for the model."""
        self._depth.set(depth)

    def loaded(self, seconds: float) -> None:
        """Record how long loading the model took."""
        LOAD_SECONDS.labels(*self.labels).set(seconds)


def exposition() -> tuple[bytes, str]:
    """``(body, content_type)`` of ``GET /metrics``, summed over workers when there are several."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def worker_exited(pid: int) -> None:
    """Drop the live gauges of a worker process that has exited."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


__all__ = ["MULTIPROC_ENV", "ModelMetrics", "exposition", "worker_exited"]
