"""``modelpack predict`` on bad input: clear errors, documented exit codes, nothing partial."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import conftest_batch
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from conftest_batch import WriteInputs, iris_frame, predict_process, write_table

import modelpack
from modelpack.cli import cli

iris_model = conftest_batch.iris_model
write_inputs = conftest_batch.write_inputs


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["predict", *map(str, args)], catch_exceptions=False)


def leftovers(directory: Path) -> list[str]:
    return sorted(
        p.name for p in directory.iterdir() if ".tmp-" in p.name or p.name == "out.parquet"
    )


def break_file(directory: Path, index: int) -> Path:
    """Rewrite input file ``index`` with ``petal_width`` as strings: a schema mismatch."""
    path = directory / f"part-{index:03d}.parquet"
    frame = pd.read_parquet(path)
    frame["petal_width"] = frame["petal_width"].astype(str)
    write_table(frame, path)
    return path


def test_schema_mismatch_in_file_37_of_100_names_file_rows_and_column(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=100, rows=20)
    break_file(directory, 36)
    out = tmp_path / "out.parquet"

    result = run("-m", iris_model, "-i", directory, "-o", out, "-q")

    assert result.exit_code == 1
    message = result.stderr
    assert "part-036.parquet" in message and "rows 1-20" in message
    assert "petal_width" in message
    assert "Traceback" not in message
    assert leftovers(tmp_path) == []


def test_on_error_skip_reports_skips_and_exits_3(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=4, rows=25)
    break_file(directory, 2)
    out = tmp_path / "out.parquet"

    result = run("-m", iris_model, "-i", directory, "-o", out, "--on-error", "skip")

    assert result.exit_code == 3
    assert "skipped" in result.stderr and "part-002.parquet" in result.stderr
    ids = pq.read_table(out)["id"].to_pylist()
    assert ids == list(range(50)) + list(range(75, 100))


def test_two_workers_report_the_mismatch_the_same_way(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=6, rows=20)
    break_file(directory, 4)

    out = tmp_path / "out.parquet"
    result = predict_process("-m", iris_model, "-i", directory, "-o", out, "-w", "2", "-q")

    assert result.returncode == 1
    assert "part-004.parquet" in result.stderr and "petal_width" in result.stderr
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.csv", b"", "is empty"),
        ("bad.parquet", b"id,x\n1,2\n", "not a valid parquet file"),
        ("bad.jsonl", b'{"id": 1, "sepal_length": \n', "cannot be read as jsonl"),
        ("header-only.csv", b"id,sepal_length,sepal_width,petal_length,petal_width\n", "no rows"),
    ],
)
def test_unreadable_inputs_are_clear_errors(
    tmp_path: Path, iris_model: Path, name: str, content: bytes, expected: str
) -> None:
    source = tmp_path / name
    source.write_bytes(content)

    result = run("-m", iris_model, "-i", source, "-o", tmp_path / "out.parquet", "-q")

    assert result.exit_code == 1
    assert expected in result.stderr
    assert leftovers(tmp_path) == []


def test_missing_inputs_and_bad_outputs(tmp_path: Path, iris_model: Path) -> None:
    source = write_table(iris_frame(10), tmp_path / "in.parquet")
    (tmp_path / "a-file").write_text("x")
    cases = [
        (["-i", tmp_path / "nope.csv", "-o", tmp_path / "o.parquet"], "does not exist"),
        (["-i", f"{tmp_path}/*.nothing", "-o", tmp_path / "o.parquet"], "no input files"),
        (["-i", source, "-o", tmp_path], "is a directory"),
        (["-i", source, "-o", tmp_path / "a-file" / "o.parquet"], "does not exist"),
        (["-i", source, "-o", source], "is also an input"),
    ]
    for args, expected in cases:
        result = run("-m", iris_model, *args, "-q")
        assert result.exit_code == 1, args
        assert expected in result.stderr, (args, result.stderr)


def test_shell_metacharacters_in_uri_are_just_a_missing_model(tmp_path: Path) -> None:
    source = write_table(iris_frame(10), tmp_path / "in.parquet")
    marker = tmp_path / "pwned"

    result = run("-m", f"model; touch {marker}", "-i", source, "-o", tmp_path / "o.parquet")

    assert result.exit_code == 1
    assert "no model directory" in result.stderr
    assert not marker.exists()


def test_interrupt_leaves_no_output(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelpack.serving import batch

    directory = write_inputs(n_files=3, rows=20)
    calls = []
    real_write = batch._write

    def interrupted(*args: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_write(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(batch, "_write", interrupted)
    result = run("-m", iris_model, "-i", directory, "-o", tmp_path / "out.parquet", "-q")

    assert result.exit_code == 130
    assert leftovers(tmp_path) == []


def test_existing_output_survives_a_failed_run(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=2, rows=10)
    out = tmp_path / "out.parquet"
    out.write_bytes(b"previous results")
    break_file(directory, 1)

    assert run("-m", iris_model, "-i", directory, "-o", out, "-q").exit_code == 1
    assert out.read_bytes() == b"previous results"


def test_usage_errors_exit_2(tmp_path: Path, iris_model: Path) -> None:
    result = run("-m", iris_model, "-i", "x", "-o", "y", "--workers", "0")
    assert result.exit_code == 2


class _SlowModel(modelpack.pyfunc.PythonModel):
    """Answers zeros, a fifth of a second per batch: a job long enough to interrupt."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> object:
        time.sleep(0.2)
        return [0.0] * len(model_input)


def _processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_forked_workers_and_leaves_no_output(
    tmp_path: Path, sig: signal.Signals
) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the CLI cannot import us
    model = tmp_path / "slow"
    modelpack.pyfunc.save_model(model, python_model=_SlowModel())
    source = write_table(iris_frame(400), tmp_path / "in.parquet")
    out = tmp_path / f"out-{sig.name}.parquet"
    command = [sys.executable, "-c", "from modelpack.cli import main; main()", "predict"]
    command += ["-m", str(model), "-i", str(source), "-o", str(out), "--batch-rows", "10"]
    proc = subprocess.Popen([*command, "-w", "2", "--trust", "-q"], stderr=subprocess.PIPE)

    deadline = time.monotonic() + 60
    while not any(".tmp-" in p.name for p in tmp_path.iterdir()):  # batches are being written
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()  # type: ignore[union-attr]
        time.sleep(0.05)
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=30)

    assert proc.returncode == 130, stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    for _ in range(100):  # the forked workers end with their parent
        if not _processes_mentioning(str(out)):
            break
        time.sleep(0.1)
    assert _processes_mentioning(str(out)) == []
