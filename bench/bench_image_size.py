"""Estimate the container image size for the iris model: the installed size of its
dependency set (issue 5: target <= 500 MB, against MLflow's "< 1 GB").

Installs exactly what the image's pip layer installs (the build context's pinned
``requirements.txt`` plus the modelpack wheel, ``--no-compile`` as in the Dockerfile)
into a fresh virtualenv, and measures the installed size per distribution. The image
estimate adds the ``python:<version>-slim`` base, whose size is stated below (no Docker
engine here to measure it).

    python bench/bench_image_size.py
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Uncompressed size of python:3.11-slim (bookworm, amd64) as Docker reports it.
SLIM_BASE_MB = 125
TARGET_MB = 500

SIZES = """
import json
from importlib import metadata
from pathlib import Path
sizes = {}
for dist in metadata.distributions():
    total = 0
    for file in dist.files or []:
        path = Path(dist.locate_file(file))
        if path.is_file():
            total += path.stat().st_size
    sizes[dist.metadata["Name"]] = total
print(json.dumps(sizes))
"""


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import modelpack
    from modelpack.serving.container.docker import generate_build_context

    with tempfile.TemporaryDirectory(prefix="bench-image-") as tmp_name:
        tmp = Path(tmp_name)
        x, y = load_iris(return_X_y=True, as_frame=True)
        modelpack.sklearn.save_model(
            LogisticRegression(max_iter=1000).fit(x, y), tmp / "iris", input_example=x.head()
        )
        context = generate_build_context(str(tmp / "iris"), tmp / "ctx")
        requirements = (tmp / "ctx" / "requirements.txt").read_text().split()
        (wheel,) = (tmp / "ctx" / "wheels").glob("*.whl")
        venv = tmp / "venv"
        subprocess.run(
            [sys.executable, "-m", "virtualenv", "--quiet", "--no-setuptools", "--no-wheel"]
            + [str(venv)],
            check=True,
        )
        python = venv / "bin" / "python"
        started = time.perf_counter()
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-compile"]
            + ["--only-binary=:all:", "-r", str(tmp / "ctx" / "requirements.txt"), str(wheel)],
            check=True,
        )
        print(f"installed the context's requirements in {time.perf_counter() - started:.0f} s")
        sizes = json.loads(
            subprocess.run(
                [str(python), "-I", "-c", SIZES], capture_output=True, text=True, check=True
            ).stdout
        )
        site = next((venv / "lib").glob("python*/site-packages"))
        as_installed_mb = du(site) / 1e6
        # The Dockerfile's clean-up step: the libraries' test suites and byte code go.
        for junk in sorted(site.rglob("*"), reverse=True):
            if junk.is_dir() and junk.name in ("tests", "__pycache__"):
                shutil.rmtree(junk, ignore_errors=True)
        installed_mb = du(site) / 1e6
        tooling_mb = sum(sizes.get(n, 0) for n in ("pip",)) / 1e6

    print(f"\n{len(requirements)} pinned requirements + the modelpack wheel")
    print("largest distributions (MB):")
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:15]:
        print(f"  {name:<24} {size / 1e6:8.1f}")
    deps_mb = installed_mb - tooling_mb
    optional = sum(sizes.get(n, 0) for n in ("onnx", "onnxruntime", "virtualenv")) / 1e6
    image_mb = deps_mb + SLIM_BASE_MB
    print(
        f"dependency set (pip itself excluded: the base image has it): {deps_mb:.0f} MB "
        f"(target <= {TARGET_MB}); {deps_mb - optional:.0f} MB without onnx, onnxruntime "
        "and virtualenv"
    )
    print(
        f"image estimate: {image_mb:.0f} MB = {deps_mb:.0f} MB + {SLIM_BASE_MB} MB "
        f"python:{context.python_version}-slim base"
    )
    print(
        json.dumps(
            {
                "as_installed_mb": round(as_installed_mb),
                "deps_mb": round(deps_mb),
                "deps_without_optional_mb": round(deps_mb - optional),
                "image_mb": round(image_mb),
            }
        )
    )


if __name__ == "__main__":
    main()
