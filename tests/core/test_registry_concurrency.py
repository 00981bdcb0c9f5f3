"""Real processes against one store (SQLite, PostgreSQL): concurrent registration, kill -9."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from modelpack.tracking import Client
from tests.pg_server import PostgresServer

MakeModelDir = Callable[..., Path]

N_PROCESSES = 16
VERSIONS_EACH = 2

_WORKER = textwrap.dedent(
    """
    import os, sys, pathlib, uuid, yaml
    import modelpack

    index = int(sys.argv[1])
    model = pathlib.Path(sys.argv[2]) / f"model-{index}"
    model.mkdir(parents=True)
    (model / "model.bin").write_bytes(os.urandom(64))
    (model / "MLmodel").write_text(yaml.safe_dump({"flavors": {"fake": {}}}))
    modelpack.set_experiment("concurrent")
    with modelpack.start_run(run_name=f"worker-{index}"):
        modelpack.log_param("index", index)
        modelpack.log_metrics({"loss": 1.0 / (index + 1), "nan": float("nan")}, step=0)
        for step in range(5):
            modelpack.log_metric("acc", step / 5, step=step)
        for _ in range({versions}):
            modelpack.register_model(str(model), "shared")
    """
).replace("{versions}", str(VERSIONS_EACH))


def _env(tracking_uri: str) -> dict[str, str]:
    env = dict(os.environ)  # MODELPACK_ARTIFACT_ROOT too, when a fixture set it
    env["MODELPACK_TRACKING_URI"] = tracking_uri
    return env


def test_sixteen_processes_get_versions_one_to_n(tracking_uri: str, tmp_path: Path) -> None:
    script = tmp_path / "worker.py"
    script.write_text(_WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), str(tmp_path / "src")],
            env=_env(tracking_uri),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(N_PROCESSES)
    ]
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        if proc.returncode != 0:
            failures.append(err.decode()[-2000:])
    assert not failures, failures[0]

    client = Client(tracking_uri)
    versions = client.search_model_versions("name = 'shared'")
    total = N_PROCESSES * VERSIONS_EACH
    assert sorted(v.version for v in versions) == list(range(1, total + 1))
    for version in versions:
        assert (Path(version.storage_location) / "MLmodel").is_file()
    runs = client.search_runs([client.get_experiment_by_name("concurrent").experiment_id])
    assert len(runs) == N_PROCESSES
    assert all(run.info.status == "FINISHED" for run in runs)
    assert all(len(client.get_metric_history(r.info.run_id, "acc")) == 5 for r in runs)


_CRASHER = textwrap.dedent(
    """
    import os, signal, sys, shutil, pathlib
    import modelpack
    from modelpack.tracking.stores.sql import registry

    point, source = sys.argv[1], sys.argv[2]

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    if point == "copy":  # the snapshot copies each file with shutil.copyfileobj
        real_copy = shutil.copyfileobj
        def copy_then_die(src, dst, *args, **kwargs):
            real_copy(src, dst, *args, **kwargs)
            die()
        shutil.copyfileobj = copy_then_die
    elif point == "commit":
        # the blob is in place, the row not committed: inside the transaction (SQLite),
        # before the one statement that allocates and records (PostgreSQL)
        real_publish = registry.publish_blob
        def publish_then_die(*args, **kwargs):
            real_publish(*args, **kwargs)
            die()
        registry.publish_blob = publish_then_die

    if point == "log_model":
        def save(path):
            path.mkdir()
            (path / "MLmodel").write_text("flavors: {}\\n")
            with open(path / "model.bin", "wb") as handle:
                handle.write(b"x" * 1000)
                handle.flush()
                die()
        with modelpack.start_run():
            modelpack.tracking.log_model_dir(save, "model", registered_model_name="crashy")
    else:
        modelpack.register_model(source, "crashy")
    """
)


@pytest.mark.parametrize("point", ["copy", "commit", "log_model"])
def test_kill_9_leaves_no_half_version(
    any_tracking_uri: str, tmp_path: Path, make_model_dir: MakeModelDir, point: str
) -> None:
    tracking_uri = any_tracking_uri
    client = Client(tracking_uri)
    source = make_model_dir(size=200_000)
    client.create_registered_model("crashy")
    client.create_model_version("crashy", str(source))
    script = tmp_path / "crasher.py"
    script.write_text(_CRASHER)
    proc = subprocess.run(
        [sys.executable, str(script), point, str(make_model_dir(payload=b"other"))],
        env=_env(tracking_uri),
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]

    fresh = Client(tracking_uri)  # same process cache: a new connection sees the crash result
    fresh.store.close()
    versions = fresh.search_model_versions("name = 'crashy'")
    assert [v.version for v in versions] == [1]
    assert (Path(versions[0].storage_location) / "model.bin").is_file()
    if fresh.store.db_path is not None:  # SQLite: the file itself is intact
        db = sqlite3.connect(fresh.store.db_path)
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        db.close()
    if point == "log_model":
        run = fresh.search_runs()[0]
        assert "model/MLmodel" not in fresh.list_artifacts(run.info.run_id)
    # the number the crashed writer was allocating was never committed, so none is skipped
    assert fresh.create_model_version("crashy", str(source)).version == 2


_ROUNDS = 10
_PG_WORKER = textwrap.dedent(
    """
    import os, sys, pathlib, time, yaml
    import modelpack

    index, source, go = int(sys.argv[1]), pathlib.Path(sys.argv[2]), pathlib.Path(sys.argv[3])
    model = source / f"model-{index}"
    model.mkdir(parents=True)
    (model / "model.bin").write_bytes(os.urandom(64))
    (model / "MLmodel").write_text(yaml.safe_dump({"flavors": {"fake": {}}}))
    modelpack.Client().search_registered_models()  # connected and migrated before the start
    while not go.exists():
        time.sleep(0.01)
    for round in range(int(sys.argv[4])):
        modelpack.register_model(str(model), f"shared-{round}")
    """
)


def test_sixteen_processes_on_postgresql_get_versions_one_to_n_over_ten_rounds(
    postgres_server: PostgresServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    uri = postgres_server.create_database()
    env = {**_env(uri), "MODELPACK_ARTIFACT_ROOT": str(tmp_path / "artifacts")}
    monkeypatch.setenv("MODELPACK_ARTIFACT_ROOT", env["MODELPACK_ARTIFACT_ROOT"])
    script, go = tmp_path / "worker.py", tmp_path / "go"
    script.write_text(_PG_WORKER)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(i), str(tmp_path / "src"), str(go), str(_ROUNDS)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for i in range(N_PROCESSES)
    ]
    go.touch()  # all start registering at once: the rounds overlap as writers race
    failures = []
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        if proc.returncode != 0:
            failures.append(err.decode()[-2000:])
    assert not failures, failures[0]

    client = Client(uri)
    for round in range(_ROUNDS):
        versions = client.search_model_versions(f"name = 'shared-{round}'")
        assert sorted(v.version for v in versions) == list(range(1, N_PROCESSES + 1))
        assert all((Path(v.storage_location) / "MLmodel").is_file() for v in versions)
    client.store.dispose()
