"""Third-party flavors plug in through the entry-point group, with no change to modelpack."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modelpack
from modelpack import plugins
from modelpack.errors import FlavorNotFound, ModelFormatError
from modelpack.testing import FlavorCase, parametrize_conformance

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third_party_flavor"


def _fake_distribution(root: Path, name: str, entry_points: str) -> None:
    dist_info = root / f"{name}-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text(f"[modelpack.flavors]\n{entry_points}\n")


@pytest.fixture(scope="module")
def third_party(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Install the example flavor and a broken one the way pip would: a dist-info on sys.path."""
    site = tmp_path_factory.mktemp("site")
    _fake_distribution(site, "modelpack_polyfit", "polyfit = modelpack_polyfit:FLAVOR")
    _fake_distribution(site, "broken_flavor", "broken = modelpack_no_such_module:FLAVOR")
    sys.path[:0] = [str(site), str(EXAMPLE)]
    plugins.clear_cache()
    yield
    sys.path.remove(str(site))
    sys.path.remove(str(EXAMPLE))
    sys.modules.pop("modelpack_polyfit", None)
    plugins.clear_cache()


def _case() -> FlavorCase:
    import modelpack_polyfit

    xs = np.linspace(0, 4, 20)
    poly = np.polynomial.Polynomial.fit(xs, 2 * xs**2 + 1, 2)
    frame = pd.DataFrame({"x": [0.5, 1.5, 3.0]})
    signature = modelpack.infer_signature(frame, poly(frame["x"].to_numpy()))
    return FlavorCase(
        name="polyfit",
        flavor="polyfit",
        save=lambda path: modelpack_polyfit.save_model(poly, path, signature=signature),
        input=frame,
        expected=poly(frame["x"].to_numpy()),
    )


def test_discovered_alongside_the_built_ins(third_party: None) -> None:
    assert {"polyfit", "sklearn", "onnx", "python_function", "broken"} <= set(
        plugins.installed_flavors()
    )
    assert plugins.get_flavor("polyfit").name == "polyfit"


def test_conformance_kit_passes(third_party: None, tmp_path: Path) -> None:
    from modelpack.testing import CHECKS

    case = _case()
    for check in CHECKS:
        check(case, tmp_path / check.__name__)


def test_broken_plugin_is_reported_not_fatal(third_party: None, iris_lr, tmp_path) -> None:
    with pytest.raises(FlavorNotFound, match="failed to load"):
        plugins.get_flavor("broken")
    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    assert modelpack.load_model(tmp_path / "m").flavor.name == "sklearn"


def test_unknown_flavor_names_the_installed_ones() -> None:
    with pytest.raises(FlavorNotFound) as err:
        plugins.get_flavor("xgboost")
    message = str(err.value)
    assert "sklearn" in message and "onnx" in message and "modelpack.flavors" in message


def test_model_from_an_uninstalled_flavor_says_so(iris_lr, tmp_path: Path) -> None:
    from modelpack.mlmodel import read_mlmodel, write_mlmodel

    modelpack.sklearn.save_model(iris_lr, tmp_path / "m")
    mlmodel = read_mlmodel(tmp_path / "m")
    mlmodel["flavors"]["python_function"]["loader_module"] = "someone_else.flavor"
    write_mlmodel(tmp_path / "m", mlmodel)
    with pytest.raises(ModelFormatError, match="someone_else.flavor"):
        modelpack.load_model(tmp_path / "m")


def test_parametrize_mark_is_usable_by_plugins() -> None:
    mark = parametrize_conformance(FlavorCase("p", "polyfit", lambda p: None, None, None))
    assert len(mark.args[1]) == len(mark.kwargs["ids"]) >= 7


def test_only_flavors_that_declare_it_are_row_independent(
    third_party: None, iris_lr, iris_onnx, tmp_path: Path
) -> None:
    modelpack.sklearn.save_model(iris_lr, tmp_path / "sk")
    modelpack.onnx.save_model(iris_onnx, tmp_path / "onnx")
    assert modelpack.load_model(tmp_path / "sk").rows_independent
    assert modelpack.load_model(tmp_path / "onnx").rows_independent
    case = _case()
    case.save(tmp_path / "poly")  # the example flavor does not declare it
    assert not modelpack.load_model(tmp_path / "poly").rows_independent
