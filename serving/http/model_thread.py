"""The thread a served model predicts in, so a sync model never blocks the event loop.

One call per merged batch crosses threads. ``loop.run_in_executor`` spends ~50 µs of
CPU on each crossing (a ``concurrent.futures.Future`` with its condition variable,
the executor's bookkeeping, then chaining that future to an asyncio one); a queue
in and ``call_soon_threadsafe`` out spend ~35 µs.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from typing import Any

_Call = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _resolve(future: asyncio.Future[Any], result: Any) -> None:
    if not future.done():
        future.set_result(result)


def _reject(future: asyncio.Future[Any], error: BaseException) -> None:
    if not future.done():
        future.set_exception(error)


class ModelThread:
    """Runs calls one at a time, in order, in a single daemon thread started on first use.

    After :meth:`shutdown` the thread finishes what was queued and ends; a later call
    (a request that reached a replaced model version late) starts a new thread with a
    queue of its own, so it is answered rather than left waiting on a thread that ended.

    >>> thread = ModelThread("modelpack-predict")  # doctest: +SKIP
    >>> await thread.call(model.predict_prepared, frame, None)  # doctest: +SKIP
    """

    def __init__(self, name: str) -> None:
        self.name = name
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def call(self, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """A future of ``fn(*args)``, run in the thread after the calls queued before it."""
        loop = asyncio.get_running_loop()
        if self._thread is None:
            self._thread = threading.Thread(
                target=_serve, args=(self._calls,), name=self.name, daemon=True
            )
            self._thread.start()
        future: asyncio.Future[Any] = loop.create_future()
        self._calls.put((loop, future, fn, args))
        return future

    def shutdown(self) -> None:
        """Let the thread finish the calls queued so far, then end."""
        if self._thread is None:
            return
        self._calls.put(None)
        self._calls = queue.SimpleQueue()
        self._thread = None


def _serve(calls: queue.SimpleQueue[_Call | None]) -> None:
    while True:
        item = calls.get()
        if item is None:
            return
        loop, future, fn, args = item
        try:
            result = fn(*args)
        except BaseException as exc:  # handed to the awaiting request, not lost here
            outcome: tuple[Callable[..., None], Any] = (_reject, exc)
        else:
            outcome = (_resolve, result)
        try:
            loop.call_soon_threadsafe(outcome[0], future, outcome[1])
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


__all__ = ["ModelThread"]
