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
    from modelpack.serving.batch import job as batch

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
        if not conftest_batch.processes_mentioning(str(out)):
            break
        time.sleep(0.1)
    assert conftest_batch.processes_mentioning(str(out)) == []


# --- found by reviewing the batch scorer with hostile but valid files ----------------


def test_an_integer_column_with_a_null_is_judged_as_integers(
    tmp_path: Path, iris_model: Path
) -> None:
    # Arrow hands such a column to pandas as floats: 2**53 + 1 would reach the model as
    # 2**53 where the same column without its null is refused
    import pyarrow as pa

    frame = iris_frame(20)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    big = pa.array([None] + [2**53 + 1] * 19, pa.int64())
    pq.write_table(table.set_column(1, "sepal_length", big), tmp_path / "in.parquet")
    result = run("-m", iris_model, "-i", tmp_path / "in.parquet", "-o", tmp_path / "o.parquet")
    assert result.exit_code == 1
    assert "sepal_length" in result.stderr and "long (int64)" in result.stderr
    assert str(2**53 + 1) not in result.stderr and not (tmp_path / "o.parquet").exists()


def test_spark_temporary_and_hidden_directories_are_not_read(
    tmp_path: Path, iris_model: Path
) -> None:
    directory = tmp_path / "in"
    for part in ("part-0.parquet", "_temporary/0/part-0.parquet", ".ipynb_checkpoints/p.parquet"):
        (directory / part).parent.mkdir(parents=True, exist_ok=True)
        write_table(iris_frame(10), directory / part)
    result = run("-m", iris_model, "-i", directory, "-o", tmp_path / "out.parquet", "-q")
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(tmp_path / "out.parquet").num_rows == 10


def test_jsonl_output_keeps_every_value_exact(tmp_path: Path, iris_model: Path) -> None:
    import datetime as dt
    import json

    import pyarrow as pa

    frame = iris_frame(3)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(0, "id", pa.array([2**53 + 1, None, 7], pa.int64()))
    stamp = dt.datetime(2024, 1, 1, 12, 0, 0, 123456)
    table = table.append_column("at", pa.array([stamp] * 3, pa.timestamp("us")))
    table = table.append_column("day", pa.array([dt.date(2024, 2, 29)] * 3, pa.date32()))
    table = table.append_column("blob", pa.array([b"\x00\xff", b"hi", None], pa.binary()))
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.jsonl"
    result = run("-m", iris_model, "-i", tmp_path / "in.parquet", "-o", out, "--keep-all-columns")
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == [2**53 + 1, None, 7]  # not 9007199254740992.0, 7.0
    assert rows[0]["at"] == "2024-01-01T12:00:00.123456" and rows[0]["day"] == "2024-02-29"
    assert [r["blob"] for r in rows] == [
        "AP8=",
        "aGk=",
        None,
    ]  # plain base64 (the server's /invocations adds MLflow's newline)


def test_later_files_are_matched_by_column_name(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=2, rows=10)
    second = directory / "part-001.parquet"
    frame = pd.read_parquet(second)
    write_table(frame[list(reversed(frame.columns))], second)  # same columns, other order
    out = tmp_path / "out.parquet"
    result = run("-m", iris_model, "-i", directory, "-o", out, "--keep-all-columns", "-q")
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).column("id").to_pylist() == list(range(20))

    frame["note"] = "x"  # a column the first file does not have: named, no traceback
    write_table(frame, second)
    result = run("-m", iris_model, "-i", directory, "-o", tmp_path / "o2.parquet", "-q")
    assert result.exit_code == 1 and "'note'" in result.stderr and "part-001" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreadable_text_and_type_clashes_never_quote_the_data(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    secret = "CUSTOMER-SSN-123-45-0049"
    frame = iris_frame(10)
    csv = frame.to_csv(index=False) + f"10,5.0,3.5,1.3,0.3,{secret}\n"  # a ragged row
    (tmp_path / "ragged.csv").write_text(csv)
    result = run("-m", iris_model, "-i", tmp_path / "ragged.csv", "-o", tmp_path / "a.parquet")
    assert result.exit_code == 1 and secret not in result.stderr
    bad_cell = frame.astype({"sepal_width": object})
    bad_cell.loc[5, "sepal_width"] = secret
    write_table(bad_cell, tmp_path / "cell.csv")
    result = run("-m", iris_model, "-i", tmp_path / "cell.csv", "-o", tmp_path / "b.parquet")
    assert result.exit_code == 1 and secret not in result.stderr

    directory = write_inputs(n_files=2, rows=10)  # a key column of text in file 2
    second = pd.read_parquet(directory / "part-001.parquet")
    write_table(
        second.assign(id=[f"{secret}-{i}" for i in range(10)]), directory / "part-001.parquet"
    )
    result = run("-m", iris_model, "-i", directory, "-o", tmp_path / "c.parquet", "-q")
    assert result.exit_code == 1 and secret not in result.stderr and "'id'" in result.stderr


def test_duplicate_column_names_are_named_not_a_traceback(tmp_path: Path, iris_model: Path) -> None:
    frame = iris_frame(5)
    (tmp_path / "dup.csv").write_text(
        "id,id,"
        + ",".join(frame.columns[1:])
        + "\n"
        + "\n".join(
            f"{r.id},{r.id}," + ",".join(map(str, r[1:])) for r in frame.itertuples(index=False)
        )
        + "\n"
    )
    result = run("-m", iris_model, "-i", tmp_path / "dup.csv", "-o", tmp_path / "o.parquet")
    assert result.exit_code == 1 and "more than one column named 'id'" in result.stderr


def test_csv_output_refuses_columns_csv_cannot_hold(tmp_path: Path, iris_model: Path) -> None:
    import pyarrow as pa

    table = pa.Table.from_pandas(iris_frame(5), preserve_index=False)
    table = table.append_column("tags", pa.array([["a"]] * 5, pa.list_(pa.string())))
    pq.write_table(table, tmp_path / "in.parquet")
    out = tmp_path / "out.csv"
    result = run("-m", iris_model, "-i", tmp_path / "in.parquet", "-o", out, "--keep-all-columns")
    assert result.exit_code == 1 and "column 'tags'" in result.stderr
    assert "write parquet or JSON lines" in result.stderr and not out.exists()


class _TwoColumns(modelpack.pyfunc.PythonModel):
    """Answers two named columns, as a predict_proba-like model does."""

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> object:
        return pd.DataFrame({"low": [0.25] * len(model_input), "high": [0.75] * len(model_input)})


@pytest.mark.parametrize("with_signature", [True, False])
def test_result_column_with_several_prediction_columns_is_refused_not_ignored(
    tmp_path: Path, with_signature: bool
) -> None:
    from modelpack.signature import ColSpec, ModelSignature, Schema

    signature = ModelSignature(
        inputs=Schema([ColSpec("double", f) for f in conftest_batch.FEATURES]),
        outputs=Schema([ColSpec("double", "low"), ColSpec("double", "high")]),
    )
    model = tmp_path / "two"
    modelpack.pyfunc.save_model(
        model, python_model=_TwoColumns(), signature=signature if with_signature else None
    )
    write_table(iris_frame(5), tmp_path / "in.parquet")
    args = ["-m", model, "-i", tmp_path / "in.parquet", "--trust", "-q"]
    result = run(*args, "-o", tmp_path / "a.parquet", "--result-column", "score")
    assert result.exit_code == 1 and "answers 2 columns" in result.stderr
    assert not (tmp_path / "a.parquet").exists()
    assert run(*args, "-o", tmp_path / "b.parquet").exit_code == 0
    assert pq.read_table(tmp_path / "b.parquet").column_names[-2:] == ["low", "high"]


def test_a_killed_run_leaves_a_temp_file_the_next_run_removes(
    tmp_path: Path, iris_model: Path
) -> None:
    # kill -9 gives a writer no chance to clean up; the pid in its temp file's name lets
    # the next run see that nobody is writing that file any more
    killed = subprocess.Popen(
        [sys.executable, "-c", "from modelpack.cli import main; main()", "predict"]
        + ["-m", str(iris_model), "-i", str(write_table(iris_frame(20000), tmp_path / "in.csv"))]
        + ["-o", str(tmp_path / "out.parquet"), "--batch-rows", "10", "-q"],
    )
    deadline = time.monotonic() + 60
    while not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]:
        assert killed.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    killed.kill()
    killed.wait()
    stale = [p for p in tmp_path.iterdir() if ".tmp-" in p.name]
    assert stale and not (tmp_path / "out.parquet").exists()

    result = run("-m", iris_model, "-i", tmp_path / "in.csv", "-o", tmp_path / "out.parquet")
    assert result.exit_code == 0, result.stderr
    assert not [p for p in tmp_path.iterdir() if ".tmp-" in p.name]


def test_an_output_name_as_long_as_the_file_system_allows_is_written(
    tmp_path: Path, iris_model: Path
) -> None:
    write_table(iris_frame(5), tmp_path / "in.parquet")
    out = tmp_path / ("o" * (255 - len(".parquet")) + ".parquet")  # 255 bytes: the limit
    result = run("-m", iris_model, "-i", tmp_path / "in.parquet", "-o", out, "-q")
    assert result.exit_code == 0, result.stderr
    assert pq.read_table(out).num_rows == 5
