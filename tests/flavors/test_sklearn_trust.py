"""The skops allow-list: exact names only, refusal at load time, before anything is built."""

from __future__ import annotations

import functools
import importlib
import json
import operator
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.feature_selection import SelectKBest
from sklearn.linear_model import LogisticRegression, SGDClassifier
from sklearn.neighbors import KNeighborsClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

import modelpack
from modelpack.errors import ModelFormatError, UntrustedPayloadError
from modelpack.flavors import sklearn_trust, sklearn_trusted_names
from modelpack.flavors.sklearn_estimator_names import ESTIMATOR_NAMES, SKLEARN_VERSION
from modelpack.mlmodel import read_mlmodel

ROWS = np.zeros((1, 1))


def _gadget(marker: Path) -> Any:
    """Issue 9's chain: fill an array with code, take one element, exec it."""
    from numpy.testing._private.utils import runstring

    code = f"open({str(marker)!r}, 'w').write('ran')"
    return make_pipeline(
        FunctionTransformer(np.full_like, kw_args={"fill_value": code, "dtype": "<U200"}),
        FunctionTransformer(np.take, kw_args={"indices": 0}),
        FunctionTransformer(runstring, kw_args={"dict": {}}),
    ).fit(ROWS)


def test_the_exec_gadget_is_refused_at_load_and_runs_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    modelpack.sklearn.save_model(_gadget(marker), tmp_path / "m", pyfunc_predict_fn="transform")
    with pytest.raises(UntrustedPayloadError) as refused:
        modelpack.load_model(tmp_path / "m")
    message = str(refused.value)
    assert "numpy.testing._private.utils.runstring" in message
    assert "numpy.full_like" in message and "numpy.take" in message
    assert "open(" not in message and str(marker) not in message  # names types, not data
    with pytest.raises(UntrustedPayloadError):
        modelpack.sklearn.load_model(tmp_path / "m")
    assert not marker.exists()


def test_a_model_cannot_vouch_for_itself_with_skops_trusted_types(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    modelpack.sklearn.save_model(_gadget(marker), tmp_path / "m", pyfunc_predict_fn="transform")
    listed = read_mlmodel(tmp_path / "m")["flavors"]["sklearn"]["skops_trusted_types"]
    assert "numpy.testing._private.utils.runstring" in listed  # what MLflow would trust
    with pytest.raises(UntrustedPayloadError, match="runstring"):
        modelpack.load_model(tmp_path / "m")
    assert not marker.exists()


def _import(dotted: str) -> Any:
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


#: Callables in the numpy, scipy and sklearn trees (and the builtins skops can name)
#: that reach exec, eval, os, subprocess, importlib or pickle.
DANGEROUS = {
    "numpy.testing._private.utils.runstring": "exec",
    "numpy.load": "pickle (allow_pickle=True)",
    "numpy.lib.format.read_array": "pickle (allow_pickle=True)",
    "numpy.testing._private.extbuild.build_and_import_extension": "compiler + importlib",
    "sklearn.utils._testing.assert_run_python_script_without_output": "subprocess",
    "scipy._lib._testutils._test_cython_extension": "subprocess",
    "os.system": "os",
    "builtins.eval": "eval",
    "importlib.import_module": "importlib",
}


@pytest.mark.parametrize("dotted", sorted(DANGEROUS), ids=lambda d: d.rsplit(".", 1)[-1])
def test_callables_that_reach_code_execution_are_refused(dotted: str, tmp_path: Path) -> None:
    func = _import(dotted)
    # Never fitted: fitting a FunctionTransformer inside a Pipeline calls its function.
    model = make_pipeline(FunctionTransformer(func), StandardScaler())
    modelpack.sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn="transform")
    with pytest.raises(UntrustedPayloadError) as refused:
        modelpack.load_model(tmp_path / "m")
    assert func.__name__ in str(refused.value)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(60, 4))
    return features, (features[:, 0] + features[:, 1] > 0).astype(int)


@pytest.mark.parametrize(
    "wrap",
    [
        lambda f: functools.partial(np.log1p),
        lambda f: operator.methodcaller("tofile", "somewhere"),
        lambda f: StandardScaler().fit(f).transform,
    ],
    ids=["functools.partial", "operator.methodcaller", "bound-method"],
)
def test_callables_that_are_not_plain_functions_are_refused(
    wrap: Callable[[np.ndarray], Any], tmp_path: Path
) -> None:
    features, _ = _data()
    # Never fitted: fitting would call the callable (methodcaller would write a file).
    model = make_pipeline(FunctionTransformer(wrap(features)), LogisticRegression())
    modelpack.sklearn.save_model(model, tmp_path / "m")
    with pytest.raises(UntrustedPayloadError, match="partial|operator|method"):
        modelpack.load_model(tmp_path / "m")


def _real_models() -> dict[str, Any]:
    columns = ColumnTransformer(
        [("scaled", StandardScaler(), [0, 1]), ("coded", OneHotEncoder(), [3])],
        remainder="passthrough",
    )
    return {
        "random-forest": RandomForestClassifier(n_estimators=3, max_depth=3, random_state=0),
        "log1p-scaler-lr": make_pipeline(
            FunctionTransformer(np.abs),
            FunctionTransformer(np.log1p, inverse_func=np.expm1),
            StandardScaler(),
            LogisticRegression(),
        ),
        "columns-histgb": make_pipeline(columns, HistGradientBoostingClassifier(max_iter=5)),
        "select-k-best": make_pipeline(SelectKBest(k=2), LogisticRegression()),
        "knn": KNeighborsClassifier(n_neighbors=3),
        "sgd": SGDClassifier(random_state=0),
        "mlp": MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0),
    }


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("name", sorted(_real_models()))
def test_real_models_load_untrusted_and_predict_the_same(name: str, tmp_path: Path) -> None:
    features, target = _data()
    features[:, 3] = np.round(features[:, 3])  # a categorical column for the encoder
    model = _real_models()[name].fit(features, target)
    modelpack.sklearn.save_model(model, tmp_path / "m")
    loaded = modelpack.sklearn.load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(features), model.predict(features))


def _rewrite_schema(path: Path, edit: Callable[[dict[str, Any]], None]) -> None:
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    schema = json.loads(members["schema.json"])
    edit(schema)
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_refusal_comes_before_any_module_from_the_file_is_imported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "imported"
    (tmp_path / "mp_canary_module.py").write_text(
        f"open({str(marker)!r}, 'w').write('x')\nLogisticRegression = object\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    features, target = _data()
    payload = tmp_path / "lr.skops"
    from modelpack.flavors.sklearn_skops import import_skops_io

    import_skops_io().dump(LogisticRegression().fit(features, target), payload)

    def point_at_canary(schema: dict[str, Any]) -> None:
        schema["__module__"] = "mp_canary_module"

    _rewrite_schema(payload, point_at_canary)
    with pytest.raises(UntrustedPayloadError, match="mp_canary_module.LogisticRegression"):
        sklearn_trust.check_skops_file(payload, trust=False)
    assert not marker.exists() and "mp_canary_module" not in sys.modules


def _skops_file(obj: Any, path: Path) -> Path:
    from modelpack.flavors.sklearn_skops import import_skops_io

    import_skops_io().dump(obj, path)
    return path


def test_type_objects_skops_would_call_are_checked(tmp_path: Path) -> None:
    payload = _skops_file({"a": 1}, tmp_path / "d.skops")
    assert "builtins.dict" in sklearn_trust.check_skops_file(payload, trust=False)

    def key_type_eval(schema: dict[str, Any]) -> None:
        schema["key_types"]["content"][0].update(__module__="builtins", __class__="eval")

    _rewrite_schema(payload, key_type_eval)
    with pytest.raises(UntrustedPayloadError, match="builtins.eval"):
        sklearn_trust.check_skops_file(payload, trust=False)


def test_a_generator_may_only_name_a_real_bit_generator(tmp_path: Path) -> None:
    payload = _skops_file(np.random.default_rng(0), tmp_path / "g.skops")
    sklearn_trust.check_skops_file(payload, trust=False)

    def call_seed(schema: dict[str, Any]) -> None:
        schema["content"]["bit_generator"]["content"]["bit_generator"]["content"] = '"seed"'

    _rewrite_schema(payload, call_seed)
    with pytest.raises(UntrustedPayloadError, match="numpy.random.seed"):
        sklearn_trust.check_skops_file(payload, trust=False)


def test_other_skops_protocols_need_trust(tmp_path: Path) -> None:
    payload = _skops_file([1, 2], tmp_path / "l.skops")
    _rewrite_schema(payload, lambda schema: schema.update(protocol=1))
    with pytest.raises(UntrustedPayloadError, match="protocol"):
        sklearn_trust.check_skops_file(payload, trust=False)
    assert "builtins.list" in sklearn_trust.check_skops_file(payload, trust=True)


@pytest.mark.parametrize(
    "content",
    [b"not a zip", None, b"{not json", b"[1, 2]", b'{"__loader__": 3}'],
    ids=["not-a-zip", "no-schema", "bad-json", "not-an-object", "bad-node"],
)
def test_unreadable_skops_files_are_format_errors(content: bytes | None, tmp_path: Path) -> None:
    payload = tmp_path / "x.skops"
    if content == b"not a zip":
        payload.write_bytes(content)
    else:
        with zipfile.ZipFile(payload, "w") as archive:
            archive.writestr("other.json" if content is None else "schema.json", content or b"{}")
    with pytest.raises(ModelFormatError, match="x.skops"):
        sklearn_trust.check_skops_file(payload, trust=False)


def test_every_name_on_the_allow_list_exists() -> None:
    names = (
        ESTIMATOR_NAMES
        | sklearn_trusted_names.SKLEARN_INTERNAL_NAMES
        | sklearn_trusted_names.SKLEARN_LOSS_NAMES
        | sklearn_trusted_names.DEFAULT_FUNCTION_NAMES
    )
    missing = []
    for dotted in sorted(names):
        try:
            found = _import(dotted)
        except (ImportError, AttributeError):
            if dotted.startswith("sklearn.linear_model._sgd_fast."):
                continue  # SGD's old loss classes (before scikit-learn 1.6)
            missing.append(dotted)
            continue
        assert sklearn_trust.skops_type_name(found) == dotted
    assert not missing


def test_the_estimator_list_is_the_installed_scikit_learns() -> None:
    import sklearn
    from sklearn.utils import all_estimators

    assert sklearn.__version__ == SKLEARN_VERSION, (
        "regenerate the list: python scripts/gen_sklearn_estimator_names.py"
    )
    listed = {sklearn_trust.skops_type_name(cls) for _, cls in all_estimators()}
    assert ESTIMATOR_NAMES == {name for name in listed if name.startswith("sklearn.")}


SKOPS_DEFAULTS = """
import json, sys
if sys.argv[1] == "cached":
    from modelpack.flavors.sklearn_skops import import_skops_io
    import_skops_io()
import skops.io._trusted_types as t
print(json.dumps({k: sorted(getattr(t, k)) for k in dir(t) if k.endswith("_NAMES")}))
print("sklearn.ensemble" in sys.modules)
"""


def test_skops_gets_the_same_defaults_without_importing_all_of_scikit_learn() -> None:
    def run(mode: str) -> tuple[dict[str, list[str]], bool]:
        out = subprocess.run(
            [sys.executable, "-c", SKOPS_DEFAULTS, mode],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        ).stdout.splitlines()
        return json.loads(out[0]), out[1] == "True"

    (cached, cached_imported_all), (real, real_imported_all) = run("cached"), run("real")
    assert cached == real
    assert real_imported_all and not cached_imported_all


def test_mlmodel_names_mlflows_loader_and_modelpack_loads_it(iris_lr, iris, tmp_path) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    assert mlmodel["flavors"]["sklearn"]["skops_trusted_types"] == []
    features, _ = iris
    got = modelpack.load_model(tmp_path / "m").predict(features.head(5))
    np.testing.assert_array_equal(got, iris_lr.predict(features.head(5)))


@pytest.mark.parametrize(
    ("field", "value"),
    [("left_child", 10**6), ("right_child", 0), ("feature", 10**6)],
    ids=["child-outside", "child-loop", "feature-outside"],
)
def test_a_decision_tree_with_out_of_range_nodes_is_refused(
    field: str, value: int, tmp_path: Path
) -> None:
    from sklearn.tree import DecisionTreeClassifier
    from sklearn.tree._tree import Tree

    features, target = _data()
    model = DecisionTreeClassifier(max_depth=3, random_state=0).fit(features, target)
    state = model.tree_.__getstate__()
    nodes = state["nodes"].copy()
    nodes[field][0] = value  # the root is a split
    crafted = Tree(model.n_features_in_, np.array([model.n_classes_], dtype=np.intp), 1)
    crafted.__setstate__({**state, "nodes": nodes})
    model.tree_ = crafted
    modelpack.sklearn.save_model(model, tmp_path / "m")
    with pytest.raises(ModelFormatError, match="malformed decision tree"):
        modelpack.load_model(tmp_path / "m")
    trusted = modelpack.sklearn.load_model(tmp_path / "m", trust=True)  # the caller's call
    assert isinstance(trusted, DecisionTreeClassifier)
