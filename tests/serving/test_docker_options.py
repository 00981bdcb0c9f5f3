"""The options that shape an image: base image, template, byte-code, the build's network,
and third-party flavor packages."""

from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import conftest_batch
import pytest
from docker_helpers import generate, invoke

iris_model = conftest_batch.iris_model
env_cache = conftest_batch.env_cache


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
    from modelpack.serving.container.docker_build import build_command

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
