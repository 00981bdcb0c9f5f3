"""The ONNX flavor: save, log and load ONNX graphs; predict with onnxruntime.

When no signature is given, the tensor signature is read from the graph's own inputs
and outputs, so every ONNX model is enforced at predict time. The runtime is given
explicit thread counts (``MODELPACK_ONNX_INTRA_OP_THREADS``, default: all cores;
inter-op: 1) instead of onnxruntime's process-wide defaults, which oversubscribe a
machine that runs several server workers. ``onnx_session_options`` in ``MLmodel`` (as
MLflow writes them) are honoured over those defaults; the environment variable, when
set, wins over both.

As ``mlflow.onnx`` does, float64 data for a graph input declared ``float`` is cast to
float32 after the signature check: MLflow saves such models with a ``double`` signature
when the input example was a float64 DataFrame.

>>> modelpack.onnx.save_model(onnx_model, "models/iris-onnx")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelpack.environment import pinned
from modelpack.errors import DependencyMissing, InvalidInput, ModelFormatError, SchemaError
from modelpack.mlmodel import PYFUNC_FLAVOR
from modelpack.model_dir import safe_join, verify_model_dir
from modelpack.saving import save_model_dir
from modelpack.types import JSONDict, Params

if TYPE_CHECKING:
    from modelpack.signature import ModelSignature
    from modelpack.tracking import ModelInfo

FLAVOR_NAME = "onnx"
MODEL_FILE = "model.onnx"
THREADS_ENV = "MODELPACK_ONNX_INTRA_OP_THREADS"


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise DependencyMissing(
            "the onnx flavor needs the onnx package: pip install 'modelpack[onnx]'"
        ) from None
    return onnx


def _as_model_proto(onnx_model: Any) -> Any:
    onnx = _onnx()

    if isinstance(onnx_model, onnx.ModelProto):
        return onnx_model
    if isinstance(onnx_model, (str, os.PathLike)):
        path = Path(onnx_model)
        if not path.is_file():
            raise InvalidInput(f"no ONNX file at '{path}'")
        return _read_onnx(path)
    if isinstance(onnx_model, bytes):
        try:
            return onnx.load_model_from_string(onnx_model)
        except Exception:
            raise InvalidInput("the bytes given are not a serialized ONNX model") from None
    raise InvalidInput(
        f"onnx_model must be an onnx.ModelProto, a path to a .onnx file or bytes, got "
        f"{type(onnx_model).__name__}"
    )


def _read_onnx(path: Path) -> Any:
    onnx = _onnx()

    try:
        return onnx.load(str(path))
    except Exception:
        raise ModelFormatError(f"'{path.name}' is not a readable ONNX model") from None


def _graph_signature(model_proto: Any) -> ModelSignature:
    """A tensor signature read from the graph's declared inputs and outputs."""
    from onnx import helper

    from modelpack.signature import ModelSignature, Schema, TensorSpec

    def specs(values: Any) -> Schema | None:
        out = []
        for value in values:
            tensor = value.type.tensor_type
            if not value.type.HasField("tensor_type") or tensor.elem_type == 0:
                return None  # sequences and maps (e.g. ZipMap) have no tensor spec
            dtype = helper.tensor_dtype_to_np_dtype(tensor.elem_type)
            dims = tuple(d.dim_value if d.HasField("dim_value") else -1 for d in tensor.shape.dim)
            out.append(TensorSpec(dtype, dims, value.name))
        return Schema(out) if out else None

    graph = model_proto.graph
    initializers = {init.name for init in graph.initializer}
    inputs = [v for v in graph.input if v.name not in initializers]
    return ModelSignature(inputs=specs(inputs), outputs=specs(graph.output))


def save_model(
    onnx_model: Any,
    path: str | os.PathLike[str],
    *,
    signature: ModelSignature | None = None,
    input_example: Any = None,
    pip_requirements: Iterable[str] | None = None,
    extra_pip_requirements: Iterable[str] | None = None,
    metadata: JSONDict | None = None,
    overwrite: bool = False,
    onnx_session_options: JSONDict | None = None,
) -> JSONDict:
    """Save an ONNX model (``ModelProto``, ``.onnx`` path or bytes) as a model directory.

    >>> save_model(convert_sklearn(clf, initial_types=types), "models/iris-onnx")  # doctest: +SKIP
    """
    onnx = _onnx()
    model_proto = _as_model_proto(onnx_model)
    try:
        onnx.checker.check_model(model_proto)
    except Exception as exc:
        raise InvalidInput(f"the ONNX model is not valid: {type(exc).__name__}") from None
    if signature is None and input_example is None:
        signature = _graph_signature(model_proto)
    if onnx_session_options is not None:
        _check_session_options(onnx_session_options)

    def write(tmp: Path) -> dict[str, JSONDict]:
        onnx.save_model(model_proto, str(tmp / MODEL_FILE))
        return {
            PYFUNC_FLAVOR: {"loader_module": "modelpack.flavors.onnx", "data": MODEL_FILE},
            FLAVOR_NAME: {
                "data": MODEL_FILE,
                "onnx_version": onnx.__version__,
                "providers": ["CPUExecutionProvider"],
                "code": None,
                "onnx_session_options": onnx_session_options,
            },
        }

    return save_model_dir(
        path,
        write,
        default_requirements=[pinned("onnx"), pinned("onnxruntime"), pinned("numpy")],
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        signature=signature,
        input_example=input_example,
        metadata=metadata,
        overwrite=overwrite,
    )


def log_model(
    onnx_model: Any,
    name: str | None = None,
    *,
    registered_model_name: str | None = None,
    artifact_path: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Save the ONNX model into the active run's artifacts as ``name``; optionally register it.

    ``artifact_path`` is MLflow 2's name for ``name`` (deprecated, warns).
    """
    from modelpack.tracking import log_model_dir

    return log_model_dir(
        lambda path: save_model(onnx_model, path, **save_kwargs),
        name,
        registered_model_name=registered_model_name,
        artifact_path=artifact_path,
    )


def _model_file(model_dir: Path, mlmodel: JSONDict) -> Path:
    block = mlmodel["flavors"].get(FLAVOR_NAME) or mlmodel["flavors"].get(PYFUNC_FLAVOR, {})
    path = safe_join(model_dir, block.get("data"), what="onnx.data")
    if not path.is_file():
        raise ModelFormatError(f"payload file '{path.name}' is missing from the model directory")
    return path


def load_model(model_uri: str | os.PathLike[str]) -> Any:
    """Load the ``onnx.ModelProto`` from a path or URI.

    >>> proto = load_model("models:/iris-onnx/1")  # doctest: +SKIP
    """
    from modelpack.uris import resolve_model_uri

    model_dir = resolve_model_uri(model_uri)
    return _read_onnx(_model_file(model_dir, verify_model_dir(model_dir)))


def _intra_op_threads() -> int | None:
    """The thread count ``MODELPACK_ONNX_INTRA_OP_THREADS`` sets; None when unset."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise InvalidInput(f"{THREADS_ENV} must be a whole number of threads, at least 1")
    return int(raw)


_EXECUTION_MODES = ("sequential", "parallel")
_SESSION_OPTIONS = (
    "execution_mode",
    "extra_session_config",
    "graph_optimization_level",
    "inter_op_num_threads",
    "intra_op_num_threads",
)


def _check_session_options(options: Any) -> JSONDict:
    """``onnx_session_options`` as MLflow defines them, checked for what each value is."""
    where = "onnx_session_options"
    if not isinstance(options, dict):
        raise ModelFormatError(f"{where} must be a mapping of option: value")
    unknown = sorted(str(k) for k in options if k not in _SESSION_OPTIONS)
    if unknown:
        raise ModelFormatError(
            f"{where}: unknown option(s) {', '.join(unknown[:5])}; "
            f"known: {', '.join(_SESSION_OPTIONS)}"
        )
    for key in ("inter_op_num_threads", "intra_op_num_threads", "graph_optimization_level"):
        value = options.get(key)
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ModelFormatError(f"{where}: {key} must be a whole number, at least 0")
    level = options.get("graph_optimization_level")
    if level is not None and level not in (0, 1, 2, 99):
        raise ModelFormatError(f"{where}: graph_optimization_level must be 0, 1, 2 or 99")
    mode = options.get("execution_mode")
    if mode is not None and (not isinstance(mode, str) or mode.lower() not in _EXECUTION_MODES):
        raise ModelFormatError(f"{where}: execution_mode must be 'sequential' or 'parallel'")
    extra = options.get("extra_session_config")
    if extra is not None and (
        not isinstance(extra, dict)
        or not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items())
    ):
        raise ModelFormatError(f"{where}: extra_session_config must map text keys to text")
    return options


def _session_options(block: JSONDict) -> Any:
    """onnxruntime ``SessionOptions``: modelpack's defaults, then the model's own options
    (as ``mlflow.onnx`` applies them), then ``MODELPACK_ONNX_INTRA_OP_THREADS``."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    given = _check_session_options(block.get("onnx_session_options") or {})
    if given.get("inter_op_num_threads"):
        options.inter_op_num_threads = given["inter_op_num_threads"]
    if given.get("intra_op_num_threads"):
        options.intra_op_num_threads = given["intra_op_num_threads"]
    if given.get("execution_mode"):
        parallel = given["execution_mode"].lower() == "parallel"
        options.execution_mode = (
            ort.ExecutionMode.ORT_PARALLEL if parallel else ort.ExecutionMode.ORT_SEQUENTIAL
        )
    if given.get("graph_optimization_level"):
        level = ort.GraphOptimizationLevel(given["graph_optimization_level"])
        options.graph_optimization_level = level
    for key, value in (given.get("extra_session_config") or {}).items():
        options.add_session_config_entry(key, value)
    threads = _intra_op_threads()
    if threads is not None:
        options.intra_op_num_threads = threads
    return options


class _OnnxPredictor:
    """Runs an onnxruntime session; returns a dict output name → array, or a DataFrame
    of the outputs when it was given a DataFrame (as mlflow.onnx does)."""

    def __init__(self, session: Any) -> None:
        self.raw_model = session
        self._inputs = [i.name for i in session.get_inputs()]
        self._outputs = [o.name for o in session.get_outputs()]
        self._float_inputs = {i.name for i in session.get_inputs() if i.type == "tensor(float)"}

    def _feeds(self, data: Any) -> dict[str, Any]:
        import numpy as np
        import pandas as pd

        if isinstance(data, dict):
            missing = [name for name in self._inputs if name not in data]
            if missing:
                raise SchemaError(
                    f"missing ONNX input(s): {', '.join(missing)}; the model takes "
                    f"{', '.join(self._inputs)}"
                )
            return {name: np.asarray(data[name]) for name in self._inputs}
        if isinstance(data, pd.DataFrame):
            if len(self._inputs) == 1:
                return {self._inputs[0]: data.to_numpy()}
            return {name: data[name].to_numpy().reshape(-1, 1) for name in self._inputs}
        if len(self._inputs) != 1:
            raise SchemaError(
                f"this ONNX model takes {len(self._inputs)} inputs "
                f"({', '.join(self._inputs)}); send a dict of arrays by name"
            )
        return {self._inputs[0]: np.asarray(data)}

    def _cast(self, feeds: dict[str, Any]) -> dict[str, Any]:
        """float64 data for a ``float`` graph input becomes float32, as mlflow.onnx casts it
        (the signature check has already passed it)."""
        for name in self._float_inputs:
            feed = feeds.get(name)
            if feed is not None and feed.dtype == "float64":
                feeds[name] = feed.astype("float32")
        return feeds

    def predict(self, data: Any, params: Params | None = None) -> Any:
        results = self.raw_model.run(self._outputs, self._cast(self._feeds(data)))
        outputs = dict(zip(self._outputs, results, strict=True))
        if type(data).__name__ == "DataFrame":
            return _as_frame(outputs, len(data))
        return outputs


def _as_frame(outputs: dict[str, Any], rows: int) -> Any:
    """A DataFrame in gives a DataFrame out, one column per output, as mlflow.onnx
    answers (so a server writes records); an output of several values per row becomes
    a column of arrays, where mlflow.onnx fails."""
    import pandas as pd

    columns = {}
    for name, value in outputs.items():
        columns[name] = value.reshape(-1) if value.size == rows else list(value)
    return pd.DataFrame(columns)


class OnnxFlavor:
    """The plugin object registered under ``modelpack.flavors``."""

    name = FLAVOR_NAME
    loader_modules = frozenset({"modelpack.flavors.onnx", "mlflow.onnx"})
    rows_independent = True
    fork_safe = False  # an InferenceSession's thread pools do not survive fork()

    def load_pyfunc(self, model_dir: Path, mlmodel: JSONDict, *, trust: bool) -> _OnnxPredictor:
        try:
            import onnxruntime as ort
        except ImportError:
            raise DependencyMissing(
                "ONNX models run on onnxruntime: pip install 'modelpack[onnx]'"
            ) from None

        options = _session_options(mlmodel["flavors"].get(FLAVOR_NAME) or {})
        path = _model_file(model_dir, mlmodel)
        try:
            session = ort.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception:
            raise ModelFormatError(f"onnxruntime cannot load '{path.name}'") from None
        return _OnnxPredictor(session)


FLAVOR = OnnxFlavor()

__all__ = ["FLAVOR", "load_model", "log_model", "save_model"]
