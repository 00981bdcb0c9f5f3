"""Prometheus metrics of the scoring server, correct across worker processes.

With several workers the server points ``PROMETHEUS_MULTIPROC_DIR`` at a fresh
directory *before* this module is imported (prometheus_client picks its value store at
import time); ``/metrics`` then aggregates every worker's files.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import partial
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


#: records one observation (a duration, a row count) in a cached metric child
Recorder = Callable[[float], None]


def _adder(child: Any, amount: float) -> Callable[[], None]:
    """``child.inc(amount)`` for a Counter or Gauge child, as one cheap call.

    The public ``inc`` re-checks the labels and the sign on every call; the child's
    value store (a locked float, or its mmap-backed twin in multiprocess mode) does
    the same update. Without that store (another prometheus_client), the public call.
    """
    value = getattr(child, "_value", None)
    if callable(getattr(value, "inc", None)):
        return partial(value.inc, amount)  # type: ignore[union-attr]
    return partial(child.inc, amount)


def _observer(child: Any) -> Recorder:
    """The bound ``observe`` of a Histogram child, resolved once instead of per call."""
    observe: Recorder = child.observe
    return observe


class ModelMetrics:
    """The metrics of one served model version, with label children cached.

    >>> m = ModelMetrics("iris", "3")
    >>> m.request("/invocations", 200, 0.002)
    """

    def __init__(self, name: str, version: str) -> None:
        self.labels = (name, version)
        self._requests: dict[tuple[str, int], Recorder] = {}
        self._inference = _observer(INFERENCE_LATENCY.labels(*self.labels))
        self._rows = _observer(BATCH_ROWS.labels(*self.labels))
        depth = QUEUE_DEPTH.labels(*self.labels)
        value = getattr(depth, "_value", None)
        self._set_depth: Callable[[float], None] = (
            value.set if callable(getattr(value, "set", None)) else depth.set  # type: ignore[union-attr]
        )
        self.in_flight = IN_FLIGHT.labels(*self.labels)
        #: ``in_flight.inc()`` and ``in_flight.dec()``, each one call on the hot path
        self.started = _adder(self.in_flight, 1)
        self.finished = _adder(self.in_flight, -1)

    def _recorder(self, route: str, status: int) -> Recorder:
        count = _adder(REQUESTS.labels(*self.labels, route, str(status)), 1)
        latency = _observer(REQUEST_LATENCY.labels(*self.labels, route))

        def record(seconds: float) -> None:
            count()
            latency(seconds)

        self._requests[route, status] = record
        return record

    def request(self, route: str, status: int, seconds: float, error_code: str = "") -> None:
        """Count one answered request."""
        record = self._requests.get((route, status))
        if record is None:
            record = self._recorder(route, status)
        record(seconds)
        if status >= 400:
            ERRORS.labels(*self.labels, route, str(status), error_code or "UNKNOWN").inc()

    def batch(self, rows: int, seconds: float) -> None:
        """Record one model call of ``rows`` rows."""
        self._rows(rows)
        self._inference(seconds)

    def queue_depth(self, depth: int) -> None:
        """Set the number of requests waiting for the model."""
        self._set_depth(float(depth))

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
