"""Save the pyfunc models the MLflow parity test serves, with modelpack (run by modelpack's
Python: ``python make_pyfunc_parity_model.py OUT_DIR``).

The classes live in ``__main__``, so cloudpickle stores them by value: the directories
load in any interpreter with modelpack importable, MLflow's included. ``echo`` (no
signature) answers its input as the server parsed it. In ``pyfunc`` a ``kind`` param picks
what ``predict`` returns: ``array`` (float64 row sums / 3, the default), ``frame`` (a
DataFrame with a float and an int column), ``dict`` (a dict of an array and a list),
``float32``, ``tiny`` (values near 1e-7, where JSON writers' layouts differ), ``series``
(an unnamed Series), ``strings`` (a str array), ``nan`` (a float array with NaN and inf),
and the shapes in ``EXTRA``.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import modelpack.pyfunc
from modelpack.signature import infer_signature

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


EXTRA: dict[str, Any] = {
    "bools": lambda t, lab: lab > 0,
    "unicode": lambda t, lab: np.array(["é-" + str(i) + "\u2603" for i in lab]),
    "big": lambda t, lab: t * 1e17,
    "negzero": lambda t, lab: t * -0.0,
    "list": lambda t, lab: t.tolist(),
    "scalar": lambda t, lab: float(t.sum()),
    "records": lambda t, lab: [{"t": x, "l": int(y)} for x, y in zip(t, lab, strict=True)],
    "nested": lambda t, lab: np.stack([t, t * 2], axis=1),
    "frame_nan": lambda t, lab: pd.DataFrame(
        {"t": np.where(lab > 0, t, np.nan), "s": [None if y else "x" for y in lab]}
    ),
    "frame_intcols": lambda t, lab: pd.DataFrame({0: t, 1: lab}),
    "frame_f32": lambda t, lab: pd.DataFrame({"t": t.astype(np.float32)}),
    "frame_dates": lambda t, lab: pd.DataFrame(
        {"d": pd.to_datetime(["2024-01-02"] * len(t)), "t": t}
    ),
    "frame_cat": lambda t, lab: pd.DataFrame(
        {"c": pd.Categorical(["a" if y else "b" for y in lab])}
    ),
    "series_named": lambda t, lab: pd.Series(lab, name="label"),
    "dict_f32": lambda t, lab: {"t": t.astype(np.float32), "n": np.stack([t, t], axis=1)},
    "bytes": lambda t, lab: np.array([b"ab" for _ in lab], dtype=object),
    "bytes_s": lambda t, lab: np.array([b"ab" * 50 for _ in lab]),
    "bytes_list": lambda t, lab: [b"\x00\xff" * 60 for _ in lab],
    "dt64_s": lambda t, lab: np.array(["2024-01-02T03:04:05"] * len(t), dtype="datetime64[s]"),
    "dt64_ns": lambda t, lab: np.array(["2024-01-02"] * len(t), dtype="datetime64[ns]"),
    "dt64_scalars": lambda t, lab: {"d": [np.datetime64("2024-01-02", "D") for _ in lab]},
    "dt64_ns_scalars": lambda t, lab: [np.datetime64("2024-01-02T03:04", "ns") for _ in lab],
    "int_0d": lambda t, lab: np.array(3),
    "float_0d": lambda t, lab: np.array(2.5),
    "int_strided": lambda t, lab: np.stack([lab, lab * 2], axis=1)[:, 1],
    "int_bigendian": lambda t, lab: lab.astype(">i4"),
    "float_bigendian": lambda t, lab: t.astype(">f8"),
    "times": lambda t, lab: [dt.time(1, 2, 3) for _ in lab],
}


class Shapes(modelpack.pyfunc.PythonModel):
    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        values = model_input[COLUMNS].to_numpy(dtype=np.float64)
        total = values.sum(axis=1) / 3.0
        label = values.argmax(axis=1) + (values[:, 3] > 1)
        kind = (params or {}).get("kind", "array")
        if kind == "frame":
            return pd.DataFrame({"total": total, "label": label})
        if kind == "dict":
            return {"total": total, "label": label.tolist()}
        if kind == "float32":
            return total.astype(np.float32)
        if kind == "tiny":
            return total * 1e-7
        if kind == "series":
            return pd.Series(total)
        if kind == "strings":
            return np.array([f"class-{i}" for i in label])
        if kind in EXTRA:
            return EXTRA[kind](total, label)
        if kind == "nan":
            return np.where(label == 0, np.nan, np.inf) * total
        return total


class Echo(modelpack.pyfunc.PythonModel):
    """No signature: answers its input as parsed, to compare what each server hands it."""

    def predict(self, context: Any, model_input: Any, params: dict[str, Any] | None = None) -> Any:
        return model_input


def main(out: Path) -> None:
    modelpack.pyfunc.save_model(out / "echo", python_model=Echo())
    frame = pd.DataFrame([[5.1, 3.5, 1.4, 0.2], [6.3, 2.9, 5.6, 1.8]], columns=COLUMNS)
    modelpack.pyfunc.save_model(
        out / "pyfunc",
        python_model=Shapes(),
        signature=infer_signature(frame, None, params={"kind": "array"}),
        input_example=frame,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]))
