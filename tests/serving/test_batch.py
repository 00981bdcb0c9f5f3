"""``modelpack predict`` on real files: formats, inputs, ordering, workers, typing."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import conftest_batch
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result
from conftest_batch import FEATURES, WriteInputs, iris_frame, predict_process, write_table

import modelpack
from modelpack.cli import cli

iris_estimator = conftest_batch.iris_estimator
iris_model = conftest_batch.iris_model
write_inputs = conftest_batch.write_inputs


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["predict", *map(str, args)], catch_exceptions=False)


def read(path: Path) -> pd.DataFrame:
    if path.suffix == ".csv":
        return pd.read_csv(path)
    if path.suffix == ".jsonl":
        return pd.read_json(path, lines=True)
    return pd.read_parquet(path)


def expected(estimator: object, frame: pd.DataFrame) -> np.ndarray:
    return estimator.predict(frame[FEATURES])  # type: ignore[attr-defined,no-any-return]


@pytest.mark.parametrize("ext", [".parquet", ".csv", ".jsonl"])
def test_scores_each_format_into_parquet(
    tmp_path: Path, iris_model: Path, iris_estimator: object, ext: str
) -> None:
    frame = iris_frame(500)
    source = write_table(frame, tmp_path / f"in{ext}")
    out = tmp_path / "scores.parquet"

    result = run("-m", iris_model, "-i", source, "-o", out, "--batch-rows", "64", "-q")

    assert result.exit_code == 0, result.stderr
    scored = pq.read_table(out)
    # The key column the model does not read is kept; the features are not.
    assert scored.column_names == ["id", "prediction"]
    assert str(scored.schema.field("prediction").type) == "int64"
    np.testing.assert_array_equal(scored["id"].to_numpy(), frame["id"].to_numpy())
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), expected(iris_estimator, frame))


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_writes_text_output_formats(tmp_path: Path, iris_model: Path, ext: str) -> None:
    source = write_table(iris_frame(100), tmp_path / "in.parquet")
    out = tmp_path / f"scores{ext}"

    assert run("-m", iris_model, "-i", source, "-o", out, "-q").exit_code == 0

    scored = read(out)
    assert list(scored.columns) == ["id", "prediction"]
    assert len(scored) == 100


def test_directory_and_glob_keep_file_order(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=5, rows=40)
    (directory / "_SUCCESS").write_text("")
    for spec in (directory, f"{directory}/part-*.parquet"):
        out = tmp_path / "scores.parquet"
        assert run("-m", iris_model, "-i", spec, "-o", out, "-q").exit_code == 0
        assert pq.read_table(out)["id"].to_pylist() == list(range(200))


def test_two_workers_write_the_same_output_in_order(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    directory = write_inputs(n_files=3, rows=300)
    one, two = tmp_path / "one.parquet", tmp_path / "two.parquet"

    assert (
        run("-m", iris_model, "-i", directory, "-o", one, "--batch-rows", "50", "-q").exit_code == 0
    )
    result = predict_process(
        "-m", iris_model, "-i", directory, "-o", two, "--batch-rows", "50", "-w", "2", "-q"
    )

    assert result.returncode == 0, result.stderr
    assert pq.read_table(one).equals(pq.read_table(two))


def test_large_csv_streams_in_order_with_types_from_a_large_first_block(
    tmp_path: Path, iris_model: Path, iris_estimator: object
) -> None:
    frame = iris_frame(200_000)
    # a kept column that looks like integers for its first ~3 MB, then has a decimal:
    # typed from one small parse block it would be int64 and fail further down
    frame["weight"] = np.where(np.arange(len(frame)) < 150_000, 1.0, 1.5)
    source = tmp_path / "big.csv"
    frame.to_csv(source, index=False, float_format="%.10g")
    assert source.stat().st_size > 4 << 20  # several of the reader's 1 MB blocks
    out = tmp_path / "scores.parquet"

    result = run("-m", iris_model, "-i", source, "-o", out, "--batch-rows", "30000", "-q")

    assert result.exit_code == 0, result.stderr
    scored = pq.read_table(out)
    assert scored.column_names == ["id", "weight", "prediction"]
    np.testing.assert_array_equal(scored["id"].to_numpy(), frame["id"].to_numpy())
    np.testing.assert_array_equal(scored["weight"].to_numpy(), frame["weight"].to_numpy())
    np.testing.assert_array_equal(scored["prediction"].to_numpy(), expected(iris_estimator, frame))


class _WhereRun(modelpack.pyfunc.PythonModel):
    """Answers, per row, the process that loaded the model and the one that scored the row."""

    def load_context(self, context: object) -> None:
        self.loaded_in = os.getpid()

    def predict(self, context: object, model_input: pd.DataFrame, params: object = None) -> object:
        rows = len(model_input)
        return pd.DataFrame(
            {"loaded_in": [self.loaded_in] * rows, "scored_in": [os.getpid()] * rows}
        )


def test_two_workers_share_one_loaded_model(
    tmp_path: Path, iris_model: Path, write_inputs: WriteInputs
) -> None:
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # the CLI cannot import us
    model = tmp_path / "where"
    modelpack.pyfunc.save_model(model, python_model=_WhereRun())
    directory = write_inputs(n_files=2, rows=100)
    out = tmp_path / "out.parquet"

    result = predict_process("-m", model, "-i", directory, "-o", out, "-w", "2", "--trust", "-q")

    assert result.returncode == 0, result.stderr
    scored = pq.read_table(out)
    loaded_in = set(scored["loaded_in"].to_pylist())
    scored_in = set(scored["scored_in"].to_pylist())
    # Loaded once, in the job's main process, before the workers were forked from it;
    # every batch scored in a worker.
    assert len(loaded_in) == 1
    assert loaded_in.isdisjoint(scored_in) and 1 <= len(scored_in) <= 2


def test_onnx_tensor_model_reads_every_column_not_kept(tmp_path: Path, onnx_model: Path) -> None:
    frame = iris_frame(90)
    frame[FEATURES] = frame[FEATURES].astype(np.float32)
    source = write_table(frame, tmp_path / "in.parquet")
    expected_labels = modelpack.load_model(onnx_model).predict(frame[FEATURES].to_numpy())["label"]

    # -w 2 spawns workers that load their own session: onnxruntime's threads do not fork.
    for workers in ("1", "2"):
        out = tmp_path / f"scores-{workers}.parquet"
        result = run(
            "-m", onnx_model, "-i", source, "-o", out, "--keep-columns", "id", "-w", workers, "-q"
        )
        assert result.exit_code == 0, result.stderr

    one, two = (
        pq.read_table(tmp_path / "scores-1.parquet"),
        pq.read_table(tmp_path / "scores-2.parquet"),
    )
    assert one.equals(two)
    assert one.column_names == ["id", "label", "probabilities"]
    assert one["id"].to_pylist() == list(range(90))
    np.testing.assert_array_equal(one["label"].to_numpy(), expected_labels)


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_onnx_tensor_model_scores_text_input_parsed_as_its_dtype(
    tmp_path: Path, onnx_model: Path, ext: str
) -> None:
    frame = iris_frame(90)
    source = write_table(frame, tmp_path / f"in{ext}")
    features = frame[FEATURES].to_numpy(np.float32)
    expected_labels = modelpack.load_model(onnx_model).predict(features)["label"]
    out = tmp_path / "scores.parquet"

    # float32 straight from the text: a float64 column would be refused by enforcement
    result = run("-m", onnx_model, "-i", source, "-o", out, "--keep-columns", "id", "-q")

    assert result.exit_code == 0, result.stderr
    scored = pq.read_table(out)
    assert scored["id"].to_pylist() == list(range(90))
    np.testing.assert_array_equal(scored["label"].to_numpy(), expected_labels)


def test_keep_columns_options(tmp_path: Path, iris_model: Path) -> None:
    source = write_table(iris_frame(30), tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"

    run("-m", iris_model, "-i", source, "-o", out, "--keep-all-columns", "-q")
    assert pq.read_table(out).column_names == ["id", *FEATURES, "prediction"]

    run("-m", iris_model, "-i", source, "-o", out, "--keep-columns", "id,petal_width", "-q")
    assert pq.read_table(out).column_names == ["id", "petal_width", "prediction"]

    result = run("-m", iris_model, "-i", source, "-o", out, "--result-column", "species", "-q")
    assert pq.read_table(out).column_names == ["id", "species"]
    assert result.exit_code == 0

    result = run("-m", iris_model, "-i", source, "-o", out, "--keep-columns", "customer", "-q")
    assert result.exit_code == 1
    assert "no column 'customer'" in result.stderr


def test_prediction_column_typed_by_output_signature(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    import modelpack
    from modelpack.signature import ColSpec, ModelSignature, Schema

    frame = iris_frame(60)
    estimator = LogisticRegression(max_iter=1000).fit(frame[FEATURES], frame["id"] % 2)
    signature = ModelSignature(
        inputs=Schema([ColSpec("double", name) for name in FEATURES]),
        outputs=Schema([ColSpec("double", "score")]),
    )
    modelpack.sklearn.save_model(estimator, tmp_path / "m", signature=signature)
    source = write_table(frame, tmp_path / "in.csv")

    result = run("-m", tmp_path / "m", "-i", source, "-o", tmp_path / "o.parquet", "-q")

    assert result.exit_code == 0, result.stderr
    schema = pq.read_schema(tmp_path / "o.parquet")
    assert schema.names == ["id", "score"]
    assert str(schema.field("score").type) == "double"


def test_quiet_and_non_tty_print_no_progress(tmp_path: Path, iris_model: Path) -> None:
    source = write_table(iris_frame(30), tmp_path / "in.parquet")

    quiet = run("-m", iris_model, "-i", source, "-o", tmp_path / "a.parquet", "-q")
    plain = run("-m", iris_model, "-i", source, "-o", tmp_path / "b.parquet")

    assert quiet.stderr == "" and quiet.stdout == ""
    assert "rows/s" not in plain.stderr.replace(" rows/s)", "")  # summary only, no bar
    assert plain.stderr.startswith("scored 30 rows from 1 file(s)")


def test_help_documents_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["predict", "--help"])
    assert result.exit_code == 0
    for code in ("0 ", "1 ", "2 ", "3 ", "130"):
        assert f"  {code}" in result.output
