"""The onnx flavor: conformance, graph-derived signatures, input and output shapes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pandas as pd
import pytest

import modelpack
from modelpack.errors import InvalidInput, ModelFormatError, SchemaError
from modelpack.testing import FlavorCase, parametrize_conformance


def _case() -> FlavorCase:
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    features, target = load_iris(return_X_y=True)
    clf = LogisticRegression(max_iter=500, random_state=0).fit(features, target)
    proto = convert_sklearn(
        clf,
        initial_types=[("X", FloatTensorType([None, 4]))],
        options={id(clf): {"zipmap": False}},
        target_opset=17,
    )
    sample = features[:6].astype(np.float32)
    return FlavorCase(
        name="onnx",
        flavor="onnx",
        save=lambda path: modelpack.onnx.save_model(proto, path),
        input=sample,
        expected={"label": clf.predict(sample), "probabilities": clf.predict_proba(sample)},
        bad_input=sample.astype(np.float64),
        rtol=1e-5,
        atol=1e-6,
    )


@parametrize_conformance(_case())
def test_conformance(case: FlavorCase, check, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_signature_comes_from_the_graph(iris_onnx, tmp_path: Path) -> None:
    modelpack.onnx.save_model(iris_onnx, tmp_path / "m")
    signature = modelpack.load_model(tmp_path / "m").signature
    (spec,) = signature.inputs.inputs
    assert spec.name == "X" and spec.shape == (-1, 4) and np.dtype(spec.dtype) == np.float32
    assert [s.name for s in signature.outputs.inputs] == ["label", "probabilities"]


def test_input_kinds_and_output_kinds(iris_onnx, iris, tmp_path: Path) -> None:
    modelpack.onnx.save_model(iris_onnx, tmp_path / "m")
    model = modelpack.load_model(tmp_path / "m")
    rows = iris[0].to_numpy(dtype=np.float32)[:3]
    as_dict = model.predict({"X": rows})
    as_array = model.predict(rows)
    assert set(as_dict) == {"label", "probabilities"}
    np.testing.assert_array_equal(as_dict["label"], as_array["label"])
    framed = model.predict(pd.DataFrame(rows))
    assert isinstance(framed, pd.DataFrame) and list(framed.columns) == ["label", "probabilities"]
    np.testing.assert_array_equal(framed["label"].to_numpy(), as_dict["label"])


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.zeros((2, 4), dtype=np.float64), "float32"),
        (np.zeros((2, 5), dtype=np.float32), "shape"),
        (np.zeros(4, dtype=np.float32), "shape"),
    ],
)
def test_tensor_enforcement(bad: np.ndarray, match: str, iris_onnx, tmp_path: Path) -> None:
    modelpack.onnx.save_model(iris_onnx, tmp_path / "m")
    with pytest.raises(SchemaError, match=match):
        modelpack.load_model(tmp_path / "m").predict(bad)


def test_load_model_returns_the_proto_and_accepts_files(iris_onnx, tmp_path: Path) -> None:
    onnx.save_model(iris_onnx, str(tmp_path / "file.onnx"))
    modelpack.onnx.save_model(tmp_path / "file.onnx", tmp_path / "m")
    proto = modelpack.onnx.load_model(tmp_path / "m")
    assert isinstance(proto, onnx.ModelProto)
    assert [i.name for i in proto.graph.input] == ["X"]


def test_bad_models_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="ModelProto"):
        modelpack.onnx.save_model(object(), tmp_path / "a")
    with pytest.raises(InvalidInput, match="not a serialized ONNX"):
        modelpack.onnx.save_model(b"not onnx at all", tmp_path / "b")
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01garbage")
    with pytest.raises((InvalidInput, ModelFormatError)):
        modelpack.onnx.save_model(tmp_path / "junk.onnx", tmp_path / "c")
    assert not any(p.is_dir() for p in tmp_path.iterdir())


def test_thread_setting_is_validated(iris_onnx, tmp_path, monkeypatch) -> None:
    modelpack.onnx.save_model(iris_onnx, tmp_path / "m")
    monkeypatch.setenv("MODELPACK_ONNX_INTRA_OP_THREADS", "many")
    with pytest.raises(InvalidInput, match="MODELPACK_ONNX_INTRA_OP_THREADS"):
        modelpack.load_model(tmp_path / "m")
    monkeypatch.setenv("MODELPACK_ONNX_INTRA_OP_THREADS", "1")
    assert (
        modelpack.load_model(tmp_path / "m")
        .get_raw_model()
        .get_session_options()
        .intra_op_num_threads
        == 1
    )


def test_double_signature_over_a_float_graph_is_cast(iris_onnx, iris, tmp_path: Path) -> None:
    # what MLflow saves from a float64 DataFrame example: the signature says double,
    # the graph takes float32; mlflow.onnx casts after the signature check, so do we
    frame = iris[0].head(5)
    signature = modelpack.infer_signature(frame, iris[1].head(5).to_numpy())
    assert {s.type.value for s in signature.inputs.inputs} == {"double"}
    modelpack.onnx.save_model(iris_onnx, tmp_path / "m", signature=signature)
    model = modelpack.load_model(tmp_path / "m")
    got = model.predict(frame)
    want = modelpack.load_model(_graph_signed(iris_onnx, tmp_path)).predict(
        frame.to_numpy(np.float32)
    )
    np.testing.assert_array_equal(got["label"].to_numpy(), want["label"])
    # the signature is still checked first: a text column is refused, not cast
    with pytest.raises(SchemaError, match="double"):
        model.predict(frame.assign(**{frame.columns[0]: "x"}))


def _graph_signed(proto: onnx.ModelProto, tmp_path: Path) -> Path:
    modelpack.onnx.save_model(proto, tmp_path / "graph-signed")
    return tmp_path / "graph-signed"


def _session_options(model_dir: Path) -> object:
    return modelpack.load_model(model_dir).get_raw_model().get_session_options()


def test_onnx_session_options_from_mlmodel_are_honoured(
    iris_onnx, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import onnxruntime as ort

    monkeypatch.delenv("MODELPACK_ONNX_INTRA_OP_THREADS", raising=False)
    options = {
        "intra_op_num_threads": 1,
        "inter_op_num_threads": 2,
        "execution_mode": "parallel",
        "graph_optimization_level": 1,
        "extra_session_config": {"session.intra_op.allow_spinning": "0"},
    }
    modelpack.onnx.save_model(iris_onnx, tmp_path / "m", onnx_session_options=options)
    got = _session_options(tmp_path / "m")
    assert got.intra_op_num_threads == 1 and got.inter_op_num_threads == 2
    assert got.execution_mode == ort.ExecutionMode.ORT_PARALLEL
    assert got.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    assert got.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    # the operator's environment variable still wins over the model's thread count
    monkeypatch.setenv("MODELPACK_ONNX_INTRA_OP_THREADS", "2")
    assert _session_options(tmp_path / "m").intra_op_num_threads == 2


def test_mlflow_written_session_options_are_honoured(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import yaml

    monkeypatch.delenv("MODELPACK_ONNX_INTRA_OP_THREADS", raising=False)
    fixture = Path(__file__).parents[1] / "fixtures" / "mlflow3" / "onnx"
    model_dir = shutil.copytree(fixture, tmp_path / "onnx")
    mlmodel = yaml.safe_load((model_dir / "MLmodel").read_text())
    assert "onnx_session_options" in mlmodel["flavors"]["onnx"]  # MLflow writes the key
    mlmodel["flavors"]["onnx"]["onnx_session_options"] = {"intra_op_num_threads": 1}
    (model_dir / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    assert _session_options(model_dir).intra_op_num_threads == 1
    for bad in ({"execution_mode": "fast"}, {"threads": 3}, {"intra_op_num_threads": "4"}):
        mlmodel["flavors"]["onnx"]["onnx_session_options"] = bad
        (model_dir / "MLmodel").write_text(yaml.safe_dump(mlmodel))
        with pytest.raises(ModelFormatError, match="onnx_session_options"):
            modelpack.load_model(model_dir)
