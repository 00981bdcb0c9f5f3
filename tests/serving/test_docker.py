"""Docker build contexts: the rendered Dockerfile, the context's contents, and (slow) proof
that the context alone yields a working server."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import conftest_batch
import httpx
import pytest
from click.testing import CliRunner, Result
from conftest_batch import FEATURES, iris_frame

from modelpack.cli import cli
from modelpack.errors import EnvironmentBuildError, InvalidInput
from modelpack.serving.container.docker import generate_build_context, render_dockerfile
from modelpack.serving.container.docker_build import check_image_tag

iris_model = conftest_batch.iris_model
env_cache = conftest_batch.env_cache


def invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)


def instructions(dockerfile: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    logical = re.sub(r"\\\n", " ", dockerfile)
    out = []
    for line in logical.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), " ".join(rest.split())))
    return out


@pytest.fixture(scope="module")
def context(iris_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("docker") / "ctx"
    result = invoke("generate-dockerfile", "-m", iris_model, "-d", directory)
    assert result.exit_code == 0, result.output
    return directory


def test_dockerfile_follows_the_image_contract(context: Path) -> None:
    steps = instructions((context / "Dockerfile").read_text())
    keywords = [k for k, _ in steps]
    args = dict(reversed(steps))  # first occurrence of each keyword

    assert args["FROM"] == "python:3.11-slim"
    assert keywords.count("FROM") == 1
    # Dependencies are installed before the model is copied: a new version rebuilds less.
    install = next(i for i, (k, a) in enumerate(steps) if k == "RUN" and "pip install" in a)
    copy_model = next(i for i, (k, a) in enumerate(steps) if k == "COPY" and a.startswith("model/"))
    assert install < copy_model
    assert "--only-binary=:all:" in steps[install][1]
    user = [a for k, a in steps if k == "USER"]
    assert user == ["modelpack"]
    assert keywords.index("USER") > install
    assert args["EXPOSE"] == "8080"
    assert "/health" in args["HEALTHCHECK"]
    entrypoint = json.loads(args["ENTRYPOINT"])
    assert entrypoint[:2] == ["modelpack", "serve"]
    env = " ".join(a for k, a in steps if k == "ENV")
    assert "MODELPACK_SERVE_HOST=0.0.0.0" in env and "MODELPACK_SERVE_WORKERS=" in env
    labels = " ".join(a for k, a in steps if k == "LABEL")
    for key in ("io.modelpack.model.name=", "io.modelpack.model.version=", "io.modelpack.version="):
        assert key in labels
    text = (context / "Dockerfile").read_text()
    assert not re.search(r"apt-get install|gcc|build-essential|openjdk", text)
    assert "{{" not in text


def test_context_is_self_contained(context: Path) -> None:
    from modelpack.model_dir import verify_model_dir

    verify_model_dir(context / "model")
    requirements = (context / "requirements.txt").read_text().split()
    assert requirements[0].startswith("scikit-learn==")
    assert all("==" in r for r in requirements)
    (wheel,) = (context / "wheels").glob("modelpack-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert "modelpack/serving/container/Dockerfile.template" in names
    assert "modelpack/cli.py" in names
    info = json.loads((context / "modelpack-context.json").read_text())
    assert info["python_version"] == "3.11" and info["wheel"] == wheel.name


def test_registry_uri_is_resolved_to_its_version(
    iris_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelpack.tracking import config, register_model

    monkeypatch.setenv("MODELPACK_TRACKING_URI", f"sqlite:///{tmp_path / 'store.db'}")
    config.reset_tracking_uri()
    try:
        register_model(iris_model, "iris")
        register_model(iris_model, "iris")
        built = generate_build_context("models:/iris/latest", tmp_path / "ctx")
    finally:
        config.reset_tracking_uri()

    assert (built.model_name, built.model_version) == ("iris", "2")
    text = (tmp_path / "ctx" / "Dockerfile").read_text()
    assert 'io.modelpack.model.version="2"' in text
    assert (tmp_path / "ctx" / "model" / "MLmodel").is_file()


def test_existing_directory_is_not_touched(iris_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "ctx"
    target.mkdir()
    (target / "keep.txt").write_text("mine")

    result = invoke("generate-dockerfile", "-m", iris_model, "-d", target)

    assert result.exit_code == 1
    assert "not an empty directory" in result.stderr
    assert [p.name for p in target.iterdir()] == ["keep.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["ctx"]


def test_missing_parent_directories_are_created(iris_model: Path, tmp_path: Path) -> None:
    target = tmp_path / "build" / "iris"
    result = invoke("generate-dockerfile", "-m", iris_model, "-d", target)
    assert result.exit_code == 0, result.stderr
    assert (target / "Dockerfile").is_file()


def test_missing_model_and_metacharacters_in_uri(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    result = invoke("generate-dockerfile", "-m", f"x; touch {marker}", "-d", tmp_path / "c")

    assert result.exit_code == 1
    assert "no model directory" in result.stderr
    assert not marker.exists() and not (tmp_path / "c").exists()


@pytest.mark.parametrize("tag", ["Iris:1", "iris:1; rm -rf /", "-iris", "iris:$(id)", ""])
def test_bad_image_tags_are_refused(tag: str) -> None:
    with pytest.raises(InvalidInput, match="image tag"):
        check_image_tag(tag)


def test_good_image_tags() -> None:
    for tag in ("iris", "iris:3", "registry.local:5000/team/iris:v1.2", "a_b-c.d"):
        assert check_image_tag(tag) == tag


def test_template_placeholders_must_be_known() -> None:
    with pytest.raises(EnvironmentBuildError, match="unknown value 'nope'"):
        render_dockerfile({}, "FROM {{nope}}")
    with pytest.raises(InvalidInput, match="one line"):
        render_dockerfile({"v": "3.11\nRUN curl x"}, "FROM python:{{v}}")


def test_build_docker_without_an_engine_fails_fast(iris_model: Path, tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True, timeout=20).returncode == 0:
        pytest.skip("a Docker engine is running here; this test is about its absence")
    started = time.monotonic()

    result = invoke("build-docker", "-m", iris_model, "-n", "iris:test")

    assert result.exit_code == 1
    assert "Docker" in result.stderr and "generate-dockerfile" in result.stderr
    assert time.monotonic() - started < 30


def test_build_docker_without_a_client(
    iris_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))

    result = invoke("build-docker", "-m", iris_model, "-n", "iris:test")

    assert result.exit_code == 1
    assert "no 'docker' command" in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_from_context(context: Path, env_cache: Path, tmp_path: Path) -> Iterator[str]:
    """The image's entrypoint, run from a virtualenv built from the context's files only."""
    from modelpack.serving.envs.spec import EnvSpec
    from modelpack.serving.envs.virtualenv import build_env

    info = json.loads((context / "modelpack-context.json").read_text())
    requirements = tuple((context / "requirements.txt").read_text().split())
    (wheel,) = (context / "wheels").glob("modelpack-*.whl")
    python = build_env(EnvSpec(info["python_version"], requirements), wheel)
    port = free_port()
    environ = {
        **os.environ,
        "MODELPACK_SERVE_HOST": "127.0.0.1",  # the image binds 0.0.0.0; a test stays on loopback
        "MODELPACK_SERVE_PORT": str(port),
        "MODELPACK_SERVE_WORKERS": "1",
    }
    log = (tmp_path / "serve.log").open("wb")
    # ENTRYPOINT ["modelpack", "serve", "-m", MODEL] with the env's own console script.
    proc = subprocess.Popen(
        [str(python.parent / "modelpack"), "serve", "-m", str(context / "model")],
        env=environ,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
            time.sleep(0.2)
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.mark.slow
def test_context_alone_serves_predictions(served_from_context: str) -> None:
    frame = iris_frame(3)
    body = {"dataframe_split": {"columns": FEATURES, "data": frame[FEATURES].values.tolist()}}

    response = httpx.post(f"{served_from_context}/invocations", json=body, timeout=30)

    assert response.status_code == 200, response.text
    assert len(response.json()["predictions"]) == 3


def test_context_for_a_model_saved_by_mlflow(tmp_path: Path) -> None:
    fixture = Path(__file__).parents[1] / "fixtures" / "mlflow3" / "sklearn_skops"

    built = generate_build_context(str(fixture), tmp_path / "ctx")

    requirements = (tmp_path / "ctx" / "requirements.txt").read_text().split()
    # The model's own pins come first and win; modelpack's dependencies are added, pinned.
    assert requirements[0] == "mlflow==3.17.2"
    assert any(r.startswith("starlette==") for r in requirements)
    assert built.python_version == "3.11"
    assert (tmp_path / "ctx" / "model" / "MLmodel").is_file()
