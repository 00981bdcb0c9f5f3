"""What goes into a build context: only the model's regular files, the registry's name and
version, layers ordered for the build cache, and the options that shape the image."""

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
import zipfile
from collections.abc import Iterator
from pathlib import Path

import conftest_batch
import pytest
from click.testing import CliRunner, Result

from modelpack.cli import cli
from modelpack.serving.envs import CLI_BOOTSTRAP

iris_model = conftest_batch.iris_model
env_cache = conftest_batch.env_cache


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def generate(*args: str | Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``modelpack generate-dockerfile`` in its own process: a hang is a failure, not a stall."""
    argv = [sys.executable, "-I", "-c", CLI_BOOTSTRAP, "generate-dockerfile", "--no-lock"]
    return subprocess.run(
        [*argv, *map(str, args)], capture_output=True, text=True, timeout=timeout, check=False
    )


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
    from modelpack.serving.docker import generate_build_context
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
    from modelpack.serving.config import ServeConfig

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


# -- 17: base image, template, byte-code, network ----------------------------------------


def from_line(context: Path) -> str:
    return next(
        line
        for line in (context / "Dockerfile").read_text().splitlines()
        if line.startswith("FROM ")
    )


@pytest.mark.parametrize(
    "image",
    ["python:3.11-slim-bookworm", "registry.local:5000/base/py:3.11", "python@sha256:" + "a" * 64],
)
def test_base_image_is_the_first_layer(iris_model: Path, tmp_path: Path, image: str) -> None:
    result = generate("-m", iris_model, "-d", tmp_path / "ctx", "--base-image", image)

    assert result.returncode == 0, result.stderr
    assert from_line(tmp_path / "ctx") == f"FROM {image}"
    info = json.loads((tmp_path / "ctx" / "modelpack-context.json").read_text())
    assert info["base_image"] == image


@pytest.mark.parametrize(
    "image", ["python:3.11\nRUN curl evil", "Python:3.11", "python:3.11 AS x", "py@sha256:abc", ""]
)
def test_bad_base_image_is_refused(iris_model: Path, tmp_path: Path, image: str) -> None:
    result = invoke(
        "generate-dockerfile", "--no-lock", "-m", iris_model, "-d", tmp_path / "d",
        "--base-image", image,
    )  # fmt: skip

    assert result.exit_code == 1
    assert "base image must look like" in result.stderr
    assert not (tmp_path / "d").exists()


def test_default_base_image_follows_the_model_python(iris_model: Path, tmp_path: Path) -> None:
    result = generate("-m", iris_model, "-d", tmp_path / "ctx")

    assert result.returncode == 0, result.stderr
    assert from_line(tmp_path / "ctx") == "FROM python:3.11-slim"


def test_custom_template_is_rendered(iris_model: Path, tmp_path: Path) -> None:
    template = tmp_path / "Dockerfile.in"
    template.write_text(
        "FROM {{base_image}}\nRUN pip install -r requirements.txt wheels/{{wheel_name}}\n"
        "COPY model/ /srv/model/\nLABEL v={{model_version}}\nENTRYPOINT {{entrypoint}}\n"
    )

    result = generate("-m", iris_model, "-d", tmp_path / "ctx", "--template", template)

    assert result.returncode == 0, result.stderr
    text = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert text.startswith("FROM python:3.11-slim\nRUN pip install -r requirements.txt wheels/")
    assert "LABEL v=unversioned\n" in text
    assert json.loads(text.splitlines()[-1].split(" ", 1)[1])[:2] == ["modelpack", "serve"]


def test_bad_templates_are_refused(iris_model: Path, tmp_path: Path) -> None:
    unknown = tmp_path / "unknown.in"
    unknown.write_text("FROM {{base_image}}\nRUN echo {{secret_token}}\n")
    big = tmp_path / "big.in"
    big.write_text("#" * (65 * 1024))
    binary = tmp_path / "binary.in"
    binary.write_bytes(b"FROM \xff\xfe")
    fifo = tmp_path / "fifo.in"
    os.mkfifo(fifo)

    expected = {
        unknown: "unknown value 'secret_token'",
        big: "at most 65536",
        binary: "not UTF-8",
        fifo: "not a regular file",
    }
    for template, message in expected.items():
        result = generate(
            "-m", iris_model, "-d", tmp_path / "ctx", "--template", template, timeout=60
        )
        assert result.returncode == 1, (template, result.stderr)
        assert message in result.stderr and str(template) in result.stderr
        assert not (tmp_path / "ctx").exists()
    missing = generate("-m", iris_model, "-d", tmp_path / "ctx", "--template", tmp_path / "nope")
    assert missing.returncode == 1 and "cannot read template" in missing.stderr


def test_byte_code_is_compiled_at_build(iris_model: Path, tmp_path: Path) -> None:
    result = generate("-m", iris_model, "-d", tmp_path / "ctx")

    assert result.returncode == 0, result.stderr
    text = re.sub(r"\\\n", " ", (tmp_path / "ctx" / "Dockerfile").read_text())
    install = next(line for line in text.splitlines() if "pip install" in line)
    assert "--no-compile" not in install and "__pycache__" not in install
    assert "python -m compileall" in install


def test_build_command_passes_the_network() -> None:
    from modelpack.serving.docker_build import build_command

    assert build_command("/usr/bin/docker", "iris:3", Path("/ctx"), network="host") == [
        "/usr/bin/docker", "build", "-t", "iris:3", "--network", "host", "/ctx",
    ]  # fmt: skip
    assert "--network" not in build_command("docker", "iris:3", Path("/ctx"))


@pytest.mark.parametrize("network", ["host;id", "--privileged", "a b", "", "x" * 200])
def test_bad_network_is_refused_before_docker_is_needed(
    iris_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, network: str
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no docker here: the check must come first

    result = invoke("build-docker", "-m", iris_model, "-n", "iris:1", "--network", network)

    assert result.exit_code == 1
    assert "network must be" in result.stderr


def test_build_docker_runs_the_build_with_the_network(
    iris_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No Docker engine runs here, so a stand-in ``docker`` executable on PATH answers
    ``info`` and records the ``build`` command line and the context it was given."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "argv.json"
    stub = bin_dir / "docker"
    stub.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "if sys.argv[1] == 'info':\n    print('27.0.0'); sys.exit(0)\n"
        "context = sys.argv[-1]\n"
        f"json.dump({{'argv': sys.argv[1:], 'files': sorted(os.listdir(context))}}, open({str(record)!r}, 'w'))\n"
    )
    stub.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    result = invoke(
        "build-docker", "--no-lock", "-m", iris_model, "-n", "iris:7", "--network", "host",
        "--base-image", "python:3.11-slim-bookworm",
    )  # fmt: skip

    assert result.exit_code == 0, result.stderr
    seen = json.loads(record.read_text())
    assert seen["argv"][:5] == ["build", "-t", "iris:7", "--network", "host"]
    assert {"Dockerfile", "model", "requirements.txt", "wheels"} <= set(seen["files"])
    assert not Path(seen["argv"][-1]).exists()  # the temporary context is removed afterwards


# -- 17: third-party flavor packages go into the image -----------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "third_party_flavor"


def _install_polyfit(site: Path, *, from_source: bool) -> None:
    """The example flavor installed the way pip records it: a dist-info on sys.path, with
    ``direct_url.json`` when it came from a local directory (``pip install -e``)."""
    dist_info = site / "modelpack_polyfit-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: modelpack-polyfit\nVersion: 0.1.0\n"
    )
    (dist_info / "entry_points.txt").write_text(
        "[modelpack.flavors]\npolyfit = modelpack_polyfit:FLAVOR\n"
    )
    if from_source:
        url = {"url": EXAMPLE.as_uri(), "dir_info": {"editable": True}}
        (dist_info / "direct_url.json").write_text(json.dumps(url))


@pytest.fixture(params=[True, False], ids=["from-source", "from-index"])
def polyfit_model(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Path, bool]]:
    import numpy as np

    from modelpack import plugins

    site = tmp_path / "site"
    _install_polyfit(site, from_source=request.param)
    sys.path[:0] = [str(site), str(EXAMPLE)]
    plugins.clear_cache()
    try:
        import modelpack_polyfit

        xs = np.linspace(0, 4, 20)
        poly = np.polynomial.Polynomial.fit(xs, 2 * xs**2 + 1, 2)
        modelpack_polyfit.save_model(poly, tmp_path / "poly")
        yield tmp_path / "poly", request.param
    finally:
        sys.path.remove(str(site))
        sys.path.remove(str(EXAMPLE))
        sys.modules.pop("modelpack_polyfit", None)
        plugins.clear_cache()


def test_third_party_flavor_package_goes_into_the_image(
    polyfit_model: tuple[Path, bool], tmp_path: Path
) -> None:
    model, from_source = polyfit_model
    target = tmp_path / "ctx"

    result = invoke("generate-dockerfile", "--no-lock", "-m", model, "-d", target)

    assert result.exit_code == 0, result.stderr
    requirements = (target / "requirements.txt").read_text().split()
    wheels = sorted(p.name for p in (target / "wheels").iterdir())
    info = json.loads((target / "modelpack-context.json").read_text())
    if from_source:
        # not on any index: its wheel, built from the installed source, is in the context
        assert "modelpack_polyfit-0.1.0-py3-none-any.whl" in wheels
        assert info["flavor_wheels"] == ["modelpack_polyfit-0.1.0-py3-none-any.whl"]
        with zipfile.ZipFile(target / "wheels" / "modelpack_polyfit-0.1.0-py3-none-any.whl") as w:
            assert "modelpack_polyfit.py" in w.namelist()
        assert not any(r.lower().startswith("modelpack") for r in requirements)
        assert not list(EXAMPLE.glob("*.egg-info")) and not (EXAMPLE / "build").exists()
    else:
        assert "modelpack-polyfit==0.1.0" in requirements
        assert [w for w in wheels if "polyfit" in w] == []
    dockerfile = re.sub(r"\\\n", " ", (target / "Dockerfile").read_text())
    install = next(line for line in dockerfile.splitlines() if "pip install" in line)
    assert "/opt/modelpack/wheels/*.whl" in install


def test_built_in_flavors_add_nothing(iris_model: Path, tmp_path: Path) -> None:
    result = generate("-m", iris_model, "-d", tmp_path / "ctx")

    assert result.returncode == 0, result.stderr
    assert [p.name for p in (tmp_path / "ctx" / "wheels").iterdir()][0].startswith("modelpack-")
    assert len(list((tmp_path / "ctx" / "wheels").iterdir())) == 1
