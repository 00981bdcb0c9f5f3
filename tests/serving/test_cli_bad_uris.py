"""``predict`` and ``generate-dockerfile`` given a URI no store can hold: ``error: …``
and exit 1, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

RUN_ID = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("models:/iris/" + "1" * 30, "at most 9223372036854775807"),
        (f"runs:/{RUN_ID}/" + "a" * 6000, "at most 1024 characters"),
        ("models:/ir\x7fis/1", "control characters"),
    ],
    ids=["30-digit-version", "6000-char-path", "DEL-in-name"],
)
@pytest.mark.parametrize("command", ["predict", "generate-dockerfile"])
def test_a_uri_past_the_store_limits_is_an_error(
    tmp_path: Path, command: str, uri: str, expected: str
) -> None:
    import pandas as pd

    inputs = tmp_path / "in.parquet"
    pd.DataFrame({"x": [1.0]}).to_parquet(inputs)
    if command == "predict":
        args = ["-m", uri, "-i", str(inputs), "-o", str(tmp_path / "out.parquet")]
    else:
        args = ["-m", uri, "-d", str(tmp_path / "context")]
    env = {**os.environ, "MODELPACK_TRACKING_URI": str(tmp_path / "store")}
    done = subprocess.run(
        [sys.executable, "-c", "from modelpack.cli import main; main()", command, *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith("error: ") and expected in done.stderr, done.stderr
    assert "a" * 100 not in done.stderr  # the long path is described, not echoed
