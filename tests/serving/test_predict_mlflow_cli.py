"""``modelpack predict`` as ``mlflow models predict`` users call it: ``-t json|csv|parquet``,
MLflow's scoring JSON as input, ``-o -`` to standard output."""

from __future__ import annotations

import json
from pathlib import Path

import conftest_batch
import pandas as pd
from click.testing import CliRunner, Result
from conftest_batch import FEATURES, iris_frame, write_table

from modelpack.cli import cli

iris_model = conftest_batch.iris_model
iris_estimator = conftest_batch.iris_estimator


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, list(map(str, args)), catch_exceptions=False)


def scoring_document(tmp_path: Path, rows: int = 5) -> tuple[Path, pd.DataFrame]:
    frame = iris_frame(rows)
    path = tmp_path / "request.json"
    body = {"dataframe_split": {"columns": FEATURES, "data": frame[FEATURES].values.tolist()}}
    path.write_text(json.dumps(body))
    return path, frame[FEATURES]


def test_scoring_document_with_t_json_to_stdout(
    tmp_path: Path, iris_model: Path, iris_estimator: object
) -> None:
    source, features = scoring_document(tmp_path)
    expected = iris_estimator.predict(features).tolist()  # type: ignore[attr-defined]

    for command in (["predict"], ["models", "predict"]):
        result = run(*command, "-m", iris_model, "-i", source, "-t", "json", "-o", "-")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout) == {"predictions": expected}

    # a .json file holding a scoring document is recognised without -t; -o writes a file
    out = tmp_path / "answer.json"
    assert run("predict", "-m", iris_model, "-i", source, "-o", out).exit_code == 0
    assert json.loads(out.read_text()) == {"predictions": expected}


def test_csv_with_t_csv_to_stdout_as_json_lines(
    tmp_path: Path, iris_model: Path, iris_estimator: object
) -> None:
    frame = iris_frame(7)
    source = write_table(frame, tmp_path / "in.csv")
    expected = iris_estimator.predict(frame[FEATURES]).tolist()  # type: ignore[attr-defined]

    result = run("models", "predict", "-m", iris_model, "-i", source, "-t", "csv", "-q")

    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [row["id"] for row in rows] == list(range(7))
    assert [next(v for k, v in row.items() if k != "id") for row in rows] == expected
    assert list(tmp_path.iterdir()) == [source]  # nothing left beside the input


def test_json_lines_in_a_json_file_are_still_json_lines(tmp_path: Path, iris_model: Path) -> None:
    source = write_table(iris_frame(4), tmp_path / "rows.json")

    result = run("predict", "-m", iris_model, "-i", source, "-o", tmp_path / "out.jsonl", "-q")

    assert result.exit_code == 0, result.stderr
    assert len((tmp_path / "out.jsonl").read_text().splitlines()) == 4


def test_bad_scoring_document_names_the_file_not_the_data(tmp_path: Path, iris_model: Path) -> None:
    source = tmp_path / "request.json"
    source.write_text(json.dumps({"dataframe_split": {"columns": ["sepal_length"], "data": [[1]]}}))
    secret = tmp_path / "secret.json"
    secret.write_text('{"inputs": "SECRET-123", ')

    missing = run("predict", "-m", iris_model, "-i", source, "-t", "json")
    broken = run("predict", "-m", iris_model, "-i", secret, "-t", "json")

    assert missing.exit_code == 1 and "request.json" in missing.stderr
    assert "petal_width" in missing.stderr and missing.stdout == ""
    assert broken.exit_code == 1 and "not valid JSON" in broken.stderr
    assert "SECRET" not in broken.stderr


def test_t_and_input_format_together_is_a_usage_error(tmp_path: Path, iris_model: Path) -> None:
    source, _ = scoring_document(tmp_path)
    result = run("predict", "-m", iris_model, "-i", source, "-t", "csv", "--input-format", "csv")
    assert result.exit_code == 2 and "not both" in result.stderr


def test_models_group_has_the_model_commands_mlflow_users_type() -> None:
    listing = run("models", "--help")
    assert listing.exit_code == 0
    for name in ("serve", "predict", "build-docker", "generate-dockerfile", "transition"):
        assert f"\n  {name} " in listing.stdout, name

    serve = run("models", "serve", "--help")
    assert "-p, --port" in serve.stdout and "-w, --workers" in serve.stdout
    for name in ("build-docker", "generate-dockerfile"):
        assert "-m, --model-uri" in run("models", name, "--help").stdout
