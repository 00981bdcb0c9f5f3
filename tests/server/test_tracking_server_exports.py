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
    assert len(by_path) == len(ENDPOINTS) == 15
    writes = {p for p, need in by_path.items() if need >= Permission.EDIT}
    assert writes == {
        "/experiments/create", "/runs/create", "/runs/update", "/runs/log-metric",
        "/runs/log-parameter", "/runs/set-tag", "/runs/log-batch",
        "/experiments/set-experiment-tag", "/runs/delete-tag",
    }  # fmt: skip


def test_every_endpoint_of_the_app_declares_its_permission() -> None:
    from modelpack.server.app import ALL_ENDPOINTS

    need = {
        (e.methods, e.path.removeprefix("/api/2.0/mlflow")): e.permission for e in ALL_ENDPOINTS
    }
    assert len(need) == len(ALL_ENDPOINTS) >= 49  # one (methods, path) each
    assert all(p in (Permission.READ, Permission.EDIT, Permission.MANAGE) for p in need.values())
    manage = {path for (_, path), p in need.items() if p == Permission.MANAGE}
    assert manage == {
        "/runs/delete", "/runs/restore", "/experiments/delete", "/experiments/restore",
        "/registered-models/rename", "/registered-models/delete", "/model-versions/delete",
    }  # fmt: skip
    reads = {(m, path) for (m, path), p in need.items() if p == Permission.READ}
    assert all(m in (("GET",), ("GET", "POST"), ("POST",)) for m, _ in reads)
    assert ("POST",) not in {m for m, path in reads if "search" not in path}


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
