"""The batch scorer: stream files through a model's ``predict`` and write one output file.

Every batch goes through :meth:`PyFuncModel.prepare_input`, the same enforcement as
``predict`` and the HTTP server. With ``workers > 1`` batches are scored in that many
processes and written in input order. The model is loaded once and the workers are
forked from it, unless its flavor declares ``fork_safe = False``; then each spawned
worker loads its own copy.
"""

from __future__ import annotations

import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelpack.errors import InvalidInput, ModelpackError, PredictionError, SchemaError
from modelpack.serving.batch_io import (
    AtomicWriter,
    Format,
    InputFile,
    check_output,
    discover_inputs,
    format_of,
    iter_batches,
    open_input,
)
from modelpack.serving.batch_output import (
    OutputSpec,
    column_types,
    input_names,
    single_tensor,
    to_table,
)

if TYPE_CHECKING:
    import pyarrow as pa

    from modelpack.pyfunc_model import ModelMetadata, PyFuncModel

OnError = Literal["fail", "skip"]
DEFAULT_BATCH_ROWS = 65_536


@dataclass(frozen=True)
class BatchConfig:
    """Everything one ``modelpack predict`` run needs, spelled once.

    ``keep_columns=None`` keeps the input's key columns: those the model does not read.

    >>> config = BatchConfig("models:/iris/1", "data/*.parquet", Path("scores.parquet"))
    """

    model_uri: str
    input: str
    output: Path
    input_format: Format | None = None
    output_format: Format | None = None
    batch_rows: int = DEFAULT_BATCH_ROWS
    workers: int = 1
    result_column: str | None = None
    keep_columns: tuple[str, ...] | None = None
    keep_all_columns: bool = False
    on_error: OnError = "fail"
    progress: bool = False
    trust: bool | None = None

    def __post_init__(self) -> None:
        if self.batch_rows < 1:
            raise InvalidInput(f"batch rows must be at least 1, got {self.batch_rows}")
        if not 1 <= self.workers <= 256:
            raise InvalidInput(f"workers must be between 1 and 256, got {self.workers}")
        if self.on_error not in ("fail", "skip"):
            raise InvalidInput(f"on_error must be 'fail' or 'skip', got {self.on_error!r}")
        if self.keep_columns is not None and self.keep_all_columns:
            raise InvalidInput("pass keep_columns or keep_all_columns, not both")


@dataclass
class BatchReport:
    """What a finished run did: counts, skipped batches and the time it took."""

    files: int = 0
    rows_read: int = 0
    rows_written: int = 0
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0


def score_files(
    config: BatchConfig, *, on_skip: Callable[[str], None] | None = None
) -> BatchReport:
    """Score every input file with the model and write the output file atomically.

    Raises :class:`modelpack.errors.ModelpackError` (nothing is written then). With
    ``on_error="skip"`` a batch that fails enforcement or prediction is left out and
    described to ``on_skip``.

    >>> report = score_files(BatchConfig("model/", "in.csv", Path("out.parquet")))  # doctest: +SKIP
    >>> report.rows_written  # doctest: +SKIP
    150
    """
    started = time.perf_counter()
    files, input_format = discover_inputs(config.input, config.input_format)
    output = config.output.expanduser()
    check_output(output)
    resolved_output = output.resolve()
    if any(f.resolve() == resolved_output for f in files):
        raise InvalidInput(f"output '{output}' is also an input; choose another output path")
    output_format = config.output_format or format_of(output) or "parquet"

    metadata, local_model = _load(config)
    spec = OutputSpec.from_metadata(metadata, config.result_column)
    # Workers start now, so loading their models overlaps with opening the inputs.
    scorer = _Scorer(config, metadata.path, local_model, spec)
    try:
        sources = [open_input(path, input_format) for path in files]
        names = input_names(metadata)
        types = column_types(metadata) if input_format != "parquet" else None
        report = BatchReport(files=len(sources))
        with AtomicWriter(output, output_format) as writer, _progress(config, sources) as bar:
            for job, result in scorer.run(
                _batches(config, sources, names, single_tensor(metadata), types, bar)
            ):
                report.rows_read += job.rows
                if isinstance(result, (SchemaError, PredictionError)):
                    message = f"'{job.path}' rows {job.start + 1}-{job.start + job.rows}: "
                    message += result.message
                    if config.on_error == "fail":
                        raise type(result)(message) from None
                    report.skipped.append(message)
                    if on_skip is not None:
                        on_skip(f"skipped {message}")
                        bar.refresh()
                elif isinstance(result, BaseException):
                    raise result
                else:
                    _write(writer, job, result)
                    report.rows_written += job.rows
                bar.update(job.rows)
            if writer.schema is None:
                raise InvalidInput(
                    "no rows were scored: the input holds no rows"
                    if not report.skipped
                    else "no rows were scored: every batch was skipped"
                )
            writer.commit()
    finally:
        scorer.close()
    report.seconds = time.perf_counter() - started
    return report


def _load(config: BatchConfig) -> tuple[ModelMetadata, PyFuncModel | None]:
    """The model's metadata, plus the model itself when this process loads it: always
    with one worker, and before forking the workers when the flavor allows it."""
    from modelpack.pyfunc_model import (
        ModelMetadata,
        PyFuncModel,
        fork_safe,
        locate_model,
        trust_from_env,
    )

    path, mlmodel, flavor = locate_model(config.model_uri)
    metadata = ModelMetadata(path=path, mlmodel=mlmodel)
    if config.workers > 1 and not fork_safe(flavor):
        return metadata, None  # each worker loads its own copy
    impl = flavor.load_pyfunc(path, mlmodel, trust=trust_from_env(config.trust))
    return metadata, PyFuncModel(impl, metadata, flavor)


@dataclass
class _Job:
    """One record batch on its way through the scorer, with where it came from."""

    path: Path
    start: int
    rows: int
    model_input: pa.RecordBatch
    kept: pa.RecordBatch


def _batches(
    config: BatchConfig,
    sources: list[InputFile],
    names: list[str] | None,
    tensor: str | None,
    types: dict[str, pa.DataType] | None,
    bar: Any,
) -> Iterator[_Job]:
    bytes_before = 0
    total_bytes = sum(s.size for s in sources) or 1
    rows_seen = 0
    estimated = any(s.rows is None for s in sources)
    for source in sources:
        start = 0
        for batch, position in iter_batches(source, config.batch_rows, types):
            if batch.num_rows == 0:
                continue
            columns = batch.schema.names
            reads = _read_columns(names, tensor, columns)
            keep = _kept_columns(config, columns, reads, source.path)
            model_cols = [c for c in columns if c in reads] if reads is not None else columns
            if reads is None and config.keep_columns and not config.keep_all_columns:
                model_cols = [c for c in model_cols if c not in config.keep_columns]
            yield _Job(
                source.path, start, batch.num_rows, batch.select(model_cols), batch.select(keep)
            )
            start += batch.num_rows
            rows_seen += batch.num_rows
            if estimated:
                done = bytes_before + position
                bar.total = max(rows_seen * total_bytes // max(done, 1), rows_seen)
        bytes_before += source.size
    if estimated:
        bar.total = rows_seen


def _read_columns(
    names: list[str] | None, tensor: str | None, columns: list[str]
) -> list[str] | None:
    """The columns the model reads, or None for every column the user does not keep.

    A model with one tensor input reads its named column when the file has one, else
    every column (an ONNX model on a float32 table): nothing names its features.
    """
    if tensor is not None and tensor not in columns:
        return None
    return names


def _kept_columns(
    config: BatchConfig, columns: list[str], names: list[str] | None, path: Path
) -> list[str]:
    if config.keep_all_columns:
        return columns
    if config.keep_columns is None:
        return [c for c in columns if names is not None and c not in names]
    missing = [c for c in config.keep_columns if c not in columns]
    if missing:
        raise InvalidInput(
            f"'{path}' has no column {', '.join(repr(c) for c in missing)} to keep; "
            f"check --keep-columns"
        )
    return list(config.keep_columns)


def _join(job: _Job, predictions: pa.Table) -> pa.Table:
    import pyarrow as pa

    clash = set(job.kept.schema.names) & set(predictions.schema.names)
    if clash:
        raise InvalidInput(
            f"prediction column {', '.join(repr(c) for c in sorted(clash))} is also an input "
            "column being kept; pass --result-column with another name"
        )
    kept = pa.Table.from_batches([job.kept])
    for name in predictions.column_names:
        kept = kept.append_column(name, predictions.column(name))
    return kept


def _write(writer: AtomicWriter, job: _Job, predictions: pa.Table) -> None:
    import pyarrow as pa

    try:
        writer.write(_join(job, predictions))
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        raise InvalidInput(
            f"'{job.path}' rows {job.start + 1}-{job.start + job.rows}: the columns do not have "
            f"the types of the first batch written ({str(exc).splitlines()[0][:160]}); "
            "make the input files agree on column types"
        ) from None


class _Scorer:
    """Turns jobs into prediction tables, in this process or in a pool, keeping order."""

    def __init__(
        self, config: BatchConfig, model_path: Path, model: PyFuncModel | None, spec: OutputSpec
    ) -> None:
        self._model = model
        self._spec = spec
        self._workers = config.workers
        self._pool: ProcessPoolExecutor | None = None
        if config.workers > 1:
            import multiprocessing
            from multiprocessing.context import BaseContext

            context: BaseContext
            if model is not None:
                # Loaded here, before any Arrow thread pool runs: forked workers share the
                # model copy-on-write and start scoring at once.
                context = multiprocessing.get_context("fork")
                initializer: Callable[..., None] = _init_forked_worker
                initargs: tuple[Any, ...] = (model, spec)
            else:
                # The flavor's native threads would not survive fork: each worker loads.
                context = multiprocessing.get_context("spawn")
                initializer, initargs = _init_worker, (str(model_path), config.trust, spec)
            self._pool = ProcessPoolExecutor(
                max_workers=config.workers,
                mp_context=context,
                initializer=initializer,
                initargs=initargs,
            )
            # The pool starts a process per submission while none is idle: start them all.
            for _ in range(config.workers):
                self._pool.submit(_ready)

    def run(self, jobs: Iterator[_Job]) -> Iterator[tuple[_Job, pa.Table | BaseException]]:
        if self._pool is None:
            for job in jobs:
                yield job, _score(self._model, self._spec, job.model_input)
            return
        pending: deque[tuple[_Job, Future[Any]]] = deque()
        for job in jobs:
            payload = _pack(job.model_input)
            pending.append((job, self._pool.submit(_score_in_worker, payload)))
            if len(pending) >= 2 * self._workers:
                yield self._collect(*pending.popleft())
        while pending:
            yield self._collect(*pending.popleft())

    @staticmethod
    def _collect(job: _Job, future: Future[Any]) -> tuple[_Job, pa.Table | BaseException]:
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
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)


def _score(model: Any, spec: OutputSpec, batch: pa.RecordBatch) -> pa.Table | BaseException:
    """Enforce, predict and convert one batch; a user-caused error is returned, not raised."""
    try:
        frame = batch.to_pandas()
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

    result = _score(_WORKER["model"], _WORKER["spec"], _unpack(payload).to_batches()[0])
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


class _NoBar:
    total: int | None = None

    def update(self, n: int) -> None:
        pass

    def refresh(self) -> None:
        pass

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc_info: object) -> None:
        pass


def _progress(config: BatchConfig, sources: list[InputFile]) -> Any:
    if not config.progress:
        return _NoBar()
    from tqdm import tqdm

    known = all(s.rows is not None for s in sources)
    return tqdm(
        total=sum(s.rows or 0 for s in sources) if known else None,
        unit=" rows",
        unit_scale=True,
        dynamic_ncols=True,
        smoothing=0.1,
    )


__all__ = ["DEFAULT_BATCH_ROWS", "BatchConfig", "BatchReport", "OnError", "score_files"]
