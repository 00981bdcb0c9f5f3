"""What goes into a build context: only the model's regular files, the registry's name and
version, layers ordered for the build cache, and a lock of every dependency."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import conftest_batch
import pytest
from docker_helpers import generate

iris_model = conftest_batch.iris_model
env_cache = conftest_batch.env_cache


@pytest.fixture
def model_copy(iris_model: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "iris"
    shutil.copytree(iris_model, copy)
    return copy


# -- 5b: only regular files and directories are copied; links are never followed --------


@pytest.mark.parametrize("link_to", ["file", "directory"])
def test_symlink_in_the_model_is_refused_and_its_target_not_copied(
    model_copy: Path, tmp_path: Path, link_to: str
) -> None:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    (secrets / "id_rsa").write_text("TOP-SECRET-KEY")
    (model_copy / "extra").symlink_to(secrets / "id_rsa" if link_to == "file" else secrets)
    target = tmp_path / "out" / "ctx"

    result = generate("-m", model_copy, "-d", target)

    assert result.returncode == 1, result.stderr
    assert "'extra'" in result.stderr and "symlink" in result.stderr
    assert "TOP-SECRET-KEY" not in result.stderr
    assert not (tmp_path / "out").exists()  # nothing half-written, no parent left behind


def test_nested_symlink_is_refused_by_its_path(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / "assets").mkdir()
    (model_copy / "assets" / "vocab.txt").symlink_to("/etc/passwd")

    result = generate("-m", model_copy, "-d", tmp_path / "ctx")

    assert result.returncode == 1
    assert "'assets/vocab.txt'" in result.stderr and "symlink" in result.stderr
    assert not (tmp_path / "ctx").exists()


def test_fifo_in_the_model_is_refused_without_blocking(model_copy: Path, tmp_path: Path) -> None:
    os.mkfifo(model_copy / "pipe")

    result = generate("-m", model_copy, "-d", tmp_path / "ctx", timeout=60)

    assert result.returncode == 1
    assert "'pipe'" in result.stderr and "FIFO" in result.stderr
    assert not (tmp_path / "ctx").exists()


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A directory with a short path: AF_UNIX socket paths are limited to 108 bytes."""
    path = Path(tempfile.mkdtemp(prefix="mp-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_socket_in_the_model_is_refused(iris_model: Path, short_tmp: Path) -> None:
    model = short_tmp / "m"
    shutil.copytree(iris_model, model)
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(model / "s"))
        result = generate("-m", model, "-d", short_tmp / "ctx")

    assert result.returncode == 1
    assert "'s'" in result.stderr and "socket" in result.stderr
    assert not (short_tmp / "ctx").exists()


def test_copied_model_is_readable_by_the_image_user(model_copy: Path, tmp_path: Path) -> None:
    (model_copy / "requirements.txt").chmod(0o600)

    result = generate("-m", model_copy, "-d", tmp_path / "ctx")

    assert result.returncode == 0, result.stderr
    copied = tmp_path / "ctx" / "model" / "requirements.txt"
    assert copied.stat().st_mode & 0o777 == 0o644
    assert not any(p.is_symlink() for p in (tmp_path / "ctx").rglob("*"))


# -- 15, 16: the registry's name and version, served; dependencies before the model ------


@pytest.fixture(scope="module")
def registry_contexts(
    iris_model: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Path]:
    """Build contexts (locked, the default) for versions 1 and 2 of 'dock', 2 by alias."""
    import modelpack
    from modelpack.serving.container.docker import generate_build_context
    from modelpack.tracking import config

    root = tmp_path_factory.mktemp("registry")
    store = root / "store"
    client = modelpack.Client(str(store))
    modelpack.register_model(iris_model, "dock", client=client)
    modelpack.register_model(iris_model, "dock", client=client)
    client.set_registered_model_alias("dock", "champion", 2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELPACK_TRACKING_URI", str(store))
        config.reset_tracking_uri()
        try:
            out = {
                "v1": generate_build_context("models:/dock/1", root / "v1").directory,
                "champion": generate_build_context("models:/dock@champion", root / "c").directory,
                "champion-again": generate_build_context(
                    "models:/dock@champion", root / "c2"
                ).directory,
            }
        finally:
            config.reset_tracking_uri()
    return out


def test_new_version_rebuilds_only_the_layers_after_the_install(
    registry_contexts: dict[str, Path],
) -> None:
    v1 = (registry_contexts["v1"] / "Dockerfile").read_text()
    v2 = (registry_contexts["champion"] / "Dockerfile").read_text()
    marker = "COPY model/"

    # Every instruction (and comment) up to the model layer is the same text, and so
    # are the files those layers copy: Docker's cache reuses them for version 2.
    assert v1[: v1.index(marker)] == v2[: v2.index(marker)]
    assert "pip install" in v1[: v1.index(marker)]
    for name in ("requirements.txt",):
        assert (registry_contexts["v1"] / name).read_bytes() == (
            registry_contexts["champion"] / name
        ).read_bytes()
    wheels = [sorted(p.name for p in (c / "wheels").iterdir()) for c in registry_contexts.values()]
    assert wheels[0] == wheels[1]
    # The version appears only after the model layer.
    tail = v2[v2.index(marker) :]
    assert 'io.modelpack.model.version="2"' in tail and '"--model-version", "2"' in tail
    assert 'version="1"' in v1[v1.index(marker) :]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_context_serves_under_the_registry_name_and_version(
    registry_contexts: dict[str, Path], tmp_path: Path
) -> None:
    """The image's ENTRYPOINT, run here with the context's model directory."""
    import httpx

    context = registry_contexts["champion"]
    steps = dict(
        line.split(" ", 1)
        for line in (context / "Dockerfile").read_text().splitlines()
        if line.startswith(("ENTRYPOINT ", "WORKDIR "))
    )
    entrypoint = json.loads(steps["ENTRYPOINT"])
    model_at = entrypoint.index("-m") + 1
    assert entrypoint[model_at] == f"{steps['WORKDIR']}/model"
    entrypoint[model_at] = str(context / "model")
    entrypoint[0] = str(Path(sys.executable).parent / "modelpack")
    port = free_port()
    environ = {
        **os.environ,
        "MODELPACK_SERVE_HOST": "127.0.0.1",
        "MODELPACK_SERVE_PORT": str(port),
        "MODELPACK_SERVE_WORKERS": "1",
        "MODELPACK_TRACKING_URI": str(tmp_path / "no-store-here"),
    }
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(entrypoint, env=environ, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)

        meta = httpx.get(f"{url}/metadata", timeout=10).json()
        assert (meta["name"], meta["version"]) == ("dock", "2")
        v2 = httpx.get(f"{url}/v2/models/dock", timeout=10)
        assert v2.status_code == 200 and v2.json()["versions"] == ["2"]
        assert httpx.get(f"{url}/v2/models/model", timeout=10).status_code == 404
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert 'model="dock"' in metrics and 'version="2"' in metrics
        assert 'model="model"' not in metrics
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_watch_with_a_fixed_version_is_refused() -> None:
    from modelpack.errors import InvalidInput
    from modelpack.serving.http.config import ServeConfig

    with pytest.raises(InvalidInput, match="model_version"):
        ServeConfig(model_uri="models:/dock@champion", watch=True, model_version="2")


# -- 17: the lock ----------------------------------------------------------------------


def test_requirements_are_locked_with_every_transitive_dependency(
    registry_contexts: dict[str, Path], iris_model: Path
) -> None:
    locked = (registry_contexts["champion"] / "requirements.txt").read_text().split()
    names = {line.split("==")[0].lower() for line in locked}

    assert all(re.fullmatch(r"[A-Za-z0-9._\[\],-]+==[A-Za-z0-9.+!-]+", line) for line in locked)
    model_pin = (iris_model / "requirements.txt").read_text().split()[0]
    assert locked[0] == model_pin  # the model's own pin, first and unchanged
    # scikit-learn's and modelpack's dependencies' dependencies are pinned too
    assert {"joblib", "threadpoolctl", "scipy", "numpy", "anyio", "h11"} <= names
    assert not any(n == "modelpack" for n in names)  # installed from the context's wheel
    # a second context for the same version installs exactly the same packages
    again = (registry_contexts["champion-again"] / "requirements.txt").read_text()
    assert again == "\n".join(locked) + "\n"
    info = json.loads((registry_contexts["champion"] / "modelpack-context.json").read_text())
    assert info["locked"] is True


def test_no_lock_keeps_the_direct_pins_only(iris_model: Path, tmp_path: Path) -> None:
    result = generate("-m", iris_model, "-d", tmp_path / "ctx")  # generate() passes --no-lock

    assert result.returncode == 0, result.stderr
    lines = (tmp_path / "ctx" / "requirements.txt").read_text().split()
    assert not any(line.lower().startswith(("anyio==", "h11==")) for line in lines)
    assert json.loads((tmp_path / "ctx" / "modelpack-context.json").read_text())["locked"] is False
