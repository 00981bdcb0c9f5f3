"""The sklearn flavor: conformance, formats and trust, predict functions, hostile input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

import modelpack
from modelpack.errors import (
    AlreadyExists,
    InvalidInput,
    ModelFormatError,
    SchemaError,
    UnsafePathError,
    UntrustedPayloadError,
)
from modelpack.mlmodel import read_mlmodel, write_mlmodel
from modelpack.testing import FlavorCase, parametrize_conformance


def _iris_case(fmt: str) -> FlavorCase:
    from sklearn.datasets import load_iris

    features, target = load_iris(return_X_y=True, as_frame=True)
    clf = LogisticRegression(max_iter=500, random_state=0).fit(features, target)
    signature = modelpack.infer_signature(features, clf.predict(features))
    head = features.head(7)
    return FlavorCase(
        name=f"sklearn-{fmt}",
        flavor="sklearn",
        save=lambda path: modelpack.sklearn.save_model(
            clf, path, serialization_format=fmt, signature=signature
        ),
        input=head,
        expected=clf.predict(head),
        trust=fmt != "skops",
    )


@parametrize_conformance(_iris_case("skops"), _iris_case("cloudpickle"), _iris_case("pickle"))
def test_conformance(case: FlavorCase, check, tmp_path: Path) -> None:
    check(case, tmp_path)


def test_skops_is_the_default_and_loads_without_trust(iris_lr, iris, tmp_path: Path) -> None:
    features, _ = iris
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    block = read_mlmodel(tmp_path / "m")["flavors"]["sklearn"]
    assert block["serialization_format"] == "skops"
    assert set(block) >= {"pickled_model", "serialization_format", "sklearn_version"}
    estimator = modelpack.sklearn.load_model(tmp_path / "m")
    np.testing.assert_array_equal(estimator.predict(features), iris_lr.predict(features))


def test_pickle_is_refused_without_trust_and_loads_with_env(
    iris_lr, iris, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", serialization_format="cloudpickle")
    with pytest.raises(UntrustedPayloadError, match="trust=True"):
        modelpack.load_model(tmp_path / "m")
    with pytest.raises(UntrustedPayloadError):
        modelpack.sklearn.load_model(tmp_path / "m")
    monkeypatch.setenv("MODELPACK_TRUST_PICKLE", "1")
    assert modelpack.load_model(tmp_path / "m").predict(iris[0].head(2)).shape == (2,)


def _double(values: np.ndarray) -> np.ndarray:
    return values * 2


def test_skops_refuses_types_outside_the_allow_list(iris, tmp_path: Path) -> None:
    features, target = iris
    pipe = make_pipeline(FunctionTransformer(_double), LogisticRegression(max_iter=500))
    pipe.fit(features, target)
    modelpack.sklearn.save_model(pipe, tmp_path / "m")
    with pytest.raises(UntrustedPayloadError, match="_double"):
        modelpack.load_model(tmp_path / "m")
    model = modelpack.load_model(tmp_path / "m", trust=True)
    np.testing.assert_array_equal(model.predict(features.head(3)), pipe.predict(features.head(3)))


@pytest.mark.parametrize("fn", ["predict_proba", "predict_log_proba", "decision_function"])
def test_pyfunc_predict_fn(fn: str, iris_lr, iris, tmp_path: Path) -> None:
    features, _ = iris
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", pyfunc_predict_fn=fn)
    got = modelpack.load_model(tmp_path / "m").predict(features.head(4))
    np.testing.assert_allclose(got, getattr(iris_lr, fn)(features.head(4)))


def test_pyfunc_predict_fn_must_exist(iris_lr, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="transform"):
        modelpack.sklearn.save_model(iris_lr, tmp_path / "m", pyfunc_predict_fn="transform")
    with pytest.raises(InvalidInput, match="one of"):
        modelpack.sklearn.save_model(iris_lr, tmp_path / "m", pyfunc_predict_fn="fit")
    assert not (tmp_path / "m").exists()


def test_input_example_gives_signature_and_example_files(iris_lr, iris, tmp_path: Path) -> None:
    features, _ = iris
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", input_example=features.head(3))
    model = modelpack.load_model(tmp_path / "m")
    assert model.signature is not None
    assert model.signature.inputs.input_names() == list(features.columns)
    assert model.signature.outputs is not None
    assert (tmp_path / "m" / "serving_input_example.json").is_file()
    example = model.metadata.load_input_example()
    pd.testing.assert_frame_equal(example, features.head(3).reset_index(drop=True))


def test_enforcement_refuses_truncation_and_names_the_column(iris_lr, iris, tmp_path) -> None:
    features, _ = iris
    signature = modelpack.infer_signature(features, iris_lr.predict(features))
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", signature=signature)
    model = modelpack.load_model(tmp_path / "m")
    frame = features.head(2).copy()
    frame["petal width (cm)"] = ["wide", "narrow"]
    with pytest.raises(SchemaError, match="petal width") as err:
        model.predict(frame)
    assert "narrow" not in str(err.value)
    reordered = features.head(3)[list(reversed(features.columns))].assign(extra=1)
    np.testing.assert_array_equal(model.predict(reordered), iris_lr.predict(features.head(3)))


def test_existing_model_is_kept_unless_overwrite(iris_lr, tmp_path: Path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", metadata={"v": 1})
    with pytest.raises(AlreadyExists):
        modelpack.sklearn.save_model(iris_lr, tmp_path / "m", metadata={"v": 2})
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m", metadata={"v": 2}, overwrite=True)
    assert modelpack.load_model(tmp_path / "m").metadata.metadata == {"v": 2}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m"]


def test_failed_save_leaves_nothing_behind(tmp_path: Path) -> None:
    class Unsavable:
        def predict(self, data):
            return data

        def __reduce__(self):
            raise RuntimeError("cannot serialize")

    with pytest.raises(RuntimeError):
        modelpack.sklearn.save_model(Unsavable(), tmp_path / "m", serialization_format="pickle")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "requirement", ["scikit-learn; rm -rf /", "numpy && curl x", "", "a\nb", "$(reboot)"]
)
def test_requirement_strings_are_validated(requirement: str, iris_lr, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="requirement"):
        modelpack.sklearn.save_model(iris_lr, tmp_path / "m", extra_pip_requirements=[requirement])
    assert not (tmp_path / "m").exists()


def test_extra_requirements_are_added_and_pip_requirements_replace(iris_lr, tmp_path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "a", extra_pip_requirements=["pandas>=2"])
    lines = (tmp_path / "a" / "requirements.txt").read_text().split()
    assert "pandas>=2" in lines and any(r.startswith("scikit-learn==") for r in lines)
    modelpack.sklearn.save_model(iris_lr, tmp_path / "b", pip_requirements=["scikit-learn"])
    assert (tmp_path / "b" / "requirements.txt").read_text().split() == ["scikit-learn"]


@pytest.mark.parametrize("hostile", ["../outside.skops", "/etc/passwd", "..\\..\\x", "C:/x"])
def test_hostile_payload_paths_are_refused(hostile: str, iris_lr, tmp_path: Path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    mlmodel = read_mlmodel(tmp_path / "m")
    mlmodel["flavors"]["sklearn"]["pickled_model"] = hostile
    write_mlmodel(tmp_path / "m", mlmodel)
    with pytest.raises(UnsafePathError):
        modelpack.load_model(tmp_path / "m")


def test_symlink_out_of_the_model_dir_is_refused(iris_lr, tmp_path: Path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    (tmp_path / "secret.skops").write_bytes((tmp_path / "m" / "model.skops").read_bytes())
    (tmp_path / "m" / "link.skops").symlink_to(tmp_path / "secret.skops")
    mlmodel = read_mlmodel(tmp_path / "m")
    mlmodel["flavors"]["sklearn"]["pickled_model"] = "link.skops"
    write_mlmodel(tmp_path / "m", mlmodel)
    with pytest.raises(UnsafePathError, match="outside"):
        modelpack.load_model(tmp_path / "m")


def test_corrupt_mlmodel_and_missing_payload(iris_lr, tmp_path: Path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    (tmp_path / "m" / "model.skops").unlink()
    with pytest.raises(ModelFormatError, match="model.skops"):
        modelpack.load_model(tmp_path / "m")
    (tmp_path / "m" / "MLmodel").write_text("flavors: [unclosed")
    with pytest.raises(ModelFormatError, match="YAML"):
        modelpack.load_model(tmp_path / "m")
    (tmp_path / "m" / "MLmodel").write_text(yaml.safe_dump({"flavors": {"zzz": {}}}))
    with pytest.raises(ModelFormatError, match="python_function"):
        modelpack.load_model(tmp_path / "m")


def test_named_numeric_frames_take_the_array_path_with_identical_results(
    iris_lr, iris, tmp_path: Path
) -> None:
    from sklearn.ensemble import RandomForestClassifier

    features, target = iris
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(features, target)
    for name, estimator in (("lr", iris_lr), ("rf", forest)):
        signature = modelpack.infer_signature(features)
        modelpack.sklearn.save_model(estimator, tmp_path / name, signature=signature)
        model = modelpack.load_model(tmp_path / name)
        np.testing.assert_array_equal(model.predict(features), estimator.predict(features))
        # a JSON-like dict takes the same path; warnings are errors in this suite
        rows = features.head(3).to_dict(orient="list")
        np.testing.assert_array_equal(model.predict(rows), estimator.predict(features.head(3)))
        assert list(model.get_raw_model().feature_names_in_) == list(features.columns)


def test_column_selecting_pipelines_keep_the_frame(tmp_path: Path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    frame = pd.DataFrame(
        {"city": ["a", "b", "a", "c"] * 5, "size": np.arange(20.0), "rooms": np.arange(20) % 4}
    )
    target = (frame["size"] > 9).astype(int)
    pipe = make_pipeline(
        ColumnTransformer([("city", OneHotEncoder(), ["city"])], remainder="passthrough"),
        LogisticRegression(max_iter=500),
    ).fit(frame, target)
    modelpack.sklearn.save_model(pipe, tmp_path / "m", input_example=frame.head(2))
    model = modelpack.load_model(tmp_path / "m")
    np.testing.assert_array_equal(model.predict(frame), pipe.predict(frame))


def test_meta_estimators_and_name_parameters_keep_the_frame(tmp_path: Path) -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier, VotingClassifier
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"age": rng.normal(size=200), "city": rng.integers(0, 3, 200) * 1.0})
    target = (frame["age"] + frame["city"] > 1).astype(int)
    by_name = ColumnTransformer([("age", StandardScaler(), ["age"])], remainder="passthrough")
    voting = VotingClassifier(  # its column selector hides in a list of (name, estimator)
        [("pipe", make_pipeline(by_name, LogisticRegression())), ("lr", LogisticRegression())]
    )
    boosted = HistGradientBoostingClassifier(categorical_features=["city"], max_iter=5)
    for name, estimator in (("voting", voting), ("boosted", boosted)):
        estimator.fit(frame, target)
        path = tmp_path / name  # cloudpickle: skops' allow-list has no functools.partial
        modelpack.sklearn.save_model(
            estimator, path, serialization_format="cloudpickle", input_example=frame.head(2)
        )
        model = modelpack.load_model(path, trust=True)
        np.testing.assert_array_equal(model.predict(frame), estimator.predict(frame))


def test_numeric_pipelines_predict_the_same_on_the_array_path(iris, tmp_path: Path) -> None:
    from sklearn.decomposition import PCA
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    features, target = iris
    pandas_out = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    pandas_out.set_output(transform="pandas")  # later steps are fitted on named frames
    pipelines = {
        "scaled": make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)),
        "passthrough-first": Pipeline(
            [("skip", "passthrough"), ("pca", PCA(2)), ("lr", LogisticRegression())]
        ),
        "pandas-output": pandas_out,
    }
    for name, pipe in pipelines.items():
        pipe.fit(features, target)
        modelpack.sklearn.save_model(pipe, tmp_path / name, input_example=features.head(2))
        model = modelpack.load_model(tmp_path / name)
        # warnings are errors in this suite: a names-vs-array mix-up would fail here
        np.testing.assert_array_equal(model.predict(features), pipe.predict(features))
        rows = features.head(3).to_dict(orient="list")
        np.testing.assert_array_equal(model.predict(rows), pipe.predict(features.head(3)))
