"""A tracking store made current for one test: the environment set, the process-wide
URI reset, and on the way out every fluent run ended, so no test leaks into the next."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def current_store(uri: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``uri`` as ``MODELPACK_TRACKING_URI`` (no experiment name set) while in the block."""
    from modelpack.tracking import config, fluent

    monkeypatch.setenv("MODELPACK_TRACKING_URI", uri)
    monkeypatch.delenv("MODELPACK_EXPERIMENT_NAME", raising=False)
    config.reset_tracking_uri()
    yield uri
    while fluent.active_run() is not None:
        fluent.end_run()
    config.reset_tracking_uri()
