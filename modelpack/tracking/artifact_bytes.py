"""A dict, a table or a matplotlib figure as the bytes of a run artifact file: what
``log_dict``, ``log_table`` and ``log_figure`` write, whichever store receives them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelpack.errors import DependencyMissing, InvalidInput


def dict_bytes(dictionary: Any, artifact_file: str) -> bytes:
    """``dictionary`` as YAML for ``.yaml``/``.yml`` files, else as indented JSON."""
    if artifact_file.endswith((".yaml", ".yml")):
        import yaml

        return yaml.safe_dump(dictionary, sort_keys=False).encode()
    try:
        return json.dumps(dictionary, indent=2).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidInput(
            f"log_dict: '{artifact_file}' needs JSON-serialisable data ({exc}); "
            "convert values to str, int, float, list or dict"
        ) from None


def table_bytes(data: Any, artifact_file: str, existing: bytes | None = None) -> bytes:
    """A dict of columns or a pandas DataFrame as MLflow's table JSON (pandas' ``split``
    orient without the index: ``{"columns": [...], "data": [[...], ...]}``); the rows of
    ``existing`` (a table logged before at the same path) come first, as in MLflow."""
    import io

    import pandas as pd

    if not artifact_file.endswith(".json"):
        raise InvalidInput(
            f"log_table writes JSON: name the artifact file '*.json' (got '{artifact_file}')"
        )
    if isinstance(data, dict):
        try:
            frame = pd.DataFrame(data)
        except ValueError:
            raise InvalidInput(
                "log_table: a dict must map each column name to a list of values, all "
                "lists of one length (or all values scalars of one row)"
            ) from None
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise InvalidInput(
            f"log_table expects a dict or a pandas DataFrame, got {type(data).__name__}"
        )
    if existing is not None:
        try:
            before = pd.read_json(io.StringIO(existing.decode()), orient="split")
        except ValueError:
            raise InvalidInput(
                f"log_table: '{artifact_file}' already holds a file that is not a table; "
                "log the table under another name"
            ) from None
        frame = pd.concat([before, frame], ignore_index=True)
    try:
        text = frame.to_json(orient="split", index=False, date_format="iso")
    except (TypeError, ValueError, OverflowError):
        raise InvalidInput(
            f"log_table: '{artifact_file}' needs JSON-serialisable cells; convert them to "
            "str, int, float, bool or None"
        ) from None
    return str(text).encode()


def figure_bytes(figure: Any, artifact_file: str) -> bytes:
    """Render a matplotlib figure to bytes in the format its file name says."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise DependencyMissing(
            "log_figure needs matplotlib, which is not installed; run 'pip install matplotlib'"
        ) from None
    if not hasattr(figure, "savefig"):
        raise InvalidInput(
            f"log_figure expects a matplotlib Figure, got {type(figure).__name__}; "
            "pass the object plt.subplots() returned first"
        )
    import io

    buffer = io.BytesIO()
    suffix = Path(artifact_file).suffix.lstrip(".") or "png"
    figure.savefig(buffer, format=suffix)
    return buffer.getvalue()


__all__ = ["dict_bytes", "figure_bytes", "table_bytes"]
