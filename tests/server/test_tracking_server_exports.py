"""The public surface of ``modelpack.server`` and the permission every route declares."""

from __future__ import annotations

import modelpack.server
from modelpack.server.endpoint import Permission
from modelpack.server.routes import ENDPOINTS


def test_exported_members() -> None:
    assert modelpack.server.__all__ == ["ServerConfig", "build_app"]
    for name in modelpack.server.__all__:
        assert getattr(modelpack.server, name).__module__ == "modelpack.server.app"


def test_every_route_declares_its_permission() -> None:
    by_path = {e.path.removeprefix("/api/2.0/mlflow"): e.permission for e in ENDPOINTS}
    assert len(by_path) == len(ENDPOINTS) == 13
    writes = {p for p, need in by_path.items() if need >= Permission.EDIT}
    assert writes == {
        "/experiments/create", "/runs/create", "/runs/update", "/runs/log-metric",
        "/runs/log-parameter", "/runs/set-tag", "/runs/log-batch",
    }  # fmt: skip


def test_import_modelpack_server_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import sys, modelpack.server; "
        "print(sorted(m for m in ('sklearn','pandas','pyarrow','onnxruntime','uvicorn') "
        "if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
