"""The batch scorer: stream files through a model's ``predict`` and write one output file.

Every batch goes through :meth:`PyFuncModel.prepare_input`, the same enforcement as
``predict`` and the HTTP server. With ``workers > 1`` batches are scored in that many
processes (:mod:`modelpack.serving.batch.workers`) and written in input order.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from modelpack.errors import InvalidInput, PredictionError, SchemaError
from modelpack.serving.batch.inputs import (
    Format,
    InputFile,
    TextTypes,
    discover_inputs,
    format_of,
    iter_batches,
    open_input,
)
from modelpack.serving.batch.outputs import (
    OutputSpec,
    column_types,
    input_names,
    single_tensor,
    tensor_type,
)
from modelpack.serving.batch.workers import Job, Scorer
from modelpack.serving.batch.writer import (
    AtomicWriter,
    OutputMismatch,
    check_output,
    remove_unfinished,
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
    scorer = Scorer(config.workers, spec, local_model, metadata.path, config.trust)
    try:
        sources = [open_input(path, input_format) for path in files]
        names = input_names(metadata)
        types = _text_types(config, metadata) if input_format != "parquet" else None
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
        remove_unfinished()
    report.seconds = time.perf_counter() - started
    return report


def _load(config: BatchConfig) -> tuple[ModelMetadata, PyFuncModel | None]:
    """The model's metadata, plus the model itself when this process loads it: always
    with one worker, and before forking the workers when the flavor allows it."""
    from modelpack.pyfunc_model import ModelMetadata, fork_safe, load_located, locate_model

    path, mlmodel, flavor = locate_model(config.model_uri)
    if config.workers > 1 and not fork_safe(flavor):
        return ModelMetadata(path=path, mlmodel=mlmodel), None  # each worker loads its own
    model = load_located(path, mlmodel, flavor, trust=config.trust)
    return model.metadata, model


def _batches(
    config: BatchConfig,
    sources: list[InputFile],
    names: list[str] | None,
    tensor: str | None,
    types: TextTypes | None,
    bar: Any,
) -> Iterator[Job]:
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
            yield Job(
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


def _text_types(config: BatchConfig, metadata: ModelMetadata) -> TextTypes:
    """How to type a CSV or JSON-lines file's columns for this model.

    Columns of a column signature get their declared types. A model with one numeric
    tensor input, read from every column not kept, gets them all parsed as the tensor's
    element type (float32 for most ONNX models): parsing as float64 and converting
    would round twice, and enforcement never converts a tensor.
    """
    named = column_types(metadata) or {}
    tensor, element = single_tensor(metadata), tensor_type(metadata)
    kept = set(config.keep_columns or ())

    def types(names: list[str]) -> dict[str, pa.DataType]:
        if element is not None and tensor not in names:
            return {name: element for name in names if name not in kept}
        return {name: t for name, t in named.items() if name in names}

    return types


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


def _join(job: Job, predictions: pa.Table) -> pa.Table:
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


def _write(writer: AtomicWriter, job: Job, predictions: pa.Table) -> None:
    import pyarrow as pa

    try:
        writer.write(_join(job, predictions))
    except OutputMismatch as exc:
        raise InvalidInput(
            f"'{job.path}' rows {job.start + 1}-{job.start + job.rows}: the output columns do "
            f"not fit the file being written ({exc}); make the input files agree on their "
            "columns and types"
        ) from None
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        # never Arrow's message: it can quote the values it could not write
        raise InvalidInput(
            f"'{job.path}' rows {job.start + 1}-{job.start + job.rows}: the output format cannot "
            f"hold these columns ({type(exc).__name__}); write parquet instead"
        ) from None


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
