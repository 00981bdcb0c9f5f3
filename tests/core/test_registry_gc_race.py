"""Registering and deleting versions with the same content at once, on real PostgreSQL.

Every version holds the same files, so they share one content-addressed blob; deleting
the last version that references it collects the blob. A registration racing that
collection must never commit a version whose files are gone: each worker loads its own
version right after registering it, and the test loads every version left at the end.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.tracking import Client
from modelpack.tracking.entities import ModelVersion
from modelpack.tracking.resolve import resolve_models_uri
from tests.pg_server import PostgresServer

N_PROCESSES = 6
ROUNDS = 60
FILES = 100

_WORKER = textwrap.dedent(
    """
    import pathlib, sys, time
    import modelpack
    from modelpack.errors import ModelpackError
    from modelpack.tracking.resolve import resolve_models_uri

    index, source, go = int(sys.argv[1]), sys.argv[2], pathlib.Path(sys.argv[3])
    rounds = int(sys.argv[4])
    client = modelpack.Client()
    name, broken = f"same-{index}", 0
    client.create_registered_model(name)  # connected and migrated before the start
    while not go.exists():
        time.sleep(0.01)
    for round in range(rounds):
        version = client.create_model_version(name, source).version
        try:
            _, _, directory = resolve_models_uri(f"models:/{name}/{version}")
            if not (directory / "MLmodel").is_file():
                raise FileNotFoundError("MLmodel")
        except (ModelpackError, OSError) as exc:
            broken += 1
            print(f"round {round}: version {version} does not load: {type(exc).__name__}",
                  file=sys.stderr)
        if round < rounds - 1:  # the last version stays for the final check
            client.delete_model_version(name, version)
    sys.exit(1 if broken else 0)
    """
)


def test_registering_while_the_shared_blob_is_collected_never_loses_files(
    postgres_server: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_model_dir: Callable[..., Path],
) -> None:
    uri = postgres_server.create_database()
    artifacts = str(tmp_path / "artifacts")
    monkeypatch.setenv("MODELPACK_TRACKING_URI", uri)
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", artifacts)
    source = make_model_dir(size=2_000)
    for i in range(FILES):  # a blob of many files takes a while to delete: a wider window
        (source / f"part-{i:03d}.txt").write_text(f"part {i}")
    script, go = tmp_path / "worker.py", tmp_path / "go"
    script.write_text(_WORKER)
    env = {**os.environ, "MODELPACK_TRACKING_URI": uri, "MODELPACK_ARTIFACT_ROOT": artifacts}
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), str(source), str(go), str(ROUNDS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(N_PROCESSES)
    ]
    go.touch()
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=600)
        if proc.returncode != 0:
            failures.append(err.decode()[-2000:])
    assert not failures, "\n".join(failures)

    client = Client(uri)
    for index in range(N_PROCESSES):
        versions = client.search_model_versions(f"name = 'same-{index}'")
        assert [v.version for v in versions] == [ROUNDS]
        _, _, directory = resolve_models_uri(f"models:/same-{index}/{ROUNDS}", client.backend)
        assert (directory / "MLmodel").is_file()
    client.store.dispose()


def test_sharing_a_blob_whose_last_version_is_being_deleted_waits_and_copies_again(
    postgres_server: PostgresServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_model_dir: Callable[..., Path],
) -> None:
    """The lock-free path (a version sharing a blob some version references) pins that
    version's row. Here the only such row is deleted in an open transaction that also
    collects the blob, as ``delete_model_version`` does; the registration must wait for
    it, find nothing left to pin, and copy the model again rather than record a version
    whose files are about to vanish."""
    import psycopg

    uri = postgres_server.create_database()
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", str(tmp_path / "artifacts"))
    client = Client(uri)
    source = make_model_dir(size=2_000)
    client.create_registered_model("pinned")
    version_one = client.create_model_version("pinned", source)
    blob = Path(version_one.storage_location)
    digest = blob.name

    with psycopg.connect(uri) as deleter:
        deleter.execute("DELETE FROM model_versions WHERE name = 'pinned' AND version = 1")
        deleter.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (digest,))
        outcome: dict[str, object] = {}

        def register() -> None:
            try:
                outcome["version"] = client.create_model_version("pinned", source)
            except BaseException as exc:  # reported below
                outcome["error"] = exc

        worker = threading.Thread(target=register)
        worker.start()
        worker.join(timeout=1.0)
        assert worker.is_alive(), "the registration did not wait for the delete"
        shutil.rmtree(blob)  # the collection, before the delete commits
        deleter.commit()
    worker.join(timeout=60)
    assert "error" not in outcome, outcome.get("error")
    version_two = outcome["version"]
    assert isinstance(version_two, ModelVersion) and version_two.version == 2
    _, _, directory = resolve_models_uri("models:/pinned/2", client.backend)
    assert (directory / "model.bin").read_bytes() == (source / "model.bin").read_bytes()
    client.store.dispose()
