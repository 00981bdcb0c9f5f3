"""``modelpack predict``: the command-line face of :mod:`modelpack.serving.batch.job`."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

import click

from modelpack.serving.batch.inputs import FORMATS

EXIT_SKIPPED = 3
#: The most rows one batch may hold. A batch lives in memory, so this is far above any
#: useful size; it keeps a huge value a usage error (at 2**63 pyarrow's readers overflow).
MAX_BATCH_ROWS = 2**31 - 1


def _on_sigterm(signum: int, frame: Any) -> None:
    # Unwind like Ctrl-C so the temporary output file is removed.
    raise KeyboardInterrupt


def _split(values: tuple[str, ...]) -> tuple[str, ...] | None:
    """Column names from comma-separated or repeated options, each once, first one wins:
    a name given twice would become two output fields of one name, a file that
    pandas and pyarrow refuse to read."""
    if not values:
        return None
    names = (n.strip() for v in values for n in v.split(","))
    return tuple(dict.fromkeys(n for n in names if n)) or None


@click.command(
    epilog="""\b
Exit codes:
  0    every row was scored and the output file written
  1    error (bad input, schema mismatch, missing model, unwritable
       output); no output file is written
  2    wrong usage (unknown or invalid option)
  3    output written, but --on-error skip left out some batches
  130  interrupted (Ctrl-C or SIGTERM); no output file is written
"""
)
@click.option(
    "-m", "--model-uri", required=True, help="Model path or URI (models:/name/1, runs:/...)."
)
@click.option(
    "-i", "--input", "input_", required=True, help="Input file, directory or glob (quote it)."
)
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Output file.")
@click.option("--input-format", type=click.Choice(FORMATS), help="Default: from the extensions.")
@click.option(
    "--output-format", type=click.Choice(FORMATS), help="Default: from the extension, else parquet."
)
@click.option(
    "--batch-rows",
    type=click.IntRange(1, MAX_BATCH_ROWS),
    default=65_536,
    show_default=True,
    help="Rows per batch; memory follows this, not the file size.",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(1, 256),
    default=1,
    show_default=True,
    help="Processes scoring batches. The model is loaded once and shared by forked "
    "workers; flavors that cannot be forked (onnx) load one copy per worker.",
)
@click.option(
    "--result-column",
    help="Name of the prediction column (default: from the signature, else 'prediction').",
)
@click.option(
    "--keep-columns",
    multiple=True,
    help="Input columns to copy to the output (comma-separated or repeated). "
    "Default: the columns the model does not read (keys). A model with one tensor "
    "input (onnx) reads every column not named here.",
)
@click.option("--keep-all-columns", is_flag=True, help="Copy every input column to the output.")
@click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="On a batch that fails enforcement or prediction: stop, or report and skip it.",
)
@click.option(
    "--env-manager",
    type=click.Choice(["local", "virtualenv"]),
    default="local",
    show_default=True,
    help="Score here, or in a cached virtualenv built from the model's own requirements.",
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar or summary.")
@click.option("--trust", is_flag=True, help="Allow models whose loading executes code (pickle).")
def predict(
    model_uri: str,
    input_: str,
    output: Path,
    input_format: str | None,
    output_format: str | None,
    batch_rows: int,
    workers: int,
    result_column: str | None,
    keep_columns: tuple[str, ...],
    keep_all_columns: bool,
    on_error: str,
    env_manager: str,
    quiet: bool,
    trust: bool,
) -> None:
    """Score parquet, CSV or JSON-lines files with a model, in streamed batches.

    Every batch is checked against the model's signature exactly as
    `PyFuncModel.predict` does. The output holds the key columns plus the
    prediction column(s) and appears only when the whole job succeeded.

    \b
    Example:
      modelpack predict -m models:/iris/1 -i 'data/*.parquet' -o scores.parquet -w 2
    """
    # SIGTERM unwinds like Ctrl-C, from the start: no half-built environment, no output.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        if env_manager == "virtualenv":
            sys.exit(_rerun_in_virtualenv(model_uri))
        from modelpack.serving.batch.job import BatchConfig, score_files

        config = BatchConfig(
            model_uri=model_uri,
            input=input_,
            output=output,
            input_format=input_format,
            output_format=output_format,
            batch_rows=batch_rows,
            workers=workers,
            result_column=result_column,
            keep_columns=_split(keep_columns),
            keep_all_columns=keep_all_columns,
            on_error=on_error,
            progress=not quiet and sys.stderr.isatty(),
            trust=trust or None,
        )
        report = score_files(config, on_skip=None if quiet else _echo_err)
    finally:
        signal.signal(signal.SIGTERM, previous)
    if not quiet:
        rate = report.rows_written / report.seconds if report.seconds else 0.0
        click.echo(
            f"scored {report.rows_written:,} rows from {report.files} file(s) into '{output}' "
            f"in {report.seconds:.1f}s ({rate:,.0f} rows/s)",
            err=True,
        )
    if report.skipped:
        click.echo(f"warning: {len(report.skipped)} batch(es) skipped", err=True)
        sys.exit(EXIT_SKIPPED)


def _rerun_in_virtualenv(model_uri: str) -> int:
    """Run this same command with ``--env-manager local`` in the model's environment and
    return its exit status; a signal to this process stops that job (see ``run_cli``)."""
    from modelpack.serving.envs.virtualenv import python_for_model, run_cli
    from modelpack.uris import resolve_model_uri

    model_dir = resolve_model_uri(model_uri)
    python = python_for_model(model_dir)
    ctx = click.get_current_context()
    argv = ["predict", "-m", str(model_dir), "--env-manager", "local"]
    for param in ctx.command.params:
        value = ctx.params.get(param.name or "")
        if param.name in ("model_uri", "env_manager") or value in (None, False, ()):
            continue
        flag = max(param.opts, key=len)
        if isinstance(param, click.Option) and param.is_flag:
            argv.append(flag)
        elif isinstance(value, tuple):
            argv.extend(x for v in value for x in (flag, str(v)))
        else:
            argv.extend((flag, str(value)))
    # mypy checks serving/ apart from the installed modelpack.serving: run_cli is Any here.
    status: int = run_cli(python, argv)
    return status


def _echo_err(message: str) -> None:
    from tqdm import tqdm

    # tqdm.write clears and redraws a progress bar around the line.
    tqdm.write(message, file=sys.stderr)


__all__ = ["EXIT_SKIPPED", "MAX_BATCH_ROWS", "predict"]
