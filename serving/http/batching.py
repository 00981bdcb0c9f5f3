"""Adaptive batching: concurrent requests merged into one prediction, split back by rows.

One dispatcher task per loaded model takes every queued request (up to
``max_batch_rows`` rows), merges the prepared inputs, runs the model once in a
worker thread (so a sync model never blocks the event loop) and hands each request
its own rows. Column data not yet put through the signature (``prepared=False``)
is merged first and enforced once per batch, in the worker thread: building a
one-row DataFrame per request cost more than the rest of the request. Requests queue while a prediction runs, so batches grow with load and
a lone request never waits: the dispatcher only lingers (up to ``max_wait_ms``) when
other requests are still being read and parsed.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.exceptions import HTTPException

from modelpack.errors import ModelpackError
from modelpack.pyfunc_model import PyFuncModel
from modelpack.serving.http.deadlines import Deadlines
from modelpack.serving.http.merging import (
    columns_key,
    merge,
    merge_columns,
    rows_and_key,
    split_rows,
)
from modelpack.serving.http.model_thread import ModelThread

#: ``(rows, seconds)`` of each prediction call, for metrics.
BatchObserver = Callable[[int, float], None]
#: signature enforcement: ``(data, params)`` in, the converted pair out
Prepare = Callable[[Any, Any], tuple[Any, Any]]
#: weight of the newest batch in the moving average of seconds per queued request
_DRAIN_WEIGHT = 0.2


@dataclass(eq=False)
class _Job:
    data: Any
    params: dict[str, Any] | None
    rows: int
    key: Any
    future: asyncio.Future[Any] = field(repr=False)
    raw: bool = False  # data still needs enforcement


def _settle(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


def _prepare_each(prepare: Prepare, jobs: list[_Job]) -> list[tuple[bool, Any]]:
    """In the model thread: ``(True, prepared)`` or ``(False, error)`` for each job."""
    outcomes: list[tuple[bool, Any]] = []
    for job in jobs:
        try:
            outcomes.append((True, prepare(job.data, job.params)))
        except Exception as exc:
            outcomes.append((False, exc))
    return outcomes


class Batcher:
    """Runs predictions for one model, merging concurrent requests.

    >>> batcher = Batcher(model, max_batch_rows=256, max_wait_ms=2, max_queue=1024)  # doctest: +SKIP
    >>> await batcher.predict(*model.prepare_input(data, None), timeout=30)  # doctest: +SKIP
    """

    def __init__(
        self,
        model: PyFuncModel,
        *,
        max_batch_rows: int,
        max_wait_ms: float,
        max_queue: int,
        observer: BatchObserver | None = None,
        on_depth: Callable[[int], None] | None = None,
        prepare: Prepare | None = None,
    ) -> None:
        self.model = model
        self._prepare = prepare
        self.max_batch_rows = max(1, max_batch_rows)
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.arriving = 0  # requests being read or parsed: worth waiting for
        self._observer = observer
        self._on_depth = on_depth
        self._queue: deque[_Job] = deque()
        self._waiter: asyncio.Future[bool] | None = None  # the idle dispatcher's
        self._task: asyncio.Task[None] | None = None
        self._thread = ModelThread("modelpack-predict")
        self._closed = False
        self._deadlines = Deadlines(compact_at=2 * max_queue + 1024)
        self._expected = 1  # requests in the last batch: how many clients are active
        self._job_seconds = 0.0  # moving average of the time a batch takes per request

    @property
    def depth(self) -> int:
        """Requests waiting for the model."""
        return len(self._queue)

    async def predict(
        self, data: Any, params: Any, timeout: float, *, prepared: bool = True
    ) -> Any:
        """This request's predictions; 503 when the queue is full, 504 after ``timeout`` s.

        With ``prepared=False`` the data has not been through the signature yet:
        column data is enforced with its batch, anything else right here.
        """
        raw = False
        if not prepared:
            if self._prepare is None:
                raise RuntimeError("this Batcher was built without a prepare function")
            rows, key = columns_key(data, params) if self.max_batch_rows > 1 else (0, None)
            if key is None:  # enforced here, before the queue check, as callers used to
                data, params = self._prepare(data, params)
            else:
                raw = True
        self._check_capacity(timeout)
        if not raw:
            rows, key = rows_and_key(data, params) if self.max_batch_rows > 1 else (0, None)
        loop = asyncio.get_running_loop()
        if self._task is None or self._task.done():
            self._task = loop.create_task(self._dispatch())
        job = _Job(data, params, rows, key, loop.create_future(), raw)
        self._queue.append(job)
        self._depth_changed()
        self._wake()
        # on expiry the job's future fails, so a job still queued is dropped unrun
        self._deadlines.watch(loop, job.future, timeout)
        return await job.future

    def _check_capacity(self, timeout: float) -> None:
        """A 503 with ``Retry-After`` when the queue is full, or when draining it would
        take longer than this request may wait: better an early answer to come back
        later than a 504 after the whole timeout (and a queue that only grows)."""
        depth = len(self._queue)
        if depth >= self.max_queue:
            reason = "prediction queue full"
        elif depth and self._job_seconds * (depth + 1) > timeout:
            reason = "the queue would take longer than the request timeout to drain"
        else:
            return
        drain = self._job_seconds * (depth + 1)
        retry_after = str(max(1, min(math.ceil(drain), 60)))
        raise HTTPException(
            503,
            f"the server is at capacity ({reason}); retry after {retry_after} s",
            headers={"Retry-After": retry_after},
        )

    def close(self) -> None:
        """Finish what is queued, then stop (used when a newer model version takes over)."""
        self._closed = True
        self._wake()

    async def _dispatch(self) -> None:
        while True:
            while not self._queue:
                if self._closed:
                    self._thread.shutdown()
                    return
                await self._sleep(None)
            batch = self._take()
            if batch and self.max_wait and batch[0].key is not None and self._worth_waiting(batch):
                deadline = time.monotonic() + self.max_wait
                while self._worth_waiting(batch):
                    remaining = deadline - time.monotonic()
                    if remaining <= 0 or not await self._sleep(remaining):
                        break
                    batch += self._take(batch)
            self._depth_changed()
            if batch:
                started = time.perf_counter()
                try:
                    await self._run(batch)
                except Exception as exc:  # keep dispatching whatever one batch did
                    for job in batch:
                        if not job.future.done():
                            job.future.set_exception(exc)
                # seconds per queued request, as batching now achieves it: how long
                # the queue takes to drain (a moving average, to ride out one slow call)
                per_job = (time.perf_counter() - started) / len(batch)
                weight = _DRAIN_WEIGHT if self._job_seconds else 1.0  # the first: as is
                self._job_seconds += weight * (per_job - self._job_seconds)
                self._deadlines.prune()
                # Everyone in the system now: the clients just answered send their next
                # requests right away. Counting only the last batch would let two groups
                # taking turns (8 + 8 of 16 connections) keep every batch at half size.
                self._expected = len(batch) + len(self._queue) + self.arriving

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    async def _sleep(self, timeout: float | None) -> bool:
        """Wait for a new request (or :meth:`close`); False when ``timeout`` s passed first."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiter = waiter
        timer = None if timeout is None else loop.call_later(timeout, _settle, waiter)
        try:
            return await waiter
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def _worth_waiting(self, batch: list[_Job]) -> bool:
        """More requests are on their way: some are being parsed, or more clients were active.

        The requests in the system when the last batch was answered estimate how
        many clients are waiting on this model; the answered ones send their next
        requests right away, and not waiting for them would split steady load into
        smaller batches.
        """
        if self._queue or sum(j.rows for j in batch) >= self.max_batch_rows:
            return False  # full, or what is queued cannot join it
        return self.arriving > 0 or len(batch) < self._expected

    def _take(self, batch: list[_Job] | None = None) -> list[_Job]:
        """Queued jobs that can join ``batch`` (or start one), in order."""
        taken: list[_Job] = []
        rows = sum(j.rows for j in batch) if batch else 0
        key = batch[0].key if batch else None
        while self._queue:
            job = self._queue[0]
            if job.future.done():  # timed out while queued: abandoned
                self._queue.popleft()
                continue
            if batch or taken:
                if key is None or job.key != key or rows + job.rows > self.max_batch_rows:
                    break
            else:
                key = job.key
            self._queue.popleft()
            taken.append(job)
            rows += job.rows
            if key is None:
                break
        return taken

    async def _run(self, batch: list[_Job]) -> None:
        live = [j for j in batch if not j.future.done()]
        if len(live) > 1:
            answered = await self._run_merged(live)
            if answered is not None:
                if answered:
                    return
                await self._run_alone(live)  # the output cannot be split by rows
                return
            # A bad request in the batch: it must fail alone, and the others must not
            # pay for it with a call each. Enforcing each request finds a bad input;
            # the good ones then go again as one batch.
            live, isolated = await self._enforce_each(live) if live[0].raw else (live, False)
            await self._bisect(live, retry=isolated)
            return
        await self._run_alone(live)

    async def _run_merged(self, jobs: list[_Job]) -> bool | None:
        """Run ``jobs`` as one call and answer each: True; None if the call failed on the
        input; False if the output could not be split back by rows (nothing answered)."""
        raw = jobs[0].raw
        try:
            merged = (merge_columns if raw else merge)([j.data for j in jobs])
            rows = sum(j.rows for j in jobs)
            output = await self._call(merged, jobs[0].params, rows, raw)
        except (ModelpackError, ValueError, TypeError):
            return None
        parts = split_rows(output, [j.rows for j in jobs])
        if parts is None:
            return False
        for job, part in zip(jobs, parts, strict=True):
            if not job.future.done():
                job.future.set_result(part)
        return True

    async def _enforce_each(self, jobs: list[_Job]) -> tuple[list[_Job], bool]:
        """Enforce each raw job alone (one call to the model thread for all of them);
        fail the ones refused. Returns the prepared others, and whether any was refused
        (if none was, the model itself failed on the merged input)."""
        prepare = self._prepare
        assert prepare is not None  # raw jobs exist only with a prepare function
        outcomes = await self._thread.call(_prepare_each, prepare, jobs)
        good: list[_Job] = []
        for job, (ok, value) in zip(jobs, outcomes, strict=True):
            if not ok:
                if not job.future.done():
                    job.future.set_exception(value)
                continue
            job.data, job.params = value
            job.raw = False
            job.rows, job.key = rows_and_key(job.data, job.params)
            good.append(job)
        if good and any(j.key is None or j.key != good[0].key for j in good):
            await self._run_alone(good)  # prepared inputs that cannot be concatenated
            return [], True
        return good, len(good) < len(jobs)

    async def _bisect(self, jobs: list[_Job], *, retry: bool) -> None:
        """Answer ``jobs``: as one call (when ``retry``), else by halves, recursively, so
        one failing request among n costs about 2 log2(n) calls rather than n."""
        jobs = [j for j in jobs if not j.future.done()]
        if len(jobs) <= 1:
            await self._run_alone(jobs)
            return
        if retry:
            answered = await self._run_merged(jobs)
            if answered:
                return
            if answered is False:
                await self._run_alone(jobs)
                return
        half = len(jobs) // 2
        await self._bisect(jobs[:half], retry=True)
        await self._bisect(jobs[half:], retry=True)

    async def _run_alone(self, jobs: list[_Job]) -> None:
        """One call per job."""
        for job in jobs:
            if job.future.done():
                continue
            try:
                result = await self._call(job.data, job.params, max(job.rows, 1), job.raw)
            except Exception as exc:
                if not job.future.done():
                    job.future.set_exception(exc)
            else:
                if not job.future.done():
                    job.future.set_result(result)

    async def _call(
        self, data: Any, params: dict[str, Any] | None, rows: int, raw: bool = False
    ) -> Any:
        output, seconds, error = await self._thread.call(self._run_model, data, params, raw)
        if seconds is not None and self._observer is not None:
            self._observer(rows, seconds)
        if error is not None:
            raise error
        return output

    def _run_model(
        self, data: Any, params: Any, raw: bool
    ) -> tuple[Any, float | None, Exception | None]:
        """In the worker thread: enforce (``raw``), then predict; ``(output, seconds, error)``.

        ``seconds`` times the model call alone, and is None when enforcement refused
        the input before the model was called.
        """
        if raw and self._prepare is not None:
            data, params = self._prepare(data, params)
        start = time.perf_counter()
        try:
            output = self.model.predict_prepared(data, params)
        except Exception as exc:
            return None, time.perf_counter() - start, exc
        return output, time.perf_counter() - start, None

    def _depth_changed(self) -> None:
        if self._on_depth is not None:
            self._on_depth(len(self._queue))


__all__ = ["BatchObserver", "Batcher", "Prepare", "split_rows"]
