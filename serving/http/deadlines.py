"""Request deadlines on one timer: a request's future fails with 504 once its time is up.

``asyncio.wait_for`` costs a task per call and a timer per call costs ~2 µs with uvloop;
requests to one model finish roughly in the order they came, so one timer, armed for
the earliest deadline, serves them all.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from typing import Any

from starlette.exceptions import HTTPException

_Future = asyncio.Future[Any]
#: ``(deadline in loop time, the request's future, its timeout)``
_Deadline = tuple[float, _Future, float]


def _expire(future: _Future, timeout: float) -> None:
    if not future.done():
        future.set_exception(
            HTTPException(504, f"the prediction did not finish within {timeout:g} s")
        )


class Deadlines:
    """The deadlines of the requests waiting on one model.

    >>> deadlines = Deadlines(compact_at=3072)
    >>> deadlines.watch(loop, future, 30.0)  # doctest: +SKIP
    """

    def __init__(self, compact_at: int) -> None:
        self._entries: deque[_Deadline] = deque()
        self._compact_at = compact_at  # drop answered ones past this length
        self._sweep: asyncio.TimerHandle | None = None  # armed for the earliest deadline
        self._sweep_at = math.inf
        self._sweep_loop: asyncio.AbstractEventLoop | None = None

    def watch(self, loop: asyncio.AbstractEventLoop, future: _Future, timeout: float) -> None:
        """Fail ``future`` with a 504 if it is not done ``timeout`` s from now."""
        deadline = loop.time() + timeout
        entries = self._entries
        if len(entries) > self._compact_at:
            self._entries = entries = deque(e for e in entries if not e[1].done())
        entries.append((deadline, future, timeout))
        sweep = self._sweep
        if sweep is None or self._sweep_loop is not loop or deadline < self._sweep_at:
            if sweep is not None:
                sweep.cancel()
            self._arm(loop, deadline)

    def prune(self) -> None:
        """Forget the deadlines of answered requests at the front (they finish in order)."""
        entries = self._entries
        while entries and entries[0][1].done():
            entries.popleft()

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        self._sweep = loop.call_at(when, self._expire_due, loop, when)
        self._sweep_at = when
        self._sweep_loop = loop

    def _expire_due(self, loop: asyncio.AbstractEventLoop, armed: float) -> None:
        """The timer fired: fail the requests past their deadline, re-arm for the rest."""
        self._sweep = None
        now = max(loop.time(), armed)
        keep: deque[_Deadline] = deque()
        earliest = math.inf
        for entry in self._entries:
            deadline, future, timeout = entry
            if future.done():
                continue
            if deadline <= now:
                _expire(future, timeout)
            else:
                keep.append(entry)
                earliest = min(earliest, deadline)
        self._entries = keep
        if keep:
            self._arm(loop, earliest)


__all__ = ["Deadlines"]
