"""Isolated environments: spec reading, cache keys, locking, failures, and a real build."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from pathlib import Path

import conftest_batch
import pandas as pd
import pytest
from conftest_batch import FEATURES, iris_frame, write_table

from modelpack.errors import EnvironmentBuildError, InvalidInput, UnsafePathError
from modelpack.serving.envs import virtualenv as envs
from modelpack.serving.envs.spec import EnvSpec, read_env_spec
from modelpack.serving.envs.virtualenv import build_env, cli_command

iris_model = conftest_batch.iris_model
iris_estimator = conftest_batch.iris_estimator
env_cache = conftest_batch.env_cache


def copy_model(model: Path, tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(model, target)
    return target


def test_spec_pins_model_and_modelpack_requirements(iris_model: Path) -> None:
    spec = read_env_spec(iris_model)

    assert spec.python == "3.11"
    assert spec.requirements[0].startswith("scikit-learn==")
    assert any(r.startswith("pyarrow==") for r in spec.requirements)
    assert all("==" in r for r in spec.requirements)


def test_key_depends_on_python_requirements_and_modelpack_version() -> None:
    spec = EnvSpec("3.11", ("numpy==2.4.6",))

    assert spec.key("0.1.0") == EnvSpec("3.11", ("numpy==2.4.6",)).key("0.1.0")
    assert spec.key("0.1.0") != spec.key("0.2.0")
    assert spec.key("0.1.0") != EnvSpec("3.12", ("numpy==2.4.6",)).key("0.1.0")
    assert spec.key("0.1.0") != EnvSpec("3.11", ("numpy==2.4.5",)).key("0.1.0")


@pytest.mark.parametrize(
    "line", ["numpy; rm -rf /", "numpy && curl x | sh", "$(touch /tmp/pwned)", "`id`"]
)
def test_shell_syntax_in_requirements_is_refused(
    iris_model: Path, tmp_path: Path, line: str
) -> None:
    model = copy_model(iris_model, tmp_path)
    (model / "requirements.txt").write_text(f"scikit-learn\n{line}\n")

    with pytest.raises(InvalidInput, match="PEP 508|malformed"):
        read_env_spec(model)


def test_requirements_file_outside_the_model_is_refused(iris_model: Path, tmp_path: Path) -> None:
    model = copy_model(iris_model, tmp_path)
    (model / "python_env.yaml").write_text("python: 3.11.7\ndependencies:\n- -r ../../etc/passwd\n")

    with pytest.raises(UnsafePathError):
        read_env_spec(model)


def test_cache_dir_is_overridable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MODELPACK_ENV_CACHE", str(tmp_path / "envs"))
    assert envs.env_cache_dir() == tmp_path / "envs"
    monkeypatch.delenv("MODELPACK_ENV_CACHE")
    assert envs.env_cache_dir() == Path.home() / ".cache" / "modelpack" / "envs"


def test_concurrent_builds_of_one_env_build_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODELPACK_ENV_CACHE", str(tmp_path / "envs"))
    builds: list[int] = []

    def fake_build(spec: EnvSpec, final: Path, wheel: Path) -> None:
        builds.append(1)
        time.sleep(0.3)
        (final / "bin").mkdir(parents=True)
        (final / envs._MARKER).write_text(f'{{"wheel": "{envs._wheel_id(wheel)}"}}')

    monkeypatch.setattr(envs, "_build", fake_build)
    wheel = tmp_path / "modelpack-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")
    results: list[Path] = []
    threads = [
        threading.Thread(target=lambda: results.append(build_env(EnvSpec("3.11", ()), wheel)))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert builds == [1]
    assert len(set(results)) == 1 and len(results) == 4


def test_missing_python_version_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MODELPACK_ENV_CACHE", str(tmp_path / "envs"))
    wheel = tmp_path / "modelpack-0.1.0-py3-none-any.whl"
    wheel.write_bytes(b"wheel")

    with pytest.raises(EnvironmentBuildError, match="Python 3.4.*not installed"):
        build_env(EnvSpec("3.4", ("numpy",)), wheel)
    assert [p.name for p in (tmp_path / "envs").iterdir() if not p.name.endswith(".lock")] == []


@pytest.mark.slow
def test_uninstallable_requirement_names_it_and_leaves_no_entry(
    iris_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = copy_model(iris_model, tmp_path)
    (model / "requirements.txt").write_text("modelpack-no-such-distribution-x9==1.0.0\n")
    cache = tmp_path / "envs"
    monkeypatch.setenv("MODELPACK_ENV_CACHE", str(cache))

    with pytest.raises(EnvironmentBuildError, match="modelpack-no-such-distribution-x9"):
        envs.python_for_model(model)

    entries = [p.name for p in cache.iterdir() if p.name != "wheels" and ".lock" not in p.name]
    assert entries == []


@pytest.mark.slow
def test_predict_runs_inside_the_models_virtualenv(
    iris_model: Path, iris_estimator: object, env_cache: Path, tmp_path: Path
) -> None:
    frame = iris_frame(80)
    source = write_table(frame, tmp_path / "in.csv")
    out = tmp_path / "out.parquet"

    python = envs.python_for_model(iris_model)
    assert python.is_relative_to(env_cache)
    done = subprocess.run(
        [*cli_command(python), "predict", "-m", str(iris_model)]
        + ["-i", str(source), "-o", str(out), "-q"],
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    expected = iris_estimator.predict(frame[FEATURES])  # type: ignore[attr-defined]
    assert pd.read_parquet(out)["prediction"].tolist() == expected.tolist()
    # The environment is reused: the second lookup builds nothing.
    started = time.perf_counter()
    assert envs.python_for_model(iris_model) == python
    assert time.perf_counter() - started < 30


@pytest.mark.slow
def test_cli_env_manager_virtualenv(iris_model: Path, env_cache: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from modelpack.cli import cli

    source = write_table(iris_frame(20), tmp_path / "in.parquet")
    out = tmp_path / "out.parquet"
    args = ["predict", "-m", str(iris_model), "-i", str(source), "-o", str(out)]

    result = CliRunner().invoke(cli, [*args, "--env-manager", "virtualenv", "-q"])

    assert result.exit_code == 0, result.output
    assert pd.read_parquet(out).columns.tolist() == ["id", "prediction"]
