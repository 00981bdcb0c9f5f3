"""A bad value in a CSV file: ``modelpack predict`` names the file, the exact row as a
user counts it (from 1, the header not counted) and the column by name, never the value."""

from __future__ import annotations

from pathlib import Path

import conftest_batch
import pytest
from click.testing import CliRunner, Result
from conftest_batch import iris_frame

from modelpack.cli import cli

iris_model = conftest_batch.iris_model
SECRET = "SECRET-7f3a"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, ["predict", *map(str, args)], catch_exceptions=False)


def csv_with_bad_value(path: Path, rows: int, bad_row: int, column: str) -> Path:
    """``rows`` data rows; data row ``bad_row`` (1 = first after the header) holds text."""
    frame = iris_frame(rows)
    frame[column] = frame[column].astype(object)
    frame.loc[bad_row - 1, column] = SECRET
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("rows", "bad_row", "column"),
    [
        (300_000, 250_000, "petal_width"),  # far past the reader's first blocks
        (10, 1, "sepal_length"),  # the first row after the header
        (10, 10, "petal_length"),  # the last row
    ],
)
def test_bad_value_names_file_row_and_column(
    tmp_path: Path, iris_model: Path, rows: int, bad_row: int, column: str
) -> None:
    source = csv_with_bad_value(tmp_path / "scores-in.csv", rows, bad_row, column)

    result = run("-m", iris_model, "-i", source, "-o", tmp_path / "out.parquet", "-q")

    assert result.exit_code == 1
    message = result.stderr
    assert f"row {bad_row} (the first row after the header is row 1)" in message
    assert f"column '{column}'" in message and "scores-in.csv" in message
    assert "not a valid double" in message
    assert SECRET not in message and "#" not in message and "Traceback" not in message
    assert not (tmp_path / "out.parquet").exists()


def test_bad_value_after_a_quoted_multiline_field_counts_rows_not_lines(
    tmp_path: Path, iris_model: Path
) -> None:
    source = tmp_path / "notes.csv"
    header = "id,note,sepal_length,sepal_width,petal_length,petal_width\n"
    good = '{i},"two\nlines",5.1,3.5,1.4,0.2\n'
    lines = [good.format(i=i) for i in range(1, 6)]
    lines[3] = f'4,"x",5.1,3.5,{SECRET},0.2\n'
    source.write_text(header + "".join(lines))

    result = run("-m", iris_model, "-i", source, "-o", tmp_path / "out.parquet", "-q")

    assert result.exit_code == 1
    assert "row 4 " in result.stderr and "column 'petal_length'" in result.stderr
    assert SECRET not in result.stderr


def test_row_with_too_many_fields_names_the_row(tmp_path: Path, iris_model: Path) -> None:
    source = tmp_path / "ragged.csv"
    frame = iris_frame(300_000)
    frame.to_csv(source, index=False)
    lines = source.read_text().splitlines(keepends=True)
    lines[250_000] = lines[250_000].rstrip("\n") + f",{SECRET}\n"  # data row 250000
    source.write_text("".join(lines))

    result = run("-m", iris_model, "-i", source, "-o", tmp_path / "out.parquet", "-q")

    assert result.exit_code == 1
    assert "'" + str(source) + "', row 250000 (the first row after the header is row 1)" in (
        result.stderr
    )
    assert "has 6 fields where the header has 5" in result.stderr
    assert SECRET not in result.stderr
