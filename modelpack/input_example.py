"""Input examples: saved beside the model in MLflow's JSON forms, and read back.

``input_example.json`` holds the example itself; ``serving_input_example.json`` holds
the same data as a ready-made ``/invocations`` request body.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelpack.errors import InvalidInput, ModelFormatError
from modelpack.model_dir import safe_join
from modelpack.model_files import open_regular
from modelpack.types import JSONDict

EXAMPLE_FILE = "input_example.json"
SERVING_EXAMPLE_FILE = "serving_input_example.json"


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def save_input_example(model_dir: Path, example: Any) -> JSONDict:
    """Write the example files; return the ``saved_input_example_info`` block."""
    import numpy as np
    import pandas as pd

    info: JSONDict = {"artifact_path": EXAMPLE_FILE, "serving_input_path": SERVING_EXAMPLE_FILE}
    if isinstance(example, (pd.Series, list)) and not isinstance(example, pd.DataFrame):
        if isinstance(example, list) and example and isinstance(example[0], dict):
            example = pd.DataFrame(example)
        elif isinstance(example, pd.Series):
            example = example.to_frame()
    if isinstance(example, dict) and all(np.isscalar(v) for v in example.values()):
        example = pd.DataFrame([example])
    if isinstance(example, pd.DataFrame):
        split = json.loads(example.to_json(orient="split", index=False, date_format="iso"))
        body: Any = {"columns": split["columns"], "data": split["data"]}
        serving: Any = {"dataframe_split": body}
        info.update(type="dataframe", pandas_orient="split")
    elif isinstance(example, (np.ndarray, dict, list)):
        body = {"inputs": _jsonable(example)}
        serving = body
        info.update(type="ndarray", format="tf-serving")
    else:
        raise InvalidInput(
            "input_example must be a pandas DataFrame or Series, a numpy array, a dict or a list, "
            f"got {type(example).__name__}"
        )
    try:
        (model_dir / EXAMPLE_FILE).write_text(json.dumps(body, allow_nan=True))
        (model_dir / SERVING_EXAMPLE_FILE).write_text(json.dumps(serving, allow_nan=True))
    except TypeError:
        raise InvalidInput(
            "input_example holds values that cannot be written as JSON; use numbers, strings, "
            "booleans or datetimes"
        ) from None
    return info


def load_input_example(model_dir: Path, mlmodel: JSONDict) -> Any:
    """The saved example as a DataFrame or ndarray (dict of ndarrays), or None."""
    info = mlmodel.get("saved_input_example_info")
    if not info:
        return None
    if not isinstance(info, dict):
        raise ModelFormatError("MLmodel: 'saved_input_example_info' must be a mapping")
    path = safe_join(model_dir, info.get("artifact_path"), what="saved_input_example_info")
    try:
        with open_regular(path, info["artifact_path"]) as handle:  # lstat first: no FIFO
            body = json.loads(handle.read())
    except (OSError, ValueError):
        raise ModelFormatError(
            f"input example '{path.name}' is missing or not valid JSON"
        ) from None
    import numpy as np
    import pandas as pd

    if info.get("type") == "dataframe":
        if info.get("pandas_orient", "split") == "records":
            return pd.DataFrame.from_records(body)
        return pd.DataFrame(body.get("data"), columns=body.get("columns"))
    inputs = body.get("inputs", body) if isinstance(body, dict) else body
    if isinstance(inputs, dict):
        return {k: np.asarray(v) for k, v in inputs.items()}
    return np.asarray(inputs)


__all__ = ["EXAMPLE_FILE", "SERVING_EXAMPLE_FILE", "load_input_example", "save_input_example"]
