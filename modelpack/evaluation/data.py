"""The evaluation data as a stream of (features, targets) batches, with a running digest.

A DataFrame or array is cut into slices; a parquet or CSV path is read in record
batches, so a test set larger than memory is never held whole. Every batch's values
feed one SHA-256, so two evaluations on the same data record the same digest.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelpack.errors import InvalidInput

BATCH_ROWS = 65_536
_SUFFIXES = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv"}


@dataclass
class DataStream:
    """Where the data comes from and what has been read of it so far."""

    source: Any
    targets: str | int
    batch_rows: int = BATCH_ROWS
    rows: int = 0
    _hash: Any = field(default_factory=hashlib.sha256, repr=False)

    @property
    def digest(self) -> str:
        """SHA-256 (hex, first 16 characters) of the values read so far."""
        return str(self._hash.hexdigest()[:16])

    def batches(self) -> Iterator[tuple[Any, Any]]:
        """(features DataFrame, targets ndarray) per batch; checks each as it comes."""
        for frame in self._frames():
            if len(frame) == 0:
                continue
            features, target = self._split(frame)
            self._check_target(target)
            self._update_digest(frame)
            self.rows += len(frame)
            yield features, target
        if self.rows == 0:
            raise InvalidInput("the evaluation data has no rows; pass at least one row")

    # -- reading ---------------------------------------------------------------------

    def _frames(self) -> Iterator[Any]:
        import numpy as np
        import pandas as pd

        source = self.source
        if isinstance(source, (str, os.PathLike)):
            yield from _file_frames(Path(source), self.batch_rows)
            return
        if isinstance(source, pd.DataFrame):
            frame = source
        elif isinstance(source, np.ndarray):
            if source.ndim != 2:
                raise InvalidInput(
                    f"data as an array must be 2-D (rows x columns), got {source.ndim}-D"
                )
            frame = pd.DataFrame(source)
        else:
            raise InvalidInput(
                "data must be a pandas DataFrame, a 2-D numpy array, or the path of a "
                f"parquet or CSV file; got {type(source).__name__}"
            )
        for start in range(0, len(frame), self.batch_rows):
            yield frame.iloc[start : start + self.batch_rows]

    def _split(self, frame: Any) -> tuple[Any, Any]:
        column = self.targets
        if column not in frame.columns:
            names = [str(c) for c in frame.columns]
            shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
            raise InvalidInput(
                f"the data has no target column {column!r} (it has {len(names)} columns: "
                f"{shown}); pass targets= the name of the column that holds the true values"
            )
        target = frame[column].to_numpy()
        return frame.drop(columns=[column]), target

    def _check_target(self, target: Any) -> None:
        import pandas as pd

        missing = pd.isna(target)
        if missing.any():
            first = self.rows + int(missing.argmax())
            raise InvalidInput(
                f"target column {self.targets!r} has {int(missing.sum())} missing values "
                f"in rows {self.rows}..{self.rows + len(target) - 1} (first at row {first}); "
                "drop or fill those rows before evaluating"
            )

    def _update_digest(self, frame: Any) -> None:
        import pandas as pd

        if self.rows == 0:
            self._hash.update(repr([str(c) for c in frame.columns]).encode())
        hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
        self._hash.update(hashed.tobytes())


def _file_frames(path: Path, batch_rows: int) -> Iterator[Any]:
    kind = _SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise InvalidInput(
            f"data file '{path.name}' has an unknown type; expected one of "
            f"{', '.join(sorted(_SUFFIXES))}"
        )
    if not path.is_file():
        raise InvalidInput(f"data file '{path}' does not exist or is not a file")
    if kind == "parquet":
        import pyarrow.parquet as pq

        try:
            # pre_buffer caches every column chunk read so far: memory would grow with the file
            reader = pq.ParquetFile(path, pre_buffer=False)
        except Exception:
            raise InvalidInput(f"'{path.name}' is not a readable parquet file") from None
        for batch in reader.iter_batches(batch_size=batch_rows, use_threads=False):
            yield batch.to_pandas()
        return
    import pyarrow as pa
    import pyarrow.csv as pcsv

    try:
        csv_reader = pcsv.open_csv(path, read_options=pcsv.ReadOptions(block_size=1 << 24))
        for batch in csv_reader:
            yield batch.to_pandas()
    except pa.ArrowInvalid as exc:
        raise InvalidInput(
            f"'{path.name}' could not be read as CSV ({type(exc).__name__}); check that "
            "every row has the same columns"
        ) from None


__all__ = ["BATCH_ROWS", "DataStream"]
