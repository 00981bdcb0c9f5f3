"""The artifact proxy of a real ``modelpack server`` (``/api/2.0/mlflow-artifacts/…``):
uploads streamed, bounded and atomic, downloads streamed, listings, deletes, and every
path-traversal pattern answered 400 with nothing outside the artifact root touched."""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from modelpack.tracking import Client
from tests.serve_process import serving
from tests.server.tracking_server import RunningServer, server_argv

PROXY = "/api/2.0/mlflow-artifacts/artifacts"
LIMIT = 1_000_000


@pytest.fixture(scope="module")
def proxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    """A server whose uploads are limited to 1 MB, and a file outside its store."""
    root = tmp_path_factory.mktemp("proxy")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("do not read")
    store_uri = f"sqlite:///{root / 'store' / 'store.db'}"
    argv = server_argv(store_uri, "--max-artifact-bytes", str(LIMIT))
    with serving(argv, cwd=root) as url:
        yield RunningServer(url, store_uri), outside


@pytest.fixture(scope="module")
def run(proxy: tuple[RunningServer, Path]) -> tuple[str, str]:
    client = Client(proxy[0].store_uri)
    experiment_id = client.create_experiment("proxied")
    return experiment_id, client.create_run(experiment_id).info.run_id


def _raw(server: RunningServer, method: str, target: str, body: bytes = b"") -> tuple[int, dict]:
    """A request whose path is sent exactly as given (httpx would normalise ``..``)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request(method, target, body=body or None)
        answer = conn.getresponse()
        return answer.status, json.loads(answer.read() or b"{}")
    finally:
        conn.close()


def test_upload_download_list_delete(
    proxy: tuple[RunningServer, Path], run: tuple[str, str]
) -> None:
    server, _ = proxy
    experiment_id, run_id = run
    base = f"{server.url}{PROXY}/{experiment_id}/{run_id}/artifacts"
    data = os.urandom(LIMIT - 10)

    def chunks() -> Iterator[bytes]:  # streamed: no content-length
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    assert httpx.put(f"{base}/dir/blob.bin", content=chunks(), timeout=60).status_code == 200
    assert httpx.put(f"{base}/note.txt", content=b"hello", timeout=30).status_code == 200
    got = httpx.get(f"{base}/dir/blob.bin", timeout=60)
    assert got.status_code == 200 and got.content == data
    head = httpx.head(f"{base}/dir/blob.bin", timeout=60)
    assert (head.status_code, head.headers["content-length"]) == (200, str(len(data)))
    assert httpx.head(f"{server.url}{PROXY}", params={"path": "x"}).status_code == 400
    assert Client(server.store_uri).list_artifacts(run_id) == ["dir/blob.bin", "note.txt"]

    listed = httpx.get(
        f"{server.url}{PROXY}", params={"path": f"{experiment_id}/{run_id}/artifacts"}
    )
    assert listed.json()["files"] == [
        {"path": "dir", "is_dir": True},
        {"path": "note.txt", "is_dir": False, "file_size": 5},
    ]
    by_run = httpx.get(server.api("/artifacts/list"), params={"run_id": run_id, "path": "dir"})
    assert by_run.json() == {
        "root_uri": f"mlflow-artifacts:/{experiment_id}/{run_id}/artifacts",
        "files": [{"path": "dir/blob.bin", "is_dir": False, "file_size": len(data)}],
    }
    assert httpx.delete(f"{base}/dir", timeout=30).status_code == 200
    assert Client(server.store_uri).list_artifacts(run_id) == ["note.txt"]
    missing = httpx.get(f"{base}/dir/blob.bin", timeout=30)
    assert (missing.status_code, missing.json()["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")


def test_upload_over_the_limit_is_refused_and_leaves_nothing(
    proxy: tuple[RunningServer, Path], run: tuple[str, str]
) -> None:
    server, _ = proxy
    experiment_id, run_id = run
    url = f"{server.url}{PROXY}/{experiment_id}/{run_id}/artifacts/big.bin"
    httpx.put(url, content=b"old", timeout=30)
    answer = httpx.put(url, content=b"x" * (LIMIT + 1), timeout=60)
    assert (answer.status_code, answer.json()["error_code"]) == (413, "RESOURCE_LIMIT_EXCEEDED")
    assert httpx.get(url, timeout=30).content == b"old"  # the old file, untouched
    staging = Path(Client(server.store_uri).store.staging_dir)
    assert list(staging.iterdir()) == []


TRAVERSALS = {
    "dot-dot": "{base}/../../../../outside/secret.txt",
    "dot-dot-in-run": "{base}/a/../../../../../outside/secret.txt",
    "absolute": f"{PROXY}//etc/passwd",
    "percent-encoded": "{base}/%2e%2e/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt",
    "double-encoded": "{base}/%252e%252e/%252e%252e/outside/secret.txt",
    "encoded-slash": "{base}/..%2f..%2f..%2f..%2foutside%2fsecret.txt",
    "backslash": "{base}/..\\..\\..\\..\\outside\\secret.txt",
    "encoded-backslash": "{base}/..%5c..%5c..%5coutside%5csecret.txt",
    "nul": "{base}/note.txt%00.png",
    "staging": f"{PROXY}/.staging/x",
    "registry-blob-write": f"{PROXY}/models/blobs/{'0' * 64}/MLmodel",
    "experiment-root": f"{PROXY}/1/secret.txt",
}


@pytest.mark.parametrize("pattern", sorted(TRAVERSALS))
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_paths_that_leave_their_place_are_400(
    proxy: tuple[RunningServer, Path], run: tuple[str, str], pattern: str, method: str
) -> None:
    server, outside = proxy
    experiment_id, run_id = run
    target = TRAVERSALS[pattern].format(base=f"{PROXY}/{experiment_id}/{run_id}/artifacts")
    status, body = _raw(server, method, target, b"overwritten" if method == "PUT" else b"")
    assert (
        status in (400, 404)
        if pattern == "registry-blob-write" and method != "PUT"
        else status == 400
    )
    assert body["error_code"] in ("INVALID_PARAMETER_VALUE", "RESOURCE_DOES_NOT_EXIST")
    assert "do not read" not in json.dumps(body)
    assert (outside / "secret.txt").read_text() == "do not read"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]


@pytest.mark.parametrize("path", ["../../outside", "/etc", "%2e%2e/%2e%2e", "a\\b", "x\x00y", ""])
def test_listing_paths_that_leave_their_place_are_400(
    proxy: tuple[RunningServer, Path], path: str
) -> None:
    server, _ = proxy
    answer = httpx.get(f"{server.url}{PROXY}", params={"path": path}, timeout=30)
    assert answer.status_code == 400 and answer.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_symlinks_inside_the_store_are_never_followed(
    proxy: tuple[RunningServer, Path], run: tuple[str, str]
) -> None:
    server, outside = proxy
    experiment_id, run_id = run
    base = f"{server.url}{PROXY}/{experiment_id}/{run_id}/artifacts"
    assert httpx.put(f"{base}/keep.txt", content=b"k", timeout=30).status_code == 200
    root = Path(Client(server.store_uri).store.artifact_root) / experiment_id / run_id / "artifacts"
    (root / "link.txt").symlink_to(outside / "secret.txt")
    (root / "linkdir").symlink_to(outside, target_is_directory=True)
    answers = [
        httpx.get(f"{base}/link.txt", timeout=30),
        httpx.get(f"{base}/linkdir/secret.txt", timeout=30),
        httpx.put(f"{base}/link.txt", content=b"overwritten", timeout=30),
        httpx.put(f"{base}/linkdir/new.txt", content=b"planted", timeout=30),
        httpx.delete(f"{base}/linkdir", timeout=30),
        httpx.get(
            f"{server.url}{PROXY}", params={"path": f"{experiment_id}/{run_id}/artifacts/linkdir"}
        ),
    ]
    assert [a.status_code for a in answers] == [400] * len(answers)
    assert all("do not read" not in a.text for a in answers)
    assert (outside / "secret.txt").read_text() == "do not read"
    assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"]
    listed = httpx.get(
        f"{server.url}{PROXY}", params={"path": f"{experiment_id}/{run_id}/artifacts"}
    )
    assert "link.txt" not in listed.text and "linkdir" not in listed.text


def test_a_run_is_only_reached_through_its_own_experiment(
    proxy: tuple[RunningServer, Path], run: tuple[str, str]
) -> None:
    server, _ = proxy
    experiment_id, run_id = run
    other = Client(server.store_uri).create_experiment("other")
    assert other != experiment_id
    wrong = httpx.put(f"{server.url}{PROXY}/{other}/{run_id}/artifacts/x.txt", content=b"x")
    unknown = httpx.put(
        f"{server.url}{PROXY}/{experiment_id}/{'a' * 32}/artifacts/x.txt", content=b"x"
    )
    assert [wrong.status_code, unknown.status_code] == [404, 404]
    store_root = Path(Client(server.store_uri).store.artifact_root)
    assert (
        not (store_root / other).exists() and not (store_root / experiment_id / ("a" * 32)).exists()
    )
