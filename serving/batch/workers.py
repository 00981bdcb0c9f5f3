"""The processes that score batches for ``modelpack predict --workers N``.

:class:`Scorer` turns batches into prediction tables in this process, or in a pool of
worker processes while keeping input order. The model is loaded once and the workers
are forked from it, unless its flavor declares ``fork_safe = False`` (native thread
pools); then each spawned worker loads its own copy. Batches travel as Arrow IPC bytes.
"""

from __future__ import annotations

import gc
import os
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.errors import ModelpackError, PredictionError, SchemaError
from modelpack.serving.batch.outputs import OutputSpec, to_table

if TYPE_CHECKING:
    import pyarrow as pa

    from modelpack.pyfunc_model import PyFuncModel


@dataclass
class Job:
    """One record batch on its way through the scorer, with where it came from."""

    path: Path
    start: int
    rows: int
    model_input: pa.RecordBatch
    kept: pa.RecordBatch


class Scorer:
    """Turns jobs into prediction tables, in this process or in a pool, keeping order.

    ``model`` is the loaded model, or None when each worker must load its own from
    ``model_path`` (a flavor that is not fork-safe).

    >>> scorer = Scorer(2, spec, model, model.metadata.path, trust=None)  # doctest: +SKIP
    >>> for job, table_or_error in scorer.run(jobs): ...  # doctest: +SKIP
    >>> scorer.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        workers: int,
        spec: OutputSpec,
        model: PyFuncModel | None,
        model_path: Path,
        trust: bool | None,
    ) -> None:
        self._model = model
        self._spec = spec
        self._workers = workers
        self._pool: ProcessPoolExecutor | None = None
        if workers > 1:
            import multiprocessing
            from multiprocessing.context import BaseContext

            context: BaseContext
            if model is not None:
                # Loaded here, before any Arrow thread pool runs: forked workers share the
                # model copy-on-write and start scoring at once.
                context = multiprocessing.get_context("fork")
                # the workers' collections then leave the shared pages alone (close()
                # hands the objects back to this process's collector)
                gc.freeze()
                initializer: Callable[..., None] = _init_forked_worker
                initargs: tuple[Any, ...] = (model, spec)
            else:
                # The flavor's native threads would not survive fork: each worker loads.
                context = multiprocessing.get_context("spawn")
                initializer, initargs = _init_worker, (str(model_path), trust, spec)
            self._pool = ProcessPoolExecutor(
                max_workers=workers,
                mp_context=context,
                initializer=initializer,
                initargs=initargs,
            )
            # The pool starts a process per submission while none is idle: start them all.
            for _ in range(workers):
                self._pool.submit(_ready)

    def run(self, jobs: Iterator[Job]) -> Iterator[tuple[Job, pa.Table | BaseException]]:
        if self._pool is None:
            for job in jobs:
                yield job, score_batch(self._model, self._spec, job.model_input)
            return
        pending: deque[tuple[Job, Future[Any]]] = deque()
        for job in jobs:
            payload = _pack(job.model_input)
            pending.append((job, self._pool.submit(_score_in_worker, payload)))
            if len(pending) >= 2 * self._workers:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    @staticmethod
    def _collect(job: Job, future: Future[Any]) -> tuple[Job, pa.Table | BaseException]:
        from concurrent.futures.process import BrokenProcessPool

        try:
            result = future.result()
            return job, _unpack(result) if isinstance(result, bytes) else result
        except BrokenProcessPool:
            raise PredictionError(
                "a worker process died while scoring (out of memory?); retry with fewer "
                "--workers or a smaller --batch-rows"
            ) from None

    def close(self) -> None:
        """Stop the workers: queued batches are dropped, running ones finish (one each).

        Waiting matters: a pool left shutting down while the interpreter exits races
        its wake-up pipe on CPython 3.11 and prints "Bad file descriptor" at exit.
        """
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            if self._model is not None:
                gc.unfreeze()


def batch_frame(batch: pa.RecordBatch) -> Any:
    """The batch as the DataFrame enforcement judges.

    Arrow hands an integer column holding nulls to pandas as float64, which would let
    its values pass as doubles (9007199254740993 becoming ...992.0) where
    ``PyFuncModel.predict`` on the same data refuses them. Such columns keep pandas'
    nullable integer types instead, so enforcement sees what the file holds.
    """
    import pyarrow as pa

    nulls_in_ints = any(
        pa.types.is_integer(field.type) and batch.column(i).null_count
        for i, field in enumerate(batch.schema)
    )
    if not nulls_in_ints:
        return batch.to_pandas()
    import pandas as pd

    nullable = {
        pa.int8(): pd.Int8Dtype(),
        pa.int16(): pd.Int16Dtype(),
        pa.int32(): pd.Int32Dtype(),
        pa.int64(): pd.Int64Dtype(),
        pa.uint8(): pd.UInt8Dtype(),
        pa.uint16(): pd.UInt16Dtype(),
        pa.uint32(): pd.UInt32Dtype(),
        pa.uint64(): pd.UInt64Dtype(),
    }
    return batch.to_pandas(types_mapper=nullable.get)


def score_batch(model: Any, spec: OutputSpec, batch: pa.RecordBatch) -> pa.Table | BaseException:
    """Enforce, predict and convert one batch; a user-caused error is returned, not raised."""
    try:
        frame = batch_frame(batch)
        data, params = model.prepare_input(frame)
        return to_table(model.predict_prepared(data, params), batch.num_rows, spec)
    except (SchemaError, PredictionError) as exc:
        return exc


_WORKER: dict[str, Any] = {}


def _init_worker(model_path: str, trust: bool | None, spec: OutputSpec) -> None:
    """A spawned worker: loads its own copy of the model."""
    _ignore_ctrl_c()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _WORKER["spec"] = spec
    try:
        from modelpack.pyfunc_model import load_model

        _WORKER["model"] = load_model(model_path, trust=trust)
    except ModelpackError as exc:
        _WORKER["error"] = exc


def _init_forked_worker(model: PyFuncModel, spec: OutputSpec) -> None:
    """A forked worker: the parent's model is already here (the arguments are inherited)."""
    _ignore_ctrl_c()
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one BLAS/OpenMP thread per worker process; workers fill the cores
    _WORKER["model"], _WORKER["spec"] = model, spec


def _ignore_ctrl_c() -> None:
    import signal

    # Ctrl-C is the parent's to handle; a worker that died of it would break the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _ready() -> None:
    """A no-op task: submitting it makes the pool start a worker (and load its model)."""


def _score_in_worker(payload: bytes) -> bytes | BaseException:
    if "error" in _WORKER:
        raise _WORKER["error"]
    import pyarrow as pa

    result = score_batch(_WORKER["model"], _WORKER["spec"], _unpack(payload).to_batches()[0])
    return _pack(result) if isinstance(result, (pa.Table, pa.RecordBatch)) else result


def _pack(data: pa.RecordBatch | pa.Table) -> bytes:
    """Arrow IPC bytes: ~40x cheaper to send to a process than pickling the batch."""
    import pyarrow as pa

    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, data.schema) as stream:
        stream.write(data)
    return sink.getvalue().to_pybytes()  # type: ignore[no-any-return]


def _unpack(payload: bytes) -> pa.Table:
    import pyarrow as pa

    return pa.ipc.open_stream(payload).read_all()


__all__ = ["Job", "Scorer", "score_batch"]
